package gitdir

import (
	"errors"
	"fmt"
	"io/fs"
)

// maxHops is the most symbolic links one resolution follows, Linux's
// MAXSYMLINKS (path_resolution(7)); more is reported as a loop, as the
// kernel reports ELOOP.
const maxHops = 40

var (
	errLoop   = errors.New("too many levels of symbolic links")
	errNotDir = errors.New("not a directory")
)

// trail is what following one path found.
type trail struct {
	// path is where resolution ended: the target with every symbolic link
	// resolved when done; otherwise the first component that is missing,
	// unreadable or not a directory. Empty when no component was reached
	// (a loop, an unreadable link, a path that cannot be followed).
	path string
	// info describes path; nil when it does not exist or was not reached.
	info fs.FileInfo
	// done reports that path is the whole target.
	done bool
	// links are the symbolic links followed, in order.
	links []string
	// err says why resolution stopped early.
	err error
}

// missing reports whether the trail stopped at a component that does not
// exist.
func (t trail) missing() bool { return t.info == nil && errors.Is(t.err, fs.ErrNotExist) }

// follow resolves p, read in directory dir, the way the kernel and git's
// strbuf_realpath do: one component at a time, every symbolic link
// followed (a relative target is read in the link's directory), ".."
// taken from the real directory reached so far, at most maxHops links.
func (r *resolver) follow(dir, p string) trail {
	var t trail
	root, names, ok := r.paths.Abs(dir, p)
	if !ok {
		t.err = fmt.Errorf("%q is not a path that can be followed", p)
		return t
	}
	walked := []string{root} // real directories so far; the last is current
	for hops := 0; len(names) > 0; {
		name := names[0]
		names = names[1:]
		top := walked[len(walked)-1]
		if name == ".." {
			if len(walked) > 1 {
				walked = walked[:len(walked)-1]
			}
			continue
		}
		next := r.paths.Join(top, name)
		fi, err := r.fsys.Lstat(next)
		if err != nil {
			t.path, t.err = next, err
			return t
		}
		if fi.Mode()&fs.ModeSymlink != 0 {
			t.links = append(t.links, next)
			if hops++; hops > maxHops {
				t.err = fmt.Errorf("%s: %w", next, errLoop)
				return t
			}
			target, err := r.fsys.Readlink(next)
			if err != nil {
				t.err = err
				return t
			}
			lroot, lnames, ok := r.paths.Abs(top, target)
			if !ok {
				t.err = fmt.Errorf("symbolic link %s -> %q cannot be followed", next, target)
				return t
			}
			walked = []string{lroot}
			names = append(append([]string(nil), lnames...), names...)
			continue
		}
		if len(names) > 0 && !fi.IsDir() {
			t.path, t.info, t.err = next, fi, fmt.Errorf("%s: %w", next, errNotDir)
			return t
		}
		walked = append(walked, next)
	}
	t.path = walked[len(walked)-1]
	fi, err := r.fsys.Lstat(t.path)
	if err != nil {
		t.err = err
		return t
	}
	t.info, t.done = fi, true
	return t
}

// record protects what a resolution that git performs passed through and
// reached inside a root, and notes the rest. from names the resolution in
// notes ("gitfile /ws/.git").
//
//   - Every symbolic link followed: the sandbox could otherwise point it
//     at a directory of its own.
//   - Where it ended, if it exists: the target (as kind), or the entry that
//     is not a directory, which the sandbox could otherwise replace with
//     one.
//   - Where it ended, if missing: a guard, since the sandbox could
//     otherwise create a git directory there that the unchanged link or
//     gitfile then names.
func (r *resolver) record(t trail, kind Kind, from string) {
	for _, l := range t.links {
		if r.inRoot(l) {
			r.add(l, Link)
		}
	}
	switch {
	case t.path == "":
	case t.info != nil && r.inRoot(t.path):
		r.protectDir(t.path, kind)
	case t.info != nil && t.done:
		r.note("%s leads to %s, outside every writable root: not protected here", from, t.path)
	case t.missing() && r.inRoot(t.path):
		r.guard(t.path)
		r.note("%s leads to %s, which does not exist", from, t.path)
	case t.missing():
		r.note("%s leads to %s, which does not exist (outside every writable root)", from, t.path)
	}
	if t.err != nil && !t.missing() {
		r.note("%s: %v", from, t.err)
	}
}
