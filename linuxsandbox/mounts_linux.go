package linuxsandbox

import (
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"golang.org/x/sys/unix"
)

// The mount layout, built by the init in its own mount namespace (nothing of
// it is visible on the host; mount_namespaces(7)):
//
//  1. "/" is made recursively private, so that no mount or unmount below
//     propagates to the host's namespace or back.
//  2. A staging tmpfs is mounted on /tmp (in this namespace only; another
//     directory if there is no /tmp) and pivot_root(2)ed into; the host's
//     tree is now at /oldroot, /tmp's own contents included. This is how
//     bubblewrap does it: it gives an empty directory (/newroot) to build
//     in without a host directory to create or write to, and "/" cannot be
//     bound onto itself.
//  3. The host tree is cloned (open_tree(2), OPEN_TREE_CLONE|AT_RECURSIVE),
//     made read-only in one call on the whole detached tree
//     (mount_setattr(2), AT_RECURSIVE, MOUNT_ATTR_RDONLY), and attached at
//     /newroot (move_mount(2)). Each tool cache then gets an overlay at its
//     canonical path: the host's cache (from /oldroot) is its lower layer,
//     the workspace's layer in cordon's state directory its upper one
//     (caches_linux.go). Roots below a cache are cloned from /oldroot in
//     step 4, so that the overlay does not stand in for them.
//  4. Each writable root, outermost first (an extra root may hold the
//     workspace), is cloned from that read-only copy, recursively,
//     its top mount made read-write and nosuid (mount_setattr(2) clearing
//     MOUNT_ATTR_RDONLY, not recursive: file systems mounted below a root
//     stay read-only, the conservative reading of a policy that names the
//     directory), and attached over itself. Each pin (a directory between a
//     root and a git directory below it) is then cloned read-write and
//     attached over itself: a mount point cannot be renamed or removed
//     (EBUSY), so the path that names the git directory cannot be made to
//     name another one.
//  5. Each protected name inside a writable root, and each read-only path
//     (cordon's state directory inside a root), is cloned the same way,
//     made read-only recursively and attached over itself. The clone and
//     the attachment do not follow a final symbolic link
//     (AT_SYMLINK_NOFOLLOW, no MOVE_MOUNT_T_SYMLINKS): a .git that is a
//     gitfile or a .codex that is a symlink is itself the mount point, so
//     it can be neither rewritten nor removed nor replaced (a mount point
//     cannot be unlinked or renamed over: EBUSY), and a symlink still
//     resolves as before. Missing names were created empty by the parent.
//  6. /tmp and /var/tmp each get a private, size-bounded tmpfs (the
//     command's scratch space, gone with it): the host's Unix sockets there
//     (tmux, ssh-agent, X11, language servers) are out of reach, and
//     nothing the command leaves there is seen by anyone. Writable roots
//     below them are bound back in read-write, a read-only run's cwd
//     read-only, from the host's tree. A temp directory the policy names
//     as a writable root itself stays the host's.
//  7. A fresh /proc for the new PID namespace, and a minimal /dev: a tmpfs
//     with the host's null, zero, full, random, urandom and tty bound in,
//     the usual fd/stdin/stdout/stderr symlinks, a private size-bounded
//     /dev/shm, /dev/mqueue for the new IPC namespace, then the tmpfs
//     itself made read-only.
//  8. pivot_root(".", ".") from /newroot and a lazy unmount of the old root
//     (the staging tmpfs with the host tree under it): nothing outside the
//     new tree is reachable any more.
//
// Requires Linux 5.12 (mount_setattr).

const (
	tmpDir  = "/tmp"
	newRoot = "/newroot"
	oldRoot = "/oldroot"

	// DefaultTmpSize bounds each private temp tmpfs (/tmp, /var/tmp):
	// enough for a large build's scratch files, and a ceiling on what the
	// command can pin in memory there (a memory limit charges it too).
	DefaultTmpSize = 2 << 30
	// shmSize bounds the private /dev/shm, as container runtimes do.
	shmSize = 64 << 20
)

// privateTmpDirs are the host temp directories the sandbox never sees.
var privateTmpDirs = []string{"/tmp", "/var/tmp"}

// stagingDirs are the host directories the staging tmpfs may be mounted on
// (in the init's namespace only), first existing one wins. Which one does not
// matter: once pivoted away from, its own contents are visible again under
// /oldroot.
var stagingDirs = []string{"/tmp", "/mnt", "/run", "/var/tmp", "/srv", "/opt", "/home"}

// devFiles are the device files of the sandbox's /dev, each bound from the
// host's (setupDev), and the device files the command may write (Landlock).
var devFiles = []string{"/dev/null", "/dev/zero", "/dev/full", "/dev/random", "/dev/urandom", "/dev/tty"}

func setupMounts(s *initSpec) error {
	if err := unix.Mount("", "/", "", unix.MS_REC|unix.MS_PRIVATE, ""); err != nil {
		return fmt.Errorf("make / recursively private: %w", err)
	}
	stagingDir, err := mountStaging()
	if err != nil {
		return err
	}
	for _, d := range []string{newRoot, oldRoot} {
		if err := os.Mkdir(stagingDir+d, 0o700); err != nil {
			return fmt.Errorf("staging: %w", err)
		}
	}
	if err := unix.PivotRoot(stagingDir, stagingDir+oldRoot); err != nil {
		return fmt.Errorf("pivot_root to staging tmpfs: %w", err)
	}
	if err := os.Chdir("/"); err != nil {
		return fmt.Errorf("chdir /: %w", err)
	}

	if err := attachClone(oldRoot, newRoot, readOnlyTree); err != nil {
		return fmt.Errorf("bind / read-only: %w", err)
	}
	if err := mountCaches(s.Caches); err != nil {
		return err
	}
	for _, d := range privateTmpDirs {
		if slices.Contains(s.HostTmp, d) {
			continue
		}
		if err := privateTmp(d, s.TmpSize, s.TmpKeep); err != nil {
			return err
		}
	}
	for _, r := range s.Roots {
		if err := attachRoot(s, r); err != nil {
			return fmt.Errorf("bind writable root %s read-write: %w", r, err)
		}
	}
	for _, p := range s.Pins {
		if err := attachClone(newRoot+p, newRoot+p, writableTop); err != nil {
			return fmt.Errorf("pin %s: %w", p, err)
		}
	}
	for _, p := range append(append([]string{}, s.Protected...), s.ReadOnly...) {
		if err := attachClone(newRoot+p, newRoot+p, readOnlyTree); err != nil {
			return fmt.Errorf("bind protected %s read-only: %w", p, err)
		}
	}
	for _, d := range s.DenyRead {
		if err := hide(d); err != nil {
			return fmt.Errorf("deny-read %s: %w", d.Path, err)
		}
	}
	if err := exposeCacheBinds(s); err != nil {
		return err
	}
	if s.MaskRun {
		if err := maskRun(); err != nil {
			return err
		}
	}
	if err := unix.Mount("proc", newRoot+"/proc", "proc", unix.MS_NOSUID|unix.MS_NODEV|unix.MS_NOEXEC, ""); err != nil {
		return fmt.Errorf("mount /proc: %w", err)
	}
	if err := setupDev(newRoot + "/dev"); err != nil {
		return err
	}

	if err := os.Chdir(newRoot); err != nil {
		return fmt.Errorf("chdir %s: %w", newRoot, err)
	}
	if err := unix.PivotRoot(".", "."); err != nil {
		return fmt.Errorf("pivot_root to the new root: %w", err)
	}
	if err := unix.Unmount(".", unix.MNT_DETACH); err != nil {
		return fmt.Errorf("detach the old root: %w", err)
	}
	if err := os.Chdir("/"); err != nil {
		return fmt.Errorf("chdir /: %w", err)
	}
	return nil
}

// hide covers a deny-read path in the new tree: a directory with an empty
// read-only tmpfs, a file with an empty read-only file bound over it. Empty
// rather than unreadable (mode 000): a program that reads ~/.npmrc or lists
// ~/.ssh finds nothing and goes on, as it does where they do not exist,
// instead of failing on EACCES. The cover is a mount point, so it can be
// neither removed nor renamed, and every path to the object in this tree
// (a symbolic link, /proc/self/root, "..") meets it; a hard link to the
// file cannot be made without reaching it.
func hide(d denyPath) error {
	target := newRoot + d.Path
	if d.Dir {
		return unix.Mount("cordon-deny-read", target, "tmpfs", unix.MS_NOSUID|unix.MS_NODEV|unix.MS_NOEXEC|unix.MS_RDONLY, "mode=0755,size=4k")
	}
	empty, err := emptyFile()
	if err != nil {
		return err
	}
	if err := unix.Mount(empty, target, "", unix.MS_BIND, ""); err != nil {
		return err
	}
	return unix.Mount("", target, "", unix.MS_BIND|unix.MS_REMOUNT|unix.MS_RDONLY|unix.MS_NOSUID|unix.MS_NODEV|unix.MS_NOEXEC, "")
}

// emptyFile is an empty file on the staging tmpfs (the init's "/" until the
// final pivot), made once: the source of every file cover.
func emptyFile() (string, error) {
	const p = "/deny-read-empty"
	f, err := os.OpenFile(p, os.O_CREATE|os.O_RDONLY, 0o444)
	if err != nil {
		return "", fmt.Errorf("the empty file for covers: %w", err)
	}
	f.Close()
	return p, nil
}

// runDirs hold the host daemons' Unix sockets: the system and session
// D-Bus, systemd (systemd-run --user is a way out), docker.sock, and often
// ssh-agent and gpg-agent.
var runDirs = []string{"/run", "/var/run"}

// maskRun covers each of runDirs that is a directory (/var/run is usually a
// symlink to /run) with an empty read-only tmpfs. A read-only bind mount does
// not stop connect(2) on a socket file, and Landlock can refuse it only from
// ABI 9, so without network the sockets are taken out of sight instead.
// With network the command may reach the host's services anyway.
func maskRun() error {
	for _, d := range runDirs {
		fi, err := os.Lstat(newRoot + d)
		if err != nil || !fi.IsDir() {
			continue
		}
		if err := unix.Mount("cordon-run", newRoot+d, "tmpfs", unix.MS_NOSUID|unix.MS_NODEV|unix.MS_NOEXEC|unix.MS_RDONLY, "mode=0755,size=4k"); err != nil {
			return fmt.Errorf("mask %s: %w", d, err)
		}
	}
	return nil
}

// anyUnder reports whether any of paths lies in or below one of dirs.
func anyUnder(paths, dirs []string) bool {
	for _, p := range paths {
		for _, d := range dirs {
			if p == d || strings.HasPrefix(p, d+"/") {
				return true
			}
		}
	}
	return false
}

func mountStaging() (string, error) {
	var errs []error
	for _, d := range stagingDirs {
		if fi, err := os.Lstat(d); err != nil || !fi.IsDir() {
			continue
		}
		err := unix.Mount("cordon-staging", d, "tmpfs", unix.MS_NOSUID|unix.MS_NODEV, "mode=0700")
		if err == nil {
			return d, nil
		}
		errs = append(errs, fmt.Errorf("%s: %w", d, err))
	}
	return "", fmt.Errorf("mount a staging tmpfs: no usable directory among %v: %v", stagingDirs, errs)
}

// cloneAccess is what attachClone makes of a clone: a read-only clone is
// read-only all the way down, a writable one only at its top mount.
type cloneAccess int

const (
	// readOnlyTree: every mount in the clone is made read-only.
	readOnlyTree cloneAccess = iota
	// writableTop: the top mount is made read-write and nosuid; the mounts
	// below it stay as they are (read-only, once cloned from the read-only
	// copy of the host's tree).
	writableTop
)

// attachClone clones the mount tree at src (recursively: a non-recursive
// clone of a tree with locked submounts is refused, and would hide them),
// sets its access, and attaches it at dst. Neither src nor dst is followed
// if it is a symbolic link.
func attachClone(src, dst string, access cloneAccess) error {
	fd, err := unix.OpenTree(unix.AT_FDCWD, src, unix.OPEN_TREE_CLONE|unix.OPEN_TREE_CLOEXEC|unix.AT_RECURSIVE|unix.AT_SYMLINK_NOFOLLOW)
	if err != nil {
		return fmt.Errorf("open_tree %s: %w", src, err)
	}
	defer unix.Close(fd)
	attr := unix.MountAttr{Attr_set: unix.MOUNT_ATTR_RDONLY}
	flags := uint(unix.AT_EMPTY_PATH | unix.AT_RECURSIVE)
	if access == writableTop {
		attr = unix.MountAttr{Attr_clr: unix.MOUNT_ATTR_RDONLY, Attr_set: unix.MOUNT_ATTR_NOSUID}
		flags = unix.AT_EMPTY_PATH
	}
	if err := unix.MountSetattr(fd, "", flags, &attr); err != nil {
		return fmt.Errorf("mount_setattr %s: %w", src, err)
	}
	if err := unix.MoveMount(fd, "", unix.AT_FDCWD, dst, unix.MOVE_MOUNT_F_EMPTY_PATH); err != nil {
		return fmt.Errorf("move_mount to %s: %w", dst, err)
	}
	return nil
}

// privateTmp mounts a tmpfs of size bytes on the new root's dir and binds
// each of keep below dir into it from the host's tree, read-only, outermost
// first. Writable roots among them are made read-write afterwards, like
// every other root, and their protected names read-only on top.
func privateTmp(dir string, size uint64, keep []string) error {
	if fi, err := os.Lstat(newRoot + dir); err != nil || !fi.IsDir() {
		return nil // none on the host, or a symlink into another: nothing to make private
	}
	opts := fmt.Sprintf("mode=1777,size=%d", size)
	if err := unix.Mount("cordon-tmp", newRoot+dir, "tmpfs", unix.MS_NOSUID|unix.MS_NODEV, opts); err != nil {
		return fmt.Errorf("mount private %s: %w", dir, err)
	}
	for _, k := range keep {
		if !strings.HasPrefix(k, dir+"/") {
			continue
		}
		if err := os.MkdirAll(newRoot+k, 0o755); err != nil {
			return fmt.Errorf("private %s: keep %s: %w", dir, k, err)
		}
		if err := attachClone(oldRoot+k, newRoot+k, readOnlyTree); err != nil {
			return fmt.Errorf("private %s: bind %s: %w", dir, k, err)
		}
	}
	return nil
}

// setupDev builds a minimal /dev at dir.
func setupDev(dir string) error {
	if err := unix.Mount("cordon-dev", dir, "tmpfs", unix.MS_NOSUID|unix.MS_NOEXEC, "mode=0755,size=64k"); err != nil {
		return fmt.Errorf("mount /dev tmpfs: %w", err)
	}
	for _, p := range devFiles {
		host := oldRoot + p
		if _, err := os.Stat(host); err != nil {
			continue // the host has none: neither has the sandbox
		}
		target := filepath.Join(dir, filepath.Base(p))
		f, err := os.OpenFile(target, os.O_CREATE|os.O_EXCL|os.O_WRONLY, 0o666)
		if err != nil {
			return fmt.Errorf("%s mount point: %w", p, err)
		}
		f.Close()
		if err := unix.Mount(host, target, "", unix.MS_BIND, ""); err != nil {
			return fmt.Errorf("bind %s: %w", p, err)
		}
	}
	links := [][2]string{{"fd", "/proc/self/fd"}, {"stdin", "/proc/self/fd/0"}, {"stdout", "/proc/self/fd/1"}, {"stderr", "/proc/self/fd/2"}}
	for _, l := range links {
		if err := os.Symlink(l[1], filepath.Join(dir, l[0])); err != nil {
			return fmt.Errorf("/dev/%s: %w", l[0], err)
		}
	}
	shm := filepath.Join(dir, "shm")
	if err := os.Mkdir(shm, 0o755); err != nil {
		return fmt.Errorf("/dev/shm: %w", err)
	}
	if err := unix.Mount("cordon-shm", shm, "tmpfs", unix.MS_NOSUID|unix.MS_NODEV, fmt.Sprintf("mode=1777,size=%d", shmSize)); err != nil {
		return fmt.Errorf("mount /dev/shm: %w", err)
	}
	// The mqueue file system of the sandbox's own IPC namespace
	// (mq_overview(7)): the host's queues are not in it.
	mq := filepath.Join(dir, "mqueue")
	if err := os.Mkdir(mq, 0o755); err != nil {
		return fmt.Errorf("/dev/mqueue: %w", err)
	}
	if err := unix.Mount("mqueue", mq, "mqueue", unix.MS_NOSUID|unix.MS_NODEV|unix.MS_NOEXEC, ""); err != nil {
		return fmt.Errorf("mount /dev/mqueue: %w", err)
	}
	attr := unix.MountAttr{Attr_set: unix.MOUNT_ATTR_RDONLY}
	if err := unix.MountSetattr(unix.AT_FDCWD, dir, 0, &attr); err != nil {
		return fmt.Errorf("make /dev read-only: %w", err)
	}
	return nil
}
