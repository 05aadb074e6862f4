package linuxsandbox

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/cordon-sandbox/cordon/policy"
	"github.com/cordon-sandbox/cordon/sandbox"
	"golang.org/x/sys/unix"
)

type backend struct{ platform }

func newBackend() sandbox.Backend { return backend{} }

func (backend) Name() string { return Name }

func (backend) Probe(ctx context.Context) sandbox.Probe {
	r, err := getProbe(ctx)
	if err != nil {
		return sandbox.Probe{Backend: Name, Reason: "probe: " + err.Error()}
	}
	return r.probe()
}

// forceNoNamespaces makes Start behave as if user namespaces were
// unavailable (tests of the fallback).
var forceNoNamespaces bool

// waitDelay bounds how long Wait waits, after the sandbox has exited, for
// the goroutine copying Spec.Stdin (which may block in Read forever). The
// command's output cannot be cut short by it: when the init exits, every
// process holding the output pipes is dead, so they drain at once.
const waitDelay = 2 * time.Second

// Start starts spec's command in a sandbox. It returns once the command has
// been exec'd (or setup has failed): a setup failure is a *SetupError, a
// missing layer an error wrapping sandbox.ErrUnavailable; in both cases
// nothing of the command ran and nothing is left behind.
func (backend) Start(ctx context.Context, spec sandbox.Spec) (sandbox.Process, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	if err := checkSpec(&spec); err != nil {
		return nil, err
	}
	// The probe costs several process starts, more than a sandbox itself,
	// so a process that has not probed yet first assumes every layer is
	// there: the stages fail, and say so, if one is not. Only then is the
	// probe run, to tell a missing layer (refused, or degraded with best
	// effort) from any other setup failure.
	optimistic := plan{namespaces: true, newNet: !spec.Policy.Network, landlock: true, seccomp: !spec.Policy.Network, allowlist: spec.Policy.Allowlist != nil, cacheOverlay: true}
	var firstErr error
	if !forceNoNamespaces && cachedProbe() == nil {
		p, err := startWith(ctx, &spec, optimistic)
		if err == nil {
			return p, nil
		}
		if ctx.Err() != nil {
			return nil, err
		}
		firstErr = err
	}
	pr, err := getProbe(ctx)
	if err != nil {
		return nil, fmt.Errorf("linux sandbox: probe: %w", err)
	}
	lp, err := layerPlan(spec.Policy, pr, spec.BestEffort)
	if err != nil {
		return nil, err
	}
	lp.cacheOverlayFailed(firstErr)
	if firstErr != nil && lp.namespaces && lp.landlock && lp.newNet == optimistic.newNet && lp.seccomp == optimistic.seccomp && lp.allowlist == optimistic.allowlist && lp.cacheOverlay {
		return nil, firstErr // every layer is there: the failure was something else
	}
	p, err := startWith(ctx, &spec, lp)
	if lp.cacheOverlayFailed(err) && ctx.Err() == nil {
		return startWith(ctx, &spec, lp)
	}
	return p, err
}

// startWith starts the stage with the layers of lp, prepares the host side
// while the stage's Go runtime boots (the stage waits for its spec on a
// pipe, so nothing of the sandbox exists yet), places it in the run's
// cgroup, and sends it the spec. Whatever fails kills the stage and undoes
// the preparation.
func startWith(ctx context.Context, spec *sandbox.Spec, lp plan) (*process, error) {
	specR, specW, err := os.Pipe()
	if err != nil {
		return nil, fmt.Errorf("linux sandbox: spec pipe: %w", err)
	}
	statusR, statusW, err := os.Pipe()
	if err != nil {
		specR.Close()
		specW.Close()
		return nil, fmt.Errorf("linux sandbox: status pipe: %w", err)
	}
	cmd := stageCmd(spec, lp, specR, statusW)
	var link *proxyLink
	if lp.allowlist {
		if link, err = newProxyLink(spec.Proxy.Serve); err != nil {
			specR.Close()
			specW.Close()
			statusR.Close()
			statusW.Close()
			return nil, err
		}
		cmd.ExtraFiles = append(cmd.ExtraFiles, link.child) // fd 5
		addNetAdmin(cmd.SysProcAttr)
	}
	term := saveTerminal(spec.Stdin)
	err = cmd.Start()
	specR.Close()
	statusW.Close()
	if link != nil {
		link.started()
	}
	if err != nil {
		specW.Close()
		statusR.Close()
		link.close()
		return nil, fmt.Errorf("linux sandbox: start: %w", err)
	}
	p := &process{cmd: cmd, group: !lp.namespaces, degraded: lp.degraded, term: term, link: link}
	abort := func(err error) (*process, error) {
		specW.Close()
		statusR.Close()
		_ = p.Kill()
		_, _ = p.Wait() // and p.prep.cleanup()
		return nil, err
	}
	prep, err := prepare(ctx, spec, lp.namespaces)
	if err != nil {
		return abort(err)
	}
	p.prep = prep
	if err := prep.addCaches(ctx, spec, lp); err != nil {
		return abort(err)
	}
	p.degraded = append(p.degraded, prep.warnings...)
	werr := writeSpec(specW, stagePayload(spec, lp, prep))
	// The stage sets the sandbox up meanwhile, and starts nothing of the
	// command before the go-ahead: placing it in the run's cgroup now is
	// race-free.
	if err := prep.limits.attach(cmd.Process.Pid); err != nil {
		return abort(fmt.Errorf("linux sandbox: %w", err))
	}
	if werr == nil {
		werr = sendGo(specW)
	} else {
		specW.Close()
	}

	status := make(chan error, 1)
	go func() {
		status <- readStatus(statusR)
		statusR.Close()
	}()
	select {
	case err = <-status:
	case <-ctx.Done():
		err = ctx.Err()
	}
	if err == nil && werr != nil {
		err = fmt.Errorf("linux sandbox: %w", werr)
	}
	if err != nil {
		_ = p.Kill()
		_, _ = p.Wait()
		return nil, err
	}
	return p, nil
}

func checkSpec(spec *sandbox.Spec) error {
	switch {
	case spec.Policy == nil:
		return errors.New("linux sandbox: no policy")
	case len(spec.Args) == 0:
		return errors.New("linux sandbox: no command")
	case !filepath.IsAbs(spec.Dir):
		return fmt.Errorf("linux sandbox: working directory %q is not absolute", spec.Dir)
	case spec.Policy.Allowlist != nil && spec.Proxy == nil:
		return errors.New("linux sandbox: a network allowlist needs Spec.Proxy")
	}
	return nil
}

// plan is which layers a run uses.
type plan struct {
	namespaces bool // the init with user, mount, PID and IPC namespaces; else the exec stage alone
	newNet     bool // and a network namespace
	landlock   bool
	seccomp    bool
	allowlist  bool // and the network allowlist's proxy on its loopback
	// cacheOverlay: tool caches are layered with overlays, not variables;
	// cacheNote says why not, when an overlay failed to mount.
	cacheOverlay bool
	cacheNote    string
	degraded     []string
}

// layerPlan decides which layers to use for pol and checks that every layer
// it needs is there, or that best effort allows going without. Needed are:
// user, mount and PID namespaces (protected names, private /tmp, killing
// the whole tree), no_new_privs and Landlock always; without network, a
// network namespace or seccomp; with a network allowlist, the allowlist
// layer too (which needs the network namespace).
func layerPlan(pol *policy.Resolved, pr *probeResult, bestEffort bool) (plan, error) {
	var lp plan
	var missing []string
	avail := func(name string) bool { return pr.layer(name).Available }
	lp.namespaces = !forceNoNamespaces && avail(LayerUserNS) && avail(LayerMountNS) && avail(LayerPIDNS)
	if !lp.namespaces {
		for _, n := range []string{LayerUserNS, LayerMountNS, LayerPIDNS} {
			if forceNoNamespaces || !avail(n) {
				missing = append(missing, n)
			}
		}
	}
	if !avail(LayerNoNewPriv) {
		missing = append(missing, LayerNoNewPriv)
	}
	lp.landlock = avail(LayerLandlock) && avail(LayerNoNewPriv)
	lp.cacheOverlay = lp.namespaces && cacheOverlayAvailable(pr)
	if !lp.landlock {
		missing = append(missing, LayerLandlock)
	}
	if !pol.Network {
		lp.newNet = lp.namespaces && avail(LayerNetNS)
		lp.seccomp = avail(LayerSeccomp) && avail(LayerNoNewPriv)
		if !lp.newNet && !lp.seccomp {
			missing = append(missing, LayerNetNS, LayerSeccomp)
		}
	}
	if pol.Allowlist != nil {
		// Without it the network stays off, never open.
		lp.allowlist = lp.newNet && avail(LayerAllowlist)
		if !lp.allowlist {
			missing = append(missing, LayerAllowlist)
		}
	}
	if len(missing) > 0 && !bestEffort {
		var why []string
		for _, n := range missing {
			l := pr.layer(n)
			d := l.Detail
			if forceNoNamespaces && (n == LayerUserNS || n == LayerMountNS || n == LayerPIDNS) {
				d = "disabled"
			}
			why = append(why, fmt.Sprintf("%s (%s)", n, d))
		}
		return lp, sandbox.Unavailable("linux: layers the policy needs are missing: %s", strings.Join(why, "; "))
	}
	lp.degraded = missing
	return lp, nil
}

// stageCmd is the re-executed stage for lp: the init in its namespaces, or
// the exec stage alone. Its spec arrives on fd 3, and it reports on fd 4.
func stageCmd(spec *sandbox.Spec, lp plan, specR, statusW *os.File) *exec.Cmd {
	cmd := &exec.Cmd{
		Path:       selfExe,
		Stdin:      spec.Stdin,
		Stdout:     spec.Stdout,
		Stderr:     spec.Stderr,
		ExtraFiles: []*os.File{specR, statusW}, // fds 3 and 4
		WaitDelay:  waitDelay,
		// Setsid: the command gets no controlling terminal, so it cannot
		// push input into the caller's terminal with TIOCSTI.
		SysProcAttr: &syscall.SysProcAttr{Setsid: true, Pdeathsig: syscall.SIGKILL},
	}
	if lp.namespaces {
		cmd.Args = []string{"cordon-sandbox: init"}
		// One P is all the init needs (it waits and forwards signals):
		// fewer runtime threads, a faster start, and fewer tasks counted
		// against the process limit.
		cmd.Env = []string{stageEnv + "=" + stageInit, "GOMAXPROCS=1"}
		setInitAttrs(cmd.SysProcAttr, lp.newNet)
	} else {
		cmd.Args = []string{"cordon-sandbox: exec"}
		cmd.Env = []string{stageEnv + "=" + stageExec}
	}
	return cmd
}

// stagePayload is the spec the stage reads: an initSpec, or an execSpec for
// the exec stage.
func stagePayload(spec *sandbox.Spec, lp plan, prep *prepared) any {
	pol := spec.Policy
	ex := execSpec{Args: spec.Args, Dir: spec.Dir, Seccomp: lp.seccomp, NetworkOff: !pol.Network}
	if fd := ownTerminal(spec); fd >= 0 {
		ex.TakeCtty, ex.Ctty = true, fd
	}
	for _, kv := range spec.Env {
		if strings.HasPrefix(kv, stageEnv+"=") || lp.namespaces && isTempVar(kv) {
			continue
		}
		ex.Env = append(ex.Env, kv)
	}
	if lp.namespaces {
		// The private /tmp is the command's only temp directory: the
		// caller's TMPDIR names a host directory it may not write.
		ex.Env = append(ex.Env, "TMPDIR="+tmpDir, "TMP="+tmpDir, "TEMP="+tmpDir)
	}
	ex.Env = prep.caches.commandEnv(ex.Env)
	if lp.landlock {
		ll := &landlockSpec{RWDirs: append(slices.Clip(prep.roots), prep.caches.writable()...), RWFiles: devFiles, NetworkOff: !pol.Network}
		if lp.namespaces {
			// The sandbox's own tmpfs mounts, private to it.
			ll.RWDirs = append(append([]string{}, ll.RWDirs...), "/dev/shm")
			for _, d := range privateTmpDirs {
				if _, err := os.Stat(d); err == nil && !slices.Contains(prep.hostTmp, d) {
					ll.RWDirs = append(ll.RWDirs, d)
				}
			}
		}
		ex.Landlock = ll
	}
	var proxy *proxySpec
	if pol.Allowlist != nil {
		proxy = allowlistPayload(&ex, lp, pol.Allowlist.LocalBinding)
	}
	if !lp.namespaces {
		return ex
	}
	return initSpec{
		UID: os.Getuid(), GID: os.Getgid(),
		TmpKeep: prep.tmpKeep, HostTmp: prep.hostTmp, TmpSize: tmpSize(spec.Limits),
		MaskRun: !pol.Network && !anyUnder(append([]string{spec.Dir}, prep.roots...), runDirs),
		Roots:   prep.roots, Pins: prep.pins, Protected: prep.protected, ReadOnly: prep.readOnly, DenyRead: prep.denyRead,
		Rlimits: prep.limits.rlimits(), Proxy: proxy, Exec: ex,
		Caches: prep.caches.overlays(), CacheBinds: prep.caches.bindDirs(),
	}
}

// process is a started sandbox.
type process struct {
	cmd      *exec.Cmd
	group    bool // no PID namespace: kill the process group instead
	degraded []string
	prep     *prepared
	term     *termState // stdin's terminal settings, restored after the run
	link     *proxyLink // the allowlist proxy's listener, served until Wait

	mu     sync.Mutex
	exited bool // the group leader has been reaped: its pid may be reused

	once sync.Once
	code int
	err  error
}

func (p *process) Degraded() []string { return append([]string(nil), p.degraded...) }

// Notes are what the run found and left alone (git directories outside
// every root, gitfiles naming nothing), for the log.
func (p *process) Notes() []string {
	if p.prep == nil {
		return nil
	}
	return append([]string(nil), p.prep.notes...)
}

// Kill kills the init, PID 1 of the namespace, with SIGKILL: the kernel
// then kills every process of the namespace. Without namespaces it kills
// the process group (a descendant that left it survives: that is one of the
// things Degraded reports).
func (p *process) Kill() error {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.exited {
		return nil
	}
	if p.group {
		if err := unix.Kill(-p.cmd.Process.Pid, unix.SIGKILL); err != nil && !errors.Is(err, unix.ESRCH) {
			return fmt.Errorf("linux sandbox: kill process group: %w", err)
		}
		return nil
	}
	if err := p.cmd.Process.Kill(); err != nil && !errors.Is(err, os.ErrProcessDone) {
		return fmt.Errorf("linux sandbox: kill: %w", err)
	}
	return nil
}

// Wait waits for the init (or, without namespaces, the command) and returns
// its exit code, then removes the placeholders.
func (p *process) Wait() (int, error) {
	p.once.Do(func() {
		err := p.cmd.Wait()
		if p.group {
			// As with a PID namespace, what the command left running
			// dies with it.
			_ = p.Kill()
		}
		p.mu.Lock()
		p.exited = true
		p.mu.Unlock()
		var ee *exec.ExitError
		switch {
		case err == nil, errors.As(err, &ee), errors.Is(err, exec.ErrWaitDelay):
			ws := p.cmd.ProcessState.Sys().(syscall.WaitStatus)
			p.code = exitCode(unix.WaitStatus(ws))
		default:
			p.code, p.err = -1, fmt.Errorf("linux sandbox: wait: %w", err)
		}
		p.term.restore()
		p.link.close()
		p.prep.cleanup()
	})
	return p.code, p.err
}

// setInitAttrs sets the namespaces and identity of the init stage: new
// user, mount, PID and IPC namespaces (System V IPC and POSIX message
// queues of its own, ipc_namespaces(7)), a network namespace when newNet,
// the caller's uid and gid mapped to themselves (the command sees its own
// ids), and CAP_SYS_ADMIN, CAP_SETPCAP and CAP_DAC_OVERRIDE kept across
// execve(2) as ambient capabilities of the new namespace: the init needs
// the first to mount, the second to empty its bounding set, and the third
// for the tool caches' overlays (overlayfs works in its work directory,
// mode 0, with the credentials of whoever mounted it; in the namespace the
// capability reaches only the caller's own files), and drops all before the
// command starts. A caller that is root keeps them as uid 0 anyway.
func setInitAttrs(sys *syscall.SysProcAttr, newNet bool) {
	flags := uintptr(syscall.CLONE_NEWUSER | syscall.CLONE_NEWNS | syscall.CLONE_NEWPID | syscall.CLONE_NEWIPC)
	if newNet {
		flags |= syscall.CLONE_NEWNET
	}
	sys.Cloneflags = flags
	uid, gid := os.Getuid(), os.Getgid()
	sys.UidMappings = []syscall.SysProcIDMap{{ContainerID: uid, HostID: uid, Size: 1}}
	sys.GidMappings = []syscall.SysProcIDMap{{ContainerID: gid, HostID: gid, Size: 1}}
	if uid != 0 {
		sys.AmbientCaps = []uintptr{unix.CAP_SYS_ADMIN, unix.CAP_SETPCAP, unix.CAP_DAC_OVERRIDE}
	}
}

// isTempVar reports whether kv sets one of the temp directory variables.
func isTempVar(kv string) bool {
	k, _, _ := strings.Cut(kv, "=")
	return k == "TMPDIR" || k == "TMP" || k == "TEMP"
}

// tmpSize is the size of each private temp tmpfs: DefaultTmpSize, or the
// memory limit when it is smaller.
func tmpSize(l sandbox.Limits) uint64 {
	if l.Memory != 0 && l.Memory < DefaultTmpSize {
		return l.Memory
	}
	return DefaultTmpSize
}

// ownTerminal returns the first of the command's descriptors 0, 1 and 2
// that is a terminal, when the caller says its terminals are the run's own
// (sandbox.Spec.OwnTerminal), or -1. Only the caller can know: a terminal
// that is another session's controlling terminal looks free from here, and
// taking it would fail (TIOCSCTTY steals only with CAP_SYS_ADMIN) or take
// it from the user's shell.
func ownTerminal(spec *sandbox.Spec) int {
	if !spec.OwnTerminal {
		return -1
	}
	for fd, s := range []any{spec.Stdin, spec.Stdout, spec.Stderr} {
		if f, ok := s.(*os.File); ok && f != nil {
			if _, err := unix.IoctlGetTermios(int(f.Fd()), unix.TCGETS); err == nil {
				return fd
			}
		}
	}
	return -1
}
