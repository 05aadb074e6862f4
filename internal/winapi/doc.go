// Package winapi holds thin Windows bindings that golang.org/x/sys/windows
// lacks: the Authz access-check API (authz.dll), CreateRestrictedToken and
// AccessCheck (advapi32.dll).
//
// Each binding is a //sys line preceded by the C prototype it binds, with a
// small Go wrapper where the raw call takes a pointer and a count that a Go
// slice expresses better. zsyscall_windows.go is generated from those lines:
//
//	go generate ./internal/winapi
//
// which runs golang.org/x/sys/windows/mkwinsyscall on the build machine (it
// works on Linux; never edit the generated file by hand). Functions return
// windows.Errno errors, to be tested with errors.Is(err, windows.ERROR_…).
//
// The package is deliberately only bindings. The logic that decides what a
// token may do lives in the portable package ntsec; the Windows-only tests
// there use these bindings to compare ntsec's model with Windows itself.
package winapi
