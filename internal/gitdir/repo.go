package gitdir

import (
	"errors"
	"fmt"
	"io/fs"
	"sort"
	"strings"
)

// gitDir reports whether g is a git directory by git's is_git_directory: a
// valid HEAD in g itself, and objects/ and refs/ (directories; git's
// access(X_OK) also accepts an executable file, which can only make
// Resolve protect more) in g's common directory. named is g as git spells
// it (<dir>/.git, or <dir>/ and a gitfile's line), which a relative
// commondir is read in. Whatever the answer, the common directory g names
// is recorded (see commonDir), and so are the targets of symbolic links
// among the entries git reads configuration and hooks from (see
// entryLinks).
func (r *resolver) gitDir(g, named string) bool {
	common, ok := r.commonDir(g, named)
	if common == "" {
		common = g
	}
	r.entryLinks(g)
	if ok && common != g {
		r.entryLinks(common)
	}
	return ok && r.headState(r.paths.Join(g, "HEAD")) == headValid &&
		r.isDir(common, "objects") && r.isDir(common, "refs")
}

// commonDir returns the common directory of the git directory g, which git
// spells named, by get_common_dir_noenv: if g/commondir exists (stat(), so
// following symbolic links), its content with trailing '\n' and '\r'
// removed, read in named; otherwise "", for the git directory itself. Git
// dies on a commondir it cannot read (a directory, an empty file), and
// finds no git directory when the common directory is missing: ok is false
// then. What the commondir names is recorded as CommonDir, and so is the
// file a commondir symbolic link leads to (a commondir without links lies
// in the git directory, which is protected with it).
//
// git builds "<g>/<content>" from g as it spells it and takes the real path
// of that string. On POSIX the result is the same whichever spelling of g
// is used, as ".." is resolved against real directories; Git for Windows
// opens the string, so Win32 applies ".." to the spelling first: reading
// the content in named is right on both.
func (r *resolver) commonDir(g, named string) (string, bool) {
	file := r.paths.Join(g, "commondir")
	t := r.follow(g, "commondir")
	if len(t.links) > 0 {
		r.record(t, CommonDir, "commondir symbolic link "+file)
	}
	if !t.done {
		return "", true
	}
	if !t.info.Mode().IsRegular() {
		r.note("%s is not a regular file (%s): git fails to read it", t.path, t.info.Mode().Type())
		return "", false
	}
	data, err := r.fsys.ReadFile(t.path)
	switch {
	case err != nil:
		r.note("%s: %v", file, err)
		return "", false
	case len(data) == 0:
		r.note("%s is empty: git fails to read it", file)
		return "", false
	case len(data) > ReadLimit:
		r.note("%s is longer than %d bytes: followed the path its first %d bytes name", file, ReadLimit, ReadLimit)
		data = data[:ReadLimit]
	}
	c := r.follow(named, cString(strings.TrimRight(string(data), "\r\n")))
	r.record(c, CommonDir, "commondir "+file)
	if !c.done {
		return "", false
	}
	return c.path, true
}

// linkedEntries are the entries of a git directory that configure what the
// user's git runs: a symbolic link among them (a hooks directory shared
// through the work tree, say) would leave its target writable.
var linkedEntries = []string{"config", "config.worktree", "hooks"}

// entryLinks records what g's linkedEntries lead to when they are symbolic
// links. (What config says, such as a core.hooksPath in the work tree, is
// not interpreted: that is the work tree's content, like a Makefile.)
func (r *resolver) entryLinks(g string) {
	for _, name := range linkedEntries {
		p := r.paths.Join(g, name)
		if fi, err := r.fsys.Lstat(p); err == nil && fi.Mode()&fs.ModeSymlink != 0 {
			r.record(r.follow(g, name), EntryTarget, "symbolic link "+p)
		}
	}
}

func (r *resolver) isDir(dir, name string) bool {
	t := r.follow(dir, name)
	return t.done && t.info.IsDir()
}

type headKind int

const (
	headMissing headKind = iota
	headValid
	headInvalid
	headUnknown // could not be read: git may accept it
)

// headState judges a HEAD as validate_headref does: a symbolic link whose
// target starts with "refs/"; or a file whose first 255 bytes start with
// "ref:", optional blanks and "refs/", or with 40 hexadecimal digits (an
// object id). A directory is invalid: git opens it, and reading it fails.
func (r *resolver) headState(p string) headKind {
	fi, err := r.fsys.Lstat(p)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return headMissing
	case err != nil:
		return headUnknown
	case fi.Mode()&fs.ModeSymlink != 0:
		target, err := r.fsys.Readlink(p)
		if err != nil {
			return headUnknown
		}
		if strings.HasPrefix(target, "refs/") {
			return headValid
		}
		return headInvalid
	case fi.IsDir():
		return headInvalid
	case !fi.Mode().IsRegular():
		return headUnknown
	}
	data, err := r.fsys.ReadFile(p)
	if err != nil {
		return headUnknown
	}
	if validHead(data) {
		return headValid
	}
	return headInvalid
}

func validHead(data []byte) bool {
	if len(data) > 255 {
		data = data[:255]
	}
	s := string(data)
	if i := strings.IndexByte(s, 0); i >= 0 {
		s = s[:i]
	}
	if ref, ok := strings.CutPrefix(s, "ref:"); ok {
		if strings.HasPrefix(strings.TrimLeft(ref, " \t\n\r"), "refs/") {
			return true
		}
	}
	if len(s) < 40 {
		return false
	}
	for _, c := range s[:40] {
		if !('0' <= c && c <= '9' || 'a' <= c && c <= 'f' || 'A' <= c && c <= 'F') {
			return false
		}
	}
	return true
}

func (r *resolver) inRoot(p string) bool {
	for _, root := range r.roots {
		if r.paths.Within(p, root) {
			return true
		}
	}
	return false
}

func (r *resolver) isRoot(p string) bool {
	for _, root := range r.roots {
		if r.paths.Within(p, root) && r.paths.Within(root, p) {
			return true
		}
	}
	return false
}

// holdsRoot reports whether p is a root or has one below it.
func (r *resolver) holdsRoot(p string) bool {
	for _, root := range r.roots {
		if r.paths.Within(root, p) {
			return true
		}
	}
	return false
}

// outermostRoot returns the outermost root p lies in.
func (r *resolver) outermostRoot(p string) string {
	best := ""
	for _, root := range r.roots {
		if r.paths.Within(p, root) && (best == "" || r.paths.Within(best, root)) {
			best = root
		}
	}
	return best
}

// add protects p as kind; a path found twice keeps the first Kind in
// declaration order.
func (r *resolver) add(p string, kind Kind) {
	if !r.inRoot(p) {
		return
	}
	if old, ok := r.protect[p]; !ok || kind < old {
		r.protect[p] = kind
	}
}

func (r *resolver) guard(p string) {
	if r.inRoot(p) && !r.isRoot(p) {
		r.guards[p] = true
	}
}

func (r *resolver) note(format string, args ...any) {
	r.notes[fmt.Sprintf(format, args...)] = true
}

// underProtect reports whether p is a Protect entry or lies below one.
func (r *resolver) underProtect(p string) bool {
	for q := range r.protect {
		if r.paths.Within(p, q) {
			return true
		}
	}
	return false
}

func (r *resolver) result() Result {
	var res Result
	for p, k := range r.protect {
		res.Protect = append(res.Protect, Found{Path: p, Kind: k})
	}
	sort.Slice(res.Protect, func(i, j int) bool { return res.Protect[i].Path < res.Protect[j].Path })
	for g := range r.guards {
		if !r.underProtect(g) { // the sandbox cannot create it anyway
			res.Guards = append(res.Guards, g)
		}
	}
	sort.Strings(res.Guards)
	pins := map[string]bool{}
	for _, f := range res.Protect {
		r.pinAbove(f.Path, pins)
	}
	for _, g := range res.Guards {
		r.pinAbove(g, pins)
	}
	res.Pins = sortedKeys(pins)
	res.Notes = sortedKeys(r.notes)
	return res
}

// pinAbove adds the directories strictly between p and the outermost root
// holding it that are neither roots nor inside a Protect entry. The
// outermost root, not the nearest: an inner root is only a path inside the
// outer one, and renaming a directory above it moves the inner root along.
func (r *resolver) pinAbove(p string, pins map[string]bool) {
	outer := r.outermostRoot(p)
	for cur := p; ; {
		a := r.paths.Dir(cur)
		if a == cur || !r.paths.Within(a, outer) || r.paths.Within(outer, a) {
			return
		}
		if !r.isRoot(a) && !r.underProtect(a) {
			pins[a] = true
		}
		cur = a
	}
}

func sortedKeys(m map[string]bool) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	if len(out) == 0 {
		return nil
	}
	return out
}
