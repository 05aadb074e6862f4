package linuxsandbox

import (
	"errors"

	"golang.org/x/sys/unix"
)

// seccompProgram returns the sandbox filter assembled ahead of time
// (zseccomp_linux_amd64.go).
func seccompProgram(net netMode) ([]unix.SockFilter, error) {
	if net < 0 || int(net) >= len(seccompPrograms) {
		return nil, errors.New("no such seccomp network mode")
	}
	prog := seccompPrograms[net]
	if len(prog) == 0 {
		return nil, errors.New("no seccomp program was generated for amd64")
	}
	return prog, nil
}

func nativeAuditArch() (uint32, error) { return unix.AUDIT_ARCH_X86_64, nil }
