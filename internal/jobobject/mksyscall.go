package jobobject

// No build tag: mkwinsyscall runs on the build machine, so
// `go generate ./internal/jobobject` works on Linux, where cordon is
// developed (`GOOS=windows go generate` would try to run a Windows
// executable). Never edit zsyscall_windows.go by hand.

//go:generate go run golang.org/x/sys/windows/mkwinsyscall -output zsyscall_windows.go syscall_windows.go
