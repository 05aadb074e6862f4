package winsandbox_test

import (
	"context"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/cordon-sandbox/cordon"
	"github.com/cordon-sandbox/cordon/internal/cachelayer"
	"github.com/cordon-sandbox/cordon/internal/ntfs"
	"github.com/cordon-sandbox/cordon/internal/testutil"
	"github.com/cordon-sandbox/cordon/policy"
	"github.com/cordon-sandbox/cordon/sandbox"
	"github.com/cordon-sandbox/cordon/winsandbox"
)

// cacheVars are the variables the backend points at the workspace's
// layers.
var cacheVars = []string{"GOCACHE", "GOMODCACHE", "npm_config_cache", "PIP_CACHE_DIR", "CARGO_HOME", "GRADLE_USER_HOME", "MAVEN_OPTS"}

// Environment of cacheHelper beyond the cache variables.
const (
	goExeEnv     = "CORDON_TEST_GO"         // go.exe, to ask for `go env GOCACHE`
	userCacheEnv = "CORDON_TEST_USER_CACHE" // a directory of the user's to try writing
)

// cacheHelper runs in the sandbox as the test binary: it prints the cache
// variables as JSON, and writes probe.txt into GOCACHE ("error" says why
// it could not). With goExeEnv it adds what `go env GOCACHE` says
// ("go_env"), with userCacheEnv whether a write there failed
// ("user_write": "ok" or the error).
func cacheHelper() int {
	out := map[string]string{}
	for _, v := range cacheVars {
		out[v] = os.Getenv(v)
	}
	if err := os.WriteFile(filepath.Join(os.Getenv("GOCACHE"), "probe.txt"), []byte("12345"), 0o644); err != nil {
		out["error"] = err.Error()
	}
	if goexe := os.Getenv(goExeEnv); goexe != "" {
		b, err := exec.Command(goexe, "env", "GOCACHE").Output()
		out["go_env"] = strings.TrimSpace(string(b))
		if err != nil {
			out["go_env"] += " (" + err.Error() + ")"
		}
	}
	if d := os.Getenv(userCacheEnv); d != "" {
		out["user_write"] = "ok"
		if err := os.WriteFile(filepath.Join(d, "probe.txt"), []byte("x"), 0o644); err != nil {
			out["user_write"] = err.Error()
		}
	}
	json.NewEncoder(os.Stdout).Encode(out)
	return 0
}

// cacheFixture is a workspace whose caller has a profile of their own
// (LOCALAPPDATA, USERPROFILE) and a GOCACHE that exists, with an entry.
type cacheFixture struct {
	fixture
	local, userGo string
}

func newCacheFixture(t *testing.T) cacheFixture {
	t.Helper()
	f := cacheFixture{fixture: newFixture(t)}
	profile := testutil.TempDir(t)
	f.local = filepath.Join(profile, "AppData", "Local")
	f.userGo = filepath.Join(f.local, "my-go-build")
	if err := os.MkdirAll(f.userGo, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(f.userGo, "entry"), []byte("mine"), 0o644); err != nil {
		t.Fatal(err)
	}
	var env []string
	for _, kv := range f.env {
		k, _, _ := strings.Cut(kv, "=")
		if !slices.ContainsFunc(append(cacheVars, "LOCALAPPDATA", "USERPROFILE", "GOPATH", "NPM_CONFIG_CACHE"), func(v string) bool { return strings.EqualFold(v, k) }) {
			env = append(env, kv)
		}
	}
	f.env = append(env, "USERPROFILE="+profile, "LOCALAPPDATA="+f.local, "GOCACHE="+f.userGo, "MAVEN_OPTS=-Xmx1g", helperEnv+"=cache")
	return f
}

// runHelper runs cacheHelper under pol and returns what it printed.
func (f cacheFixture) runHelper(t *testing.T, pol policy.Policy) map[string]string {
	t.Helper()
	self, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	res, err := cordon.Run(context.Background(), cordon.Request{
		Policy: pol, Command: []string{self}, Dir: f.ws, Env: f.env, Backend: winsandbox.Name, Timeout: time.Minute,
	})
	if err != nil {
		t.Fatalf("Run: %v", err)
	}
	got := map[string]string{}
	if err := json.Unmarshal(res.Stdout, &got); err != nil || res.ExitCode != 0 {
		t.Fatalf("helper: exit %d, %v, stdout %q, stderr %q", res.ExitCode, err, res.Stdout, res.Stderr)
	}
	return got
}

func samePath(a, b string) bool { return strings.EqualFold(ntfs.FinalPath(a), ntfs.FinalPath(b)) }

// Plumbing (Wine, and real Windows): the command gets every tool's
// variable pointed at its workspace's directory below the workspace's own
// temp directory, writes there, and `cordon cache list` and `clear` see
// and remove it; the caller's cache is left as it was. With the layers
// off, or the variable set by the policy, the variable is left alone.
func TestCacheVariablesReachTheCommand(t *testing.T) {
	f := newCacheFixture(t)
	own, err := winsandbox.WorkspaceTemp(ntfs.FinalPath(f.state), ntfs.FinalPath(f.ws))
	if err != nil {
		t.Fatal(err)
	}
	base := filepath.Join(own, "cache")
	got := f.runHelper(t, policy.Policy{Mode: policy.WorkspaceWrite})
	if got["error"] != "" {
		t.Errorf("writing GOCACHE in the sandbox: %s", got["error"])
	}
	for _, v := range cacheVars[:6] {
		if !samePath(got[v], filepath.Join(base, v)) {
			t.Errorf("%s = %q, want %s", v, got[v], filepath.Join(base, v))
		}
	}
	mvn := got["MAVEN_OPTS"]
	repo, ok := strings.CutPrefix(mvn, `-Xmx1g -Dmaven.repo.local="`)
	if !ok || !strings.HasSuffix(repo, `"`) || !samePath(strings.TrimSuffix(repo, `"`), filepath.Join(base, "MAVEN_OPTS")) {
		t.Errorf("MAVEN_OPTS = %q", mvn)
	}
	if b, err := os.ReadFile(filepath.Join(base, "GOCACHE", "probe.txt")); err != nil || string(b) != "12345" {
		t.Errorf("the command's write to GOCACHE: %q, %v", b, err)
	}
	// The caller's cache is as it was; the default ones were not created.
	if ents, _ := os.ReadDir(f.userGo); len(ents) != 1 {
		t.Errorf("the caller's GOCACHE holds %d entries, want its one", len(ents))
	}
	for _, d := range []string{filepath.Join(f.local, "npm-cache"), filepath.Join(f.local, "pip")} {
		if _, err := os.Stat(d); !os.IsNotExist(err) {
			t.Errorf("%s was created: %v", d, err)
		}
	}

	us, err := cachelayer.List(f.state)
	if err != nil || len(us) != 1 {
		t.Fatalf("List = %+v, %v", us, err)
	}
	i := slices.IndexFunc(us[0].Layers, func(l cachelayer.LayerUsage) bool { return l.Name == "vars/GOCACHE" })
	if !samePath(us[0].Workspace, f.ws) || us[0].InUse || i < 0 || us[0].Layers[i].Bytes != 5 || !samePath(us[0].Layers[i].Cache, f.userGo) {
		t.Errorf("List = %+v", us[0])
	}

	// Off, and a GOCACHE of the policy's own: left as they are.
	off := f.runHelper(t, policy.Policy{Mode: policy.WorkspaceWrite, Caches: policy.CachePolicy{Off: true}})
	if !samePath(off["GOCACHE"], f.userGo) || off["MAVEN_OPTS"] != "-Xmx1g" {
		t.Errorf("caches off: %v", off)
	}
	mine := filepath.Join(f.ws, "gocache")
	if err := os.Mkdir(mine, 0o755); err != nil {
		t.Fatal(err)
	}
	fixed := f.runHelper(t, policy.Policy{Mode: policy.WorkspaceWrite, Env: policy.EnvPolicy{Set: map[string]string{"GOCACHE": mine}}})
	if !samePath(fixed["GOCACHE"], mine) || fixed["error"] != "" || !samePath(fixed["GOMODCACHE"], filepath.Join(base, "GOMODCACHE")) {
		t.Errorf("GOCACHE set by the policy: %v", fixed)
	}

	cleared, err := cachelayer.Clear(f.state, "")
	if err != nil || len(cleared) != 1 {
		t.Errorf("Clear = %v, %v", cleared, err)
	}
	if _, err := os.Stat(base); !os.IsNotExist(err) {
		t.Errorf("clear left %s: %v", base, err)
	}
	if fi, err := os.Stat(own); err != nil || !fi.IsDir() {
		t.Errorf("clear took the workspace's temp directory: %v", err)
	}
}

// A junction a previous run left in place of a layer's directory is
// removed, not followed: the run gets a plain directory, and what the
// junction led to is untouched, whatever the cap evicts.
func TestCacheJunctionReplaced(t *testing.T) {
	f := newCacheFixture(t)
	own, err := winsandbox.WorkspaceTemp(ntfs.FinalPath(f.state), ntfs.FinalPath(f.ws))
	if err != nil {
		t.Fatal(err)
	}
	f.runHelper(t, policy.Policy{Mode: policy.WorkspaceWrite})
	outside := testutil.TempDir(t)
	if err := os.WriteFile(filepath.Join(outside, "precious"), []byte("x"), 0o644); err != nil {
		t.Fatal(err)
	}
	link := filepath.Join(own, "cache", "GOCACHE")
	if err := cachelayer.RemoveAll(link); err != nil {
		t.Fatal(err)
	}
	// Wine's mklink makes no junction, and says so only on its output.
	out, err := exec.Command("cmd", "/c", "mklink", "/J", link, outside).CombinedOutput()
	if fi, lerr := os.Lstat(link); err != nil || lerr != nil || fi.Mode().Type() == os.ModeDir {
		t.Skipf("no junction made here (Wine makes none): %v %v %s", err, lerr, out)
	}
	// A cap of one byte would evict every file of the layer.
	got := f.runHelper(t, policy.Policy{Mode: policy.WorkspaceWrite, Caches: policy.CachePolicy{Cap: "1"}})
	if !samePath(got["GOCACHE"], link) || got["error"] != "" {
		t.Errorf("GOCACHE %q, %s", got["GOCACHE"], got["error"])
	}
	if fi, err := os.Lstat(link); err != nil || fi.Mode().Type() != os.ModeDir {
		t.Errorf("%s after the run: %v, %v", link, fi, err)
	}
	if _, err := os.Stat(filepath.Join(outside, "precious")); err != nil {
		t.Errorf("the junction's target lost its file: %v", err)
	}
	if _, err := os.Stat(filepath.Join(outside, "probe.txt")); err == nil {
		t.Error("the run wrote through the junction")
	}
	// The cap held: the run's own probe was evicted from the plain layer.
	if _, err := os.Stat(filepath.Join(link, "probe.txt")); !os.IsNotExist(err) {
		t.Errorf("a 1-byte cap kept probe.txt: %v", err)
	}
}

// Real Windows only: go itself, in the sandbox, takes the layer for its
// build cache, and a write there works, while the user's
// %LOCALAPPDATA%\go-build stays unwritable to the sandbox.
func TestRealWindowsGoCacheLayer(t *testing.T) {
	testutil.RealWindows(t)
	goexe, err := exec.LookPath("go")
	if err != nil {
		t.Skip("no go on PATH")
	}
	f := newCacheFixture(t)
	userCache := filepath.Join(f.local, "go-build")
	if err := os.MkdirAll(userCache, 0o755); err != nil {
		t.Fatal(err)
	}
	var env []string
	for _, kv := range f.env {
		if k, _, _ := strings.Cut(kv, "="); !strings.EqualFold(k, "GOCACHE") {
			env = append(env, kv)
		}
	}
	// GOCACHE unset: go's default, %LOCALAPPDATA%\go-build, is the cache.
	f.env = append(env, goExeEnv+"="+goexe, userCacheEnv+"="+userCache)
	own, err := winsandbox.WorkspaceTemp(ntfs.FinalPath(f.state), ntfs.FinalPath(f.ws))
	if err != nil {
		t.Fatal(err)
	}
	layer := filepath.Join(own, "cache", "GOCACHE")
	got := f.runHelper(t, policy.Policy{Mode: policy.WorkspaceWrite})
	if !samePath(got["go_env"], layer) {
		t.Errorf("go env GOCACHE in the sandbox: %q, want %s", got["go_env"], layer)
	}
	if _, err := os.Stat(filepath.Join(layer, "probe.txt")); err != nil || got["error"] != "" {
		t.Errorf("a write to the layer failed: %v, %s", err, got["error"])
	}
	if got["user_write"] == "ok" {
		t.Error("the sandbox wrote the user's go-build")
	}
	if _, err := os.Stat(filepath.Join(userCache, "probe.txt")); !os.IsNotExist(err) {
		t.Errorf("the user's go-build holds the probe: %v", err)
	}
}

// The probe names the cache layer, and says it goes through the variables
// where the token layer works.
func TestProbeCacheLayer(t *testing.T) {
	p := winsandbox.New().Probe(context.Background())
	i := slices.IndexFunc(p.Layers, func(l sandbox.Layer) bool { return l.Name == winsandbox.LayerCaches })
	if i < 0 || p.Layers[i].Enforces == "" {
		t.Fatalf("layers %+v", p.Layers)
	}
	tok := slices.IndexFunc(p.Layers, func(l sandbox.Layer) bool { return l.Name == winsandbox.LayerToken })
	if l := p.Layers[i]; l.Available != p.Layers[tok].Available || l.Available && !strings.HasPrefix(l.Detail, "variables") {
		t.Errorf("cache layer %+v, token layer %+v", l, p.Layers[tok])
	}
}
