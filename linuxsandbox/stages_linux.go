package linuxsandbox

import (
	"errors"
	"fmt"
	"os"
	"os/signal"
	"path/filepath"
	"runtime"
	"strings"
	"syscall"

	"golang.org/x/sys/unix"

	"github.com/cordon-sandbox/cordon/internal/envlist"
)

// Stage names, the values of stageEnv.
const (
	stageInit        = "init"         // PID 1 of the sandbox: mounts, restrictions, starts and reaps the command
	stageExec        = "exec"         // without namespaces: restricts itself and execs the command
	stageProbe       = "probe"        // Probe's test subject
	stageProbeNested = "probe-nested" // Probe's check that the init's mounts are locked
)

// selfExe is the running binary. /proc/self/exe is a "magic link" that opens
// the binary's inode itself, so it works even after the binary's path is
// hidden (say a test binary under a /tmp that the sandbox replaced).
const selfExe = "/proc/self/exe"

func initStage() {
	stage, ok := os.LookupEnv(stageEnv)
	if !ok {
		return
	}
	// Credentials (capabilities, Landlock domains) are per thread, and a
	// forked child inherits the forking thread's: everything a stage
	// changes must happen on the thread that finally forks or execs the
	// command, so the main goroutine keeps its thread.
	runtime.LockOSThread()
	os.Unsetenv(stageEnv)
	switch stage {
	case stageInit:
		runInit()
	case stageExec:
		runExec()
	case stageProbe:
		runProbe()
	case stageProbeNested:
		runProbeNested()
	}
	fmt.Fprintf(os.Stderr, "cordon: unknown sandbox stage %q\n", stage)
	os.Exit(exitSetup)
}

// runInit is the sandbox's only stage when namespaces are there. It starts
// in new user, mount, PID and IPC namespaces (and a network namespace when
// the network is off) as the caller's own uid, mapped to itself, with
// CAP_SYS_ADMIN and CAP_SETPCAP as ambient capabilities of its namespace.
// In order it
//
//  1. builds the command's view of the file system and pivots into it
//     (setupMounts);
//  2. joins a fresh anonymous session keyring, so the caller's keys are
//     not reachable through the inherited one (keyrings(7));
//  3. sets the resource limits the parent could not enforce with a cgroup;
//  4. makes itself non-dumpable, so that the command cannot open its memory
//     through /proc/1/mem;
//  5. restricts itself exactly as the command will be (restrict: no
//     capabilities, no_new_privs, Landlock, seccomp);
//  6. waits for the parent's go-ahead (the run's cgroup is in place), then
//     starts the command as its child, in the spec's directory, with only
//     stdin, stdout and stderr, and tells the parent it runs;
//  7. forwards the parent's signals to the command and, as PID 1, reaps
//     every orphan until the command exits, then exits with its status.
//     When it exits, the kernel kills whatever is left of the namespace.
//
// The mounts cannot be undone by the command: it holds no capability in
// this user namespace (bounding set emptied, no_new_privs), seccomp keeps
// it from creating a user namespace of its own, Landlock forbids every
// mount operation to a restricted thread, and a nested namespace would
// see them locked anyway (mount_namespaces(7)).
func runInit() {
	status := os.NewFile(statusFD, "status")
	fail := func(err error) {
		reportStatus(status, stageInit, err)
		os.Exit(exitSetup)
	}
	var spec initSpec
	pipe, err := readSpec(specFD, &spec)
	if err != nil {
		fail(err)
	}
	ex := &spec.Exec
	if len(ex.Args) == 0 {
		fail(errors.New("no command"))
	}
	// Whatever the caller leaked to us without close-on-exec stops here:
	// the command gets exactly 0, 1 and 2.
	if err := cloexecFrom(3); err != nil {
		fail(err)
	}
	if err := setupMounts(&spec); err != nil {
		fail(err)
	}
	if err := joinFreshKeyring(); err != nil {
		fail(err)
	}
	if err := applyRlimits(withInitAllowance(spec.Rlimits)); err != nil {
		fail(err)
	}
	if spec.Proxy != nil {
		if err := listenForProxy(spec.Proxy); err != nil {
			fail(err)
		}
	}
	if err := unix.Prctl(unix.PR_SET_DUMPABLE, 0, 0, 0, 0); err != nil {
		fail(fmt.Errorf("PR_SET_DUMPABLE: %w", err))
	}
	if err := os.Chdir(ex.Dir); err != nil {
		fail(fmt.Errorf("chdir: %w", err))
	}
	path, lookErr := lookPath(ex.Args[0], ex.Env)
	if err := restrict(ex); err != nil {
		fail(err)
	}
	if err := pipe.awaitGo(); err != nil {
		fail(err)
	}
	// From here on a failure is the command's, reported as its exit status
	// (126/127) like a shell would.
	if lookErr != nil {
		writeStatus(status, statusMsg{Stage: stageInit, Ready: true})
		execFailed(ex.Args[0], lookErr)
	}
	// syscall.ForkExec rather than os.StartProcess: the os package forks
	// a throwaway child first, once per process, to learn whether pidfds
	// work, which the init (it reaps with wait4) has no use for.
	sys := &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	if ex.TakeCtty {
		sys.Setsid, sys.Setctty, sys.Ctty = true, true, ex.Ctty
	}
	pid, err := syscall.ForkExec(path, ex.Args, &syscall.ProcAttr{
		Dir:   ex.Dir,
		Env:   ex.Env,
		Files: []uintptr{0, 1, 2},
		Sys:   sys,
	})
	if err == nil {
		// Forwarding is set up once the command runs, off the path to
		// it (signal.Notify starts the runtime's signal goroutine, which
		// costs a thread), but before the parent hears that it runs: a
		// signal the parent forwards from then on must reach the command,
		// not end the init by its default action. One that arrives
		// earlier still ends the sandbox, the command with it.
		sigs := make(chan os.Signal, 16)
		signal.Notify(sigs, forwarded...)
		go func() {
			for s := range sigs {
				_ = unix.Kill(pid, s.(syscall.Signal))
			}
		}()
	}
	writeStatus(status, statusMsg{Stage: stageInit, Ready: true})
	status.Close()
	if err != nil {
		execFailed(ex.Args[0], err)
	}
	os.Exit(reap(pid))
}

// joinFreshKeyring replaces the session keyring inherited from the caller
// with a new anonymous one (KEYCTL_JOIN_SESSION_KEYRING with a NULL name,
// keyctl(2)). The user keyrings are already per user namespace (Linux 5.3);
// the session keyring is the one thing fork(2) would carry over. seccomp
// then refuses every key system call to the command. A kernel without
// keyrings (ENOSYS), or a seccomp filter around cordon that refuses them
// already (EPERM, as Docker's default profile does), leaves the command no
// way to reach a key either: that is not an error.
func joinFreshKeyring() error {
	_, _, errno := unix.Syscall(unix.SYS_KEYCTL, unix.KEYCTL_JOIN_SESSION_KEYRING, 0, 0)
	if errno != 0 && errno != unix.ENOSYS && errno != unix.EPERM {
		return fmt.Errorf("join a fresh session keyring: %w", errno)
	}
	return nil
}

// forwarded are the signals the init passes on to the command.
var forwarded = []os.Signal{unix.SIGINT, unix.SIGTERM, unix.SIGHUP, unix.SIGQUIT, unix.SIGUSR1, unix.SIGUSR2, unix.SIGWINCH}

// reap waits for every child (orphans re-parent to PID 1) until pid ends,
// and returns pid's status as an exit code. When the init then exits, the
// kernel kills what is left of the PID namespace (pid_namespaces(7)).
func reap(pid int) int {
	for {
		var ws unix.WaitStatus
		wpid, err := unix.Wait4(-1, &ws, 0, nil)
		if errors.Is(err, unix.EINTR) {
			continue
		}
		if err != nil {
			fmt.Fprintf(os.Stderr, "cordon: sandbox init: wait: %v\n", err)
			return exitSetup
		}
		if wpid == pid && (ws.Exited() || ws.Signaled()) {
			return exitCode(ws)
		}
	}
}

// exitCode is the shell's convention: the exit status, or 128+N for a
// process killed by signal N.
func exitCode(ws unix.WaitStatus) int {
	if ws.Signaled() {
		return 128 + int(ws.Signal())
	}
	return ws.ExitStatus()
}

// runExec is the exec stage, used only without namespaces (best effort):
// it restricts itself and execve(2)s the command in its own place.
func runExec() {
	status := os.NewFile(statusFD, "status")
	fail := func(err error) {
		reportStatus(status, stageExec, err)
		os.Exit(exitSetup)
	}
	var spec execSpec
	pipe, err := readSpec(specFD, &spec)
	if err != nil {
		fail(err)
	}
	if len(spec.Args) == 0 {
		fail(errors.New("no command"))
	}
	// Only 0, 1 and 2 reach the command: everything else (the status pipe
	// included) closes at execve(2). Close-on-exec rather than close, so
	// the Go runtime's own descriptors keep working until then.
	if err := cloexecFrom(3); err != nil {
		fail(err)
	}
	if err := os.Chdir(spec.Dir); err != nil {
		fail(fmt.Errorf("chdir: %w", err))
	}
	path, lookErr := lookPath(spec.Args[0], spec.Env)
	if spec.TakeCtty {
		// The stage leads its own session already (Setsid).
		_ = unix.IoctlSetInt(spec.Ctty, unix.TIOCSCTTY, 0)
	}
	if err := joinFreshKeyring(); err != nil {
		fail(err)
	}
	if err := restrict(&spec); err != nil {
		fail(err)
	}
	if err := pipe.awaitGo(); err != nil {
		fail(err)
	}
	// From here on a failure is the command's, reported as its exit status
	// (126/127) like a shell would.
	writeStatus(status, statusMsg{Stage: stageExec, Ready: true})
	if lookErr != nil {
		execFailed(spec.Args[0], lookErr)
	}
	err = syscall.Exec(path, spec.Args, spec.Env)
	execFailed(spec.Args[0], err)
}

// execFailed reports, like a shell, a command that could not be executed:
// 127 when it does not exist, 126 when it exists but cannot be run. This is
// the command's failure, not the sandbox's, so it is an exit status.
func execFailed(name string, err error) {
	code := 126
	if errors.Is(err, errNotFound) || errors.Is(err, unix.ENOENT) || errors.Is(err, unix.ENOTDIR) {
		code = 127
	}
	fmt.Fprintf(os.Stderr, "cordon: %s: %v\n", name, err)
	os.Exit(code)
}

// restrict applies, on the calling (locked) thread, everything that stands
// between the stage and the command: no_new_privs, the capability drop,
// Landlock and seccomp. no_new_privs comes first: Landlock and seccomp need
// it (or CAP_SYS_ADMIN, which we are about to drop).
func restrict(spec *execSpec) error {
	if err := unix.Prctl(unix.PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0); err != nil {
		return fmt.Errorf("PR_SET_NO_NEW_PRIVS: %w", err)
	}
	if err := dropCapabilities(); err != nil {
		return err
	}
	if spec.Landlock != nil {
		if _, err := applyLandlock(spec.Landlock); err != nil {
			return fmt.Errorf("landlock: %w", err)
		}
	}
	if spec.Seccomp {
		if err := applySeccomp(spec.netMode()); err != nil {
			return fmt.Errorf("seccomp: %w", err)
		}
	}
	return nil
}

// errNotFound is a command not found in PATH.
var errNotFound = errors.New("command not found")

// lookPath resolves name as a shell would, in the sandbox's view of the file
// system and with the PATH of env, the command's own (relative entries are
// relative to the working directory, which is already the command's).
func lookPath(name string, env []string) (string, error) {
	if strings.Contains(name, "/") {
		return name, checkExecutable(name)
	}
	path, _ := envlist.POSIX.Lookup(env, "PATH")
	if path == "" {
		path = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
	}
	var denied error
	for _, dir := range filepath.SplitList(path) {
		if dir == "" {
			dir = "."
		}
		p := filepath.Join(dir, name)
		err := checkExecutable(p)
		if err == nil {
			if !filepath.IsAbs(p) {
				p = "./" + p
			}
			return p, nil
		}
		if denied == nil && !errors.Is(err, unix.ENOENT) && !errors.Is(err, unix.ENOTDIR) {
			denied = err
		}
	}
	if denied != nil {
		return "", denied
	}
	return "", errNotFound
}

func checkExecutable(p string) error {
	fi, err := os.Stat(p)
	if err != nil {
		return err
	}
	if fi.IsDir() {
		return unix.EISDIR
	}
	return unix.Access(p, unix.X_OK)
}

// cloexecFrom marks every descriptor >= fd close-on-exec: close_range(2)
// with CLOSE_RANGE_CLOEXEC (Linux 5.11), else one by one from /proc/self/fd.
func cloexecFrom(fd int) error {
	if err := unix.CloseRange(uint(fd), ^uint(0), unix.CLOSE_RANGE_CLOEXEC); err == nil {
		return nil
	}
	ents, err := os.ReadDir("/proc/self/fd")
	if err != nil {
		return fmt.Errorf("list descriptors: %w", err)
	}
	for _, e := range ents {
		var n int
		if _, err := fmt.Sscan(e.Name(), &n); err != nil || n < fd {
			continue
		}
		// The directory's own descriptor is gone by now: EBADF is fine.
		if _, err := unix.FcntlInt(uintptr(n), unix.F_SETFD, unix.FD_CLOEXEC); err != nil && !errors.Is(err, unix.EBADF) {
			return fmt.Errorf("close-on-exec fd %d: %w", n, err)
		}
	}
	return nil
}
