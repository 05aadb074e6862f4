package policy

import (
	"strings"
	"testing"
)

// cacheMap is name -> path|var|sub of the resolved caches.
func cacheMap(cs []Cache) map[string]string {
	m := map[string]string{}
	for _, c := range cs {
		m[c.Name] = c.Path + "|" + c.Var + "|" + c.Sub
	}
	return m
}

func resolveCachesWith(t *testing.T, p Policy, rules Rules, cwd string, env []string) []Cache {
	t.Helper()
	if p.Mode == "" {
		p.Mode = WorkspaceWrite
	}
	r, err := p.Resolve(Env{Rules: rules, Cwd: cwd, CommandEnv: env})
	if err != nil {
		t.Fatal(err)
	}
	return r.Caches
}

func TestCachesPOSIXDefaults(t *testing.T) {
	got := cacheMap(resolveCachesWith(t, Policy{}, POSIX, "/work/ws", []string{"HOME=/home/me"}))
	want := map[string]string{
		"xdg-cache":      "/home/me/.cache|XDG_CACHE_HOME|",
		"go-build":       "/home/me/.cache/go-build|GOCACHE|",
		"go-mod":         "/home/me/go/pkg/mod|GOMODCACHE|",
		"npm":            "/home/me/.npm|npm_config_cache|",
		"pip":            "/home/me/.cache/pip|PIP_CACHE_DIR|",
		"cargo-registry": "/home/me/.cargo/registry|CARGO_HOME|registry",
		"cargo-git":      "/home/me/.cargo/git|CARGO_HOME|git",
		"maven":          "/home/me/.m2/repository|MAVEN_OPTS|",
		"gradle":         "/home/me/.gradle/caches|GRADLE_USER_HOME|caches",
	}
	if len(got) != len(want) {
		t.Errorf("caches %v, want %v", got, want)
	}
	for k, v := range want {
		if got[k] != v {
			t.Errorf("%s = %q, want %q", k, got[k], v)
		}
	}
	if len(want) != len(DefaultCaches) {
		t.Errorf("DefaultCaches %v does not name the %d built-in caches", DefaultCaches, len(want))
	}
}

// The tools' own variables, as the command's environment has them, decide
// where each cache is; a relative one is the tool's business and skipped.
func TestCachesPOSIXVariables(t *testing.T) {
	env := []string{"HOME=/home/me", "XDG_CACHE_HOME=/x", "GOCACHE=/g", "GOPATH=/gp:/other", "NPM_CONFIG_CACHE=/n",
		"PIP_CACHE_DIR=relative", "CARGO_HOME=/c", "GRADLE_USER_HOME=/gr"}
	got := cacheMap(resolveCachesWith(t, Policy{}, POSIX, "/work/ws", env))
	for k, v := range map[string]string{
		"xdg-cache": "/x|XDG_CACHE_HOME|", "go-build": "/g|GOCACHE|", "go-mod": "/gp/pkg/mod|GOMODCACHE|",
		"npm": "/n|npm_config_cache|", "cargo-registry": "/c/registry|CARGO_HOME|registry", "gradle": "/gr/caches|GRADLE_USER_HOME|caches",
	} {
		if got[k] != v {
			t.Errorf("%s = %q, want %q", k, got[k], v)
		}
	}
	if _, ok := got["pip"]; ok {
		t.Errorf("a relative PIP_CACHE_DIR gave a cache: %v", got["pip"])
	}
	// Without HOME only what the variables name is left.
	got = cacheMap(resolveCachesWith(t, Policy{}, POSIX, "/work/ws", []string{"GOCACHE=/g"}))
	if len(got) != 1 || got["go-build"] != "/g|GOCACHE|" {
		t.Errorf("without HOME: %v", got)
	}
}

// A cache inside a writable root is writable anyway, and left out; so is a
// second cache at one path. Read-only mode and "off" have no caches.
func TestCachesLeftOut(t *testing.T) {
	env := []string{"HOME=/home/me", "GOCACHE=/home/me/ws/.gocache", "npm_config_cache=/home/me/.cache"}
	got := cacheMap(resolveCachesWith(t, Policy{}, POSIX, "/home/me/ws", env))
	if _, ok := got["go-build"]; ok {
		t.Errorf("a cache inside the workspace is layered: %v", got)
	}
	if _, ok := got["npm"]; ok {
		t.Errorf("a second cache at ~/.cache is layered: %v", got)
	}
	if cs := resolveCachesWith(t, Policy{Mode: ReadOnly}, POSIX, "/w", env); len(cs) != 0 {
		t.Errorf("read-only: %v", cs)
	}
	if cs := resolveCachesWith(t, Policy{Caches: CachePolicy{Off: true}}, POSIX, "/w", env); len(cs) != 0 {
		t.Errorf("off: %v", cs)
	}
}

func TestCachesExtra(t *testing.T) {
	cs := resolveCachesWith(t, Policy{Caches: CachePolicy{Extra: []string{"~/.foo", "../shared-cache", "/abs/c"}}}, POSIX, "/w/ws", []string{"HOME=/home/me"})
	var extra []string
	for _, c := range cs {
		if strings.HasPrefix(c.Name, "extra-") {
			if len(c.Name) != len("extra-")+8 || c.Var != "" {
				t.Errorf("extra cache %+v", c)
			}
			extra = append(extra, c.Path)
		}
	}
	if strings.Join(extra, " ") != "/home/me/.foo /w/shared-cache /abs/c" {
		t.Errorf("extra caches %v", extra)
	}
	_, err := Policy{Mode: WorkspaceWrite, Caches: CachePolicy{Extra: []string{"~/.foo"}}}.Resolve(Env{Rules: POSIX, Cwd: "/w", CommandEnv: []string{}})
	if err == nil || !strings.Contains(err.Error(), `"caches.extra"[0]`) {
		t.Errorf("~ without HOME: %v", err)
	}
}

func TestCachesWindows(t *testing.T) {
	env := []string{`USERPROFILE=C:\Users\me`, `LocalAppData=C:\Users\me\AppData\Local`, `gocache=D:\gocache`}
	got := cacheMap(resolveCachesWith(t, Policy{}, Windows, `C:\src\ws`, env))
	for k, v := range map[string]string{
		"go-build":       `D:\gocache|GOCACHE|`,
		"go-mod":         `C:\Users\me\go\pkg\mod|GOMODCACHE|`,
		"npm":            `C:\Users\me\AppData\Local\npm-cache|npm_config_cache|`,
		"pip":            `C:\Users\me\AppData\Local\pip\Cache|PIP_CACHE_DIR|`,
		"cargo-registry": `C:\Users\me\.cargo\registry|CARGO_HOME|registry`,
		"maven":          `C:\Users\me\.m2\repository|MAVEN_OPTS|`,
		"gradle":         `C:\Users\me\.gradle\caches|GRADLE_USER_HOME|caches`,
	} {
		if got[k] != v {
			t.Errorf("%s = %q, want %q", k, got[k], v)
		}
	}
	if _, ok := got["xdg-cache"]; ok {
		t.Errorf("xdg-cache on Windows: %v", got)
	}
}

func TestCachePolicyJSON(t *testing.T) {
	p, err := Parse(`{"mode":"workspace-write","caches":{"extra":["~/.foo"],"off":false,"cap":"1G"}}`)
	if err != nil {
		t.Fatal(err)
	}
	if n, err := p.Caches.CapBytes(); err != nil || n != 1<<30 || len(p.Caches.Extra) != 1 {
		t.Errorf("caches %+v: cap %d, %v", p.Caches, n, err)
	}
	if n, _ := (CachePolicy{}).CapBytes(); n != DefaultCacheCap {
		t.Errorf("default cap %d", n)
	}
	if n, err := (CachePolicy{Cap: "0"}).CapBytes(); n != 0 || err != nil {
		t.Errorf("cap 0: %d, %v", n, err)
	}
	for in, field := range map[string]string{
		`{"mode":"workspace-write","caches":{"bogus":1}}`:         `"caches"`,
		`{"mode":"workspace-write","caches":{"extra":[""]}}`:      `"caches.extra"[0]`,
		`{"mode":"workspace-write","caches":{"cap":"5X"}}`:        `"caches.cap"`,
		`{"mode":"workspace-write","caches":{"cap":5}}`:           `caches.cap`,
		`{"mode":"workspace-write","caches":{"off":"yes"}}`:       `caches.off`,
		`{"mode":"workspace-write","caches":{"cap":"99999999T"}}`: `"caches.cap"`,
	} {
		if _, err := Parse(in); err == nil || !strings.Contains(err.Error(), field) {
			t.Errorf("%s: err %v, want one naming %s", in, err, field)
		}
	}
}

// A variable the policy's own env.set gives a value is the user's choice
// of where the cache is: the cache says so (Fixed), by the platform's name
// rules, and the others do not.
func TestCachesFixedByThePolicy(t *testing.T) {
	p := Policy{Env: EnvPolicy{Set: map[string]string{"gocache": `D:\gocache`, "Maven_Opts": "-Xmx1g"}}}
	env := []string{`USERPROFILE=C:\Users\me`, `LOCALAPPDATA=C:\Users\me\AppData\Local`, `GOCACHE=D:\gocache`}
	fixed := map[string]bool{}
	for _, c := range resolveCachesWith(t, p, Windows, `C:\src\ws`, env) {
		fixed[c.Name] = c.Fixed
	}
	for name, want := range map[string]bool{"go-build": true, "maven": true, "go-mod": false, "npm": false} {
		if got, ok := fixed[name]; !ok || got != want {
			t.Errorf("Windows %s: fixed %v (present %v), want %v", name, got, ok, want)
		}
	}
	// On POSIX names are case-sensitive; npm reads either spelling.
	p = Policy{Env: EnvPolicy{Set: map[string]string{"NPM_CONFIG_CACHE": "/n", "gocache": "/g"}}}
	fixed = map[string]bool{}
	for _, c := range resolveCachesWith(t, p, POSIX, "/w/ws", []string{"HOME=/home/me", "NPM_CONFIG_CACHE=/n"}) {
		fixed[c.Name] = c.Fixed
	}
	if !fixed["npm"] || fixed["go-build"] {
		t.Errorf("POSIX: %v, want npm fixed and go-build not (gocache is another variable there)", fixed)
	}
}
