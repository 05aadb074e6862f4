// Package gitdir works out which git directories git would use in each
// writable root of a sandbox, so that both backends keep the same list
// read-only.
//
// The sandbox keeps .git read-only inside a writable root because the
// user's own git, run later outside the sandbox, executes what a git
// directory configures (hooks, core.fsmonitor, core.hooksPath). Protecting
// the name .git is not enough: git follows a .git symbolic link and a
// gitfile ("gitdir: <path>", written by git init --separate-git-dir, git
// worktree add and submodules) to a directory that may lie elsewhere in the
// workspace, and a worktree's git directory names the shared repository in
// its commondir file. And where there is no usable .git, git takes the
// directory itself for a bare repository once it holds a valid HEAD,
// objects/ and refs/, all of which the sandbox could write.
//
// Resolve follows git 2.39's discovery (setup.c:
// setup_git_directory_gently_1, read_gitfile_gently, is_git_directory,
// get_common_dir_noenv; refs/files-backend.c validate_headref) from each
// root, reading the file system through FS and Paths so that it runs on
// generated trees in tests and on Windows paths anywhere. It never fails:
// what it cannot resolve is reported in Result.Notes, and whatever exists
// inside a root on the way is protected anyway, so a surprise fails
// closed.
//
// Out of scope: a .git the sandbox creates in a subdirectory of a root
// matters only to a git run in that subdirectory, and GIT_DIR,
// GIT_COMMON_DIR and GIT_CEILING_DIRECTORIES are the user's environment.
package gitdir

import (
	"errors"
	"fmt"
	"io/fs"
	"sort"
	"strings"
)

// Kind says how a protected entry was found.
type Kind int

const (
	// DotGit is <dir>/.git itself, whatever it is: a directory, a gitfile
	// or a symbolic link.
	DotGit Kind = iota
	// SymlinkTarget is what a .git symbolic link resolves to: a git
	// directory, or a gitfile.
	SymlinkTarget
	// Gitfile is what a gitfile's "gitdir:" line leads to: normally the
	// git directory it names.
	Gitfile
	// CommonDir is what a git directory's commondir file leads to (a
	// worktree's shared repository), or the commondir file a symbolic link
	// leads to.
	CommonDir
	// Bare is a control entry (see ControlNames) of a directory that is,
	// or has the HEAD of, a git directory itself, such as a bare
	// repository used as a root.
	Bare
	// Head is an existing HEAD that git does not accept, at a directory
	// with no usable .git: kept as it is, it keeps the directory from
	// becoming a bare repository.
	Head
	// EntryTarget is what a symbolic link among a git directory's config,
	// config.worktree and hooks leads to.
	EntryTarget
	// Link is a symbolic link followed on the way to any of the above; the
	// sandbox could otherwise point it at a directory of its own.
	Link
)

func (k Kind) String() string {
	switch k {
	case DotGit:
		return "dot-git"
	case SymlinkTarget:
		return "symlink"
	case Gitfile:
		return "gitfile"
	case CommonDir:
		return "commondir"
	case Bare:
		return "bare"
	case Head:
		return "head"
	case EntryTarget:
		return "entry-target"
	case Link:
		return "link"
	}
	return fmt.Sprintf("Kind(%d)", int(k))
}

// Found is an entry to protect.
type Found struct {
	Path string
	Kind Kind
}

// Result is what Resolve found. Every path is absolute, in Paths'
// canonical spelling, and inside some root; each list is sorted by path
// and holds a path once.
type Result struct {
	// Protect are existing entries to keep read-only as they are: a
	// directory with everything below it, a file's content, a symbolic
	// link's target. The caller must not follow a final symbolic link
	// when protecting it.
	Protect []Found
	// Pins are directories strictly between a root and a Protect or Guard
	// path. The sandbox could rename one away and build a fresh copy of
	// the path below it, which an unchanged link or gitfile then names; a
	// pin must be kept from being removed or renamed (on Linux, a mount
	// point) while its contents stay writable. Roots and directories
	// inside a Protect entry are never pins: they cannot move anyway.
	Pins []string
	// Guards are paths that do not exist and that the sandbox must not
	// create: the caller creates each as an empty directory, protected
	// read-only like a missing protected name (a placeholder). Its parent
	// exists. They are <dir>/HEAD for a directory with no usable git
	// directory (an empty directory named HEAD fails git's validation of
	// HEAD, so the directory can never become a bare repository, and an
	// empty directory is invisible to git status); the missing end of a
	// .git symbolic link, a gitfile or a commondir; <dir>/.git for a
	// directory between nested roots (for roots themselves, the caller's
	// placeholder for the protected name .git does it); and the missing
	// GuardNames of a directory that has a valid HEAD.
	Guards []string
	// Notes are human-readable findings, one per line, each naming its
	// path: targets outside every root, missing targets, loops, files
	// that are not what git needs.
	Notes []string
}

// ControlNames are the entries of a git directory that Kind Bare protects
// when they exist: where git reads configuration, hooks, the common
// directory, and the repository's state.
var ControlNames = []string{"HEAD", "commondir", "config", "config.worktree", "hooks", "info", "modules", "objects", "packed-refs", "refs", "worktrees"}

// GuardNames are the control entries that are guarded when missing at a
// directory with a valid HEAD: a config or hooks the sandbox creates would
// run in the user's git, and a commondir it creates would move the
// configuration anywhere. Git refuses to work in such a directory while a
// placeholder stands in for config or commondir ("unable to access
// 'config': Is a directory", "failed to read .../commondir"): the
// fail-closed side. The others hold data, or (config.worktree) are read
// only when the protected config enables them.
var GuardNames = []string{"commondir", "config", "hooks"}

// Resolve works out, for each root, what git would use there and returns
// what the sandbox must keep as it is. Roots must be absolute and canonical
// (no symbolic link in them, as the backends resolve them); one that is
// not, or does not exist, is noted and skipped.
//
// For each root Resolve follows git's discovery from the root upwards, as
// git started there would, for as long as the directories lie inside a
// root (nested roots):
//
//  1. <dir>/.git. Git stat()s it, following symbolic links. A directory
//     that is a valid git directory (is_git_directory) is used, so git
//     stops. A regular file is a gitfile: git uses the directory its
//     "gitdir:" line names if that is valid, and otherwise stops with an
//     error; it does not follow a gitfile the line leads to. Anything else,
//     or nothing, git passes over.
//  2. <dir> itself, if its HEAD is valid: a bare repository.
//  3. The parent directory.
//
// Whatever exists on the way inside a root is protected whether or not git
// accepts it now, since the sandbox could otherwise complete it; what is
// missing there is guarded. Unlike git, Resolve goes on to the parent
// after a fatal gitfile, which can only protect more.
func Resolve(fsys FS, paths Paths, roots []string) Result {
	r := &resolver{fsys: fsys, paths: paths, protect: map[string]Kind{}, guards: map[string]bool{}, notes: map[string]bool{}, visited: map[string]bool{}}
	for _, root := range roots {
		c, ok := clean(paths, root)
		if !ok {
			r.note("root %q is not an absolute path: skipped", root)
			continue
		}
		r.roots = append(r.roots, c)
	}
	sort.Strings(r.roots)
	for _, root := range r.roots {
		fi, err := fsys.Lstat(root)
		switch {
		case err != nil:
			r.note("root %s: %v: skipped", root, err)
		case !fi.IsDir():
			r.note("root %s is not a directory (%s): skipped", root, fi.Mode().Type())
		default:
			r.discover(root)
		}
	}
	return r.result()
}

type resolver struct {
	fsys    FS
	paths   Paths
	roots   []string
	protect map[string]Kind
	guards  map[string]bool
	notes   map[string]bool
	visited map[string]bool
}

// outcome is what git makes of one place it looks at.
type outcome int

const (
	absent outcome = iota // nothing usable: git looks further
	usable                // git uses it and stops looking
	fatal                 // git stops with an error
)

// discover walks from root upwards as git's discovery does.
func (r *resolver) discover(root string) {
	for d := root; !r.visited[d]; {
		r.visited[d] = true
		if r.dotGit(d) == usable || r.bare(d) == usable {
			return
		}
		parent := r.paths.Dir(d)
		if parent == d || !r.inRoot(parent) {
			return
		}
		d = parent
	}
}

// dotGit handles <d>/.git (step 1 of Resolve).
func (r *resolver) dotGit(d string) outcome {
	dotgit := r.paths.Join(d, ".git")
	if _, err := r.fsys.Lstat(dotgit); err != nil {
		switch {
		case !errors.Is(err, fs.ErrNotExist):
			r.note("%s: %v", dotgit, err)
		case !r.isRoot(d):
			r.guard(dotgit)
		}
		return absent
	}
	r.add(dotgit, DotGit)
	t := r.follow(d, ".git")
	kind := DotGit
	if len(t.links) > 0 {
		kind = SymlinkTarget
	}
	r.record(t, kind, ".git symbolic link "+dotgit)
	switch {
	case !t.done:
		return absent // git's stat fails: not fatal, it looks further
	case t.info.Mode().IsRegular():
		return r.gitfile(d, dotgit, t.path)
	case !t.info.IsDir():
		r.note("%s is neither a directory nor a regular file (%s): git passes over it", t.path, t.info.Mode().Type())
		return absent
	case r.gitDir(t.path, dotgit):
		return usable
	}
	r.note("%s is not a valid git directory: git passes over it", t.path)
	return absent
}

// gitfile handles a .git that is a regular file, read at file (where
// <d>/.git resolves to). As in read_gitfile_gently, a relative path is read
// in d, the directory of the .git that git opened, not of the file a
// symbolic link led to; every failure is fatal to git.
func (r *resolver) gitfile(d, dotgit, file string) outcome {
	from := "gitfile " + dotgit
	data, err := r.fsys.ReadFile(file)
	if err != nil {
		r.note("%s: %v: git stops here with an error", from, err)
		return fatal
	}
	if len(data) > ReadLimit {
		r.note("%s is longer than %d bytes: followed the path its first %d bytes name", from, ReadLimit, ReadLimit)
		data = data[:ReadLimit]
	}
	target, ok := gitfilePath(data)
	if !ok {
		r.note("%s has no \"gitdir: <path>\" line: git stops here with an error", from)
		return fatal
	}
	t := r.follow(d, target)
	r.record(t, Gitfile, from)
	switch {
	case !t.done:
		return fatal
	case t.info.Mode().IsRegular():
		if data, err := r.fsys.ReadFile(t.path); err == nil && strings.HasPrefix(string(data), "gitdir:") {
			r.note("%s leads to %s, itself a gitfile: git does not follow a second gitfile and stops here with an error", from, t.path)
		} else {
			r.note("%s leads to %s, a file: git stops here with an error", from, t.path)
		}
		return fatal
	case r.gitDir(t.path, r.spelling(d, target)):
		return usable
	}
	r.note("%s leads to %s, not a valid git directory: git stops here with an error", from, t.path)
	return fatal
}

// spelling returns p read in dir, as a string: its symbolic links are not
// resolved, but what the platform applies lexically is.
func (r *resolver) spelling(dir, p string) string {
	root, names, ok := r.paths.Abs(dir, p)
	if !ok {
		return p
	}
	return build(r.paths, root, names)
}

// gitfilePath returns the path a gitfile names, by git's rule: the content
// must start with "gitdir: "; trailing '\n' and '\r' are removed and
// nothing else (a trailing space belongs to the path); the path is the
// rest, up to a NUL, since git uses it as a C string. A path cut to
// nothing by a NUL leaves git with the gitfile's own directory ("<d>/").
func gitfilePath(data []byte) (string, bool) {
	rest, ok := strings.CutPrefix(string(data), "gitdir: ")
	if !ok {
		return "", false
	}
	rest = strings.TrimRight(rest, "\r\n")
	if rest == "" {
		return "", false
	}
	return cString(rest), true
}

// cString returns s up to its first NUL, or "." (the directory it is read
// in) when that leaves nothing.
func cString(s string) string {
	if i := strings.IndexByte(s, 0); i >= 0 {
		s = s[:i]
	}
	if s == "" {
		return "."
	}
	return s
}

// bare handles <d> itself (step 2 of Resolve). A missing HEAD is guarded;
// an invalid one is kept as it is, which keeps d from ever being a git
// directory. A valid HEAD (or one that cannot be read, to fail closed)
// makes d a git directory as soon as objects/ and refs/ exist, which the
// sandbox could create: its control entries are protected and the missing
// GuardNames guarded.
func (r *resolver) bare(d string) outcome {
	head := r.paths.Join(d, "HEAD")
	switch r.headState(head) {
	case headMissing:
		r.guard(head)
		return absent
	case headInvalid:
		r.add(head, Head)
		return absent
	}
	r.controlEntries(d)
	if r.gitDir(d, d) {
		return usable
	}
	r.note("%s has a HEAD git accepts or may accept, but is not a complete git directory: its control entries are kept as they are", d)
	return absent
}

// protectDir protects p as kind, or, when p is a root or holds one, which
// must stay writable, its control entries.
func (r *resolver) protectDir(p string, kind Kind) {
	if r.holdsRoot(p) {
		r.controlEntries(p)
		return
	}
	r.add(p, kind)
}

func (r *resolver) controlEntries(d string) {
	for _, name := range ControlNames {
		p := r.paths.Join(d, name)
		if _, err := r.fsys.Lstat(p); err == nil {
			r.add(p, Bare)
		}
	}
	for _, name := range GuardNames {
		p := r.paths.Join(d, name)
		if _, err := r.fsys.Lstat(p); errors.Is(err, fs.ErrNotExist) {
			r.guard(p)
		}
	}
}
