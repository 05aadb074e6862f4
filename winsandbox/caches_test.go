package winsandbox

import (
	"slices"
	"strings"
	"testing"

	"github.com/cordon-sandbox/cordon/internal/envlist"
	"github.com/cordon-sandbox/cordon/policy"
)

// The state directory of these tests has a space in it, as a profile of
// "Jane Doe" does.
const (
	cacheState = `C:\Users\Jane Doe\AppData\Local\cordon`
	cacheWS    = `C:\src\ws`
)

// cacheEnv is a caller's environment: the user's own GOCACHE (spelt in
// lower case, as Windows allows), MAVEN_OPTS of their own.
var cacheEnv = []string{
	`USERPROFILE=C:\Users\Jane Doe`, `LOCALAPPDATA=C:\Users\Jane Doe\AppData\Local`,
	`gocache=D:\gocache`, "MAVEN_OPTS=-Xmx1g", `Path=C:\Windows`,
}

// resolveForCaches resolves p as a run does on Windows: the command's
// environment filtered by the policy (env.set applied), the temp root the
// workspace's own unless temp names one of the caller's (--temp).
func resolveForCaches(t *testing.T, p policy.Policy, temp string) (*policy.Resolved, []string) {
	t.Helper()
	if p.Mode == "" {
		p.Mode = policy.WorkspaceWrite
	}
	env := p.Env.Filter(cacheEnv, policy.WindowsEnv).Env
	penv := policy.Env{Rules: policy.Windows, Cwd: cacheWS, CommandEnv: env}
	if !p.ExcludeTmp {
		if temp == "" {
			own, err := WorkspaceTemp(cacheState, cacheWS)
			if err != nil {
				t.Fatal(err)
			}
			penv.TempDirs, penv.TempOwned = []string{own}, true
		} else {
			penv.TempDirs = []string{temp}
		}
	}
	r, err := p.Resolve(penv)
	if err != nil {
		t.Fatal(err)
	}
	return r, env
}

func lookup(env []string, name string) string {
	v, _ := envlist.Windows.Lookup(env, name)
	return v
}

// Every tool's variable points at a directory of the workspace's own
// below its own temp directory, the caller's GOCACHE included (it names
// the user's cache, which stays read-only); MAVEN_OPTS keeps the caller's
// options and gets the repository, quoted for mvn.cmd.
func TestRedirectCachesDefault(t *testing.T) {
	r, env := resolveForCaches(t, policy.Policy{}, "")
	own, _ := WorkspaceTemp(cacheState, cacheWS)
	base := own + `\cache`
	red := redirectCaches(r, env)
	if red.Base != base {
		t.Fatalf("base %q, want %q", red.Base, base)
	}
	for v, want := range map[string]string{
		"GOCACHE":          base + `\GOCACHE`,
		"GOMODCACHE":       base + `\GOMODCACHE`,
		"npm_config_cache": base + `\npm_config_cache`,
		"PIP_CACHE_DIR":    base + `\PIP_CACHE_DIR`,
		"CARGO_HOME":       base + `\CARGO_HOME`,
		"GRADLE_USER_HOME": base + `\GRADLE_USER_HOME`,
		"MAVEN_OPTS":       `-Xmx1g -Dmaven.repo.local="` + base + `\MAVEN_OPTS"`,
		"Path":             `C:\Windows`,
	} {
		if got := lookup(red.Env, v); got != want {
			t.Errorf("%s = %q, want %q", v, got, want)
		}
	}
	// One entry per variable: the caller's "gocache" was replaced, not
	// joined by a second spelling.
	n := 0
	for _, kv := range red.Env {
		if strings.HasPrefix(strings.ToUpper(kv), "GOCACHE=") {
			n++
		}
	}
	if n != 1 {
		t.Errorf("%d GOCACHE entries in %q", n, red.Env)
	}
	// One directory per variable (the two cargo caches share CARGO_HOME),
	// each below the workspace's own temp root.
	if len(red.Dirs) != 7 {
		t.Errorf("dirs %q, want 7", red.Dirs)
	}
	for _, d := range red.Dirs {
		if root, ok := r.RootOf(d); !ok || root.Kind != policy.RootOwnTemp {
			t.Errorf("%s lies in %+v, not the workspace's own temp root", d, root)
		}
	}
	if lookup(env, "GOCACHE") != `D:\gocache` {
		t.Error("redirectCaches changed its input")
	}
	if len(red.Notes) != 1 || !strings.Contains(red.Notes[0], "GOCACHE") {
		t.Errorf("notes %q", red.Notes)
	}
}

// What is not redirected, and why. The environment is the command's own
// (env.set applied) in every case, and each case leaves GOCACHE as the
// caller or the policy had it.
func TestRedirectCachesLeftAlone(t *testing.T) {
	for _, c := range []struct {
		name  string
		p     policy.Policy
		temp  string
		note  string // in the notes; "" for no notes at all
		gocah string // GOCACHE the command gets
		other bool   // the other caches are redirected
	}{
		{name: "read-only", p: policy.Policy{Mode: policy.ReadOnly}, gocah: `D:\gocache`},
		{name: "off", p: policy.Policy{Caches: policy.CachePolicy{Off: true}}, gocah: `D:\gocache`},
		{name: "--temp", temp: `D:\mytemp`, note: `D:\mytemp is not the workspace's own`, gocah: `D:\gocache`},
		{name: "exclude_tmp", p: policy.Policy{ExcludeTmp: true}, note: "exclude_tmp", gocah: `D:\gocache`},
		{name: "env.set", p: policy.Policy{Env: policy.EnvPolicy{Set: map[string]string{"GOCACHE": `E:\shared`}}},
			note: "the policy sets GOCACHE itself", gocah: `E:\shared`, other: true},
		{name: "inside the workspace", p: policy.Policy{Env: policy.EnvPolicy{Set: map[string]string{"GOCACHE": cacheWS + `\.gocache`}}},
			note: "GOMODCACHE", gocah: cacheWS + `\.gocache`, other: true},
	} {
		t.Run(c.name, func(t *testing.T) {
			r, env := resolveForCaches(t, c.p, c.temp)
			red := redirectCaches(r, env)
			if got := lookup(red.Env, "GOCACHE"); got != c.gocah {
				t.Errorf("GOCACHE = %q, want %q", got, c.gocah)
			}
			notes := strings.Join(red.Notes, "\n")
			if c.note == "" && notes != "" || !strings.Contains(notes, c.note) {
				t.Errorf("notes %q, want %q", red.Notes, c.note)
			}
			if redirected := len(red.Dirs) != 0; redirected != c.other || redirected == slices.Equal(red.Env, env) {
				t.Errorf("redirected %q (want %v): %q", red.Dirs, c.other, red.Env)
			}
		})
	}
	// The policy's own MAVEN_OPTS is the policy's: nothing appended.
	r, env := resolveForCaches(t, policy.Policy{Env: policy.EnvPolicy{Set: map[string]string{"maven_opts": "-Dmaven.repo.local=E:\\m2"}}}, "")
	red := redirectCaches(r, env)
	if got := lookup(red.Env, "MAVEN_OPTS"); got != `-Dmaven.repo.local=E:\m2` {
		t.Errorf("MAVEN_OPTS = %q", got)
	}
	if lookup(red.Env, "GOCACHE") == `D:\gocache` {
		t.Error("GOCACHE not redirected next to a fixed MAVEN_OPTS")
	}
}

// An extra cache has no variable to point elsewhere: it stays read-only,
// and the log says so, while the built-in ones are redirected.
func TestRedirectCachesExtra(t *testing.T) {
	r, env := resolveForCaches(t, policy.Policy{Caches: policy.CachePolicy{Extra: []string{`D:\toolcache`}}}, "")
	red := redirectCaches(r, env)
	if !strings.Contains(strings.Join(red.Notes, "\n"), `D:\toolcache): no variable`) {
		t.Errorf("notes %q", red.Notes)
	}
	if len(red.Dirs) != 7 {
		t.Errorf("dirs %q", red.Dirs)
	}
	for _, c := range red.Caches {
		if c.Var == "" {
			t.Errorf("an extra cache is recorded as redirected: %+v", c)
		}
	}
}

func TestQuoteMavenRepo(t *testing.T) {
	dir := `C:\a b\cache\MAVEN_OPTS`
	env := []string{"MAVEN_OPTS=-Xmx1g -Dmaven.repo.local=" + dir}
	if got := lookup(quoteMavenRepo(env, dir), "MAVEN_OPTS"); got != `-Xmx1g -Dmaven.repo.local="C:\a b\cache\MAVEN_OPTS"` {
		t.Errorf("quoted %q", got)
	}
	// Anything else is left alone: the policy's own value, no value.
	for _, e := range [][]string{{`MAVEN_OPTS=-Dmaven.repo.local=E:\m2`}, {"X=1"}} {
		if got := quoteMavenRepo(e, dir); !slices.Equal(got, e) {
			t.Errorf("%q became %q", e, got)
		}
	}
}
