package linuxsandbox

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/cordon-sandbox/cordon/internal/statedir"
	"github.com/cordon-sandbox/cordon/policy"
	"github.com/cordon-sandbox/cordon/sandbox"
	"golang.org/x/sys/unix"
)

// prepared is the host-side state of a run: canonical paths, the
// protected directories it holds a lock on (placeholders among them), and
// what enforces its limits.
type prepared struct {
	roots     []string // outermost first
	pins      []string
	protected []string
	readOnly  []string
	denyRead  []denyPath // covered with an empty read-only directory or file
	tmpKeep   []string   // directories below a private temp directory to bind back in
	hostTmp   []string   // temp directories the policy makes writable roots: left the host's
	warnings  []string   // for Process.Degraded
	notes     []string   // what the run found and left alone, for the log
	locks     []dirLock
	limits    *limiter
	caches    *cacheRun // the tool caches' layers (caches_linux.go)
}

// dirLock is a shared flock(2) on a protected directory, held for the whole
// run; placeholder says the run may remove it afterwards.
type dirLock struct {
	path        string
	fd          int
	placeholder bool
}

// placeholderXattr marks a placeholder cordon created, so that another run
// that finds it can tell it from a directory of the user's.
const placeholderXattr = "user.cordon.placeholder"

// lockPoll is how often a lock wait tries again.
const lockPoll = 20 * time.Millisecond

// ErrBusy is wrapped by the error of a run that gave up waiting for a lock
// another process holds on one of its protected directories.
var ErrBusy = sandbox.ErrBusy

// prepare checks the writable roots and resolves them to canonical paths
// (the new root is a copy of the host's tree, so a canonical host path names
// the same directory in it, whereas an absolute symlink would resolve
// against the staging root). A root that is itself a symbolic link is
// refused, as the Windows planner refuses a junction: it would make the
// link's target writable, which the policy never named. Roots may nest (an
// extra root holding the workspace); they are bound outermost first.
//
// With namespaces it also works out what to protect inside the roots: the
// policy's protected names, the git directories the roots' .git links name
// (gitDirs) with the directories leading to them pinned, a HEAD guard in
// each root that is not a repository, and cordon's state directory when a
// root holds it. It creates a placeholder for each protected name missing
// from a root: an empty directory, mode 0555, that the init binds read-only
// like any other protected name; for .git in a root that no repository
// encloses, an empty file, mode 0444, instead. Go takes a directory named
// .git for a repository and fails every build whose VCS status git cannot
// give ("error obtaining VCS status"), while it ignores a file; git itself
// reports no repository either way. Where a repository does enclose the
// root (a monorepo's subfolder), the placeholder stays a directory: git
// skips a .git directory that is no repository and finds the enclosing
// one, where an invalid gitfile would stop it. A bind mount needs an existing mount
// point, and a name that exists as a read-only mount point cannot be
// created, removed or renamed over by the command (EEXIST, EROFS, EBUSY),
// which is what keeps a fresh .git with a planted hook from appearing. This
// mirrors the Windows planner's placeholders. Wait removes each placeholder
// again if it is still an empty directory. If the caller may not create the
// name (EACCES, EPERM, EROFS), no placeholder is needed: the command, the
// same user with fewer rights, cannot create it either.
//
// Concurrent runs share placeholders (an extra root may be shared).
// Removing a placeholder another run has bound would detach that run's
// mount (rmdir(2) of a mount point in another mount namespace unmounts it
// there), so every run holds a shared flock(2) on each protected directory,
// and a placeholder is removed only by a run that can upgrade to an
// exclusive lock without waiting, i.e. by the last one using it; runs that
// find a directory gone between lookup and lock start over. Waiting for a
// lock ends with ctx (the run's timeout, or cordon's SIGINT/SIGTERM): an
// exclusive lock held by anyone else is an ErrBusy error, never a hang.
func prepare(ctx context.Context, spec *sandbox.Spec, namespaces bool) (_ *prepared, err error) {
	pol := spec.Policy
	prep := &prepared{}
	defer func() {
		if err != nil {
			prep.cleanup() // what was created or locked before the failure
		}
	}()
	for _, r := range pol.Roots {
		real, err := canonicalRoot(r)
		if err != nil {
			return nil, err
		}
		prep.roots = append(prep.roots, real)
	}
	sort.SliceStable(prep.roots, func(i, j int) bool {
		return strings.Count(prep.roots[i], "/") < strings.Count(prep.roots[j], "/")
	})
	if prep.limits, err = newLimiter(spec.Limits, spec.BestEffort); err != nil {
		return nil, err
	}
	prep.warnings = append(prep.warnings, prep.limits.degraded()...)
	if !namespaces {
		return prep, nil
	}
	for _, d := range privateTmpDirs {
		if slices.Contains(prep.roots, d) {
			prep.hostTmp = append(prep.hostTmp, d)
			prep.warnings = append(prep.warnings, fmt.Sprintf("private temp directory: the host's %s is a writable root, so the Unix sockets of other programs there (tmux, ssh-agent, X11) are reachable from the sandbox", d))
		}
	}
	for _, d := range append(append([]string{}, prep.roots...), pol.Cwd, spec.Dir) {
		if real, err := filepath.EvalSymlinks(d); err == nil && anyUnder([]string{real}, privateTmpDirs) && !slices.Contains(privateTmpDirs, real) && !slices.Contains(prep.tmpKeep, real) {
			prep.tmpKeep = append(prep.tmpKeep, real)
		}
	}
	sort.SliceStable(prep.tmpKeep, func(i, j int) bool {
		return strings.Count(prep.tmpKeep[i], "/") < strings.Count(prep.tmpKeep[j], "/")
	})

	var names []string
	for _, root := range prep.roots {
		for _, name := range pol.Protected {
			names = append(names, filepath.Join(root, name))
		}
	}
	git := gitDirs(prep.roots)
	prep.pins = git.pins
	prep.notes = append(prep.notes, git.notes...)
	names = append(names, git.guards...)
	asFile := map[string]bool{}
	for _, root := range prep.roots {
		if !enclosingRepo(root) {
			asFile[filepath.Join(root, ".git")] = true
		}
	}
	seen := map[string]bool{}
	for _, p := range append(names, git.protect...) {
		if seen[p] {
			continue
		}
		seen[p] = true
		use, err := prep.protect(ctx, p, asFile[p])
		if err != nil {
			return nil, fmt.Errorf("linux sandbox: protected name %s: %w", p, err)
		}
		if use {
			prep.protected = append(prep.protected, p)
		}
	}
	if err := prep.protectState(); err != nil {
		return nil, err
	}
	prep.resolveDenyRead(spec.Policy.DenyRead)
	return prep, nil
}

// resolveDenyRead turns the policy's deny-read paths, and cordon's state
// directory (always: the sandbox needs nothing there), into the mounts
// that hide them: each resolved through its symbolic links (the target is
// what is hidden: every path to it inside the sandbox's tree then meets
// the cover), a directory covered by an empty read-only directory, a file
// by an empty read-only file. A path that does not exist is left out and
// noted: one created after the run starts is not hidden. One in a private
// temp directory is invisible anyway.
func (prep *prepared) resolveDenyRead(paths []string) {
	if dir, err := statedir.Dir(); err == nil && filepath.IsAbs(dir) && !anyUnder(prep.roots, []string{dir}) {
		paths = append(paths, dir)
	}
	seen := map[string]bool{}
	for _, p := range paths {
		real, err := filepath.EvalSymlinks(p)
		if err != nil {
			if !errors.Is(err, os.ErrNotExist) {
				prep.notes = append(prep.notes, fmt.Sprintf("deny-read %s: %v: not hidden", p, err))
			}
			continue
		}
		fi, err := os.Stat(real)
		if err != nil || seen[real] {
			continue
		}
		seen[real] = true
		if anyUnder([]string{real}, privateTmpDirs) && !anyUnder([]string{real}, prep.hostTmp) && !anyUnder([]string{real}, prep.tmpKeep) {
			continue
		}
		prep.denyRead = append(prep.denyRead, denyPath{Path: real, Dir: fi.IsDir()})
	}
}

// canonicalRoot checks that r is a directory and not a symbolic link, and
// returns its canonical path.
func canonicalRoot(r policy.Root) (string, error) {
	fi, err := os.Lstat(r.Path)
	if err != nil {
		return "", fmt.Errorf("linux sandbox: %s root %s: %w", r.Kind, r.Path, err)
	}
	if fi.Mode()&os.ModeSymlink != 0 {
		t, _ := os.Readlink(r.Path)
		return "", fmt.Errorf("linux sandbox: %s root %s is a symbolic link to %s: cordon does not follow it; use the target's own path", r.Kind, r.Path, t)
	}
	if !fi.IsDir() {
		return "", fmt.Errorf("linux sandbox: %s root %s is not a directory", r.Kind, r.Path)
	}
	real, err := filepath.EvalSymlinks(r.Path)
	if err != nil {
		return "", fmt.Errorf("linux sandbox: %s root %s: %w", r.Kind, r.Path, err)
	}
	return real, nil
}

// protectState binds cordon's state directory read-only when a writable
// root holds it (cordon run in $HOME, say): the sandbox must not forge the
// log or rewrite anything cordon trusts there. The directory is created
// first, so that the sandbox cannot create it either.
func (prep *prepared) protectState() error {
	dir, err := statedir.Dir()
	if err != nil {
		return nil // no state directory, nothing to protect
	}
	if !filepath.IsAbs(dir) {
		return fmt.Errorf("linux sandbox: cordon's state directory %q is not absolute", dir)
	}
	if !anyUnder([]string{dir}, prep.roots) {
		if real, err := filepath.EvalSymlinks(dir); err != nil || !anyUnder([]string{real}, prep.roots) {
			return nil
		}
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return fmt.Errorf("linux sandbox: cordon's state directory %s lies in a writable root and cannot be created to protect it: %w", dir, err)
	}
	real, err := filepath.EvalSymlinks(dir)
	if err != nil {
		return fmt.Errorf("linux sandbox: cordon's state directory %s: %w", dir, err)
	}
	prep.readOnly = append(prep.readOnly, real)
	return nil
}

// protect makes sure p exists (creating a placeholder if needed, a file
// when asFile) and, if it is a directory or a placeholder, locks it. It
// reports whether p is to be bound read-only.
func (prep *prepared) protect(ctx context.Context, p string, asFile bool) (bool, error) {
	for range 10 {
		created := false
		fi, err := os.Lstat(p)
		if errors.Is(err, os.ErrNotExist) {
			// Writable first: a user xattr needs write access, and the
			// mark must be there before anything can kill us, or the
			// placeholder would never be removed.
			switch err := createPlaceholder(p, asFile); {
			case err == nil:
				created = true
			case errors.Is(err, unix.EEXIST):
				continue
			case errors.Is(err, unix.EACCES), errors.Is(err, unix.EPERM), errors.Is(err, unix.EROFS):
				return false, nil // not creatable by the caller, so not by the command
			default:
				return false, fmt.Errorf("placeholder: %w", err)
			}
		} else if err != nil {
			return false, err
		} else if !fi.IsDir() && !(fi.Mode().IsRegular() && fi.Size() == 0) {
			return true, nil // a gitfile, a symlink...: nothing to share or remove
		}
		flags := unix.O_RDONLY | unix.O_NOFOLLOW | unix.O_CLOEXEC | unix.O_NONBLOCK
		if !created && fi.IsDir() || created && !asFile {
			flags |= unix.O_DIRECTORY
		}
		fd, err := unix.Open(p, flags, 0)
		if errors.Is(err, unix.ENOENT) || errors.Is(err, unix.ENOTDIR) || errors.Is(err, unix.ELOOP) {
			continue // replaced meanwhile
		}
		if err == nil && !created && !fi.IsDir() && !hasXattr(fd) {
			unix.Close(fd)
			return true, nil // an empty file of the user's: bound, never removed
		}
		if errors.Is(err, unix.EACCES) && !created {
			return true, nil // unreadable: the user's own, never a placeholder
		}
		if err != nil {
			return false, fmt.Errorf("open: %w", err)
		}
		if created {
			_ = unix.Fsetxattr(fd, placeholderXattr, []byte("1"), 0) // best effort: not every file system has user xattrs
			mode := uint32(0o555)
			if asFile {
				mode = 0o444
			}
			if err := unix.Fchmod(fd, mode); err != nil {
				unix.Close(fd)
				return false, fmt.Errorf("placeholder: chmod: %w", err)
			}
		}
		if err := lockShared(ctx, fd, p); err != nil {
			unix.Close(fd)
			if created {
				removePlaceholder(fd, p)
			}
			return false, err
		}
		if !samePath(fd, p) {
			unix.Close(fd) // removed by a run that finished meanwhile
			continue
		}
		prep.locks = append(prep.locks, dirLock{path: p, fd: fd, placeholder: created || hasXattr(fd)})
		return true, nil
	}
	return false, errors.New("keeps changing under us")
}

// lockShared takes a shared flock(2) on fd, trying again every lockPoll
// until ctx ends: flock has no timeout of its own, and a blocking call would
// not hear the context.
func lockShared(ctx context.Context, fd int, p string) error {
	for {
		err := unix.Flock(fd, unix.LOCK_SH|unix.LOCK_NB)
		if err == nil {
			return nil
		}
		if !errors.Is(err, unix.EWOULDBLOCK) && !errors.Is(err, unix.EINTR) {
			return fmt.Errorf("flock: %w", err)
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("%w: another process holds an exclusive lock on %s (%v)", ErrBusy, p, context.Cause(ctx))
		case <-time.After(lockPoll):
		}
	}
}

// createPlaceholder creates an empty directory, or an empty file when
// asFile, at p, writable by its owner until protect marks it.
func createPlaceholder(p string, asFile bool) error {
	if !asFile {
		return unix.Mkdir(p, 0o700)
	}
	fd, err := unix.Open(p, unix.O_CREAT|unix.O_EXCL|unix.O_WRONLY|unix.O_NOFOLLOW|unix.O_CLOEXEC, 0o600)
	if err != nil {
		return err
	}
	return unix.Close(fd)
}

// removePlaceholder removes the placeholder at p, which fd holds open, if
// it is still empty: rmdir(2) removes nothing else, and a file is
// unlinked only while it has no content.
func removePlaceholder(fd int, p string) {
	var st unix.Stat_t
	if unix.Fstat(fd, &st) != nil {
		return
	}
	if st.Mode&unix.S_IFMT == unix.S_IFDIR {
		_ = unix.Rmdir(p)
	} else if st.Mode&unix.S_IFMT == unix.S_IFREG && st.Size == 0 {
		_ = unix.Unlink(p)
	}
}

// enclosingRepo reports whether git, discovering upwards from root's
// parent, would find a .git: it looks at each ancestor up to the file
// system's root, and, as git does by default, not across a mount of
// another file system.
func enclosingRepo(root string) bool {
	var st unix.Stat_t
	if unix.Stat(root, &st) != nil {
		return false
	}
	dev := st.Dev
	for d := filepath.Dir(root); ; d = filepath.Dir(d) {
		if unix.Stat(d, &st) != nil || st.Dev != dev {
			return false
		}
		if _, err := os.Lstat(filepath.Join(d, ".git")); err == nil {
			return true
		}
		if d == "/" {
			return false
		}
	}
}

// samePath reports whether fd is still the directory at p.
func samePath(fd int, p string) bool {
	var a, b unix.Stat_t
	return unix.Fstat(fd, &a) == nil && unix.Lstat(p, &b) == nil && a.Dev == b.Dev && a.Ino == b.Ino
}

func hasXattr(fd int) bool {
	var buf [8]byte
	_, err := unix.Fgetxattr(fd, placeholderXattr, buf[:])
	return err == nil
}

// cleanup releases the locks, newest first, first removing each
// placeholder that no other run holds and that is still empty.
func (prep *prepared) cleanup() {
	if prep == nil {
		return
	}
	for i := len(prep.locks) - 1; i >= 0; i-- {
		l := prep.locks[i]
		if l.placeholder && unix.Flock(l.fd, unix.LOCK_EX|unix.LOCK_NB) == nil && samePath(l.fd, l.path) {
			removePlaceholder(l.fd, l.path)
		}
		unix.Close(l.fd)
	}
	prep.locks = nil
	prep.caches.finish()
	_ = prep.limits.close()
}
