package policy

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"path"
	"strconv"
	"strings"

	"github.com/cordon-sandbox/cordon/internal/envlist"
)

// DefaultCacheCap bounds what a workspace's cache layers may hold (what its
// sandboxes added to the tool caches, not the caches themselves) unless the
// policy says otherwise: past it, the oldest files go after a run.
const DefaultCacheCap = 5 << 30

// CachePolicy is the "caches" object of a JSON policy:
//
//	"caches": {"extra": ["~/.cache-of-my-tool"], "off": false, "cap": "5G"}
//
// In workspace-write mode the tool caches of DefaultCaches (and Extra) are
// given to the command writable, each as a layer of its workspace's own
// over the user's cache, which stays unchanged: see Cache.
type CachePolicy struct {
	// Extra are more cache directories (absolute, relative to the cwd, or
	// "~/..."), layered like the built-in ones.
	Extra []string `json:"extra,omitempty"`
	// Off turns the layers off: the caches stay read-only to the command,
	// as everything outside the writable roots is.
	Off bool `json:"off,omitempty"`
	// Cap bounds the workspace's layers, in bytes or with a K, M, G or T
	// suffix (binary multiples); "0" means no cap, "" DefaultCacheCap.
	Cap string `json:"cap,omitempty"`
}

// IsZero reports whether c is the default.
func (c CachePolicy) IsZero() bool { return len(c.Extra) == 0 && !c.Off && c.Cap == "" }

// UnmarshalJSON decodes the "caches" object strictly: an unknown field is
// an error naming "caches".
func (c *CachePolicy) UnmarshalJSON(b []byte) error {
	type plain CachePolicy // without this method
	p, err := decodeField[plain, CachePolicy](b, "caches")
	*c = CachePolicy(p)
	return err
}

// Validate checks Extra and Cap; errors name the field.
func (c CachePolicy) Validate() error {
	for i, e := range c.Extra {
		if strings.TrimSpace(e) == "" {
			return fmt.Errorf("policy: field \"caches.extra\"[%d] is empty", i)
		}
		if strings.IndexByte(e, 0) >= 0 {
			return fmt.Errorf("policy: field \"caches.extra\"[%d] contains NUL", i)
		}
	}
	if _, err := c.CapBytes(); err != nil {
		return fmt.Errorf("policy: field \"caches.cap\": %w", err)
	}
	return nil
}

// CapBytes is Cap in bytes: DefaultCacheCap when Cap is empty, 0 for no cap.
func (c CachePolicy) CapBytes() (uint64, error) {
	if c.Cap == "" {
		return DefaultCacheCap, nil
	}
	return ParseSize(c.Cap)
}

// ParseSize reads a byte count: digits, optionally followed by K, M, G or
// T (binary multiples). For a cap, "0" is no cap.
func ParseSize(s string) (uint64, error) {
	mult, num := uint64(1), s
	if n := len(s); n > 0 {
		switch s[n-1] {
		case 'K', 'k':
			mult, num = 1<<10, s[:n-1]
		case 'M', 'm':
			mult, num = 1<<20, s[:n-1]
		case 'G', 'g':
			mult, num = 1<<30, s[:n-1]
		case 'T', 't':
			mult, num = 1<<40, s[:n-1]
		}
	}
	v, err := strconv.ParseUint(num, 10, 64)
	if err != nil {
		return 0, fmt.Errorf("%q is not a size (bytes, or digits followed by K, M, G or T)", s)
	}
	if v > (1<<64-1)/mult {
		return 0, fmt.Errorf("%q is too large", s)
	}
	return v * mult, nil
}

// Cache is a tool cache the command gets writable through a layer of its
// workspace's own (workspace-write only). The backend decides how: an
// overlay at Path whose lower layer is the user's cache (Linux), or, where
// it cannot layer, Var pointed at a directory of the workspace's.
type Cache struct {
	// Name names the workspace's layer ("go-build", "npm", …; "extra-" and
	// 8 hex digits of the path's SHA-256 for the policy's own).
	Name string `json:"name"`
	// Path is the cache as the tool finds it: absolute, by the platform's
	// rules, symbolic links not resolved.
	Path string `json:"path"`
	// Var is the variable that points the tool elsewhere ("GOCACHE",
	// "MAVEN_OPTS" for -Dmaven.repo.local), empty for an extra cache.
	Var string `json:"var,omitempty"`
	// Sub is what the tool appends to Var's value to find Path ("registry"
	// below CARGO_HOME), empty when Var names Path itself.
	Sub string `json:"sub,omitempty"`
	// Fixed says the policy's own "env": {"set": …} gives Var its value:
	// the user chose where this tool's cache is, so a backend that layers
	// by pointing Var elsewhere leaves Var, and the cache, as they are.
	Fixed bool `json:"fixed,omitempty"`
}

// cacheSpec is one built-in cache: where it is, from the variables the
// tool reads and their defaults.
type cacheSpec struct {
	name, v, sub string
	// path returns the cache's directory, or "" when what it depends on is
	// unset (no HOME, GOCACHE=off).
	path func(get func(string) string) string
}

// DefaultCaches names the built-in tool caches, for the documentation and
// --help: the same list posixCaches and windowsCaches resolve.
var DefaultCaches = []string{"xdg-cache", "go-build", "go-mod", "npm", "pip", "cargo-registry", "cargo-git", "maven", "gradle"}

// posixCaches are the tool caches on Linux and macOS.
var posixCaches = func() []cacheSpec {
	home := func(get func(string) string, rel string) string {
		if h := get("HOME"); h != "" {
			return path.Join(h, rel)
		}
		return ""
	}
	xdg := func(get func(string) string) string {
		if x := get("XDG_CACHE_HOME"); path.IsAbs(x) {
			return x
		}
		return home(get, ".cache")
	}
	under := func(base, rel string) string {
		return joinSet(base, rel, func(b, r string) string { return path.Join(b, r) })
	}
	gopath := func(get func(string) string) string {
		if g, _, _ := strings.Cut(get("GOPATH"), ":"); g != "" {
			return g
		}
		return home(get, "go")
	}
	cargo := or("CARGO_HOME", func(get func(string) string) string { return home(get, ".cargo") })
	gradle := or("GRADLE_USER_HOME", func(get func(string) string) string { return home(get, ".gradle") })
	return []cacheSpec{
		{"xdg-cache", "XDG_CACHE_HOME", "", xdg},
		{"go-build", "GOCACHE", "", or("GOCACHE", func(get func(string) string) string { return under(xdg(get), "go-build") })},
		{"go-mod", "GOMODCACHE", "", or("GOMODCACHE", func(get func(string) string) string { return under(gopath(get), "pkg/mod") })},
		{"npm", "npm_config_cache", "", func(get func(string) string) string {
			for _, v := range []string{"npm_config_cache", "NPM_CONFIG_CACHE"} {
				if x := get(v); x != "" {
					return x
				}
			}
			return home(get, ".npm")
		}},
		{"pip", "PIP_CACHE_DIR", "", or("PIP_CACHE_DIR", func(get func(string) string) string { return under(xdg(get), "pip") })},
		{"cargo-registry", "CARGO_HOME", "registry", func(get func(string) string) string { return under(cargo(get), "registry") }},
		{"cargo-git", "CARGO_HOME", "git", func(get func(string) string) string { return under(cargo(get), "git") }},
		{"maven", "MAVEN_OPTS", "", func(get func(string) string) string { return home(get, ".m2/repository") }},
		{"gradle", "GRADLE_USER_HOME", "caches", func(get func(string) string) string { return under(gradle(get), "caches") }},
	}
}()

// windowsCaches are the same tools' caches on Windows, where they live
// below %LOCALAPPDATA% and %USERPROFILE%.
var windowsCaches = func() []cacheSpec {
	under := func(base, rel string) string {
		return joinSet(base, rel, func(b, r string) string { return strings.TrimRight(b, `\/`) + `\` + r })
	}
	env := func(v, rel string) func(get func(string) string) string {
		return func(get func(string) string) string { return under(get(v), rel) }
	}
	gopath := func(get func(string) string) string {
		if g, _, _ := strings.Cut(get("GOPATH"), ";"); g != "" {
			return g
		}
		return under(get("USERPROFILE"), "go")
	}
	cargo := or("CARGO_HOME", env("USERPROFILE", ".cargo"))
	gradle := or("GRADLE_USER_HOME", env("USERPROFILE", ".gradle"))
	return []cacheSpec{
		{"go-build", "GOCACHE", "", or("GOCACHE", env("LOCALAPPDATA", "go-build"))},
		{"go-mod", "GOMODCACHE", "", or("GOMODCACHE", func(get func(string) string) string { return under(gopath(get), `pkg\mod`) })},
		{"npm", "npm_config_cache", "", or("npm_config_cache", env("LOCALAPPDATA", "npm-cache"))},
		{"pip", "PIP_CACHE_DIR", "", or("PIP_CACHE_DIR", env("LOCALAPPDATA", `pip\Cache`))},
		{"cargo-registry", "CARGO_HOME", "registry", func(get func(string) string) string { return under(cargo(get), "registry") }},
		{"cargo-git", "CARGO_HOME", "git", func(get func(string) string) string { return under(cargo(get), "git") }},
		{"maven", "MAVEN_OPTS", "", env("USERPROFILE", `.m2\repository`)},
		{"gradle", "GRADLE_USER_HOME", "caches", func(get func(string) string) string { return under(gradle(get), "caches") }},
	}
}()

// setsVar reports whether the policy's env.set names the variable v (for
// npm, either of the names npm reads), by the platform's rules.
func (p Policy) setsVar(v string, rules envlist.Rules) bool {
	names := []string{v}
	if v == "npm_config_cache" {
		names = append(names, "NPM_CONFIG_CACHE")
	}
	for k := range p.Env.Set {
		for _, n := range names {
			if rules.Same(k, n) {
				return true
			}
		}
	}
	return false
}

// joinSet joins rel to base, or is "" when base is (what it depends on
// is unset).
func joinSet(base, rel string, join func(string, string) string) string {
	if base == "" {
		return ""
	}
	return join(base, rel)
}

// or is the variable v's value when set, def's otherwise.
func or(v string, def func(get func(string) string) string) func(get func(string) string) string {
	return func(get func(string) string) string {
		if x := get(v); x != "" {
			return x
		}
		return def(get)
	}
}

// resolveCaches lists the caches a workspace-write run layers: the built-in
// ones found from the command's environment (env.CommandEnv; env.Getenv
// when that is nil), then the policy's extra ones, each absolute. A cache
// inside a writable root is left out (the command may write it anyway),
// and so is a second cache at the same path. Nesting (go-build inside
// ~/.cache) is the backend's to sort out, once links are resolved.
func (p Policy) resolveCaches(env Env, cwd string, roots []Root, canon func(string) string) ([]Cache, error) {
	if p.Mode != WorkspaceWrite || p.Caches.Off {
		return nil, nil
	}
	_, windows := env.Rules.(windowsRules)
	get := env.Getenv
	rules := envlist.POSIX
	if windows {
		rules = envlist.Windows
	}
	if env.CommandEnv != nil {
		get = func(name string) string { v, _ := rules.Lookup(env.CommandEnv, name); return v }
	}
	if get == nil {
		get = func(string) string { return "" }
	}
	var out []Cache
	add := func(c Cache) {
		for _, r := range roots {
			if env.Rules.Within(c.Path, r.Path) {
				return
			}
		}
		for _, o := range out {
			if env.Rules.Within(c.Path, o.Path) && env.Rules.Within(o.Path, c.Path) {
				return
			}
		}
		out = append(out, c)
	}
	specs := posixCaches
	if windows {
		specs = windowsCaches
	}
	for _, s := range specs {
		raw := s.path(get)
		if raw == "" {
			continue
		}
		abs, err := env.Rules.Abs("", raw)
		if err != nil {
			continue // a relative GOCACHE and the like: the tool's business
		}
		add(Cache{Name: s.name, Path: canon(abs), Var: s.v, Sub: s.sub, Fixed: p.setsVar(s.v, rules)})
	}
	for i, e := range p.Caches.Extra {
		field := fmt.Sprintf("\"caches.extra\"[%d]", i)
		x, ok := expandHome(e, get, windows)
		if !ok {
			return nil, fmt.Errorf("policy: field %s %q: its variable is not set", field, e)
		}
		abs, err := env.Rules.Abs(cwd, x)
		if err != nil {
			return nil, fmt.Errorf("policy: field %s %q: %w", field, e, err)
		}
		abs = canon(abs)
		sum := sha256.Sum256([]byte(abs))
		add(Cache{Name: "extra-" + hex.EncodeToString(sum[:4]), Path: abs})
	}
	return out, nil
}
