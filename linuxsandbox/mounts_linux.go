package linuxsandbox

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"golang.org/x/sys/unix"
)

// The mount layout, built by stage 1 in its own mount namespace (nothing of
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
//     /newroot (move_mount(2)).
//  4. Each writable root, outermost first (a temp root may hold the
//     workspace), is cloned from that read-only copy, recursively,
//     its top mount made read-write (mount_setattr(2) clearing
//     MOUNT_ATTR_RDONLY, not recursive: file systems mounted below a root
//     stay read-only, the conservative reading of a policy that names the
//     directory), and attached over itself.
//  5. Each protected name inside a writable root is cloned the same way,
//     made read-only recursively and attached over itself. The clone and
//     the attachment do not follow a final symbolic link
//     (AT_SYMLINK_NOFOLLOW, no MOVE_MOUNT_T_SYMLINKS): a .git that is a
//     gitfile or a .codex that is a symlink is itself the mount point, so
//     it can be neither rewritten nor removed nor replaced (a mount point
//     cannot be unlinked or renamed over: EBUSY), and a symlink still
//     resolves as before. Missing names were created empty by the parent.
//  6. Read-only policies get a private tmpfs on /tmp (the command's
//     scratch space, gone with it); a cwd below /tmp is bound into it
//     read-only so that it stays visible.
//  7. A fresh /proc for the new PID namespace, and a minimal /dev: a tmpfs
//     with the host's null, zero, full, random, urandom and tty bound in,
//     the usual fd/stdin/stdout/stderr symlinks, a private /dev/shm, then
//     the tmpfs itself made read-only.
//  8. pivot_root(".", ".") from /newroot and a lazy unmount of the old root
//     (the staging tmpfs with the host tree under it): nothing outside the
//     new tree is reachable any more.
//
// Stage 2 then enters a mount namespace of its own owned by a nested user
// namespace, which locks all of this (mount_namespaces(7)).
//
// Requires Linux 5.12 (mount_setattr).

const (
	tmpDir  = "/tmp"
	newRoot = "/newroot"
	oldRoot = "/oldroot"
)

// stagingDirs are the host directories the staging tmpfs may be mounted on
// (in stage 1's namespace only), first existing one wins. Which one does not
// matter: once pivoted away from, its own contents are visible again under
// /oldroot.
var stagingDirs = []string{"/tmp", "/mnt", "/run", "/var/tmp", "/srv", "/opt", "/home"}

// devNodes are bound from the host's /dev into the sandbox's.
var devNodes = []string{"null", "zero", "full", "random", "urandom", "tty"}

// devFiles are the device files the command may write (Landlock).
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

	if err := attachClone(oldRoot, newRoot, true, true); err != nil {
		return fmt.Errorf("bind / read-only: %w", err)
	}
	for _, r := range s.Roots {
		if err := attachClone(newRoot+r, newRoot+r, false, false); err != nil {
			return fmt.Errorf("bind writable root %s read-write: %w", r, err)
		}
	}
	for _, p := range s.Protected {
		if err := attachClone(newRoot+p, newRoot+p, true, true); err != nil {
			return fmt.Errorf("bind protected %s read-only: %w", p, err)
		}
	}
	if s.PrivateTmp {
		if err := privateTmp(s.TmpKeep); err != nil {
			return err
		}
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

// attachClone clones the mount tree at src (recursively: a non-recursive
// clone of a tree with locked submounts is refused, and would hide them),
// sets its top mount read-only or read-write (and every mount below it too
// when recursive), and attaches it at dst. Neither src nor dst is followed
// if it is a symbolic link.
func attachClone(src, dst string, readOnly, recursive bool) error {
	fd, err := unix.OpenTree(unix.AT_FDCWD, src, unix.OPEN_TREE_CLONE|unix.OPEN_TREE_CLOEXEC|unix.AT_RECURSIVE|unix.AT_SYMLINK_NOFOLLOW)
	if err != nil {
		return fmt.Errorf("open_tree %s: %w", src, err)
	}
	defer unix.Close(fd)
	attr := unix.MountAttr{Attr_clr: unix.MOUNT_ATTR_RDONLY}
	if readOnly {
		attr = unix.MountAttr{Attr_set: unix.MOUNT_ATTR_RDONLY}
	}
	flags := uint(unix.AT_EMPTY_PATH)
	if recursive {
		flags |= unix.AT_RECURSIVE
	}
	if err := unix.MountSetattr(fd, "", flags, &attr); err != nil {
		return fmt.Errorf("mount_setattr %s: %w", src, err)
	}
	if err := unix.MoveMount(fd, "", unix.AT_FDCWD, dst, unix.MOVE_MOUNT_F_EMPTY_PATH); err != nil {
		return fmt.Errorf("move_mount to %s: %w", dst, err)
	}
	return nil
}

// privateTmp mounts a tmpfs on the new root's /tmp and binds each of keep
// (directories below /tmp: the cwd) into it read-only, from the host's tree.
func privateTmp(keep []string) error {
	if _, err := os.Stat(newRoot + tmpDir); err != nil {
		return nil // no /tmp on the host: nothing to make private
	}
	if err := unix.Mount("cordon-tmp", newRoot+tmpDir, "tmpfs", unix.MS_NOSUID|unix.MS_NODEV, "mode=1777"); err != nil {
		return fmt.Errorf("mount private /tmp: %w", err)
	}
	for _, k := range keep {
		if !strings.HasPrefix(k, tmpDir+"/") {
			continue
		}
		if err := os.MkdirAll(newRoot+k, 0o755); err != nil {
			return fmt.Errorf("private /tmp: keep %s: %w", k, err)
		}
		if err := attachClone(oldRoot+k, newRoot+k, true, true); err != nil {
			return fmt.Errorf("private /tmp: bind %s read-only: %w", k, err)
		}
	}
	return nil
}

// setupDev builds a minimal /dev at dir.
func setupDev(dir string) error {
	if err := unix.Mount("cordon-dev", dir, "tmpfs", unix.MS_NOSUID|unix.MS_NOEXEC, "mode=0755,size=64k"); err != nil {
		return fmt.Errorf("mount /dev tmpfs: %w", err)
	}
	for _, n := range devNodes {
		host := oldRoot + "/dev/" + n
		if _, err := os.Stat(host); err != nil {
			continue // the host has none: neither has the sandbox
		}
		target := filepath.Join(dir, n)
		f, err := os.OpenFile(target, os.O_CREATE|os.O_EXCL|os.O_WRONLY, 0o666)
		if err != nil {
			return fmt.Errorf("/dev/%s mount point: %w", n, err)
		}
		f.Close()
		if err := unix.Mount(host, target, "", unix.MS_BIND, ""); err != nil {
			return fmt.Errorf("bind /dev/%s: %w", n, err)
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
	if err := unix.Mount("cordon-shm", shm, "tmpfs", unix.MS_NOSUID|unix.MS_NODEV, "mode=1777"); err != nil {
		return fmt.Errorf("mount /dev/shm: %w", err)
	}
	attr := unix.MountAttr{Attr_set: unix.MOUNT_ATTR_RDONLY}
	if err := unix.MountSetattr(unix.AT_FDCWD, dir, 0, &attr); err != nil {
		return fmt.Errorf("make /dev read-only: %w", err)
	}
	return nil
}
