package mcpserver

import (
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"strings"

	"github.com/cordon-sandbox/cordon"
	"github.com/cordon-sandbox/cordon/policy"
)

// workspace is where calls may run: the workspace and the extra writable
// roots, each canonical (absolute, every symbolic link and junction
// resolved), so that a call's cwd is compared with them as the file system
// will resolve it.
type workspace struct {
	rules    policy.Rules
	root     string   // the workspace, canonical
	extra    []string // the extra writable roots, canonical
	dir      string   // the default working directory, canonical
	resolved *policy.Resolved
}

// canonical resolves every link in p; p itself when it cannot (a missing
// path, reported by the caller).
func canonical(p string) string {
	if c, err := filepath.EvalSymlinks(p); err == nil {
		if c, err := filepath.Abs(c); err == nil {
			return c
		}
	}
	return p
}

func pathRules() policy.Rules {
	if runtime.GOOS == "windows" {
		return policy.Windows
	}
	return policy.POSIX
}

func badRequest(format string, args ...any) error {
	return &cordon.Error{Code: cordon.CodeBadRequest, Err: fmt.Errorf(format, args...)}
}

func badPolicy(err error) error { return &cordon.Error{Code: cordon.CodeBadPolicy, Err: err} }

// newWorkspace checks req's policy and directories at start, so that a
// server that cannot run anything does not start. It makes req.Policy.Cwd
// absolute: cordon.Run then resolves the policy against the same
// workspace whatever directory a call runs in.
func newWorkspace(req *cordon.Request) (*workspace, error) {
	p := req.Policy
	if err := p.Validate(); err != nil {
		return nil, badPolicy(err)
	}
	given := p.Cwd
	if given == "" {
		given = req.Dir
	}
	absGiven, err := abs(given)
	if err != nil {
		return nil, badRequest("workspace %q: %v", given, err)
	}
	if err := isDir(absGiven); err != nil {
		return nil, badRequest("workspace: %v", err)
	}
	p.Cwd = absGiven
	req.Policy = p
	w := &workspace{rules: pathRules()}
	w.resolved, err = p.Resolve(policy.Env{Rules: w.rules, Cwd: absGiven, Canonical: canonical, Getenv: os.Getenv})
	if err != nil {
		return nil, badPolicy(err)
	}
	w.root = w.resolved.Cwd
	for _, r := range w.resolved.Roots {
		if err := isDir(r.Path); err != nil {
			return nil, badPolicy(fmt.Errorf("%s root: %v", r.Kind, err))
		}
		if r.Kind == policy.RootExtra {
			w.extra = append(w.extra, r.Path)
		}
	}
	w.dir = w.root
	if req.Dir != "" {
		if w.dir, err = w.resolveDir(req.Dir, ""); err != nil {
			return nil, badRequest("--cwd: %v", err)
		}
	}
	return w, nil
}

func isDir(p string) error {
	fi, err := os.Stat(p)
	if err != nil {
		return err
	}
	if !fi.IsDir() {
		return fmt.Errorf("%s is not a directory", p)
	}
	return nil
}

// allowed are the directories a call may run in: the workspace and the
// extra writable roots, with everything below them.
func (w *workspace) allowed() []string { return append([]string{w.root}, w.extra...) }

// writable are the directories the sandbox may write, temp aside: the
// allowed ones, or none in read-only mode.
func (w *workspace) writable() []string {
	if w.resolved.Mode == policy.ReadOnly {
		return nil
	}
	return w.allowed()
}

// resolveDir returns the canonical directory a call asking for dir runs
// in, or why it may not: dir (relative ones are taken from base, or the
// default directory) must exist and, once every link in it is resolved,
// lie in the workspace or an extra writable root. ".." is resolved after
// the links before it, as the file system does, so neither a link nor ".."
// leads out. The command runs in the resolved path, the very one checked.
func (w *workspace) resolveDir(dir, base string) (string, error) {
	if base == "" {
		base = w.dir
	}
	if strings.ContainsRune(dir, 0) {
		return "", fmt.Errorf("cwd contains a NUL byte")
	}
	p := dir
	if !filepath.IsAbs(p) {
		// Not filepath.Join, which would drop "link/.." before the link
		// is resolved.
		p = base + string(filepath.Separator) + p
	}
	c, err := filepath.EvalSymlinks(p)
	if err != nil {
		return "", fmt.Errorf("cwd %q: %v", dir, unwrapPath(err))
	}
	if c, err = filepath.Abs(c); err != nil {
		return "", fmt.Errorf("cwd %q: %v", dir, err)
	}
	if err := isDir(c); err != nil {
		return "", fmt.Errorf("cwd %q: %v", dir, err)
	}
	for _, r := range w.allowed() {
		if w.rules.Within(c, r) {
			return c, nil
		}
	}
	where := fmt.Sprintf("the workspace %s", w.root)
	if len(w.extra) > 0 {
		where += " or a writable root (" + strings.Join(w.extra, ", ") + ")"
	}
	return "", fmt.Errorf("cwd %q resolves to %s, which is outside %s; the sandbox runs commands only there: give a directory inside it (a relative cwd is taken from %s)", dir, c, where, w.dir)
}

// unwrapPath drops the *PathError wrapper's operation ("lstat"), which
// means nothing to a model.
func unwrapPath(err error) error {
	if pe, ok := err.(*os.PathError); ok {
		return fmt.Errorf("%s: %v", pe.Path, pe.Err)
	}
	return err
}
