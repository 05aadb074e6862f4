//go:build linux && !amd64

package linuxsandbox

import (
	"github.com/cordon-sandbox/cordon/linuxsandbox/internal/seccompfilter"
	"github.com/elastic/go-seccomp-bpf/arch"
	"golang.org/x/sys/unix"
)

// seccompProgram assembles the sandbox filter for this architecture at run
// time (on amd64 it is assembled ahead of time).
func seccompProgram(net netMode) ([]unix.SockFilter, error) {
	return seccompfilter.Assemble(seccompfilter.Network(net))
}

func nativeAuditArch() (uint32, error) {
	info, err := arch.GetInfo("")
	if err != nil {
		return 0, err
	}
	return uint32(info.ID), nil
}
