package netfence

import (
	"syscall"

	"golang.org/x/sys/windows"
)

// A WFP block at ALE_AUTH_CONNECT fails connect with WSAEACCES ("An
// attempt was made to access a socket in a way forbidden by its access
// permissions").
func isAccessErrno(e syscall.Errno) bool {
	return e == windows.WSAEACCES || e == syscall.Errno(windows.ERROR_ACCESS_DENIED)
}

func isRefusedErrno(e syscall.Errno) bool {
	return e == windows.WSAECONNREFUSED || e == windows.WSAECONNRESET || e == syscall.Errno(windows.ERROR_CONNECTION_REFUSED) ||
		e == syscall.Errno(windows.ERROR_PORT_UNREACHABLE)
}

func isUnreachableErrno(e syscall.Errno) bool {
	return e == windows.WSAENETUNREACH || e == windows.WSAEHOSTUNREACH || e == windows.WSAENETDOWN ||
		e == syscall.Errno(windows.ERROR_NETWORK_UNREACHABLE) || e == syscall.Errno(windows.ERROR_HOST_UNREACHABLE)
}
