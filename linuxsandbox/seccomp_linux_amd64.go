package linuxsandbox

import (
	"errors"

	"golang.org/x/sys/unix"
)

// seccompProgram returns the sandbox filter assembled ahead of time
// (zseccomp_linux_amd64.go).
func seccompProgram(networkOff bool) ([]unix.SockFilter, error) {
	prog := seccompPrograms[b2i(networkOff)]
	if len(prog) == 0 {
		return nil, errors.New("no seccomp program was generated for amd64")
	}
	return prog, nil
}

func nativeAuditArch() (uint32, error) { return unix.AUDIT_ARCH_X86_64, nil }

func b2i(b bool) int {
	if b {
		return 1
	}
	return 0
}
