package winapi

// mkwinsyscall runs on the build machine, not on Windows, so this file has no
// build tag: `go generate ./internal/winapi` works on Linux, where cordon is
// developed, while `GOOS=windows go generate` would try to run a Windows
// executable and fail.

//go:generate go run golang.org/x/sys/windows/mkwinsyscall -output zsyscall_windows.go authz.go desktop.go logon.go token.go token2.go
