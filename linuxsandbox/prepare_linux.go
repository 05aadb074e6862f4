package linuxsandbox

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"github.com/cordon-sandbox/cordon/policy"
	"golang.org/x/sys/unix"
)

// prepared is the host-side state of a run: canonical paths, and the
// protected directories it holds a lock on (placeholders among them).
type prepared struct {
	roots     []string // outermost first
	protected []string
	tmpKeep   []string
	locks     []dirLock
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

// prepare checks the writable roots and resolves them to canonical paths
// (the new root is a copy of the host's tree, so a canonical host path names
// the same directory in it, whereas an absolute symlink would resolve
// against the staging root). A root that is itself a symbolic link is
// refused, as the Windows planner refuses a junction: it would make the
// link's target writable, which the policy never named. Roots may nest (a
// temp root holding the workspace); they are bound outermost first.
//
// With namespaces it also creates a placeholder for each protected name
// missing from a root: an empty directory, mode 0555, that stage 1 binds
// read-only like any other protected name. A bind mount needs an existing
// mount point, and a name that exists as a read-only mount point cannot be
// created, removed or renamed over by the command (EEXIST, EROFS, EBUSY),
// which is what keeps a fresh .git with a planted hook from appearing. This
// mirrors the Windows planner's placeholders. Wait removes each placeholder
// again if it is still an empty directory. If the caller may not create the
// name (EACCES, EPERM, EROFS), no placeholder is needed: the command, the
// same user with fewer rights, cannot create it either.
//
// Concurrent runs share placeholders (with TMPDIR=/tmp every run has /tmp
// as a root). Removing a placeholder another run has bound would detach
// that run's mount (rmdir(2) of a mount point in another mount namespace
// unmounts it there), so every run holds a shared flock(2) on each protected
// directory, and a placeholder is removed only by a run that can upgrade to
// an exclusive lock without waiting, i.e. by the last one using it; runs
// that find a directory gone between lookup and lock start over.
func prepare(pol *policy.Resolved, dir string, namespaces bool) (*prepared, error) {
	prep := &prepared{}
	for _, r := range pol.Roots {
		fi, err := os.Lstat(r.Path)
		if err != nil {
			return nil, fmt.Errorf("linux sandbox: %s root %s: %w", r.Kind, r.Path, err)
		}
		if fi.Mode()&os.ModeSymlink != 0 {
			t, _ := os.Readlink(r.Path)
			return nil, fmt.Errorf("linux sandbox: %s root %s is a symbolic link to %s: cordon does not follow it; use the target's own path", r.Kind, r.Path, t)
		}
		if !fi.IsDir() {
			return nil, fmt.Errorf("linux sandbox: %s root %s is not a directory", r.Kind, r.Path)
		}
		real, err := filepath.EvalSymlinks(r.Path)
		if err != nil {
			return nil, fmt.Errorf("linux sandbox: %s root %s: %w", r.Kind, r.Path, err)
		}
		prep.roots = append(prep.roots, real)
	}
	sort.SliceStable(prep.roots, func(i, j int) bool {
		return strings.Count(prep.roots[i], "/") < strings.Count(prep.roots[j], "/")
	})
	if !namespaces {
		return prep, nil
	}
	seen := map[string]bool{}
	for _, root := range prep.roots {
		for _, name := range pol.Protected {
			p := filepath.Join(root, name)
			if seen[p] {
				continue
			}
			seen[p] = true
			use, err := prep.protect(p)
			if err != nil {
				prep.cleanup()
				return nil, fmt.Errorf("linux sandbox: protected name %s: %w", p, err)
			}
			if use {
				prep.protected = append(prep.protected, p)
			}
		}
	}
	if pol.Mode == policy.ReadOnly {
		for _, d := range []string{pol.Cwd, dir} {
			if real, err := filepath.EvalSymlinks(d); err == nil && strings.HasPrefix(real, tmpDir+"/") {
				prep.tmpKeep = append(prep.tmpKeep, real)
			}
		}
	}
	return prep, nil
}

// protect makes sure p exists (creating a placeholder if needed) and, if it
// is a directory, locks it. It reports whether p is to be bound read-only.
func (prep *prepared) protect(p string) (bool, error) {
	for range 10 {
		created := false
		fi, err := os.Lstat(p)
		if errors.Is(err, os.ErrNotExist) {
			switch err := unix.Mkdir(p, 0o555); {
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
		} else if !fi.IsDir() {
			return true, nil // a gitfile, a symlink...: nothing to share or remove
		}
		fd, err := unix.Open(p, unix.O_RDONLY|unix.O_DIRECTORY|unix.O_NOFOLLOW|unix.O_CLOEXEC, 0)
		if errors.Is(err, unix.ENOENT) || errors.Is(err, unix.ENOTDIR) || errors.Is(err, unix.ELOOP) {
			continue // replaced meanwhile
		}
		if errors.Is(err, unix.EACCES) && !created {
			return true, nil // unreadable: the user's own, never a placeholder
		}
		if err != nil {
			return false, fmt.Errorf("open: %w", err)
		}
		if err := unix.Flock(fd, unix.LOCK_SH); err != nil {
			unix.Close(fd)
			return false, fmt.Errorf("flock: %w", err)
		}
		if !samePath(fd, p) {
			unix.Close(fd) // removed by a run that finished meanwhile
			continue
		}
		if created {
			_ = unix.Fsetxattr(fd, placeholderXattr, []byte("1"), 0) // best effort: not every file system has user xattrs
		}
		prep.locks = append(prep.locks, dirLock{path: p, fd: fd, placeholder: created || hasXattr(fd)})
		return true, nil
	}
	return false, errors.New("keeps changing under us")
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
// placeholder that no other run holds and that is still an empty directory
// (rmdir(2) removes nothing else).
func (prep *prepared) cleanup() {
	for i := len(prep.locks) - 1; i >= 0; i-- {
		l := prep.locks[i]
		if l.placeholder && unix.Flock(l.fd, unix.LOCK_EX|unix.LOCK_NB) == nil && samePath(l.fd, l.path) {
			_ = unix.Rmdir(l.path)
		}
		unix.Close(l.fd)
	}
	prep.locks = nil
}
