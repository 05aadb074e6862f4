package linuxsandbox

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/http/cgi"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/cordon-sandbox/cordon/internal/netproxy"
	"github.com/cordon-sandbox/cordon/internal/netproxy/netproxytest"
	"github.com/cordon-sandbox/cordon/policy"
	"github.com/cordon-sandbox/cordon/sandbox"
)

// needTool skips the test, loudly (on stderr even without -v), when a
// real client it drives is not installed.
func needTool(t *testing.T, name string) string {
	t.Helper()
	p, err := exec.LookPath(name)
	if err != nil {
		fmt.Fprintf(os.Stderr, "\n!!! %s: SKIPPED: %s is not installed, so the allowlist was not tried with it\n\n", t.Name(), name)
		t.Skipf("%s is not installed", name)
	}
	return p
}

// allowlistPolicy resolves a workspace-write policy with an allowlist.
func (w ws) allowlistPolicy(t *testing.T, localBinding bool, hosts ...string) *policy.Resolved {
	t.Helper()
	return w.policy(t, policy.Policy{Mode: policy.WorkspaceWrite, NetworkAllowlist: &policy.NetworkAllowlist{AllowHosts: hosts, AllowLocalBinding: localBinding}})
}

// runAllowlisted runs script in a sandbox under pol with a proxy whose
// resolver knows the test names, and returns what it did and what the
// proxy saw.
func runAllowlisted(t *testing.T, pol *policy.Resolved, script string, env ...string) (result, netproxy.Summary) {
	t.Helper()
	p := netproxy.New(netproxy.Config{Allow: pol.Allowlist, Resolver: netproxytest.Names})
	defer p.Close()
	env = append([]string{testPath, "HOME=" + pol.Cwd, "LC_ALL=C"}, env...)
	r := runSpec(t, sandbox.Spec{Policy: pol, Args: []string{"/bin/sh", "-c", script}, Env: env, Proxy: p})
	p.Close()
	return r, p.Summary()
}

// writeCA puts the test servers' certificate in the workspace, for the
// clients' CA file.
func writeCA(t *testing.T, dir string) string {
	t.Helper()
	p := filepath.Join(dir, "ca.pem")
	mustWrite(t, p, string(netproxytest.PEM()))
	return p
}

// hostAddr is an address of this host that is not loopback, or 127.0.0.1
// when it has none: a listener on it, bound to every address, is what a
// command that ignores the proxy would try to reach.
func hostAddr(t *testing.T) string {
	t.Helper()
	addrs, err := net.InterfaceAddrs()
	if err != nil {
		t.Fatal(err)
	}
	for _, a := range addrs {
		if n, ok := a.(*net.IPNet); ok && !n.IP.IsLoopback() && n.IP.To4() != nil {
			return n.IP.String()
		}
	}
	return "127.0.0.1"
}

func TestAllowlistCurl(t *testing.T) {
	needTool(t, "curl")
	w := newWS(t)
	_, port := netproxytest.NewTLSServer(t, http.HandlerFunc(func(rw http.ResponseWriter, r *http.Request) {
		fmt.Fprintf(rw, "hello %s", r.Host)
	}))
	// A server the host reaches directly, on every address.
	direct, err := net.Listen("tcp", ":0")
	if err != nil {
		t.Fatal(err)
	}
	defer direct.Close()
	var accepted atomic.Int32
	go func() {
		for {
			c, err := direct.Accept()
			if err != nil {
				return
			}
			accepted.Add(1)
			c.Close()
		}
	}()
	directURL := fmt.Sprintf("http://%s:%d/", hostAddr(t), netproxytest.Port(t, direct.Addr()))
	writeCA(t, w.cwd)
	pol := w.allowlistPolicy(t, false, "allowed.test", "127.0.0.1")
	script := fmt.Sprintf(`
		u=https://allowed.test:%[1]d
		echo "https: $(curl -sS --cacert ca.pem $u/x 2>&1)"
		echo "socks: $(curl -sS --cacert ca.pem --proxy "$ALL_PROXY" $u/y 2>&1)"
		echo "other: $(curl -sS --cacert ca.pem https://other.test:%[1]d/ 2>&1)"
		echo "bypass by name: $(curl -sS -m 5 --noproxy '*' --cacert ca.pem $u/ 2>&1)"
		echo "bypass by address: $(curl -sS -m 5 --noproxy '*' %[2]s 2>&1)"
	`, port, directURL)
	r, sum := runAllowlisted(t, pol, script)
	if r.code != 0 {
		t.Fatalf("exit %d: %s %s", r.code, r.stdout, r.stderr)
	}
	lines := strings.Split(strings.TrimSpace(r.stdout), "\n")
	want := []string{
		fmt.Sprintf("https: hello allowed.test:%d", port),
		fmt.Sprintf("socks: hello allowed.test:%d", port),
		"other: curl: (56) CONNECT tunnel failed, response 403",
		"bypass by name: curl: (6) Could not resolve host: allowed.test",
		"bypass by address: curl: (7) Failed to connect to",
	}
	for i, wl := range want {
		if i >= len(lines) || !strings.HasPrefix(lines[i], wl) {
			t.Errorf("line %d: got %q, want it to start with %q\n%s", i, lines[min(i, len(lines)-1)], wl, r.stdout)
		}
	}
	if n := accepted.Load(); n != 0 {
		t.Errorf("the command reached the host directly %d times", n)
	}
	if len(sum.Allowed) != 1 || sum.Allowed[0].Host != "allowed.test" || sum.Allowed[0].Count != 2 || sum.Allowed[0].Rule != "allowed.test, address 127.0.0.1" {
		t.Errorf("allowed: %+v", sum.Allowed)
	}
	if len(sum.Denied) != 1 || sum.Denied[0].Host != "other.test" || sum.Denied[0].Reason != "not in the allowlist" {
		t.Errorf("denied: %+v", sum.Denied)
	}
}

// A command that ignores the proxy variables reaches nothing, and the
// proxy saw nothing of it.
func TestAllowlistIgnoredMeansNoNetwork(t *testing.T) {
	w := newWS(t)
	pol := w.allowlistPolicy(t, false, "allowed.test", "127.0.0.1")
	// /dev/tcp is bash's; sh -c exec's it when there.
	r, sum := runAllowlisted(t, pol, `
		unset HTTP_PROXY HTTPS_PROXY ALL_PROXY http_proxy https_proxy all_proxy
		if command -v bash >/dev/null; then
			bash -c 'exec 3<>/dev/tcp/`+hostAddr(t)+`/22' 2>/dev/null && echo REACHED
			bash -c 'exec 3<>/dev/tcp/8.8.8.8/53' 2>/dev/null && echo REACHED
		fi
		cat /proc/net/route | tail -n +2
		ip -o link 2>/dev/null | grep -v ' lo:' || true
		echo done`)
	if r.code != 0 || strings.Contains(r.stdout, "REACHED") || strings.TrimSpace(r.stdout) != "done" {
		t.Errorf("exit %d, stdout %q (want no route, no interface but lo), stderr %q", r.code, r.stdout, r.stderr)
	}
	if len(sum.Allowed)+len(sum.Denied) != 0 {
		t.Errorf("the proxy saw %+v", sum)
	}
}

func TestAllowlistProxyVariables(t *testing.T) {
	w := newWS(t)
	pol := w.allowlistPolicy(t, false)
	r, _ := runAllowlisted(t, pol, `env | grep -i '_proxy=' | sort`, "HTTP_PROXY=http://evil:1", "https_proxy=http://evil:2", "NO_PROXY=*", "FTP_PROXY=kept")
	want := `ALL_PROXY=socks5h://127.0.0.1:3128
FTP_PROXY=kept
HTTPS_PROXY=http://127.0.0.1:3128
HTTP_PROXY=http://127.0.0.1:3128
NO_PROXY=localhost,127.0.0.1
all_proxy=socks5h://127.0.0.1:3128
http_proxy=http://127.0.0.1:3128
https_proxy=http://127.0.0.1:3128
no_proxy=localhost,127.0.0.1
`
	if r.stdout != want {
		t.Errorf("proxy variables:\n%s\nwant\n%s", r.stdout, want)
	}
}

func TestAllowlistGitClone(t *testing.T) {
	git := needTool(t, "git")
	out, err := exec.Command(git, "--exec-path").Output()
	if err != nil {
		t.Fatal(err)
	}
	backend := filepath.Join(strings.TrimSpace(string(out)), "git-http-backend")
	if _, err := os.Stat(backend); err != nil {
		needTool(t, "git-http-backend")
	}
	// A tiny repository, served by git http-backend over HTTPS.
	root := t.TempDir()
	src := t.TempDir()
	hostGit := func(dir string, args ...string) {
		t.Helper()
		cmd := exec.Command(git, append([]string{"-C", dir, "-c", "user.name=t", "-c", "user.email=t@example.invalid", "-c", "init.defaultBranch=main"}, args...)...)
		cmd.Env = append(os.Environ(), "GIT_CONFIG_GLOBAL=/dev/null", "GIT_CONFIG_NOSYSTEM=1")
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("git %v: %v\n%s", args, err, out)
		}
	}
	hostGit(root, "init", "-q", "--bare", "repo.git")
	hostGit(src, "init", "-q")
	mustWrite(t, filepath.Join(src, "hello.txt"), "cloned through the allowlist\n")
	hostGit(src, "add", "hello.txt")
	hostGit(src, "commit", "-q", "-m", "one")
	hostGit(src, "push", "-q", filepath.Join(root, "repo.git"), "HEAD:refs/heads/main")
	_, port := netproxytest.NewTLSServer(t, &cgi.Handler{
		Path: backend,
		Env:  []string{"GIT_PROJECT_ROOT=" + root, "GIT_HTTP_EXPORT_ALL=1"},
	})

	w := newWS(t)
	ca := writeCA(t, w.cwd)
	pol := w.allowlistPolicy(t, false, "allowed.test", "127.0.0.1")
	r, sum := runAllowlisted(t, pol, fmt.Sprintf(`git -c http.sslCAInfo=%s clone -q https://allowed.test:%d/repo.git out && cat out/hello.txt`, ca, port),
		"GIT_CONFIG_GLOBAL=/dev/null", "GIT_CONFIG_NOSYSTEM=1", "GIT_TERMINAL_PROMPT=0")
	if r.code != 0 || r.stdout != "cloned through the allowlist\n" {
		t.Fatalf("git clone: exit %d, %q, %s", r.code, r.stdout, r.stderr)
	}
	mustContent(t, filepath.Join(w.cwd, "out", "hello.txt"), "cloned through the allowlist\n")
	if len(sum.Allowed) != 1 || sum.Allowed[0].Host != "allowed.test" || len(sum.Denied) != 0 {
		t.Errorf("summary %+v", sum)
	}
}

// The sockets the command may make with an allowlist: inet ones for the
// loopback, no others but Unix; and, where Landlock handles TCP, a
// connection to the proxy's port only and no listener unless
// allow_local_binding.
func TestAllowlistSockets(t *testing.T) {
	py := needTool(t, "python3")
	abi, err := landlockABI()
	if err != nil {
		t.Skipf("no Landlock: %v", err)
	}
	script := py + ` - <<'EOF'
import errno, socket
def t(name, f):
    try:
        f()
        print(name, "ok")
    except OSError as e:
        print(name, errno.errorcode.get(e.errno, e.errno))
t("inet", lambda: socket.socket(socket.AF_INET, socket.SOCK_STREAM).close())
t("inet6", lambda: socket.socket(socket.AF_INET6, socket.SOCK_STREAM).close())
t("unix", lambda: socket.socket(socket.AF_UNIX, socket.SOCK_STREAM).close())
t("netlink", lambda: socket.socket(socket.AF_NETLINK, socket.SOCK_RAW, 0).close())
t("packet", lambda: socket.socket(socket.AF_PACKET, socket.SOCK_RAW, 0).close())
t("vsock", lambda: socket.socket(40, socket.SOCK_STREAM, 0).close())
t("proxy", lambda: socket.create_connection(("127.0.0.1", 3128)).close())
def local():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    s.listen()
    c = socket.create_connection(s.getsockname())
    c.close(); s.close()
t("local", local)
EOF`
	w := newWS(t)
	for _, local := range []bool{false, true} {
		r, _ := runAllowlisted(t, w.allowlistPolicy(t, local, "allowed.test"), script)
		want := "inet ok\ninet6 ok\nunix ok\nnetlink EPERM\npacket EPERM\nvsock EPERM\nproxy ok\n"
		switch {
		case local:
			want += "local ok\n"
		case abi >= 4:
			want += "local EACCES\n" // Landlock: no bind
		default:
			want += "local ok\n" // below ABI 4 the command may listen on its own loopback
		}
		if r.stdout != want {
			t.Errorf("allow_local_binding %v (Landlock ABI %d): got\n%s%s\nwant\n%s", local, abi, r.stdout, r.stderr, want)
		}
	}
}

// deadProxy stops serving at once, as a proxy that died would.
type deadProxy struct{}

func (deadProxy) Serve(l net.Listener) error {
	l.Close()
	return errors.New("dead")
}

// A proxy that does not serve fails the start: the command never runs,
// with the network open or otherwise.
func TestAllowlistDeadProxyFailsSetup(t *testing.T) {
	w := newWS(t)
	pol := w.allowlistPolicy(t, false, "allowed.test")
	marker := filepath.Join(w.cwd, "ran")
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	p, err := New().Start(ctx, sandbox.Spec{Policy: pol, Args: []string{"/bin/sh", "-c", "touch " + marker}, Dir: w.cwd, Env: []string{testPath}, Proxy: deadProxy{}})
	if err == nil {
		p.Wait()
		t.Fatal("the sandbox started with a dead proxy")
	}
	// A SetupError, not unavailable or busy: cordon.Run reports it as
	// setup_failed.
	var se *SetupError
	if !errors.As(err, &se) || !strings.Contains(err.Error(), "proxy does not answer") || errors.Is(err, sandbox.ErrUnavailable) || errors.Is(err, sandbox.ErrBusy) {
		t.Errorf("error %v, want a setup error saying the proxy does not answer", err)
	}
	if _, err := os.Stat(marker); err == nil {
		t.Error("the command ran")
	}
	if _, err := New().Start(ctx, sandbox.Spec{Policy: pol, Args: []string{"true"}, Dir: w.cwd}); err == nil || !strings.Contains(err.Error(), "Spec.Proxy") {
		t.Errorf("no proxy: %v", err)
	}
}

// Without namespaces the allowlist cannot be enforced: refused, or with
// best effort the network is off, never open.
func TestAllowlistWithoutNamespaces(t *testing.T) {
	w := newWS(t)
	pol := w.allowlistPolicy(t, false, "allowed.test")
	forceNoNamespaces = true
	defer func() { forceNoNamespaces = false }()
	p := netproxy.New(netproxy.Config{Allow: pol.Allowlist})
	defer p.Close()
	ctx := context.Background()
	if _, err := New().Start(ctx, sandbox.Spec{Policy: pol, Args: []string{"true"}, Dir: w.cwd, Proxy: p}); !errors.Is(err, sandbox.ErrUnavailable) || !strings.Contains(err.Error(), LayerAllowlist) {
		t.Errorf("without best effort: %v, want unavailable naming %s", err, LayerAllowlist)
	}
	py := needTool(t, "python3")
	var out strings.Builder
	proc, err := New().Start(ctx, sandbox.Spec{Policy: pol, Dir: w.cwd, Env: []string{testPath}, Proxy: p, BestEffort: true, Stdout: &out, Stderr: &out,
		Args: []string{py, "-c", "import os, socket\nprint(os.environ.get('HTTPS_PROXY'))\ntry:\n  socket.socket()\nexcept OSError as e:\n  print(e.errno)"}})
	if err != nil {
		t.Fatal(err)
	}
	if code, err := proc.Wait(); code != 0 || err != nil || out.String() != "None\n1\n" || !slices.Contains(proc.Degraded(), LayerAllowlist) {
		t.Errorf("best effort: exit %d %v, output %q (want no proxy and EPERM for a socket), degraded %q", code, err, out.String(), proc.Degraded())
	}
}

// registryStub answers as an npm registry and a PyPI simple index would
// for one package, "leftpad", version 1.0.1.
var registryStub = http.HandlerFunc(func(rw http.ResponseWriter, r *http.Request) {
	switch r.URL.Path {
	case "/leftpad": // npm's packument
		rw.Header().Set("Content-Type", "application/json")
		fmt.Fprint(rw, `{"name":"leftpad","dist-tags":{"latest":"1.0.1"},"versions":{"1.0.1":{"name":"leftpad","version":"1.0.1","dist":{"tarball":"https://allowed.test/leftpad-1.0.1.tgz"}}}}`)
	case "/simple/leftpad/": // PEP 503
		fmt.Fprint(rw, `<!DOCTYPE html><html><body><a href="/files/leftpad-1.0.1.tar.gz">leftpad-1.0.1.tar.gz</a></body></html>`)
	default:
		http.NotFound(rw, r)
	}
})

// npm and pip find the proxy from the variables alone, against a local
// registry stub.
func TestAllowlistPackageManagers(t *testing.T) {
	w := newWS(t)
	_, port := netproxytest.NewTLSServer(t, registryStub)
	ca := writeCA(t, w.cwd)
	pol := w.allowlistPolicy(t, false, "allowed.test", "127.0.0.1")
	reg := fmt.Sprintf("https://allowed.test:%d", port)
	t.Run("npm", func(t *testing.T) {
		needTool(t, "npm")
		r, sum := runAllowlisted(t, pol, fmt.Sprintf(`npm view leftpad version --registry=%s/ --cafile=%s --no-update-notifier --fetch-retries=0`, reg, ca))
		if r.code != 0 || r.stdout != "1.0.1\n" {
			t.Fatalf("npm view: exit %d, %q, %s", r.code, r.stdout, r.stderr)
		}
		if len(sum.Allowed) != 1 || sum.Allowed[0].Host != "allowed.test" {
			t.Errorf("summary %+v", sum)
		}
	})
	t.Run("pip", func(t *testing.T) {
		if err := exec.Command("/usr/bin/python3", "-m", "pip", "--version").Run(); err != nil {
			needTool(t, "pip (python3 -m pip)")
		}
		r, sum := runAllowlisted(t, pol, fmt.Sprintf(`/usr/bin/python3 -m pip index versions leftpad --index-url %s/simple/ --cert %s --disable-pip-version-check --retries 0`, reg, ca))
		if r.code != 0 || !strings.HasPrefix(r.stdout, "leftpad (1.0.1)") {
			t.Fatalf("pip index: exit %d, %q, %s", r.code, r.stdout, r.stderr)
		}
		if len(sum.Allowed) != 1 || sum.Allowed[0].Host != "allowed.test" {
			t.Errorf("summary %+v", sum)
		}
	})
}

// A proxy that stops while the command runs leaves it without network:
// nothing falls back to a direct connection.
func TestAllowlistProxyStopsMidRun(t *testing.T) {
	needTool(t, "curl")
	w := newWS(t)
	_, port := netproxytest.NewTLSServer(t, http.HandlerFunc(func(rw http.ResponseWriter, r *http.Request) { fmt.Fprint(rw, "up") }))
	ca := writeCA(t, w.cwd)
	pol := w.allowlistPolicy(t, false, "allowed.test", "127.0.0.1")
	p := netproxy.New(netproxy.Config{Allow: pol.Allowlist, Resolver: netproxytest.Names})
	defer p.Close()
	get := fmt.Sprintf(`curl -sS -m 10 --cacert %s https://allowed.test:%d/`, ca, port)
	script := get + `; echo; touch first; while [ ! -e stopped ]; do sleep 0.05; done; ` + get + `; echo " exit $?"`
	var out strings.Builder
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	proc, err := New().Start(ctx, sandbox.Spec{Policy: pol, Args: []string{"/bin/sh", "-c", script}, Dir: w.cwd, Env: []string{testPath, "HOME=" + w.cwd}, Proxy: p, Stdout: &out, Stderr: &out})
	if err != nil {
		t.Fatal(err)
	}
	stop := context.AfterFunc(ctx, func() { proc.Kill() })
	defer stop()
	for _, err := os.Stat(filepath.Join(w.cwd, "first")); err != nil; _, err = os.Stat(filepath.Join(w.cwd, "first")) {
		if ctx.Err() != nil {
			t.Fatalf("the first request never finished: %s", out.String())
		}
		time.Sleep(20 * time.Millisecond)
	}
	p.Close()
	mustWrite(t, filepath.Join(w.cwd, "stopped"), "")
	if code, err := proc.Wait(); code != 0 || err != nil {
		t.Fatalf("exit %d, %v: %s", code, err, out.String())
	}
	lines := strings.Split(strings.TrimSpace(out.String()), "\n")
	if len(lines) != 3 || lines[0] != "up" || !strings.HasPrefix(lines[1], "curl: (7) Failed to connect to 127.0.0.1 port 3128") || lines[2] != " exit 7" {
		t.Errorf("output %q: want the first request through and the second refused", out.String())
	}
}
