package policy

import (
	"fmt"
)

// RootKind says why a directory is writable; it decides which capability
// SID the Windows backend grants there.
type RootKind string

const (
	RootCwd   RootKind = "cwd"   // the workspace: its own capability SID
	RootTemp  RootKind = "temp"  // a temp directory: the generic SID
	RootExtra RootKind = "extra" // an extra writable root: the generic SID
	// RootOwnTemp is a temp directory that belongs to this workspace alone
	// (cordon's own, per workspace, on Windows): the workspace's own SID,
	// so no other workspace's sandbox shares it.
	RootOwnTemp RootKind = "workspace-temp"
)

// Root is a resolved writable root.
type Root struct {
	Path string   `json:"path"`
	Kind RootKind `json:"kind"`
}

// Resolved is a policy with every path absolute and normalised by the
// platform's rules.
type Resolved struct {
	Mode      Mode     `json:"mode"`
	Cwd       string   `json:"cwd"`
	Roots     []Root   `json:"roots"` // empty in read-only mode
	Protected []string `json:"protected_names"`
	Network   bool     `json:"network"`
	// Allowlist, when set, allows the network only to the hosts it
	// lists, through cordon's proxy (Network is then false).
	Allowlist *Allowlist `json:"allowlist,omitempty"`
	// DenyRead are the absolute paths the command may not read, existing
	// or not (the backend skips a missing one and says so).
	DenyRead []string `json:"deny_read,omitempty"`
	// Caches are the tool caches the command gets through layers of its
	// workspace's own (workspace-write only), and CacheCap bounds those
	// layers in bytes (0: no cap).
	Caches   []Cache `json:"caches,omitempty"`
	CacheCap uint64  `json:"cache_cap,omitempty"`
	rules    Rules
}

// Rules are a platform's path rules.
type Rules interface {
	// Abs resolves p against base (absolute) and normalises it. base is
	// empty when p must already be absolute.
	Abs(base, p string) (string, error)
	// Within reports whether p equals root or lies below it.
	Within(p, root string) bool
	// EqualName compares two names as the platform's file system does.
	EqualName(a, b string) bool
}

// Env is what resolution needs to know about the machine.
type Env struct {
	Rules Rules
	// Cwd is the command's working directory, used when the policy has
	// none. Must be absolute.
	Cwd string
	// TempDirs are the temp directories (TEMP and TMP on Windows, TMPDIR
	// elsewhere), in order; duplicates are fine.
	TempDirs []string
	// TempOwned says the TempDirs belong to this workspace alone: their
	// roots are RootOwnTemp instead of RootTemp.
	TempOwned bool
	// Canonical, when set, maps an absolute path to the one spelling the
	// file system resolves it to. On Windows the caller passes one built
	// on GetFinalPathNameByHandle, so that a short name (RUNNER~1), a
	// junction or a subst drive cannot make two spellings of one directory
	// look like two directories and defeat the overlap and nesting checks.
	// It must return its argument for paths it cannot resolve (a missing
	// root, reported later by the caller).
	Canonical func(abs string) string
	// Getenv reads the variables the default deny-read list is built from
	// (HOME; USERPROFILE, APPDATA, LOCALAPPDATA) and "~/" expands to;
	// nil reads none, so the default list is empty.
	Getenv func(string) string
	// CommandEnv is the command's environment, where the tool caches are
	// looked up (HOME, GOCACHE, …); nil falls back to Getenv.
	CommandEnv []string
}

// Resolve makes p's paths absolute and checks the roots: each must be
// absolute after resolution, and the cwd and extra roots may not overlap
// (one inside the other): that would give one directory two capability
// SIDs for no purpose. Only a temp directory may contain, or lie inside,
// another root. Errors
// name the field and path at fault. Whether the roots exist is for the
// caller, which has the file system.
func (p Policy) Resolve(env Env) (*Resolved, error) {
	if err := p.Validate(); err != nil {
		return nil, err
	}
	if env.Rules == nil {
		return nil, fmt.Errorf("policy: no path rules")
	}
	cwd := p.Cwd
	field := "cwd"
	if cwd == "" {
		cwd, field = env.Cwd, "the working directory"
	}
	if cwd == "" {
		return nil, fmt.Errorf("policy: no cwd given and no working directory known")
	}
	canon := func(abs string) string {
		if env.Canonical == nil {
			return abs
		}
		if c, err := env.Rules.Abs("", env.Canonical(abs)); err == nil {
			return c
		}
		return abs
	}
	absCwd, err := env.Rules.Abs("", cwd)
	if err != nil {
		return nil, fmt.Errorf("policy: %s %q: %w", field, cwd, err)
	}
	// Relative extra roots are joined to the cwd as given, as the user
	// wrote them, and only then resolved.
	givenCwd := absCwd
	absCwd = canon(absCwd)
	r := &Resolved{Mode: p.Mode, Cwd: absCwd, Protected: p.Protected(), Network: p.Network, rules: env.Rules}
	if r.Allowlist, err = p.NetworkAllowlist.Resolve(); err != nil {
		return nil, err
	}
	if r.DenyRead, err = p.resolveDenyRead(env, givenCwd, canon); err != nil {
		return nil, err
	}
	if p.Mode == ReadOnly {
		return r, r.checkDenyRead()
	}
	r.Roots = append(r.Roots, Root{Path: absCwd, Kind: RootCwd})
	if !p.ExcludeTmp {
		for _, t := range env.TempDirs {
			if t == "" {
				continue
			}
			abs, err := env.Rules.Abs("", t)
			if err != nil {
				return nil, fmt.Errorf("policy: temp directory %q: %w", t, err)
			}
			abs = canon(abs)
			if r.hasRoot(abs) {
				continue // TEMP and TMP are usually the same
			}
			kind := RootTemp
			if env.TempOwned {
				kind = RootOwnTemp
			}
			r.Roots = append(r.Roots, Root{Path: abs, Kind: kind})
		}
	}
	for i, w := range p.WritableRoots {
		abs, err := env.Rules.Abs(givenCwd, w)
		if err != nil {
			return nil, fmt.Errorf("policy: field \"writable_roots\"[%d] %q: %w", i, w, err)
		}
		abs = canon(abs)
		r.Roots = append(r.Roots, Root{Path: abs, Kind: RootExtra})
	}
	for i, a := range r.Roots {
		for _, b := range r.Roots[i+1:] {
			if a.Kind == RootTemp || b.Kind == RootTemp || a.Kind == RootOwnTemp || b.Kind == RootOwnTemp {
				// A temp directory may hold the workspace (TMPDIR=/tmp and
				// a checkout in /tmp): both stay roots, and the protected
				// names of each are kept from every root that covers them.
				continue
			}
			if env.Rules.Within(a.Path, b.Path) || env.Rules.Within(b.Path, a.Path) {
				return nil, fmt.Errorf("policy: writable roots overlap: %s root %s and %s root %s; give only the outer one", a.Kind, a.Path, b.Kind, b.Path)
			}
		}
	}
	if r.Caches, err = p.resolveCaches(env, givenCwd, r.Roots, canon); err != nil {
		return nil, err
	}
	if r.CacheCap, err = p.Caches.CapBytes(); err != nil {
		return nil, fmt.Errorf("policy: field \"caches.cap\": %w", err)
	}
	return r, r.checkDenyRead()
}

func (r *Resolved) hasRoot(p string) bool {
	for _, x := range r.Roots {
		if r.rules.Within(p, x.Path) && r.rules.Within(x.Path, p) {
			return true
		}
	}
	return false
}

// RootOf returns the innermost writable root p lies in, if any.
func (r *Resolved) RootOf(p string) (Root, bool) {
	roots := r.RootsOf(p)
	if len(roots) == 0 {
		return Root{}, false
	}
	return roots[len(roots)-1], true
}

// RootsOf returns every writable root p lies in, outermost first.
func (r *Resolved) RootsOf(p string) []Root {
	var out []Root
	for _, x := range r.Roots {
		if r.rules.Within(p, x.Path) {
			out = append(out, x)
		}
	}
	for i := 1; i < len(out); i++ {
		for j := i; j > 0 && r.rules.Within(out[j-1].Path, out[j].Path); j-- {
			out[j-1], out[j] = out[j], out[j-1]
		}
	}
	return out
}

// Rules returns the path rules r was resolved with.
func (r *Resolved) PathRules() Rules { return r.rules }
