package cachelayer

import (
	"errors"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/cordon-sandbox/cordon/internal/envlist"
	"github.com/cordon-sandbox/cordon/internal/statedir"
	"github.com/cordon-sandbox/cordon/internal/testutil"
	"github.com/cordon-sandbox/cordon/policy"
)

func mkdir(t *testing.T, p string) {
	t.Helper()
	if err := os.MkdirAll(p, 0o755); err != nil {
		t.Fatal(err)
	}
}

func write(t *testing.T, p, s string) {
	t.Helper()
	mkdir(t, filepath.Dir(p))
	if err := os.WriteFile(p, []byte(s), 0o644); err != nil {
		t.Fatal(err)
	}
}

func within(p, root string) bool {
	return p == root || strings.HasPrefix(p, root+string(filepath.Separator))
}

// Nesting is by real paths: a cache inside another is covered by it, but
// not one that a link inside it leads out of; a missing cache nests where
// it would be created; a file is no cache.
func TestPlan(t *testing.T) {
	if runtime.GOOS == "windows" {
		t.Skip("symbolic links")
	}
	dir, err := filepath.EvalSymlinks(testutil.TempDir(t))
	if err != nil {
		t.Fatal(err)
	}
	home := filepath.Join(dir, "home")
	mkdir(t, filepath.Join(home, ".cache", "go-build"))
	mkdir(t, filepath.Join(dir, "elsewhere", "pip"))
	if err := os.Symlink(filepath.Join(dir, "elsewhere", "pip"), filepath.Join(home, ".cache", "pip")); err != nil {
		t.Fatal(err)
	}
	write(t, filepath.Join(home, ".m2"), "a file")
	caches := []policy.Cache{
		{Name: "go-build", Path: filepath.Join(home, ".cache", "go-build"), Var: "GOCACHE"},
		{Name: "xdg-cache", Path: filepath.Join(home, ".cache"), Var: "XDG_CACHE_HOME"},
		{Name: "pip", Path: filepath.Join(home, ".cache", "pip"), Var: "PIP_CACHE_DIR"},
		{Name: "npm", Path: filepath.Join(home, ".npm"), Var: "npm_config_cache"},
		{Name: "npm-sub", Path: filepath.Join(home, ".npm", "sub"), Var: "X"},
		{Name: "extra", Path: filepath.Join(home, ".cache", "missing")},
		{Name: "maven", Path: filepath.Join(home, ".m2", "repository"), Var: "MAVEN_OPTS"},
	}
	layers, notes := Plan(caches, filepath.EvalSymlinks, within)
	got := map[string]string{}
	for _, l := range layers {
		var covers []string
		for _, c := range l.Covers {
			covers = append(covers, c.Name)
		}
		got[l.Name] = strings.TrimPrefix(l.Real, dir) + " " + map[bool]string{true: "exists", false: "missing"}[l.Exists] + " [" + strings.Join(covers, ",") + "]"
	}
	want := map[string]string{
		"xdg-cache": "/home/.cache exists [go-build,extra]",
		"pip":       "/elsewhere/pip exists []",
		"npm":       "/home/.npm missing [npm-sub]",
	}
	if len(got) != len(want) {
		t.Errorf("layers %v, want %v", got, want)
	}
	for k, v := range want {
		if got[k] != v {
			t.Errorf("%s: %q, want %q", k, got[k], v)
		}
	}
	if len(notes) != 1 || !strings.Contains(notes[0], "maven") {
		t.Errorf("notes %q, want one about maven", notes)
	}
}

func TestRedirect(t *testing.T) {
	base := func(v string) string { return "/s/vars/" + v }
	layers := []Layer{
		{Cache: policy.Cache{Name: "xdg-cache", Path: "/h/.cache", Var: "XDG_CACHE_HOME"}, Real: "/h/.cache",
			Covers: []Layer{{Cache: policy.Cache{Name: "go-build", Path: "/h/.cache/go-build", Var: "GOCACHE"}, Real: "/h/.cache/go-build"}}},
		{Cache: policy.Cache{Name: "cargo-registry", Path: "/h/.cargo/registry", Var: "CARGO_HOME", Sub: "registry"}, Real: "/h/.cargo/registry"},
		{Cache: policy.Cache{Name: "cargo-git", Path: "/h/.cargo/git", Var: "CARGO_HOME", Sub: "git"}, Real: "/h/.cargo/git"},
		{Cache: policy.Cache{Name: "maven", Path: "/h/.m2/repository", Var: "MAVEN_OPTS"}, Real: "/h/.m2/repository"},
		{Cache: policy.Cache{Name: "extra-12345678", Path: "/h/.foo"}, Real: "/h/.foo"},
	}
	env, dirs, skipped := Redirect([]string{"MAVEN_OPTS=-Xmx1g", "KEEP=1"}, envlist.POSIX, "/", layers, base)
	want := []string{"KEEP=1", "XDG_CACHE_HOME=/s/vars/XDG_CACHE_HOME", "GOCACHE=/s/vars/XDG_CACHE_HOME/go-build",
		"CARGO_HOME=/s/vars/CARGO_HOME", "MAVEN_OPTS=-Xmx1g -Dmaven.repo.local=/s/vars/MAVEN_OPTS"}
	if !slices.Equal(env, want) {
		t.Errorf("env\n%q\nwant\n%q", env, want)
	}
	if !slices.Equal(dirs, []string{"/s/vars/XDG_CACHE_HOME", "/s/vars/CARGO_HOME", "/s/vars/MAVEN_OPTS"}) {
		t.Errorf("dirs %q", dirs)
	}
	if !slices.Equal(skipped, []string{"extra-12345678"}) {
		t.Errorf("skipped %q", skipped)
	}
}

// Eviction goes by last use, oldest first, until the cap holds; what is
// not a regular file (a whiteout) is neither counted nor removed.
func TestEvict(t *testing.T) {
	dir := testutil.TempDir(t)
	old := time.Now().Add(-time.Hour)
	for i, name := range []string{"a/oldest", "b/middle", "newest"} {
		p := filepath.Join(dir, name)
		write(t, p, strings.Repeat("x", 100))
		ts := old.Add(time.Duration(i) * time.Minute)
		if err := os.Chtimes(p, ts, ts); err != nil {
			t.Fatal(err)
		}
	}
	if n, freed, err := Evict([]string{dir}, 0); n != 0 || freed != 0 || err != nil {
		t.Errorf("no cap: %d %d %v", n, freed, err)
	}
	if n, _, err := Evict([]string{dir}, 300); n != 0 || err != nil {
		t.Errorf("at the cap: %d %v", n, err)
	}
	n, freed, err := Evict([]string{dir}, 150)
	if n != 2 || freed != 200 || err != nil {
		t.Errorf("Evict = %d, %d, %v; want 2, 200", n, freed, err)
	}
	for name, want := range map[string]bool{"a/oldest": false, "b/middle": false, "newest": true} {
		if _, err := os.Stat(filepath.Join(dir, name)); (err == nil) != want {
			t.Errorf("%s exists: %v, want %v", name, err == nil, want)
		}
	}
}

// Clear removes what an overlay leaves: work directories of mode 0, and
// whiteouts (0/0 character devices, which need root or a user namespace
// to make); a workspace a run holds is left alone, busy.
func TestClearAndList(t *testing.T) {
	if runtime.GOOS == "windows" {
		t.Skip("modes and devices")
	}
	state := testutil.TempDir(t)
	a, b := Open(state, "/work/a"), Open(state, "/work/b")
	for _, w := range []Workspace{a, b} {
		mkdir(t, w.Dir)
		if err := w.Record([]policy.Cache{{Name: "xdg-cache", Path: "/home/me/.cache"}}); err != nil {
			t.Fatal(err)
		}
		write(t, filepath.Join(w.LayerDir("xdg-cache"), "upper", "go-build", "f"), "12345")
		write(t, filepath.Join(w.LayerDir("xdg-cache"), "inuse.lock"), "")
		write(t, filepath.Join(w.VarDir("GOMODCACHE"), "m"), "123")
		work := filepath.Join(w.LayerDir("xdg-cache"), "work", "work")
		mkdir(t, work)
		if err := os.Chmod(work, 0); err != nil {
			t.Fatal(err)
		}
	}
	whiteout := filepath.Join(a.LayerDir("xdg-cache"), "upper", "gone")
	if err := mknodWhiteout(whiteout); err != nil {
		t.Logf("no whiteout made (%v): clear is tried on the mode-0 directories only", err)
	}
	us, err := List(state)
	if err != nil || len(us) != 2 {
		t.Fatalf("List = %+v, %v", us, err)
	}
	if us[0].Workspace != "/work/a" || us[0].Bytes != 8 || len(us[0].Layers) != 2 || us[0].Layers[1].Cache != "/home/me/.cache" || us[0].InUse {
		t.Errorf("List[0] = %+v", us[0])
	}

	release, err := statedir.Lock(t.Context(), b.LockPath(), false)
	if err != nil {
		t.Fatal(err)
	}
	if us, _ := List(state); !us[1].InUse {
		t.Errorf("b is not in use while a run holds it")
	}
	cleared, err := Clear(state, "")
	if !errors.Is(err, ErrBusy) || !slices.Equal(cleared, []string{a.Key}) {
		t.Errorf("Clear with b busy = %v, %v", cleared, err)
	}
	if _, err := os.Lstat(a.Dir); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("a's layers are left: %v", err)
	}
	release()
	if cleared, err := Clear(state, b.Key); err != nil || !slices.Equal(cleared, []string{b.Key}) {
		t.Errorf("Clear b = %v, %v", cleared, err)
	}
	if us, err := List(state); len(us) != 0 || err != nil {
		t.Errorf("after clearing: %+v, %v", us, err)
	}
	if _, err := Clear(state, "../x"); err == nil {
		t.Errorf("a key that is a path is taken")
	}
}
