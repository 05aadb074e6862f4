package linuxsandbox

import (
	"fmt"
	"syscall"
	"unsafe"

	seccomp "github.com/elastic/go-seccomp-bpf"
	"github.com/elastic/go-seccomp-bpf/arch"
	"golang.org/x/net/bpf"
	"golang.org/x/sys/unix"
)

// networkOffFilter is the seccomp(2) policy of a command without network,
// on top of its network namespace (and in place of it where there is none):
//
//   - socket(2) and socketpair(2) of any family but AF_UNIX fail with
//     EPERM: no TCP, UDP, raw, netlink or packet socket, while Unix sockets
//     (local IPC that most tools need) keep working. The argument is
//     compared as 64 bits, so high garbage bits fail closed.
//   - io_uring_setup/enter/register fail: io_uring can open sockets and do
//     I/O without passing through the syscalls the filter sees.
//   - ptrace, process_vm_readv and process_vm_writev fail: no reading or
//     rewriting another process's memory, which could otherwise step around
//     a filter (seccomp(2), "Caveats").
//
// Everything else is allowed (the default action): the filter is a deny
// list aimed at the network, not a general system call allow list. On
// x86-64 the library answers x32 system calls with ENOSYS.
func networkOffFilter() seccomp.Filter {
	notUnix := []seccomp.Condition{{Argument: 0, Operation: seccomp.NotEqual, Value: unix.AF_UNIX}}
	return seccomp.Filter{
		NoNewPrivs: true,
		// TSYNC: every thread of the process gets the filter, not just
		// the caller (the command is exec'd from the caller's thread, so
		// this is defence in depth against a Go runtime thread).
		Flag: seccomp.FilterFlagTSync,
		Policy: seccomp.Policy{
			DefaultAction: seccomp.ActionAllow,
			Syscalls: []seccomp.SyscallGroup{{
				Action: seccomp.ActionErrno, // EPERM
				Names: []string{
					"io_uring_setup", "io_uring_enter", "io_uring_register",
					"ptrace", "process_vm_readv", "process_vm_writev",
				},
				NamesWithCondtions: []seccomp.NameWithConditions{
					{Name: "socket", Conditions: notUnix},
					{Name: "socketpair", Conditions: notUnix},
				},
			}},
		},
	}
}

// applySeccomp loads the network-off filter, and a second filter that
// refuses every system call made through another architecture's ABI (on
// x86-64: the i386 int 0x80 entry, whose socketcall(2) multiplexer the
// first filter cannot inspect). 32-bit programs therefore cannot run
// without network; seccomp filters stack, the strictest answer wins.
func applySeccomp() error {
	if err := seccomp.LoadFilter(networkOffFilter()); err != nil {
		return err
	}
	return loadArchFilter()
}

func loadArchFilter() error {
	info, err := arch.GetInfo("")
	if err != nil {
		return fmt.Errorf("native architecture: %w", err)
	}
	insts, err := bpf.Assemble([]bpf.Instruction{
		bpf.LoadAbsolute{Off: 4, Size: 4}, // seccomp_data.arch
		bpf.JumpIf{Cond: bpf.JumpEqual, Val: uint32(info.ID), SkipTrue: 1},
		bpf.RetConstant{Val: unix.SECCOMP_RET_ERRNO | uint32(unix.EPERM)},
		bpf.RetConstant{Val: unix.SECCOMP_RET_ALLOW},
	})
	if err != nil {
		return fmt.Errorf("assemble architecture filter: %w", err)
	}
	prog := make([]syscall.SockFilter, len(insts))
	for i, in := range insts {
		prog[i] = syscall.SockFilter{Code: in.Op, Jt: in.Jt, Jf: in.Jf, K: in.K}
	}
	fprog := syscall.SockFprog{Len: uint16(len(prog)), Filter: &prog[0]}
	_, _, errno := syscall.Syscall(unix.SYS_SECCOMP, unix.SECCOMP_SET_MODE_FILTER, unix.SECCOMP_FILTER_FLAG_TSYNC, uintptr(unsafe.Pointer(&fprog)))
	if errno != 0 {
		return fmt.Errorf("load architecture filter: %w", errno)
	}
	return nil
}
