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
	IPCErr      string `json:"ipc_err,omitempty"`
	KeyringErr  string `json:"keyring_err,omitempty"`
	// AllowlistErr is why the proxy's listener could not be made and
	// reached; empty when it worked or was not tried (no network
	// namespace).
	AllowlistErr string `json:"allowlist_err,omitempty"`
	CacheErr     string `json:"cache_err,omitempty"` // why no overlay for the tool caches
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
		// Limits and allowlists are asked for per run, and a run that
		// needs a missing one is refused then: the backend is no less
		// available.
		if !l.Available && l.Name != LayerLimits && l.Name != LayerAllowlist {
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
	LayerSeccomp:   "io_uring, ptrace, process_vm_*, the key system calls, user namespaces, TIOCSTI and set-user-ID or set-group-ID modes fail; without network, socket(2) of any family but AF_UNIX fails with EPERM.",
	LayerIPCNS:     "System V IPC objects and POSIX message queues are the sandbox's own: the host's cannot be read, written or removed, and nothing planted outlives the run.",
	LayerKeyring:   "The command's session keyring is a fresh empty one, and the key system calls are refused: the caller's keys cannot be read, changed or added to.",
	LayerNoNewPriv: "No execve(2) grants privileges: set-user-ID bits and file capabilities are ignored.",
	LayerAllowlist: "With a network allowlist the command's only way out is cordon's proxy, listening on the loopback of its own network namespace and served from outside it: a program that ignores the proxy variables reaches nothing.",
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
	attempts := []bool{true, true, false} // namespaces, with a network namespace first
	nets := []bool{true, false, false}
	var nsErr, netErr error
	for i, ns := range attempts {
		rep, err := probeOnce(ctx, ns, nets[i])
		if ctx.Err() != nil {
			return nil, ctx.Err()
		}
		if err != nil {
			if i == 0 {
				netErr = err
			}
			if ns {
				nsErr = err
				continue
			}
			return nil, err // even a plain re-exec fails
		}
		r := layersFrom(rep, ns, nets[i], nsErr, netErr)
		r.layers = append(r.layers, probeLimits())
		return r, nil
	}
	panic("unreachable")
}

// probeOnce starts the probe stage, in the init's namespaces (ns) with or
// without a network namespace, or in none.
func probeOnce(ctx context.Context, ns, newNet bool) (*probeReport, error) {
	dir, err := os.MkdirTemp("", "cordon-probe-")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(dir)
	cmd := exec.CommandContext(ctx, selfExe)
	ipc, _ := os.Readlink("/proc/self/ns/ipc")
	keyring, _ := unix.KeyctlGetKeyringID(unix.KEY_SPEC_SESSION_KEYRING, false)
	layer, done, layerErr := cacheProbeScratch()
	defer done()
	cmd.Args = []string{"cordon-sandbox: probe", dir, fmt.Sprint(newNet), ipc, fmt.Sprint(keyring), layer}
	cmd.Env = []string{stageEnv + "=" + stageProbe}
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true, Pdeathsig: syscall.SIGKILL}
	if ns {
		setInitAttrs(cmd.SysProcAttr, newNet)
	}
	link, err := probeProxyLink(cmd, ns && newNet)
	if err != nil {
		return nil, err
	}
	defer link.close()
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
	if layerErr != nil {
		rep.CacheErr = "no state directory to try it in: " + layerErr.Error()
	}
	return &rep, nil
}

func layersFrom(rep *probeReport, ns, newNet bool, nsErr, netErr error) *probeResult {
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
		for _, n := range []string{LayerUserNS, LayerMountNS, LayerPIDNS, LayerIPCNS, LayerNetNS, LayerAllowlist} {
			ls = append(ls, mk(n, false, d))
		}
	} else {
		ok, d := orErr(rep.UID == os.Getuid(), fmt.Sprintf("uid %d mapped to itself, nested namespace created", os.Getuid()), fmt.Sprintf("uid is %d inside, not %d", rep.UID, os.Getuid()))
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
		ok, d = orErr(rep.IPCErr == "", "a new IPC namespace with its own mqueue", rep.IPCErr)
		ls = append(ls, mk(LayerIPCNS, ok, d))
		ok, d = orErr(rep.KeyringErr == "", "a fresh anonymous session keyring", rep.KeyringErr)
		ls = append(ls, mk(LayerKeyring, ok, d))
		bad = rep.ProcErr
		if bad == "" && rep.PID != 1 {
			bad = fmt.Sprintf("pid is %d inside, not 1", rep.PID)
		}
		ok, d = orErr(bad == "", "PID 1 with a fresh /proc", bad)
		ls = append(ls, mk(LayerPIDNS, ok, d))
		if newNet {
			ok, d = orErr(rep.NetErr == "", "only a loopback interface", rep.NetErr)
		} else {
			ok, d = false, "clone(CLONE_NEWNET): "+errString(netErr)
		}
		ls = append(ls, mk(LayerNetNS, ok, d))
		if newNet {
			ok, d = orErr(rep.AllowlistErr == "", "loopback up, a listener on it handed to cordon and reached from inside", rep.AllowlistErr)
		}
		ls = append(ls, mk(LayerAllowlist, ok, d))
	}
	ok, d := orErr(rep.LandlockErr == "", fmt.Sprintf("ABI %d", rep.LandlockABI), rep.LandlockErr)
	ls = append(ls, mk(LayerLandlock, ok, d))
	ok, d = orErr(rep.SeccompErr == "", "BPF filter with TSYNC; AF_INET socket, keyctl, chmod u+s and unshare(CLONE_NEWUSER) refused", rep.SeccompErr)
	ls = append(ls, mk(LayerSeccomp, ok, d))
	ok, d = orErr(rep.NNPErr == "", "PR_SET_NO_NEW_PRIVS", rep.NNPErr)
	ls = append(ls, mk(LayerNoNewPriv, ok, d))
	ls = append(ls, cacheLayerFrom(rep, ns))
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
	if rep.PID == 1 {
		probeNamespaces(&rep, dir, wantNet)
		probeIPC(&rep, os.Args[3])
		probeKeyring(&rep, os.Args[4])
		if wantNet {
			probeAllowlist(&rep)
		}
		if rep.MountErr == "" && rep.CacheErr == "" && len(os.Args) > 5 {
			rep.CacheErr = probeOverlay(dir, os.Args[5])
		}
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
	if err := applySeccomp(netOff); err != nil {
		rep.SeccompErr = err.Error()
	} else if err := probeSeccompBase(dir); err != nil {
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

// probeNamespaces checks, in the probe's namespaces, what the init relies on.
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
		err = attachClone(ro, ro, readOnlyTree)
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
	// The locked-mount guarantee: from a nested user and mount namespace, the
	// read-only bind can be neither remounted read-write nor unmounted.
	cmd := exec.Command(selfExe)
	cmd.Args = []string{"cordon-sandbox: probe-nested", ro}
	cmd.Env = []string{stageEnv + "=" + stageProbeNested}
	cmd.SysProcAttr = &syscall.SysProcAttr{
		Cloneflags:  syscall.CLONE_NEWUSER | syscall.CLONE_NEWNS,
		UidMappings: []syscall.SysProcIDMap{{ContainerID: 0, HostID: os.Getuid(), Size: 1}},
		GidMappings: []syscall.SysProcIDMap{{ContainerID: 0, HostID: os.Getgid(), Size: 1}},
		Pdeathsig:   syscall.SIGKILL,
	}
	if out, err := cmd.CombinedOutput(); err != nil {
		rep.LockErr = fmt.Sprintf("%v: %s", err, bytes.TrimSpace(out))
	}
}

// probeIPC checks that the probe's IPC namespace is not the parent's
// (hostIPC is the parent's /proc/self/ns/ipc link) and that a message queue
// file system of its own can be mounted.
func probeIPC(rep *probeReport, hostIPC string) {
	own, err := os.Readlink("/proc/self/ns/ipc")
	switch {
	case err != nil:
		rep.IPCErr = err.Error()
	case own == hostIPC:
		rep.IPCErr = "the IPC namespace is the caller's (" + own + ")"
	default:
		mq, err := os.MkdirTemp("", "mq")
		if err == nil {
			err = unix.Mount("mqueue", mq, "mqueue", 0, "")
		}
		if err != nil {
			rep.IPCErr = "mount mqueue: " + err.Error()
		}
	}
}

// probeKeyring joins a fresh session keyring as the init does and checks
// that it is not the parent's (hostRing, its session keyring's id).
func probeKeyring(rep *probeReport, hostRing string) {
	if err := joinFreshKeyring(); err != nil {
		rep.KeyringErr = err.Error()
		return
	}
	id, err := unix.KeyctlGetKeyringID(unix.KEY_SPEC_SESSION_KEYRING, false)
	switch {
	case errors.Is(err, unix.ENOSYS), errors.Is(err, unix.EPERM):
		// No keyrings in this kernel, or refused around us: the command
		// cannot reach a key either.
	case err != nil:
		rep.KeyringErr = "read the session keyring: " + err.Error()
	case fmt.Sprint(id) == hostRing:
		rep.KeyringErr = "the session keyring is still the caller's"
	}
}

// probeSeccompBase checks, under the loaded filter, a few of the base
// rules: keyctl, a set-user-ID chmod and a user namespace are refused.
func probeSeccompBase(dir string) error {
	if _, err := unix.KeyctlGetKeyringID(unix.KEY_SPEC_SESSION_KEYRING, false); !errors.Is(err, unix.EPERM) {
		return fmt.Errorf("keyctl answered %v, not EPERM", err)
	}
	f := dir + "/suid-probe"
	if err := unix.Chmod(f, 0o4755); !errors.Is(err, unix.EPERM) {
		return fmt.Errorf("chmod 04755 answered %v, not EPERM", err)
	}
	if err := unix.Unshare(unix.CLONE_NEWUSER); !errors.Is(err, unix.EPERM) {
		return fmt.Errorf("unshare(CLONE_NEWUSER) answered %v, not EPERM", err)
	}
	return nil
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
