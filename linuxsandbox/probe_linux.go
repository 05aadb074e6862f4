package linuxsandbox

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/cordon-sandbox/cordon/sandbox"
	"golang.org/x/sys/unix"
)

// Probe never reports a layer it did not try. It starts this binary as a
// throwaway stage (stageProbe) in the namespaces a sandbox uses, where the
// stage builds a read-only bind, mounts a proc, lists the network
// interfaces, starts a nested stage that tries to remount and unmount that
// bind (it must fail: locked mounts), then sets no_new_privs, enforces a
// Landlock ruleset and checks a write is refused, loads the seccomp filter
// and checks an AF_INET socket is refused. If the namespaces cannot be
// created, it tries again with fewer (no network namespace, then none), so
// that Landlock and seccomp are still tried where user namespaces are off.
// The result is cached for the life of the process: the kernel's abilities
// do not change under a running program.

// probeReport is what the probe stage writes on its stdout.
type probeReport struct {
	UID         int    `json:"uid"`
	PID         int    `json:"pid"`
	MountErr    string `json:"mount_err,omitempty"`
	ProcErr     string `json:"proc_err,omitempty"`
	NetErr      string `json:"net_err,omitempty"`
	LockErr     string `json:"lock_err,omitempty"`
	NNPErr      string `json:"nnp_err,omitempty"`
	LandlockABI int    `json:"landlock_abi,omitempty"`
	LandlockErr string `json:"landlock_err,omitempty"`
	SeccompErr  string `json:"seccomp_err,omitempty"`
}

// probeResult is the outcome of the probe, as layers.
type probeResult struct {
	layers []sandbox.Layer
}

func (r *probeResult) layer(name string) sandbox.Layer {
	for _, l := range r.layers {
		if l.Name == name {
			return l
		}
	}
	return sandbox.Layer{Name: name, Detail: "not probed"}
}

func (r *probeResult) probe() sandbox.Probe {
	p := sandbox.Probe{Backend: Name, Available: true, Layers: append([]sandbox.Layer(nil), r.layers...)}
	var missing []string
	for _, l := range r.layers {
		if !l.Available {
			missing = append(missing, l.Name+" ("+l.Detail+")")
		}
	}
	if len(missing) > 0 {
		p.Available = false
		p.Reason = "missing: " + strings.Join(missing, "; ")
	}
	return p
}

var enforces = map[string]string{
	LayerUserNS:    "The command's uid 0, if any, is not the host's: it holds no capability outside its namespaces, and the mounts made for it are locked against it.",
	LayerMountNS:   "Outside the writable roots the file system is read-only, protected names inside them are read-only mounts that cannot be written, removed, replaced, unmounted or remounted, and read-only commands get a private /tmp.",
	LayerPIDNS:     "The command sees only its own processes, and killing the sandbox kills every one of them, daemons included.",
	LayerNetNS:     "Without network the command has only a loopback interface, down: no route to any host.",
	LayerLandlock:  "Writes outside the writable roots and a few device files fail with EACCES, whatever the path; from ABI 6 no signal or abstract Unix socket reaches a process outside the sandbox.",
	LayerSeccomp:   "Without network, socket(2) of any family but AF_UNIX, io_uring, ptrace and process_vm_* fail with EPERM.",
	LayerNoNewPriv: "No execve(2) grants privileges: set-user-ID bits and file capabilities are ignored.",
}

var (
	probeMu     sync.Mutex
	probeCached *probeResult
)

// cachedProbe returns the probe result if this process has one.
func cachedProbe() *probeResult {
	probeMu.Lock()
	defer probeMu.Unlock()
	return probeCached
}

// getProbe returns the cached probe result, probing first if needed. A
// probe cut short by ctx is not cached.
func getProbe(ctx context.Context) (*probeResult, error) {
	probeMu.Lock()
	defer probeMu.Unlock()
	if probeCached != nil {
		return probeCached, nil
	}
	r, err := runProbeStages(ctx)
	if err != nil {
		return nil, err
	}
	probeCached = r
	return r, nil
}

func runProbeStages(ctx context.Context) (*probeResult, error) {
	if _, ok := ctx.Deadline(); !ok {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, 20*time.Second)
		defer cancel()
	}
	base := uintptr(syscall.CLONE_NEWUSER | syscall.CLONE_NEWNS | syscall.CLONE_NEWPID)
	attempts := []uintptr{base | syscall.CLONE_NEWNET, base, 0}
	var nsErr, netErr error
	for i, flags := range attempts {
		rep, err := probeOnce(ctx, flags)
		if ctx.Err() != nil {
			return nil, ctx.Err()
		}
		if err != nil {
			if i == 0 {
				netErr = err
			}
			if flags != 0 {
				nsErr = err
				continue
			}
			return nil, err // even a plain re-exec fails
		}
		return layersFrom(rep, flags, nsErr, netErr), nil
	}
	panic("unreachable")
}

// probeOnce starts the probe stage with the given clone flags.
func probeOnce(ctx context.Context, flags uintptr) (*probeReport, error) {
	dir, err := os.MkdirTemp("", "cordon-probe-")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(dir)
	cmd := exec.CommandContext(ctx, selfExe)
	cmd.Args = []string{"cordon-sandbox: probe", dir, fmt.Sprint(flags&syscall.CLONE_NEWNET != 0)}
	cmd.Env = []string{stageEnv + "=" + stageProbe}
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true, Pdeathsig: syscall.SIGKILL, Cloneflags: flags}
	if flags&syscall.CLONE_NEWUSER != 0 {
		cmd.SysProcAttr.UidMappings = []syscall.SysProcIDMap{{ContainerID: 0, HostID: os.Getuid(), Size: 1}}
		cmd.SysProcAttr.GidMappings = []syscall.SysProcIDMap{{ContainerID: 0, HostID: os.Getgid(), Size: 1}}
	}
	if err := cmd.Run(); err != nil {
		msg := strings.TrimSpace(errb.String())
		if msg != "" {
			return nil, fmt.Errorf("%w: %s", err, msg)
		}
		return nil, err
	}
	var rep probeReport
	if err := json.Unmarshal(out.Bytes(), &rep); err != nil {
		return nil, fmt.Errorf("probe report %q: %w", out.String(), err)
	}
	return &rep, nil
}

func layersFrom(rep *probeReport, flags uintptr, nsErr, netErr error) *probeResult {
	ns := flags&syscall.CLONE_NEWUSER != 0
	mk := func(name string, ok bool, detail string) sandbox.Layer {
		return sandbox.Layer{Name: name, Available: ok, Detail: detail, Enforces: enforces[name]}
	}
	orErr := func(ok bool, okDetail, bad string) (bool, string) {
		if ok {
			return true, okDetail
		}
		return false, bad
	}
	var ls []sandbox.Layer
	if !ns {
		d := "clone(CLONE_NEWUSER): " + errString(nsErr)
		for _, n := range []string{LayerUserNS, LayerMountNS, LayerPIDNS, LayerNetNS} {
			ls = append(ls, mk(n, false, d))
		}
	} else {
		ok, d := orErr(rep.UID == 0, fmt.Sprintf("uid %d mapped to 0, nested namespace created", os.Getuid()), fmt.Sprintf("uid is %d inside, not 0", rep.UID))
		if rep.LockErr != "" && ok {
			ok, d = false, "nested user namespace: "+rep.LockErr
		}
		ls = append(ls, mk(LayerUserNS, ok, d))
		bad := rep.MountErr
		if bad == "" {
			bad = rep.LockErr
		}
		ok, d = orErr(bad == "", "read-only binds via mount_setattr; locked in a nested namespace", bad)
		ls = append(ls, mk(LayerMountNS, ok, d))
		bad = rep.ProcErr
		if bad == "" && rep.PID != 1 {
			bad = fmt.Sprintf("pid is %d inside, not 1", rep.PID)
		}
		ok, d = orErr(bad == "", "PID 1 with a fresh /proc", bad)
		ls = append(ls, mk(LayerPIDNS, ok, d))
		if flags&syscall.CLONE_NEWNET != 0 {
			ok, d = orErr(rep.NetErr == "", "only a loopback interface", rep.NetErr)
		} else {
			ok, d = false, "clone(CLONE_NEWNET): "+errString(netErr)
		}
		ls = append(ls, mk(LayerNetNS, ok, d))
	}
	ok, d := orErr(rep.LandlockErr == "", fmt.Sprintf("ABI %d", rep.LandlockABI), rep.LandlockErr)
	ls = append(ls, mk(LayerLandlock, ok, d))
	ok, d = orErr(rep.SeccompErr == "", "BPF filter with TSYNC; AF_INET socket refused", rep.SeccompErr)
	ls = append(ls, mk(LayerSeccomp, ok, d))
	ok, d = orErr(rep.NNPErr == "", "PR_SET_NO_NEW_PRIVS", rep.NNPErr)
	ls = append(ls, mk(LayerNoNewPriv, ok, d))
	return &probeResult{layers: ls}
}

func errString(err error) string {
	if err == nil {
		return "not tried"
	}
	return err.Error()
}

// runProbe is the probe stage: args are its scratch directory and whether a
// network namespace was requested. It writes a probeReport on stdout.
func runProbe() {
	var rep probeReport
	rep.UID, rep.PID = os.Getuid(), os.Getpid()
	if len(os.Args) < 3 {
		fmt.Fprintln(os.Stderr, "cordon: probe: missing arguments")
		os.Exit(exitSetup)
	}
	dir, wantNet := os.Args[1], os.Args[2] == "true"
	if rep.UID == 0 && rep.PID == 1 {
		probeNamespaces(&rep, dir, wantNet)
	}
	// In the probe's tmpfs when namespaces worked, else in the scratch
	// directory, which the parent removes.
	probeFile := dir + "/landlock-probe"
	if err := os.WriteFile(probeFile, nil, 0o600); err != nil && rep.LandlockErr == "" {
		rep.LandlockErr = "probe file: " + err.Error()
	}
	if err := unix.Prctl(unix.PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0); err != nil {
		rep.NNPErr = err.Error()
	} else if v, err := unix.PrctlRetInt(unix.PR_GET_NO_NEW_PRIVS, 0, 0, 0, 0); err != nil || v != 1 {
		rep.NNPErr = fmt.Sprintf("PR_GET_NO_NEW_PRIVS = %d, %v", v, err)
	}
	if rep.LandlockErr == "" {
		abi, err := applyLandlock(&landlockSpec{NetworkOff: true})
		rep.LandlockABI = abi
		if err != nil {
			rep.LandlockErr = err.Error()
		} else if f, err := os.OpenFile(probeFile, os.O_WRONLY, 0); err == nil {
			f.Close()
			rep.LandlockErr = "a write outside the ruleset was allowed"
		} else if !errors.Is(err, unix.EACCES) {
			rep.LandlockErr = "a write outside the ruleset failed with " + err.Error() + ", not EACCES"
		}
	}
	if err := applySeccomp(); err != nil {
		rep.SeccompErr = err.Error()
	} else if fd, err := unix.Socket(unix.AF_INET, unix.SOCK_STREAM, 0); err == nil {
		unix.Close(fd)
		rep.SeccompErr = "an AF_INET socket was allowed"
	} else if !errors.Is(err, unix.EPERM) {
		rep.SeccompErr = "an AF_INET socket failed with " + err.Error() + ", not EPERM"
	} else if fd, err := unix.Socket(unix.AF_UNIX, unix.SOCK_STREAM, 0); err != nil {
		rep.SeccompErr = "an AF_UNIX socket failed: " + err.Error()
	} else {
		unix.Close(fd)
	}
	_ = json.NewEncoder(os.Stdout).Encode(rep)
	os.Exit(0)
}

// probeNamespaces checks, in the probe's namespaces, what stage 1 relies on.
// The mounts are made on the scratch directory in the probe's own mount
// namespace: the host never sees them.
func probeNamespaces(rep *probeReport, dir string, wantNet bool) {
	ro := dir + "/ro"
	err := unix.Mount("", "/", "", unix.MS_REC|unix.MS_PRIVATE, "")
	if err == nil {
		err = unix.Mount("cordon-probe", dir, "tmpfs", 0, "")
	}
	if err == nil {
		err = os.MkdirAll(ro, 0o755)
	}
	if err == nil {
		err = attachClone(ro, ro, true, true)
	}
	if err == nil {
		if werr := os.WriteFile(ro+"/x", nil, 0o600); !errors.Is(werr, unix.EROFS) {
			err = fmt.Errorf("write to a read-only bind: %v, not EROFS", werr)
		}
	}
	if err != nil {
		rep.MountErr = err.Error()
		return
	}
	// A proc of our PID namespace, on /proc as in a sandbox (the uid_map
	// of the nested probe below is written through it).
	if err := unix.Mount("proc", "/proc", "proc", unix.MS_NOSUID|unix.MS_NODEV|unix.MS_NOEXEC, ""); err != nil {
		rep.ProcErr = "mount proc: " + err.Error()
	} else if b, err := os.ReadFile("/proc/1/cmdline"); err != nil || !bytes.HasPrefix(b, []byte("cordon-sandbox: probe")) {
		rep.ProcErr = fmt.Sprintf("/proc/1 of the new proc is not the probe (%q, %v)", b, err)
	}
	if wantNet {
		if b, err := os.ReadFile("/proc/net/dev"); err != nil {
			rep.NetErr = err.Error()
		} else if ifs := interfaces(b); len(ifs) != 1 || ifs[0] != "lo" {
			rep.NetErr = fmt.Sprintf("interfaces %v, want only lo", ifs)
		}
	}
	// Stage 2's guarantee: from a nested user and mount namespace, the
	// read-only bind can be neither remounted read-write nor unmounted.
	cmd := exec.Command(selfExe)
	cmd.Args = []string{"cordon-sandbox: probe-nested", ro}
	cmd.Env = []string{stageEnv + "=" + stageProbeNested}
	cmd.SysProcAttr = &syscall.SysProcAttr{
		Cloneflags:  syscall.CLONE_NEWUSER | syscall.CLONE_NEWNS,
		UidMappings: []syscall.SysProcIDMap{{ContainerID: 0, HostID: 0, Size: 1}},
		GidMappings: []syscall.SysProcIDMap{{ContainerID: 0, HostID: 0, Size: 1}},
		Pdeathsig:   syscall.SIGKILL,
	}
	if out, err := cmd.CombinedOutput(); err != nil {
		rep.LockErr = fmt.Sprintf("%v: %s", err, bytes.TrimSpace(out))
	}
}

// interfaces lists the interface names of /proc/net/dev.
func interfaces(b []byte) []string {
	var out []string
	for _, line := range strings.Split(string(b), "\n") {
		if name, _, ok := strings.Cut(line, ":"); ok {
			out = append(out, strings.TrimSpace(name))
		}
	}
	return out
}

// runProbeNested is the nested probe stage: it exits 0 if the bind at
// os.Args[1] is locked.
func runProbeNested() {
	ro := os.Args[1]
	if err := unix.Mount("", ro, "", unix.MS_REMOUNT|unix.MS_BIND, ""); err == nil {
		fmt.Fprintln(os.Stderr, "a locked read-only mount could be remounted read-write")
		os.Exit(1)
	}
	if err := unix.Unmount(ro, unix.MNT_DETACH); err == nil {
		fmt.Fprintln(os.Stderr, "a locked mount could be unmounted")
		os.Exit(1)
	}
	os.Exit(0)
}
