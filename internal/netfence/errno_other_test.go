//go:build !windows

package netfence

import "syscall"

var testErrnos = struct{ access, access2, refused, unreachable syscall.Errno }{
	syscall.EACCES, syscall.EPERM, syscall.ECONNREFUSED, syscall.ENETUNREACH,
}
