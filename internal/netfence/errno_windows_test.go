package netfence

import (
	"syscall"

	"golang.org/x/sys/windows"
)

// What WinSock returns for a refused, blocked or unroutable connect.
var testErrnos = struct{ access, access2, refused, unreachable syscall.Errno }{
	windows.WSAEACCES, syscall.Errno(windows.ERROR_ACCESS_DENIED), windows.WSAECONNREFUSED, windows.WSAENETUNREACH,
}
