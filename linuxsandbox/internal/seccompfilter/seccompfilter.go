//go:build linux

// Package seccompfilter is the seccomp(2) policy of cordon's Linux sandbox,
// written with go-seccomp-bpf and assembled by it for the running
// architecture. The sandbox does not import it on amd64: there it loads the
// same program assembled ahead of time (linuxsandbox's zseccomp_linux_amd64.go,
// checked against this package by a test), because go-seccomp-bpf's
// syscall tables are built at package init, which every sandbox start
// would pay, the sandbox's init being this same program re-executed.
package seccompfilter

import (
	seccomp "github.com/elastic/go-seccomp-bpf"
	"golang.org/x/net/bpf"
	"golang.org/x/sys/unix"
)

func bpfAssemble(insts []bpf.Instruction) ([]bpf.RawInstruction, error) { return bpf.Assemble(insts) }

// The seccomp(2) policy of every sandboxed command. It is a deny list: the
// default action is to allow, and what it refuses is aimed at ways out that
// the other layers do not close.
//
// Always:
//
//   - io_uring_setup/enter/register fail: io_uring does I/O (and opens
//     sockets) without passing through the system calls the filter sees.
//   - ptrace, process_vm_readv and process_vm_writev fail: no reading or
//     rewriting another process's memory, which could step around a filter
//     (seccomp(2), "Caveats").
//   - add_key, request_key and keyctl fail: the command has a fresh session
//     keyring it has no use for, and no way to reach keys by their ids.
//   - chmod, fchmod, fchmodat, fchmodat2 with S_ISUID or S_ISGID in the
//     mode, open/openat/creat that create a file (O_CREAT, O_TMPFILE) with
//     those bits, and mknod/mknodat with them, fail: no set-user-ID or
//     set-group-ID file is left in a writable root for a host user (root,
//     when cordon runs as root) to run later. The writable roots are also
//     mounted nosuid, which only matters inside the sandbox.
//   - unshare and clone with CLONE_NEWUSER fail, and clone3, whose flags
//     sit in memory the filter cannot read, fails with ENOSYS (glibc then
//     falls back to clone): a user namespace of its own would give the
//     command every capability there, enough to write file capabilities
//     that count on the host when the caller is root.
//   - openat2, whose mode sits in memory too, fails with ENOSYS (callers
//     fall back to openat).
//   - ioctl TIOCSTI and TIOCLINUX fail: no typing into a terminal.
//
// Without network (NetworkOff), on top: socket(2) and socketpair(2) of any
// family but AF_UNIX fail with EPERM: no TCP, UDP, raw, netlink or packet
// socket, while Unix sockets (local IPC most tools need) keep working.
//
// With a network allowlist (NetworkLoopback), socket(2) of AF_INET and
// AF_INET6 is allowed too, and every other family but AF_UNIX still fails:
// the command reaches the proxy on its network namespace's loopback, which
// holds nothing else, while netlink, packet, vsock (which a network
// namespace does not separate) and the rest stay out of reach.
//
// Arguments are compared as 64 bits, so high garbage bits fail closed. On
// x86-64 the library answers x32 system calls with ENOSYS, and a second
// filter refuses every other foreign ABI (see applySeccomp).
func Policy(network Network) seccomp.Policy {
	var conds []seccomp.NameWithConditions
	bits := func(name string, arg uint32, value uint64, also ...seccomp.Condition) {
		c := append([]seccomp.Condition{{Argument: arg, Operation: seccomp.BitsSet, Value: value}}, also...)
		conds = append(conds, seccomp.NameWithConditions{Name: name, Conditions: c})
	}
	for _, b := range []uint64{unix.S_ISUID, unix.S_ISGID} {
		bits("chmod", 1, b)
		bits("fchmod", 1, b)
		bits("fchmodat", 2, b)
		bits("fchmodat2", 2, b)
		bits("creat", 1, b)
		bits("mknod", 1, b)
		bits("mknodat", 2, b)
		for _, create := range []uint64{unix.O_CREAT, unix.O_TMPFILE &^ unix.O_DIRECTORY} {
			bits("open", 2, b, seccomp.Condition{Argument: 1, Operation: seccomp.BitsSet, Value: create})
			bits("openat", 3, b, seccomp.Condition{Argument: 2, Operation: seccomp.BitsSet, Value: create})
		}
	}
	bits("unshare", 0, unix.CLONE_NEWUSER)
	bits("clone", 0, unix.CLONE_NEWUSER)
	for _, req := range []uint64{unix.TIOCSTI, unix.TIOCLINUX} {
		conds = append(conds, seccomp.NameWithConditions{Name: "ioctl", Conditions: []seccomp.Condition{{Argument: 1, Operation: seccomp.Equal, Value: req}}})
	}
	if network != NetworkOpen {
		notUnix := []seccomp.Condition{{Argument: 0, Operation: seccomp.NotEqual, Value: unix.AF_UNIX}}
		notSocket := notUnix
		if network == NetworkLoopback {
			notSocket = append(notUnix,
				seccomp.Condition{Argument: 0, Operation: seccomp.NotEqual, Value: unix.AF_INET},
				seccomp.Condition{Argument: 0, Operation: seccomp.NotEqual, Value: unix.AF_INET6})
		}
		conds = append(conds,
			seccomp.NameWithConditions{Name: "socket", Conditions: notSocket},
			seccomp.NameWithConditions{Name: "socketpair", Conditions: notUnix})
	}
	return seccomp.Policy{
		DefaultAction: seccomp.ActionAllow,
		Syscalls: []seccomp.SyscallGroup{
			{
				Action: seccomp.ActionErrno, // EPERM
				Names: []string{
					"io_uring_setup", "io_uring_enter", "io_uring_register",
					"ptrace", "process_vm_readv", "process_vm_writev",
					"add_key", "request_key", "keyctl",
				},
				NamesWithCondtions: conds,
			},
			{
				Action: seccomp.ActionErrno | seccomp.Action(unix.ENOSYS),
				Names:  []string{"clone3", "openat2"},
			},
		},
	}
}

// Network is how much of the network the policy leaves the command.
type Network int

const (
	NetworkOpen     Network = iota // every socket family
	NetworkOff                     // AF_UNIX only
	NetworkLoopback                // AF_UNIX, AF_INET and AF_INET6: the allowlist proxy on the namespace's loopback
)

// Networks are the values of Network, in order.
var Networks = []Network{NetworkOpen, NetworkOff, NetworkLoopback}

// Assemble assembles Policy(network) for the running architecture.
func Assemble(network Network) ([]unix.SockFilter, error) {
	p := Policy(network)
	insts, err := p.Assemble()
	if err != nil {
		return nil, err
	}
	raw, err := bpfAssemble(insts)
	if err != nil {
		return nil, err
	}
	out := make([]unix.SockFilter, len(raw))
	for i, r := range raw {
		out[i] = unix.SockFilter{Code: r.Op, Jt: r.Jt, Jf: r.Jf, K: r.K}
	}
	return out, nil
}
