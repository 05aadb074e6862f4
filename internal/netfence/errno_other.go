//go:build !windows

package netfence

import "syscall"

// EACCES or EPERM is what a local packet filter (or Landlock, or seccomp)
// answers a refused connect with on POSIX systems.
func isAccessErrno(e syscall.Errno) bool { return e == syscall.EACCES || e == syscall.EPERM }

func isRefusedErrno(e syscall.Errno) bool {
	return e == syscall.ECONNREFUSED || e == syscall.ECONNRESET
}

func isUnreachableErrno(e syscall.Errno) bool {
	return e == syscall.ENETUNREACH || e == syscall.EHOSTUNREACH || e == syscall.ENETDOWN
}
