// Package cachelayer is the portable part of cordon's tool-cache layers:
// where a workspace's layers live in the state directory, which cache
// covers which, the variables that point a tool at a workspace's own
// directory where a backend cannot layer, what the layers hold, and how
// they are cleared and kept under a cap.
//
// A workspace-write command may write its tool caches (policy.Cache), but
// the user's caches must stay exactly as they were: a build cache the
// sandbox could write would be a way out (a poisoned ~/.cache/go-build entry
// is linked into the user's next build). So each cache is given a layer of
// its workspace's own: on Linux an overlay whose lower layer is the user's
// cache and whose upper layer lives here; elsewhere, or where overlays are
// unavailable, a directory here that the tool's own variable names.
//
// Layout, under the state directory:
//
//	cache/<key>.lock               shared by every run of the workspace, exclusive by clear (never removed)
//	cache/<key>/workspace.json     which workspace <key> is, and its caches
//	cache/<key>/<layer>/upper      the overlay's upper layer: what the sandbox added or changed
//	cache/<key>/<layer>/work       the overlay's work directory, emptied before each mount
//	cache/<key>/<layer>/inuse.lock held by the one run that mounts upper (overlays may not share it)
//	cache/<key>/<layer>/run-*/     a concurrent run's own layer, discarded after it
//	cache/<key>/vars/<VAR>         the directory a tool's variable is pointed at instead
//
// <key> is Key(the workspace's canonical path). A backend may keep the
// variables' directories elsewhere in the state directory (Workspace.Vars:
// the Windows backend's live below the workspace's own temp directory,
// tmp\<16 hex>\cache\<VAR>, which its sandboxes are granted already);
// workspace.json then says where, so that List and Clear find them.
package cachelayer

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"github.com/cordon-sandbox/cordon/internal/statedir"
	"github.com/cordon-sandbox/cordon/policy"
)

// DirName is the state directory's directory of cache layers.
const DirName = "cache"

// Key is the name of a workspace's layers: 16 hex digits of the SHA-256 of
// its canonical path.
func Key(workspace string) string {
	sum := sha256.Sum256([]byte(workspace))
	return hex.EncodeToString(sum[:8])
}

// Workspace is one workspace's layers in the state directory.
type Workspace struct {
	Dir  string // <state>/cache/<key>
	Key  string
	Path string // the workspace, canonical
	// Vars, when set, holds the variables' directories instead of
	// Dir/vars. It must lie in the state directory (Record refuses it
	// otherwise): Clear removes it on the strength of workspace.json.
	Vars string
}

// Open names the layers of the workspace at path (canonical) in state;
// nothing is created.
func Open(state, path string) Workspace {
	k := Key(path)
	return Workspace{Dir: filepath.Join(state, DirName, k), Key: k, Path: path}
}

// LockPath is the workspace's lock file: runs hold it shared, clear takes
// it exclusive. It lies outside Dir so that clearing never removes a lock
// file someone may be waiting on.
func (w Workspace) LockPath() string { return w.Dir + ".lock" }

// LayerDir is the directory of a cache's overlay layer.
func (w Workspace) LayerDir(name string) string { return filepath.Join(w.Dir, name) }

// VarDir is the directory the variable v is pointed at when a cache is
// not layered (one per variable: both cargo caches share CARGO_HOME).
func (w Workspace) VarDir(v string) string { return filepath.Join(w.varsDir(), v) }

func (w Workspace) varsDir() string {
	if w.Vars != "" {
		return w.Vars
	}
	return filepath.Join(w.Dir, "vars")
}

// state is the state directory w lies in.
func (w Workspace) state() string { return filepath.Dir(filepath.Dir(w.Dir)) }

// info is workspace.json.
type info struct {
	Workspace string            `json:"workspace"`
	Caches    map[string]string `json:"caches"` // layer name ("go-build", "vars/GOCACHE"): the cache's path
	// Vars is Workspace.Vars relative to the state directory, slashed;
	// empty for Dir/vars.
	Vars string `json:"vars,omitempty"`
}

// varsIn is the directory in.Vars names in state, or "" when it names
// none, or one outside state (a hand-edited file): Clear removes only what
// lies in the state directory.
func (in info) varsIn(state string) string {
	rel := filepath.FromSlash(in.Vars)
	if in.Vars == "" || !filepath.IsLocal(rel) {
		return ""
	}
	return filepath.Join(state, rel)
}

// Record writes workspace.json (which workspace this is, the path of each
// cache, and where the variables' directories are), unless it already says
// that.
func (w Workspace) Record(caches []policy.Cache) error {
	in := info{Workspace: w.Path, Caches: map[string]string{}}
	changed := false
	if w.Vars != "" {
		rel, err := filepath.Rel(w.state(), w.Vars)
		if err != nil || !filepath.IsLocal(rel) {
			return fmt.Errorf("cachelayer: the variables' directory %s is not in the state directory %s", w.Vars, w.state())
		}
		in.Vars = filepath.ToSlash(rel)
	}
	p := filepath.Join(w.Dir, "workspace.json")
	if b, err := os.ReadFile(p); err == nil {
		var old info
		if json.Unmarshal(b, &old) == nil && old.Workspace == w.Path && old.Caches != nil {
			in.Caches = old.Caches
		}
		changed = old.Vars != in.Vars
	}
	set := func(name, path string) {
		if in.Caches[name] != path {
			in.Caches[name], changed = path, true
		}
	}
	for _, c := range caches {
		set(c.Name, c.Path)
		if c.Var != "" {
			// The variable's directory stands in for what the variable
			// named: CARGO_HOME is the registry's parent.
			p := c.Path
			if c.Sub != "" {
				p = filepath.Dir(p)
			}
			set("vars/"+c.Var, p)
		}
	}
	if _, err := os.Stat(p); err == nil && !changed {
		return nil
	}
	b, err := json.MarshalIndent(in, "", "  ")
	if err != nil {
		return err
	}
	return statedir.WriteFile(p, append(b, '\n'))
}

// Layer is a cache as a backend layers it: the cache, where it really is,
// and the caches inside it that its layer covers.
type Layer struct {
	policy.Cache
	// Real is Path with its symbolic links resolved; for a missing cache,
	// its nearest existing ancestor resolved, with the rest appended.
	Real string
	// Exists says Real is an existing directory.
	Exists bool
	// Covers are the caches inside this one (by their real paths): its
	// layer holds theirs.
	Covers []Layer
}

// Plan resolves each cache (resolve is filepath.EvalSymlinks, or a
// platform's equivalent; within is the platform's path containment) and
// nests them: a cache whose real path lies inside another's is covered by
// that one's layer, so each directory is layered once. Missing caches nest
// the same way, inside an existing one or another missing one. A cache
// that is not a directory is left out, with a note.
func Plan(caches []policy.Cache, resolve func(string) (string, error), within func(p, root string) bool) (layers []Layer, notes []string) {
	var all []Layer
	for _, c := range caches {
		l := Layer{Cache: c}
		real, err := resolve(c.Path)
		switch {
		case err == nil:
			fi, err := os.Stat(real)
			if err != nil || !fi.IsDir() {
				notes = append(notes, fmt.Sprintf("tool cache %s (%s) is not a directory: left alone", c.Name, c.Path))
				continue
			}
			l.Real, l.Exists = real, true
		case errors.Is(err, os.ErrNotExist):
			l.Real = resolveMissing(c.Path, resolve)
		default:
			notes = append(notes, fmt.Sprintf("tool cache %s (%s): %v: left alone", c.Name, c.Path, err))
			continue
		}
		all = append(all, l)
	}
	// Outermost first, existing before missing at the same depth.
	sort.SliceStable(all, func(i, j int) bool {
		di, dj := depth(all[i].Real), depth(all[j].Real)
		if di != dj {
			return di < dj
		}
		return all[i].Exists && !all[j].Exists
	})
next:
	for _, l := range all {
		for i := range layers {
			if within(l.Real, layers[i].Real) {
				layers[i].Covers = append(layers[i].Covers, l)
				continue next
			}
		}
		layers = append(layers, l)
	}
	return layers, notes
}

// resolveMissing resolves the nearest existing ancestor of p and appends
// the rest: where the tool would create it.
func resolveMissing(p string, resolve func(string) (string, error)) string {
	var rest []string
	for dir := p; ; {
		if real, err := resolve(dir); err == nil {
			return filepath.Join(append([]string{real}, rest...)...)
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return p
		}
		rest = append([]string{filepath.Base(dir)}, rest...)
		dir = parent
	}
}

func depth(p string) int { return strings.Count(filepath.ToSlash(p), "/") }

// Redirect returns env with each layer's tool pointed at a directory of the
// workspace's instead of the cache (base gives the directory for a
// variable), the caches the layer covers pointed at their place inside it,
// and the directories it pointed at (base(Var) for each variable set), to
// create and make writable. rules are the platform's environment rules and
// sep its path separator. A layer without a variable cannot be redirected:
// it is named in skipped.
func Redirect(env []string, rules EnvRules, sep string, layers []Layer, base func(v string) string) (out []string, dirs []string, skipped []string) {
	out = env
	set := map[string]bool{}
	point := func(c policy.Cache, target string) {
		if c.Var == "" || set[c.Var] {
			return
		}
		set[c.Var] = true
		value := target
		if c.Sub != "" {
			value = strings.TrimSuffix(target, sep+c.Sub)
		}
		if c.Var == "MAVEN_OPTS" {
			opts, _ := rules.Lookup(out, c.Var)
			value = strings.TrimSpace(opts + " -Dmaven.repo.local=" + target)
		}
		out = rules.Set(out, c.Var, value)
	}
	for _, l := range layers {
		if l.Var == "" {
			skipped = append(skipped, l.Name)
			continue
		}
		b := base(l.Var)
		target := b
		if l.Sub != "" {
			target = b + sep + strings.ReplaceAll(l.Sub, "/", sep)
		}
		if !set[l.Var] {
			dirs = append(dirs, b)
		}
		point(l.Cache, target)
		for _, c := range l.Covers {
			rel := strings.TrimPrefix(strings.TrimPrefix(c.Real, l.Real), sep)
			if rel == c.Real {
				continue // not below it after all: nothing sensible to say
			}
			point(c.Cache, target+sep+rel)
		}
	}
	return out, dirs, skipped
}

// EnvRules are what Redirect needs of envlist.Rules.
type EnvRules interface {
	Lookup(env []string, name string) (string, bool)
	Set(env []string, name, value string) []string
}
