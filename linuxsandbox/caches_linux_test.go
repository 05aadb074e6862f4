package linuxsandbox

import (
	"bytes"
	"context"
	"crypto/sha256"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/cordon-sandbox/cordon/internal/cachelayer"
	"github.com/cordon-sandbox/cordon/policy"
	"github.com/cordon-sandbox/cordon/sandbox"
)

// cacheWorld is a test's own HOME, with caches in it, and cordon's state
// directory, both outside /tmp (which the sandbox replaces with a private
// one) as a real home directory is.
type cacheWorld struct {
	base, home, state string
}

func newCacheWorld(t testing.TB) *cacheWorld {
	t.Helper()
	parent := "/var/lib/cordon-test"
	if os.Geteuid() != 0 {
		dir, err := os.UserCacheDir()
		if err != nil {
			t.Skipf("no directory outside /tmp for a test HOME: %v", err)
		}
		parent = filepath.Join(dir, "cordon-test")
	}
	if err := os.MkdirAll(parent, 0o755); err != nil {
		t.Fatal(err)
	}
	base, err := os.MkdirTemp(parent, "caches-")
	if err != nil {
		t.Fatal(err)
	}
	if base, err = filepath.EvalSymlinks(base); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := cachelayer.RemoveAll(base); err != nil {
			t.Logf("cleanup: %v", err)
		}
	})
	cw := &cacheWorld{base: base, home: filepath.Join(base, "home"), state: filepath.Join(base, "state")}
	for _, d := range []string{cw.home, cw.state, filepath.Join(cw.home, ".cache")} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	t.Setenv("CORDON_STATE_DIR", cw.state)
	return cw
}

// ws makes a workspace directory named name in the world.
func (cw *cacheWorld) ws(t testing.TB, name string) string {
	t.Helper()
	d := filepath.Join(cw.base, name)
	if err := os.MkdirAll(d, 0o755); err != nil {
		t.Fatal(err)
	}
	return d
}

// env is the command's environment: the world's HOME, and extra.
func (cw *cacheWorld) env(extra ...string) []string {
	return append([]string{testPath, "HOME=" + cw.home, "LC_ALL=C"}, extra...)
}

// policy resolves pol for a command in cwd with env, as Run does.
func (cw *cacheWorld) policy(t testing.TB, cwd string, pol policy.Policy, env []string) *policy.Resolved {
	t.Helper()
	if pol.Mode == "" {
		pol.Mode = policy.WorkspaceWrite
	}
	r, err := pol.Resolve(policy.Env{Rules: policy.POSIX, Cwd: cwd, CommandEnv: env})
	if err != nil {
		t.Fatal(err)
	}
	return r
}

// run runs script in a sandbox in cwd with the world's environment.
func (cw *cacheWorld) run(t *testing.T, cwd, script string, extra ...string) result {
	t.Helper()
	env := cw.env(extra...)
	return runSpec(t, sandbox.Spec{Policy: cw.policy(t, cwd, policy.Policy{}, env), Args: []string{"/bin/sh", "-c", script}, Env: env})
}

// start starts script in a sandbox in cwd and returns it with its output;
// the test kills it at the end if it still runs.
func (cw *cacheWorld) start(t *testing.T, cwd, script string) (sandbox.Process, *bytes.Buffer) {
	t.Helper()
	env := cw.env()
	out := &bytes.Buffer{}
	p, err := New().Start(context.Background(), sandbox.Spec{Policy: cw.policy(t, cwd, policy.Policy{}, env), Dir: cwd, Env: env,
		Stdout: out, Stderr: out, Args: []string{"sh", "-c", script}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { p.Kill(); p.Wait() })
	return p, out
}

// waitFor waits until cond holds, for at most 10 s (a run that never gets
// there has failed; no result depends on how long it took).
func waitFor(t *testing.T, what string, out *bytes.Buffer, cond func() bool) {
	t.Helper()
	for deadline := time.Now().Add(10 * time.Second); !cond(); time.Sleep(10 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("waited 10 s for %s; output: %s", what, out)
		}
	}
}

// upper is the workspace's upper layer of the named cache.
func (cw *cacheWorld) upper(t *testing.T, cwd, name string) string {
	t.Helper()
	real, err := filepath.EvalSymlinks(cwd)
	if err != nil {
		t.Fatal(err)
	}
	return filepath.Join(cachelayer.Open(cw.state, real).LayerDir(name), "upper")
}

// treeHash describes every entry below root (names, types, modes, sizes,
// modification times, contents, link targets) as one digest, and lists it.
func treeHash(t *testing.T, root string) string {
	t.Helper()
	h := sha256.New()
	n := 0
	err := filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		fi, err := d.Info()
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(root, p)
		fmt.Fprintf(h, "%q %v %d %d", rel, fi.Mode(), fi.Size(), fi.ModTime().UnixNano())
		switch {
		case fi.Mode()&fs.ModeSymlink != 0:
			target, _ := os.Readlink(p)
			fmt.Fprintf(h, " -> %q", target)
		case fi.Mode().IsRegular():
			b, err := os.ReadFile(p)
			if err != nil {
				return err
			}
			h.Write(b)
		}
		h.Write([]byte{'\n'})
		n++
		return nil
	})
	if err != nil {
		t.Fatalf("hash %s: %v", root, err)
	}
	return fmt.Sprintf("%d entries, %x", n, h.Sum(nil))
}

// hostRun runs a command on the host (unsandboxed) in dir with the world's
// environment.
func (cw *cacheWorld) hostRun(t *testing.T, dir string, env []string, args ...string) string {
	t.Helper()
	cmd := exec.Command(args[0], args[1:]...)
	cmd.Dir, cmd.Env = dir, append(cw.env(env...), "PATH="+os.Getenv("PATH"))
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("%q on the host: %v\n%s", args, err, out)
	}
	return string(out)
}

func needProgram(t *testing.T, name string) {
	t.Helper()
	if _, err := exec.LookPath(name); err != nil {
		t.Skipf("needs %s, not installed here", name)
	}
}

// goEnv is what a go command needs here: the toolchain on PATH, no
// downloads, and -buildvcs=false (the .git placeholder is another issue's).
func goEnv() []string {
	goroot := filepath.Dir(filepath.Dir(mustLookPath("go")))
	return []string{"PATH=" + goroot + "/bin:/usr/local/bin:/usr/bin:/bin", "GOFLAGS=-buildvcs=false", "GOTOOLCHAIN=local", "GOPROXY=off", "CGO_ENABLED=0"}
}

func mustLookPath(name string) string {
	p, err := exec.LookPath(name)
	if err != nil {
		return "/usr/local/go/bin/go"
	}
	if real, err := filepath.EvalSymlinks(p); err == nil {
		return real
	}
	return p
}

// The motivating case: go build after an edit writes new entries to
// GOCACHE (~/.cache/go-build), which used to fail with EROFS. It works,
// and the user's cache is byte for byte what it was; the new entries are
// in the workspace's layer.
func TestCacheGoBuild(t *testing.T) {
	needProgram(t, "go")
	cw := newCacheWorld(t)
	ws := cw.ws(t, "mod")
	mustWrite(t, filepath.Join(ws, "go.mod"), "module example.com/hello\n\ngo 1.22\n")
	mustWrite(t, filepath.Join(ws, "main.go"), "package main\n\nimport \"fmt\"\n\nfunc main() { fmt.Println(\"one\") }\n")
	cw.hostRun(t, ws, goEnv(), "go", "build", "-o", "/dev/null", ".") // primes ~/.cache/go-build
	cache := filepath.Join(cw.home, ".cache")
	before := treeHash(t, cache)

	r := cw.run(t, ws, `sed -i 's/"one"/"two"/' main.go && go build -o hello . && ./hello && go env GOCACHE`, goEnv()...)
	if r.code != 0 || !strings.HasPrefix(r.stdout, "two\n"+filepath.Join(cache, "go-build")+"\n") {
		t.Fatalf("go build after an edit: exit %d\n%s%s", r.code, r.stdout, r.stderr)
	}
	if after := treeHash(t, cache); after != before {
		t.Errorf("the user's ~/.cache changed: %s, was %s", after, before)
	}
	if n := countFiles(t, filepath.Join(cw.upper(t, ws, "xdg-cache"), "go-build")); n == 0 {
		t.Errorf("no build cache entry in the workspace's layer")
	}
}

func countFiles(t *testing.T, dir string) int {
	t.Helper()
	n := 0
	filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err == nil && d.Type().IsRegular() {
			n++
		}
		return nil
	})
	return n
}

// npm install of a local tarball writes npm's cache (~/.npm/_cacache),
// which used to fail with EROFS at mkdtemp. It works offline, and ~/.npm
// is unchanged.
func TestCacheNpmInstall(t *testing.T) {
	needProgram(t, "npm")
	cw := newCacheWorld(t)
	pkg := cw.ws(t, "pkg")
	mustWrite(t, filepath.Join(pkg, "package.json"), `{"name":"cordon-test-pkg","version":"1.0.0","main":"index.js"}`)
	mustWrite(t, filepath.Join(pkg, "index.js"), "module.exports = 42;\n")
	cw.hostRun(t, pkg, nil, "npm", "pack", "--silent")
	tarball := filepath.Join(pkg, "cordon-test-pkg-1.0.0.tgz")
	cw.hostRun(t, pkg, nil, "npm", "cache", "add", tarball) // an existing ~/.npm
	npmDir := filepath.Join(cw.home, ".npm")
	before := treeHash(t, npmDir)

	ws := cw.ws(t, "app")
	mustWrite(t, filepath.Join(ws, "package.json"), `{"name":"app","version":"1.0.0"}`)
	r := cw.run(t, ws, "npm install --offline --no-audit --no-fund "+tarball+" >/dev/null && node -e 'console.log(require(\"cordon-test-pkg\"))'")
	if r.code != 0 || r.stdout != "42\n" {
		t.Fatalf("npm install of a tarball: exit %d\n%s%s", r.code, r.stdout, r.stderr)
	}
	if after := treeHash(t, npmDir); after != before {
		t.Errorf("the user's ~/.npm changed: %s, was %s", after, before)
	}
}

// What one workspace adds to a cache is its own: a second run of it sees
// it, another workspace's sandbox does not, nor the user.
func TestCacheIsolation(t *testing.T) {
	cw := newCacheWorld(t)
	cache := filepath.Join(cw.home, ".cache")
	mustWrite(t, filepath.Join(cache, "shared"), "user's\n")
	a, b := cw.ws(t, "a"), cw.ws(t, "b")
	if r := cw.run(t, a, `echo from-a > ~/.cache/added-by-a && echo changed-by-a > ~/.cache/shared`); r.code != 0 {
		t.Fatalf("a: exit %d: %s", r.code, r.stderr)
	}
	if r := cw.run(t, a, `cat ~/.cache/added-by-a ~/.cache/shared`); r.code != 0 || r.stdout != "from-a\nchanged-by-a\n" {
		t.Errorf("a's second run: exit %d, %q %s", r.code, r.stdout, r.stderr)
	}
	upperA := cw.upper(t, a, "xdg-cache")
	// The state directory shows b nothing but its own variables'
	// directories (for the caches missing here).
	realB, _ := filepath.EvalSymlinks(b)
	r := cw.run(t, b, `cat ~/.cache/shared; ls -A ~/.cache; cat `+upperA+`/added-by-a; ls -A `+cw.state+` `+cw.state+`/cache`)
	want := fmt.Sprintf("user's\nshared\n%[1]s:\ncache\n\n%[1]s/cache:\n%[2]s\n", cw.state, cachelayer.Key(realB))
	if r.stdout != want || strings.Contains(r.stdout+r.stderr, "from-a") {
		t.Errorf("b sees a's layer: %q, want %q; %s", r.stdout, want, r.stderr)
	}
	mustContent(t, filepath.Join(cache, "shared"), "user's\n")
	mustNotExist(t, filepath.Join(cache, "added-by-a"))
	mustContent(t, filepath.Join(upperA, "added-by-a"), "from-a\n")
}

// The sandbox tries to overwrite an entry of the user's Go build cache by
// every path it has: the cache's own path (the overlay), /proc/self/root,
// a symbolic link in the workspace, a hard link, and the upper layer's
// path in the state directory. The user's file is unchanged; the poison
// is only in that workspace's layer, and another workspace reads the
// user's entry.
func TestCachePoisoning(t *testing.T) {
	cw := newCacheWorld(t)
	entry := filepath.Join(cw.home, ".cache", "go-build", "ab", "ab12-a")
	if err := os.MkdirAll(filepath.Dir(entry), 0o755); err != nil {
		t.Fatal(err)
	}
	mustWrite(t, entry, "genuine object\n")
	before := treeHash(t, filepath.Join(cw.home, ".cache"))
	ws, other := cw.ws(t, "ws"), cw.ws(t, "other")
	upper := cw.upper(t, ws, "xdg-cache")
	upperEntry := filepath.Join(upper, "go-build", "ab", "ab12-a")
	r := cw.run(t, ws, fmt.Sprintf(`
		E=%[1]s
		echo poison-direct > "$E" && echo direct-ok
		echo poison-proc > "/proc/self/root$E" && echo proc-ok
		ln -s "$E" link && echo poison-link > link && echo link-ok
		ln "$E" hard 2>/dev/null && echo poison-hard > hard && echo HARD-OK
		mkdir -p %[2]s 2>/dev/null; echo poison-upper > %[3]s 2>/dev/null && echo UPPER-OK
		cat "$E"`, entry, filepath.Dir(upperEntry), upperEntry))
	t.Logf("sandbox: %s%s", r.stdout, r.stderr)
	if strings.Contains(r.stdout, "UPPER-OK") {
		t.Errorf("the upper layer's path in the state directory was writable from the sandbox")
	}
	if strings.Contains(r.stdout, "HARD-OK") {
		mustContent(t, entry, "genuine object\n")
	}
	if after := treeHash(t, filepath.Join(cw.home, ".cache")); after != before {
		t.Errorf("the user's cache changed: %s, was %s", after, before)
	}
	mustContent(t, entry, "genuine object\n")
	b, err := os.ReadFile(upperEntry)
	if err != nil || !strings.HasPrefix(string(b), "poison-") || strings.Contains(string(b), "upper") {
		t.Errorf("the poison is not (only) in the workspace's layer: %q, %v", b, err)
	}
	if r := cw.run(t, other, `cat `+entry); r.stdout != "genuine object\n" {
		t.Errorf("another workspace reads %q (%s)", r.stdout, r.stderr)
	}
}

// A cache that does not exist on the host is not created there: the
// tool's variable points at the workspace's own directory instead.
func TestCacheMissingDir(t *testing.T) {
	cw := newCacheWorld(t)
	ws := cw.ws(t, "ws")
	r := cw.run(t, ws, `echo $npm_config_cache; mkdir -p "$npm_config_cache/_cacache" && echo x > "$npm_config_cache/_cacache/f" && echo ok`)
	real, _ := filepath.EvalSymlinks(ws)
	want := cachelayer.Open(cw.state, real).VarDir("npm_config_cache")
	if r.code != 0 || r.stdout != want+"\nok\n" {
		t.Fatalf("exit %d, %q (want %s) %s", r.code, r.stdout, want, r.stderr)
	}
	mustNotExist(t, filepath.Join(cw.home, ".npm"))
	mustContent(t, filepath.Join(want, "_cacache", "f"), "x\n")
}

// A cache that is a symbolic link is layered at its target, where the
// tool's writes land, and the target is unchanged.
func TestCacheSymlinkedDir(t *testing.T) {
	cw := newCacheWorld(t)
	target := filepath.Join(cw.base, "elsewhere", "cache")
	if err := os.MkdirAll(target, 0o755); err != nil {
		t.Fatal(err)
	}
	mustWrite(t, filepath.Join(target, "old"), "old\n")
	if err := os.Remove(filepath.Join(cw.home, ".cache")); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(target, filepath.Join(cw.home, ".cache")); err != nil {
		t.Fatal(err)
	}
	before := treeHash(t, target)
	ws := cw.ws(t, "ws")
	r := cw.run(t, ws, `echo new > ~/.cache/new && echo changed > ~/.cache/old && cat ~/.cache/new ~/.cache/old && grep -c " `+target+` .* overlay " /proc/self/mountinfo`)
	if r.code != 0 || r.stdout != "new\nchanged\n1\n" {
		t.Fatalf("exit %d, %q %s", r.code, r.stdout, r.stderr)
	}
	if after := treeHash(t, target); after != before {
		t.Errorf("the link's target changed: %s, was %s", after, before)
	}
	mustContent(t, filepath.Join(cw.upper(t, ws, "xdg-cache"), "new"), "new\n")
}

// A full upper layer: the command sees ENOSPC, the user's cache is
// untouched, and the next write that fits works. The state directory is
// put on a 1 MiB tmpfs, which needs root; the cache stays on the disk, so
// this is also a cache on another file system than its layer.
func TestCacheENOSPC(t *testing.T) {
	cw := newCacheWorld(t)
	if err := unix.Mount("cordon-test-state", cw.state, "tmpfs", unix.MS_NOSUID|unix.MS_NODEV, "size=1m,mode=0755"); err != nil {
		t.Skipf("SKIPPED LOUDLY: a small tmpfs for the state directory needs root (mount: %v); ENOSPC on the upper layer is untested here", err)
	}
	t.Cleanup(func() { unix.Unmount(cw.state, unix.MNT_DETACH) })
	mustWrite(t, filepath.Join(cw.home, ".cache", "keep"), "keep\n")
	before := treeHash(t, filepath.Join(cw.home, ".cache"))
	ws := cw.ws(t, "ws")
	r := cw.run(t, ws, `dd if=/dev/zero of=$HOME/.cache/big bs=1024 count=4096 2>&1; rm -f ~/.cache/big; echo small > ~/.cache/small && cat ~/.cache/small`)
	if !strings.Contains(r.stdout, "No space left on device") || !strings.HasSuffix(r.stdout, "small\n") {
		t.Errorf("exit %d, %q %s; want ENOSPC, then a small write working", r.code, r.stdout, r.stderr)
	}
	if after := treeHash(t, filepath.Join(cw.home, ".cache")); after != before {
		t.Errorf("the user's cache changed: %s, was %s", after, before)
	}
}

// A run killed in the middle of writing its cache leaves the layer (and
// the overlay's work directory) as it was; the next run of the workspace
// works.
func TestCacheKilledRun(t *testing.T) {
	cw := newCacheWorld(t)
	ws := cw.ws(t, "ws")
	p, out := cw.start(t, ws, `i=0; while :; do i=$((i+1)); mkdir -p ~/.cache/d$i && head -c 65536 /dev/urandom > ~/.cache/d$i/f; mv ~/.cache/d$i/f ~/.cache/d$i/g; done`)
	upper := cw.upper(t, ws, "xdg-cache")
	waitFor(t, "the writer to write 20 files", out, func() bool { return countFiles(t, upper) >= 20 })
	p.Kill()
	if code, _ := p.Wait(); code != 128+9 {
		t.Errorf("killed run: exit %d", code)
	}
	r := cw.run(t, ws, `echo after > ~/.cache/after && cat ~/.cache/after && ls ~/.cache | grep -c '^d'`)
	if r.code != 0 || !strings.HasPrefix(r.stdout, "after\n") {
		t.Fatalf("the run after a killed one: exit %d, %q %s", r.code, r.stdout, r.stderr)
	}
	mustNotExist(t, filepath.Join(cw.home, ".cache", "after"))
}

// Two runs of one workspace at once: the second finds the upper layer
// held, gets a layer of its own for the run (discarded afterwards), and
// both can write their caches.
func TestCacheConcurrentRuns(t *testing.T) {
	cw := newCacheWorld(t)
	ws := cw.ws(t, "ws")
	first, out := cw.start(t, ws, `echo first > ~/.cache/first && touch started && while [ ! -e go-on ]; do sleep 0.05; done; cat ~/.cache/first`)
	waitFor(t, "the first run to start", out, func() bool {
		_, err := os.Stat(filepath.Join(ws, "started"))
		return err == nil
	})
	r := cw.run(t, ws, `echo second > ~/.cache/second && cat ~/.cache/second; ls ~/.cache`)
	if r.code != 0 || r.stdout != "second\nsecond\n" {
		t.Errorf("the second run: exit %d, %q %s", r.code, r.stdout, r.stderr)
	}
	mustWrite(t, filepath.Join(ws, "go-on"), "")
	if code, err := first.Wait(); code != 0 || err != nil || out.String() != "first\n" {
		t.Errorf("the first run: exit %d, %v, %q", code, err, out.String())
	}
	layer := filepath.Dir(cw.upper(t, ws, "xdg-cache"))
	mustContent(t, filepath.Join(layer, "upper", "first"), "first\n")
	mustNotExist(t, filepath.Join(layer, "upper", "second"))
	if runs, _ := filepath.Glob(filepath.Join(layer, "run-*")); len(runs) != 0 {
		t.Errorf("the second run's layer is left: %v", runs)
	}
}

// Without overlays the tools' variables point at the workspace's own
// directories, bound writable; the rest of the state directory stays
// hidden, and the user's caches unchanged.
func TestCacheVariablesFallback(t *testing.T) {
	forceCacheVariables = true
	defer func() { forceCacheVariables = false }()
	cw := newCacheWorld(t)
	mustWrite(t, filepath.Join(cw.home, ".cache", "old"), "old\n")
	before := treeHash(t, filepath.Join(cw.home, ".cache"))
	ws := cw.ws(t, "ws")
	real, _ := filepath.EvalSymlinks(ws)
	vars := cachelayer.Open(cw.state, real)
	r := cw.run(t, ws, `echo "$XDG_CACHE_HOME $GOCACHE $PIP_CACHE_DIR"; echo v > "$XDG_CACHE_HOME/v" && cat "$XDG_CACHE_HOME/v"; echo x > ~/.cache/old; ls -A `+cw.state+`; cat `+filepath.Join(vars.Dir, "workspace.json"))
	x := vars.VarDir("XDG_CACHE_HOME")
	want := x + " " + x + "/go-build " + x + "/pip\nv\n"
	if !strings.HasPrefix(r.stdout, want) || strings.Contains(r.stdout, "workspace") {
		t.Errorf("stdout %q, want it to start %q and show nothing else of the state directory\n%s", r.stdout, want, r.stderr)
	}
	if after := treeHash(t, filepath.Join(cw.home, ".cache")); after != before {
		t.Errorf("the user's cache changed")
	}
	mustContent(t, filepath.Join(x, "v"), "v\n")
}

// A workspace inside a cache (a checkout below ~/.cache): its writes land
// in the workspace itself, the cache's in the layer.
func TestCacheRootInsideCache(t *testing.T) {
	cw := newCacheWorld(t)
	ws := filepath.Join(cw.home, ".cache", "checkout")
	if err := os.MkdirAll(ws, 0o755); err != nil {
		t.Fatal(err)
	}
	r := cw.run(t, ws, `echo mine > mine.txt && echo cached > ~/.cache/cached && echo ok`)
	if r.code != 0 || r.stdout != "ok\n" {
		t.Fatalf("exit %d, %q %s", r.code, r.stdout, r.stderr)
	}
	mustContent(t, filepath.Join(ws, "mine.txt"), "mine\n")
	mustNotExist(t, filepath.Join(cw.home, ".cache", "cached"))
	mustContent(t, filepath.Join(cw.upper(t, ws, "xdg-cache"), "cached"), "cached\n")
}

// Over the cap, the least recently used files of the layer go after the
// run; the user's version of an evicted file comes back.
func TestCacheEviction(t *testing.T) {
	cw := newCacheWorld(t)
	mustWrite(t, filepath.Join(cw.home, ".cache", "a"), "user's a\n")
	ws := cw.ws(t, "ws")
	env := cw.env()
	pol := cw.policy(t, ws, policy.Policy{Caches: policy.CachePolicy{Cap: "3K"}}, env)
	r := runSpec(t, sandbox.Spec{Policy: pol, Env: env, Args: []string{"sh", "-c", `cd ~/.cache &&
		head -c 1024 /dev/zero > a && touch -d '2001-01-01' a &&
		head -c 1024 /dev/zero > b && touch -d '2002-01-01' b &&
		head -c 1024 /dev/zero > c && touch -d '2003-01-01' c &&
		head -c 1024 /dev/zero > d`}})
	if r.code != 0 {
		t.Fatalf("exit %d: %s", r.code, r.stderr)
	}
	upper := cw.upper(t, ws, "xdg-cache")
	mustNotExist(t, filepath.Join(upper, "a"))
	for _, f := range []string{"b", "c", "d"} {
		if _, err := os.Stat(filepath.Join(upper, f)); err != nil {
			t.Errorf("%s evicted too: %v", f, err)
		}
	}
	if r := cw.run(t, ws, `cat ~/.cache/a; wc -c < ~/.cache/b`); r.stdout != "user's a\n1024\n" {
		t.Errorf("after eviction: %q", r.stdout)
	}
}

// The probe mounts an overlay as a run would and says so.
func TestProbeCacheLayers(t *testing.T) {
	newCacheWorld(t)
	pr, err := runProbeStages(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	l := pr.layer(LayerCaches)
	t.Logf("%s: %s", l.Name, l.Detail)
	if !l.Available || !strings.HasPrefix(l.Detail, "overlay") {
		t.Errorf("cache-layers: %+v, want overlay on this kernel (%s)", l, kernelRelease())
	}
	if ents, _ := os.ReadDir(filepath.Join(os.Getenv("CORDON_STATE_DIR"), cachelayer.DirName)); len(ents) != 0 {
		t.Errorf("the probe left %v in the state directory", ents)
	}
}

func kernelRelease() string {
	var u unix.Utsname
	unix.Uname(&u)
	return unix.ByteSliceToString(u.Release[:])
}

// An overlay that does not mount although the probe's did (here its upper
// layer is made to lie inside the cache, which overlayfs refuses) does not
// fail the run: its caches go through their variables instead.
func TestCacheOverlayFailsFallsBack(t *testing.T) {
	cw := newCacheWorld(t)
	mustWrite(t, filepath.Join(cw.home, ".cache", "old"), "old\n")
	ws := cw.ws(t, "ws")
	layer := filepath.Dir(cw.upper(t, ws, "xdg-cache"))
	if err := os.MkdirAll(filepath.Join(cw.home, ".cache", "inside"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.MkdirAll(layer, 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(filepath.Join(cw.home, ".cache", "inside"), filepath.Join(layer, "upper")); err != nil {
		t.Fatal(err)
	}
	before := treeHash(t, filepath.Join(cw.home, ".cache"))
	for range 2 { // the first start may be the optimistic one, before the probe
		r := cw.run(t, ws, `echo v > "$XDG_CACHE_HOME/v" && cat "$XDG_CACHE_HOME/v"`)
		if r.code != 0 || r.stdout != "v\n" {
			t.Fatalf("exit %d, %q %s", r.code, r.stdout, r.stderr)
		}
	}
	if after := treeHash(t, filepath.Join(cw.home, ".cache")); after != before {
		t.Errorf("the user's cache changed")
	}
}
