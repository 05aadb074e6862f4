package linuxsandbox

import (
	"fmt"
	"unsafe"

	"golang.org/x/sys/unix"
)

// The sandbox's seccomp(2) policy is linuxsandbox/internal/seccompfilter:
// what it refuses, always and without network, and why. seccompProgram
// (per architecture) returns it assembled.

// netMode selects the socket rules of the sandbox filter; its values are
// seccompfilter.Network's (checked by TestSeccompProgramsCurrent), which
// the init does not import on amd64.
type netMode int

const (
	netOpen     netMode = iota // every socket family
	netOff                     // AF_UNIX only
	netLoopback                // and AF_INET/AF_INET6, for the allowlist proxy on the namespace's loopback
)

// applySeccomp loads the sandbox filter, and a second filter that refuses
// every system call made through another architecture's ABI (on x86-64:
// the i386 int 0x80 entry, whose numbers the first filter does not know and
// whose socketcall(2) multiplexer it could not inspect). 32-bit programs
// therefore do not run in the sandbox; seccomp filters stack, the strictest
// answer wins. Both are loaded with TSYNC, so every thread of the process
// gets them. The caller has set no_new_privs.
func applySeccomp(net netMode) error {
	prog, err := seccompProgram(net)
	if err != nil {
		return fmt.Errorf("assemble: %w", err)
	}
	if err := loadFilter(prog); err != nil {
		return err
	}
	return loadArchFilter()
}

// loadArchFilter refuses, with EPERM, system calls whose seccomp_data.arch
// is not the native one (nativeAuditArch).
func loadArchFilter() error {
	arch, err := nativeAuditArch()
	if err != nil {
		return err
	}
	return loadFilter([]unix.SockFilter{
		{Code: unix.BPF_LD | unix.BPF_W | unix.BPF_ABS, K: 4}, // seccomp_data.arch
		{Code: unix.BPF_JMP | unix.BPF_JEQ | unix.BPF_K, Jt: 1, K: arch},
		{Code: unix.BPF_RET | unix.BPF_K, K: unix.SECCOMP_RET_ERRNO | uint32(unix.EPERM)},
		{Code: unix.BPF_RET | unix.BPF_K, K: unix.SECCOMP_RET_ALLOW},
	})
}

func loadFilter(prog []unix.SockFilter) error {
	fprog := unix.SockFprog{Len: uint16(len(prog)), Filter: &prog[0]}
	_, _, errno := unix.Syscall(unix.SYS_SECCOMP, unix.SECCOMP_SET_MODE_FILTER, unix.SECCOMP_FILTER_FLAG_TSYNC, uintptr(unsafe.Pointer(&fprog)))
	if errno != 0 {
		return fmt.Errorf("load filter: %w", errno)
	}
	return nil
}
