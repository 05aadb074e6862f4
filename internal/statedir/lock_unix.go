//go:build unix && !aix

// AIX is excluded because golang.org/x/sys/unix has no Flock there; it gets
// lock_other.go.

package statedir

import (
	"errors"
	"os"

	"golang.org/x/sys/unix"
)

// tryLock takes a flock lock without blocking and reports whether it got it.
func tryLock(f *os.File, exclusive bool) (bool, error) {
	how := unix.LOCK_SH
	if exclusive {
		how = unix.LOCK_EX
	}
	var lerr error
	err := control(f, func(fd int) {
		for {
			if lerr = unix.Flock(fd, how|unix.LOCK_NB); lerr != unix.EINTR {
				return
			}
		}
	})
	switch {
	case err != nil:
		return false, err
	case lerr == nil:
		return true, nil
	case errors.Is(lerr, unix.EWOULDBLOCK):
		return false, nil
	}
	return false, os.NewSyscallError("flock", lerr)
}

func unlock(f *os.File) {
	control(f, func(fd int) { unix.Flock(fd, unix.LOCK_UN) })
}

func control(f *os.File, fn func(fd int)) error {
	rc, err := f.SyscallConn()
	if err != nil {
		return err
	}
	return rc.Control(func(fd uintptr) { fn(int(fd)) })
}

// replaceFile renames from over to; rename(2) is atomic on one file system.
func replaceFile(from, to string) error { return os.Rename(from, to) }

// syncDir flushes dir so that a rename in it survives a crash. File systems
// that cannot sync a directory (EINVAL, ENOTSUP) are tolerated.
func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	defer d.Close()
	if err := d.Sync(); err != nil && !errors.Is(err, unix.EINVAL) && !errors.Is(err, unix.ENOTSUP) {
		return err
	}
	return nil
}
