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
)

// Stage names, the values of stageEnv.
const (
	stageInit        = "init"         // stage 1: PID 1 of the sandbox, builds the mounts
	stageExec        = "exec"         // stage 2: drops privileges and execs the command
	stageProbe       = "probe"        // Probe's test subject
	stageProbeNested = "probe-nested" // Probe's check that stage 2's mounts are locked
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
	// Credentials (capabilities, Landlock domains, no_new_privs) are per
	// thread: everything a stage changes must happen on the thread that
	// finally calls execve(2), so the main goroutine keeps its thread.
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

// runInit is stage 1. It runs as uid 0 of a fresh user namespace (mapped
// to the caller's uid), in new mount and PID namespaces, as PID 1.
func runInit() {
	status := os.NewFile(statusFD, "status")
	fail := func(err error) {
		reportStatus(status, stageInit, err)
		os.Exit(exitSetup)
	}
	var spec initSpec
	if err := readSpec(specFD, &spec); err != nil {
		fail(err)
	}
	// Whatever the caller leaked to us without close-on-exec stops here:
	// stage 2 gets exactly 0, 1, 2 and its own two pipes.
	if err := cloexecFrom(3); err != nil {
		fail(err)
	}
	if err := setupMounts(&spec); err != nil {
		fail(err)
	}

	// Catch the forwarded signals before stage 2 exists: one arriving
	// meanwhile waits in the channel and is passed on once it does.
	sigs := make(chan os.Signal, 16)
	signal.Notify(sigs, forwarded...)

	specR, specW, err := os.Pipe()
	if err != nil {
		fail(fmt.Errorf("spec pipe for stage 2: %w", err))
	}
	sys := &syscall.SysProcAttr{
		// A nested user namespace with its own mount namespace: its mounts
		// are copies from a more privileged mount namespace, hence locked.
		Cloneflags: syscall.CLONE_NEWUSER | syscall.CLONE_NEWNS,
		// The command sees the caller's own uid and gid; they map to our
		// uid 0, which maps to the caller's on the host.
		UidMappings: []syscall.SysProcIDMap{{ContainerID: spec.UID, HostID: 0, Size: 1}},
		GidMappings: []syscall.SysProcIDMap{{ContainerID: spec.GID, HostID: 0, Size: 1}},
		Pdeathsig:   syscall.SIGKILL,
	}
	if spec.UID != 0 {
		// A non-zero uid loses every capability at execve(2); keep
		// CAP_SETPCAP (ambient) so that stage 2 can empty its bounding set.
		sys.AmbientCaps = []uintptr{unix.CAP_SETPCAP}
	}
	proc, err := os.StartProcess(selfExe, []string{"cordon-sandbox: exec"}, &os.ProcAttr{
		Env:   []string{stageEnv + "=" + stageExec},
		Files: []*os.File{os.Stdin, os.Stdout, os.Stderr, specR, status},
		Sys:   sys,
	})
	specR.Close()
	if err != nil {
		specW.Close()
		fail(fmt.Errorf("start stage 2: %w", err))
	}
	// Stage 2 reports its own failures; ours are over.
	_ = writeSpec(specW, spec.Exec)
	status.Close()

	go func() {
		for s := range sigs {
			_ = unix.Kill(proc.Pid, s.(syscall.Signal))
		}
	}()
	os.Exit(reap(proc.Pid))
}

// forwarded are the signals stage 1 passes on to the command.
var forwarded = []os.Signal{unix.SIGINT, unix.SIGTERM, unix.SIGHUP, unix.SIGQUIT, unix.SIGUSR1, unix.SIGUSR2, unix.SIGWINCH}

// reap waits for every child (orphans re-parent to PID 1) until pid ends,
// and returns pid's status as an exit code. When stage 1 then exits, the
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

// runExec is stage 2: the last code that runs before the command.
func runExec() {
	status := os.NewFile(statusFD, "status")
	fail := func(err error) {
		reportStatus(status, stageExec, err)
		os.Exit(exitSetup)
	}
	var spec execSpec
	if err := readSpec(specFD, &spec); err != nil {
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
	path, lookErr := lookPath(spec.Args[0], envValue(spec.Env, "PATH"))
	if err := restrict(&spec); err != nil {
		fail(err)
	}
	// From here on a failure is the command's, reported as its exit status
	// (126/127) like a shell would.
	writeStatus(status, statusMsg{Stage: stageExec, Ready: true})
	if lookErr != nil {
		execFailed(spec.Args[0], lookErr)
	}
	err := syscall.Exec(path, spec.Args, spec.Env)
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
// between stage 2 and the command: no_new_privs, the capability drop,
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
		if err := applySeccomp(); err != nil {
			return fmt.Errorf("seccomp: %w", err)
		}
	}
	return nil
}

// errNotFound is a command not found in PATH.
var errNotFound = errors.New("command not found")

// lookPath resolves name as a shell would, in the sandbox's view of the file
// system and with the command's own PATH (relative entries are relative to
// the working directory, which is already the command's).
func lookPath(name, path string) (string, error) {
	if strings.Contains(name, "/") {
		return name, checkExecutable(name)
	}
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

func envValue(env []string, key string) string {
	v := ""
	for _, kv := range env {
		if k, val, ok := strings.Cut(kv, "="); ok && k == key {
			v = val // the last one wins, as in getenv
		}
	}
	return v
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
