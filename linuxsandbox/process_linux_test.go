package linuxsandbox

// Tests of everything but the file system: network, processes,
// descriptors, exit codes, setup errors, the fallback, an unprivileged
// caller, and the start latency.

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"sort"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/cordon-sandbox/cordon/policy"
	"github.com/cordon-sandbox/cordon/sandbox"
	"golang.org/x/sys/unix"
)

func TestNetworkOff(t *testing.T) {
	w := newWS(t)
	pol := w.policy(t, policy.Policy{Mode: policy.WorkspaceWrite})
	hostNet, _ := os.Readlink("/proc/self/ns/net")
	r := sh(t, pol, "readlink /proc/self/ns/net; tail -n +3 /proc/net/dev | cut -d: -f1 | tr -d ' '")
	if r.code != 0 {
		t.Fatal(r)
	}
	lines := strings.Fields(r.stdout)
	if len(lines) < 2 || lines[0] == hostNet || !slices.Equal(lines[1:], []string{"lo"}) {
		t.Errorf("network namespace: got %q (host %s), want a new one with only lo", lines, hostNet)
	}
	py, err := exec.LookPath("python3")
	if err != nil {
		t.Log("no python3: socket(2) checks skipped")
		return
	}
	r = runSpec(t, sandbox.Spec{Policy: pol, Args: []string{py, "-c", `
import socket, errno
for fam in (socket.AF_INET, socket.AF_INET6, socket.AF_NETLINK):
    try:
        socket.socket(fam, socket.SOCK_DGRAM if fam == socket.AF_NETLINK else socket.SOCK_STREAM)
        print("ALLOWED", fam)
    except OSError as e:
        assert e.errno == errno.EPERM, e
try:
    socket.socketpair(socket.AF_INET)
    print("ALLOWED socketpair")
except OSError:
    pass
a, b = socket.socketpair(socket.AF_UNIX)
s = socket.socket(socket.AF_UNIX)
print("unix ok")
`}})
	if r.code != 0 || r.stdout != "unix ok\n" {
		t.Errorf("python socket checks: %+v", r)
	}
}

func TestNetworkOn(t *testing.T) {
	w := newWS(t)
	pol := w.policy(t, policy.Policy{Mode: policy.WorkspaceWrite, Network: true})
	hostNet, _ := os.Readlink("/proc/self/ns/net")
	if r := sh(t, pol, "readlink /proc/self/ns/net"); r.code != 0 || strings.TrimSpace(r.stdout) != hostNet {
		t.Errorf("network namespace %+v, want the host's %s", r, hostNet)
	}
	py, err := exec.LookPath("python3")
	if err != nil {
		t.Log("no python3: socket(2) check skipped")
		return
	}
	r := runSpec(t, sandbox.Spec{Policy: pol, Args: []string{py, "-c", "import socket; socket.socket(socket.AF_INET); socket.socket(socket.AF_INET6); print('ok')"}})
	if r.code != 0 || r.stdout != "ok\n" {
		t.Errorf("AF_INET with network: %+v", r)
	}
}

func TestPIDNamespace(t *testing.T) {
	w := newWS(t)
	pol := w.policy(t, policy.Policy{Mode: policy.ReadOnly})
	r := sh(t, pol, "echo $$; ls /proc | grep -c '^[0-9]'")
	f := strings.Fields(r.stdout)
	if r.code != 0 || len(f) != 2 {
		t.Fatalf("%+v", r)
	}
	// The init is PID 1; its Go runtime threads take a few pids before
	// the command (the shell) is created. On the host the pid
	// would be in the thousands.
	if pid, _ := strconv.Atoi(f[0]); pid < 2 || pid > 64 {
		t.Errorf("$$ = %s, want a small pid", f[0])
	}
	if n, _ := strconv.Atoi(f[1]); n > 4 {
		t.Errorf("%d processes visible, want only the sandbox's", n)
	}
}

// procsWith lists the host pids whose command line contains marker.
func procsWith(marker string) []int {
	ents, _ := os.ReadDir("/proc")
	var out []int
	for _, e := range ents {
		pid, err := strconv.Atoi(e.Name())
		if err != nil || pid == os.Getpid() {
			continue
		}
		b, err := os.ReadFile("/proc/" + e.Name() + "/cmdline")
		if err == nil && bytes.Contains(b, []byte(marker)) {
			out = append(out, pid)
		}
	}
	return out
}

func TestKillKillsGrandchildren(t *testing.T) {
	w := newWS(t)
	pol := w.policy(t, policy.Policy{Mode: policy.WorkspaceWrite})
	marker := fmt.Sprintf("1000.%d", rand.Int32N(1e9))
	// A grandchild in the background, and one that leaves the process
	// group and session (setsid): both must die with the sandbox.
	p, err := New().Start(context.Background(), sandbox.Spec{
		Policy: pol, Dir: w.cwd, Env: []string{testPath},
		Args: []string{"/bin/sh", "-c", "sleep " + marker + " & setsid sleep " + marker + " & wait"},
	})
	if err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(5 * time.Second)
	for len(procsWith(marker)) < 2 && time.Now().Before(deadline) {
		time.Sleep(5 * time.Millisecond)
	}
	if n := len(procsWith(marker)); n < 2 {
		p.Kill()
		t.Fatalf("%d sleeps started, want 2", n)
	}
	if err := p.Kill(); err != nil {
		t.Fatal(err)
	}
	code, err := p.Wait()
	if err != nil || code != 137 {
		t.Errorf("Wait after Kill = %d, %v; want 137", code, err)
	}
	if err := p.Kill(); err != nil {
		t.Errorf("second Kill: %v", err)
	}
	if left := procsWith(marker); len(left) > 0 {
		t.Errorf("processes survived Kill: %v", left)
	}
}

func TestOnlyStdioInherited(t *testing.T) {
	r, wp, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	defer wp.Close()
	// dup2 clears close-on-exec: fd 9 is inherited by every child of the
	// test process, the sandbox's init included. When the pipe already
	// is fd 9, dup3 (which Dup2 is on amd64) refuses with EINVAL, so the
	// flag is cleared directly.
	if int(wp.Fd()) == 9 {
		if _, err := unix.FcntlInt(9, unix.F_SETFD, 0); err != nil {
			t.Fatal(err)
		}
	} else {
		if err := unix.Dup2(int(wp.Fd()), 9); err != nil {
			t.Fatal(err)
		}
		defer unix.Close(9)
	}
	if fl, _ := unix.FcntlInt(9, unix.F_GETFD, 0); fl&unix.FD_CLOEXEC != 0 {
		t.Fatal("fd 9 is close-on-exec")
	}
	w := newWS(t)
	res := sh(t, w.policy(t, policy.Policy{Mode: policy.WorkspaceWrite}), "ls /proc/self/fd")
	got := strings.Fields(res.stdout)
	sort.Strings(got)
	// ls's own directory descriptor is 3.
	if res.code != 0 || !slices.Equal(got, []string{"0", "1", "2", "3"}) {
		t.Errorf("descriptors in the sandbox: %q (%+v), want 0 1 2 and ls's own 3", got, res)
	}
}

func TestExitCodes(t *testing.T) {
	w := newWS(t)
	mustWrite(t, filepath.Join(w.cwd, "notexec"), "#!/bin/sh\n")
	pol := w.policy(t, policy.Policy{Mode: policy.WorkspaceWrite})
	for _, c := range []struct {
		args []string
		want int
	}{
		{[]string{"sh", "-c", "exit 7"}, 7},
		{[]string{"sh", "-c", "kill -9 $$"}, 137},
		{[]string{"sh", "-c", "kill -TERM $$"}, 143},
		{[]string{"true"}, 0},
		{[]string{"cordon-no-such-command"}, 127},
		{[]string{"./notexec"}, 126},
		{[]string{"/nonexistent/x"}, 127},
	} {
		r := runSpec(t, sandbox.Spec{Policy: pol, Args: c.args})
		if r.code != c.want {
			t.Errorf("%q: exit %d, want %d (%+v)", c.args, r.code, c.want, r)
		}
	}
}

func TestStdinEnvDir(t *testing.T) {
	w := newWS(t)
	if err := os.Mkdir(filepath.Join(w.cwd, "sub"), 0o755); err != nil {
		t.Fatal(err)
	}
	pol := w.policy(t, policy.Policy{Mode: policy.WorkspaceWrite})
	r := runSpec(t, sandbox.Spec{
		Policy: pol, Dir: filepath.Join(w.cwd, "sub"),
		Env:   []string{testPath, "FOO=bar", stageEnv + "=init"},
		Args:  []string{"sh", "-c", `read x; echo "$x $FOO $(pwd)"; env | grep -c CORDON_SANDBOX_STAGE; id -u`},
		Stdin: strings.NewReader("hello\n"),
	})
	want := fmt.Sprintf("hello bar %s/sub\n0\n%d\n", w.cwd, os.Getuid())
	if r.stdout != want {
		t.Errorf("got %q, want %q (%+v)", r.stdout, want, r)
	}
}

func TestCapabilitiesDropped(t *testing.T) {
	w := newWS(t)
	r := sh(t, w.policy(t, policy.Policy{Mode: policy.WorkspaceWrite}), "grep -E '^(CapInh|CapPrm|CapEff|CapBnd|CapAmb|NoNewPrivs|Seccomp):' /proc/self/status")
	for _, line := range strings.Split(strings.TrimSpace(r.stdout), "\n") {
		k, v, _ := strings.Cut(line, ":")
		v = strings.TrimSpace(v)
		want := "0000000000000000"
		switch k {
		case "NoNewPrivs":
			want = "1"
		case "Seccomp":
			want = "2"
		}
		if v != want {
			t.Errorf("%s = %s, want %s", k, v, want)
		}
	}
	if r.code != 0 || strings.Count(r.stdout, "\n") != 7 {
		t.Errorf("%+v", r)
	}
}

func TestSetupErrorLeavesNothing(t *testing.T) {
	w := newWS(t)
	pol := w.policy(t, policy.Policy{Mode: policy.WorkspaceWrite})
	_, err := New().Start(context.Background(), sandbox.Spec{
		Policy: pol, Dir: filepath.Join(w.cwd, "missing"), Env: []string{testPath}, Args: []string{"true"},
	})
	var se *SetupError
	if !errors.As(err, &se) || se.Stage != stageInit || !strings.Contains(se.Msg, "chdir") {
		t.Fatalf("Start with a missing dir: %v, want a setup error from the init", err)
	}
	for _, n := range []string{".git", ".codex", ".agents"} {
		mustNotExist(t, filepath.Join(w.cwd, n))
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := New().Start(ctx, sandbox.Spec{Policy: pol, Dir: w.cwd, Args: []string{"true"}}); !errors.Is(err, context.Canceled) {
		t.Errorf("Start with a cancelled context: %v", err)
	}
	link := filepath.Join(t.TempDir(), "link")
	if err := os.Symlink(w.cwd, link); err != nil {
		t.Fatal(err)
	}
	lp, err := policy.Policy{Mode: policy.WorkspaceWrite, Cwd: link, ExcludeTmp: true}.Resolve(policy.Env{Rules: policy.POSIX})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := New().Start(context.Background(), sandbox.Spec{Policy: lp, Dir: w.cwd, Args: []string{"true"}}); err == nil || !strings.Contains(err.Error(), "symbolic link") {
		t.Errorf("a root that is a symlink: %v", err)
	}
}

func TestFallbackWithoutNamespaces(t *testing.T) {
	forceNoNamespaces = true
	defer func() { forceNoNamespaces = false }()
	w := newWS(t)
	other := t.TempDir()
	pol := w.policy(t, policy.Policy{Mode: policy.WorkspaceWrite})
	_, err := New().Start(context.Background(), sandbox.Spec{Policy: pol, Dir: w.cwd, Args: []string{"true"}})
	if !errors.Is(err, sandbox.ErrUnavailable) || !strings.Contains(err.Error(), LayerMountNS) {
		t.Fatalf("Start without namespaces: %v, want ErrUnavailable naming %s", err, LayerMountNS)
	}
	var out bytes.Buffer
	p, err := New().Start(context.Background(), sandbox.Spec{
		Policy: pol, Dir: w.cwd, Env: []string{testPath}, BestEffort: true, Stdout: &out, Stderr: &out,
		Args: []string{"sh", "-c", "echo in > in.txt; echo x > " + other + "/out.txt; cat /proc/self/status | grep -E '^(NoNewPrivs|Seccomp):' | tr -d '\\t\\n'"},
	})
	if err != nil {
		t.Fatal(err)
	}
	if code, err := p.Wait(); code != 0 || err != nil {
		t.Fatalf("exit %d, %v: %s", code, err, out.String())
	}
	if d := p.Degraded(); !slices.Equal(d, []string{LayerUserNS, LayerMountNS, LayerPIDNS}) {
		t.Errorf("Degraded = %q", d)
	}
	mustContent(t, filepath.Join(w.cwd, "in.txt"), "in\n")
	mustNotExist(t, filepath.Join(other, "out.txt"))
	if !strings.Contains(out.String(), "NoNewPrivs:1Seccomp:2") {
		t.Errorf("no_new_privs and seccomp not in force: %q", out.String())
	}
}

func TestStartLatency(t *testing.T) {
	if testing.Short() {
		t.Skip("timing")
	}
	w := newWS(t)
	pol := w.policy(t, policy.Policy{Mode: policy.WorkspaceWrite})
	const n = 50
	median := func(f func()) time.Duration {
		var ds []time.Duration
		for range n {
			start := time.Now()
			f()
			ds = append(ds, time.Since(start))
		}
		slices.Sort(ds)
		return ds[n/2]
	}
	sandboxed := median(func() {
		p, err := New().Start(context.Background(), sandbox.Spec{Policy: pol, Dir: w.cwd, Env: []string{testPath}, Args: []string{"/bin/true"}})
		if err != nil {
			t.Fatal(err)
		}
		if code, err := p.Wait(); code != 0 || err != nil {
			t.Fatal(code, err)
		}
	})
	plain := median(func() {
		if err := exec.Command("/bin/true").Run(); err != nil {
			t.Fatal(err)
		}
	})
	t.Logf("/bin/true, median of %d: sandboxed %v, plain exec %v", n, sandboxed, plain)
}

// TestUnprivilegedCaller runs the backend as an ordinary user (nobody), the
// usual case on a developer's machine, by re-running this test binary with
// another uid. Unlike the root runs above, the init is then not uid 0 in
// its namespace: it keeps CAP_SYS_ADMIN and CAP_SETPCAP as ambient
// capabilities to mount and to empty its bounding set.
func TestUnprivilegedCaller(t *testing.T) {
	if ws := os.Getenv("CORDON_TEST_UNPRIV_WS"); ws != "" {
		unprivilegedChecks(t, ws, os.Getenv("CORDON_TEST_UNPRIV_TMP"))
		return
	}
	if os.Getuid() != 0 {
		t.Skip("needs root to run the test as another user")
	}
	const nobody = 65534
	dir, err := os.MkdirTemp("", "cordon-unpriv-")
	if err != nil {
		t.Fatal(err)
	}
	defer os.RemoveAll(dir)
	if err := os.Chmod(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	exe, err := os.ReadFile("/proc/self/exe")
	if err != nil {
		t.Fatal(err)
	}
	bin := filepath.Join(dir, "linuxsandbox.test")
	if err := os.WriteFile(bin, exe, 0o755); err != nil {
		t.Fatal(err)
	}
	ws, tmp := filepath.Join(dir, "ws"), filepath.Join(dir, "tmp")
	for _, d := range []string{ws, tmp, filepath.Join(ws, ".git")} {
		if err := os.Mkdir(d, 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.Chown(d, nobody, nobody); err != nil {
			t.Fatal(err)
		}
	}
	mustWrite(t, filepath.Join(ws, ".git", "config"), "[core]\n")
	if err := os.Chown(filepath.Join(ws, ".git", "config"), nobody, nobody); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(bin, "-test.run=^TestUnprivilegedCaller$", "-test.count=1", "-test.v")
	cmd.Dir = ws
	cmd.Env = []string{testPath, "TMPDIR=" + tmp, "CORDON_TEST_UNPRIV_WS=" + ws, "CORDON_TEST_UNPRIV_TMP=" + tmp}
	cmd.SysProcAttr = &syscall.SysProcAttr{Credential: &syscall.Credential{Uid: nobody, Gid: nobody}}
	out, err := cmd.CombinedOutput()
	if err != nil || !bytes.Contains(out, []byte("--- PASS: TestUnprivilegedCaller")) {
		t.Fatalf("as nobody: %v\n%s", err, out)
	}
	mustContent(t, filepath.Join(ws, "in.txt"), "in\n")
	mustContent(t, filepath.Join(ws, ".git", "config"), "[core]\n")
	for _, n := range []string{".codex", ".agents"} {
		mustNotExist(t, filepath.Join(ws, n))
	}
}

func unprivilegedChecks(t *testing.T, ws, tmp string) {
	if os.Getuid() == 0 {
		t.Fatal("still root")
	}
	pol, err := policy.Policy{Mode: policy.WorkspaceWrite}.Resolve(policy.Env{Rules: policy.POSIX, Cwd: ws, TempDirs: []string{tmp}})
	if err != nil {
		t.Fatal(err)
	}
	if p := New().Probe(context.Background()); !p.Available {
		t.Fatalf("probe as uid %d: %s", os.Getuid(), p.Reason)
	}
	r := sh(t, pol, "id -u; id -g; echo in > in.txt; grep -E '^(CapInh|CapPrm|CapEff|CapBnd|CapAmb|NoNewPrivs):' /proc/self/status | tr -d ' \\t'")
	want := fmt.Sprintf("%d\n%d\nCapInh:0000000000000000\nCapPrm:0000000000000000\nCapEff:0000000000000000\nCapBnd:0000000000000000\nCapAmb:0000000000000000\nNoNewPrivs:1\n", os.Getuid(), os.Getgid())
	if r.code != 0 || r.stdout != want {
		t.Errorf("got %q, want %q (%+v)", r.stdout, want, r)
	}
	denied(t, pol,
		"echo x > .git/config",
		"mkdir .codex",
		"echo x > /etc/cordon-test",
		"umount .git",
		"unshare -Urm sh -c 'umount -l "+ws+"/.git; echo x > .git/config'",
	)
}

func TestReadStatus(t *testing.T) {
	for in, want := range map[string]string{
		"":                                     "exited before the command started",
		`{"stage":"exec","ready":true}` + "\n": "",
		`{"stage":"init","error":"bind x: EPERM"}` + "\n":                       "init stage): bind x: EPERM",
		`{"stage":"exec","ready":true}` + "\n" + `{"stage":"exec","error":"e"}`: "exec stage): e",
		"garbage\n": "malformed status",
	} {
		err := readStatus(strings.NewReader(in))
		var se *SetupError
		switch {
		case want == "" && err != nil:
			t.Errorf("readStatus(%q) = %v, want nil", in, err)
		case want != "" && (!errors.As(err, &se) || !strings.Contains(err.Error(), want)):
			t.Errorf("readStatus(%q) = %v, want a SetupError with %q", in, err, want)
		}
	}
}

// TestSignalForwarding: SIGTERM sent to the sandbox (the init, PID 1 of its
// namespace) reaches the command, which can handle it.
func TestSignalForwarding(t *testing.T) {
	w := newWS(t)
	pol := w.policy(t, policy.Policy{Mode: policy.WorkspaceWrite})
	r, wp, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	p, err := New().Start(context.Background(), sandbox.Spec{
		Policy: pol, Dir: w.cwd, Env: []string{testPath}, Stdout: wp,
		Args: []string{"sh", "-c", `trap 'echo got TERM; exit 3' TERM; echo ready; while :; do sleep 0.05; done`},
	})
	wp.Close()
	if err != nil {
		t.Fatal(err)
	}
	defer p.Kill()
	buf := make([]byte, 64)
	if n, err := r.Read(buf); err != nil || string(buf[:n]) != "ready\n" {
		t.Fatalf("read %q, %v", buf[:n], err)
	}
	if err := p.(*process).cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	code, err := p.Wait()
	n, _ := r.Read(buf)
	if code != 3 || err != nil || string(buf[:n]) != "got TERM\n" {
		t.Errorf("after SIGTERM: exit %d, %v, output %q; want 3 and the trap's output", code, err, buf[:n])
	}
}

// Without network the host daemons' sockets under /run (D-Bus, systemd,
// docker.sock) are out of sight: a read-only mount alone would not stop
// connect(2). With network, /run is the host's.
func TestRunHiddenWithoutNetwork(t *testing.T) {
	sock := fmt.Sprintf("/run/cordon-test-%d.sock", os.Getpid())
	l, err := net.Listen("unix", sock)
	if err != nil {
		t.Skipf("cannot listen on %s: %v", sock, err)
	}
	defer l.Close()
	w := newWS(t)
	off := w.policy(t, policy.Policy{Mode: policy.WorkspaceWrite})
	if r := sh(t, off, "test -e "+sock+" && echo VISIBLE; ls -A /run | wc -l"); r.code != 0 || strings.Contains(r.stdout, "VISIBLE") || strings.TrimSpace(r.stdout) != "0" {
		t.Errorf("network off: /run not hidden: %+v", r)
	}
	on := w.policy(t, policy.Policy{Mode: policy.WorkspaceWrite, Network: true})
	if r := sh(t, on, "test -S "+sock+" && echo VISIBLE"); r.code != 0 || !strings.Contains(r.stdout, "VISIBLE") {
		t.Errorf("network on: host /run not visible: %+v", r)
	}
}

// A read-only run's TMPDIR is its private /tmp, wherever the caller's
// TMPDIR pointed: elsewhere it would be read-only and mktemp would fail.
func TestReadOnlyTMPDIR(t *testing.T) {
	w := newWS(t)
	pol := w.policy(t, policy.Policy{Mode: policy.ReadOnly})
	r := runSpec(t, sandbox.Spec{Policy: pol, Args: []string{"/bin/sh", "-c", `echo "$TMPDIR"; f=$(mktemp) && echo made`},
		Dir: w.cwd, Env: []string{"PATH=/usr/bin:/bin", "TMPDIR=/var/tmp"}})
	if r.code != 0 || r.stdout != "/tmp\nmade\n" {
		t.Errorf("read-only TMPDIR: %+v", r)
	}
}

// TestInitUnreachable: the command cannot take over its init (PID 1, which
// holds the status pipe and the parent's trust): the init is non-dumpable,
// so its memory and environment cannot be opened, and SIGKILL from inside
// the namespace does not reach it.
func TestInitUnreachable(t *testing.T) {
	w := newWS(t)
	pol := w.policy(t, policy.Policy{Mode: policy.WorkspaceWrite})
	denied(t, pol,
		"exec 3<>/proc/1/mem",
		"cat /proc/1/environ",
		"readlink /proc/1/fd/1",
	)
	if r := sh(t, pol, "kill -9 1; sleep 0.2; echo alive"); r.code != 0 || r.stdout != "alive\n" {
		t.Errorf("after kill -9 1 from inside: %+v", r)
	}
}
