package sandboxusers

// mkwinsyscall runs on the build machine (Linux included), so this file has
// no build tag; see internal/winapi/mksyscall.go.

//go:generate go run golang.org/x/sys/windows/mkwinsyscall -output zsyscall_windows.go netapi_windows.go
