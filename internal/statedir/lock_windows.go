//go:build windows

package statedir

import (
	"errors"
	"os"
	"time"

	"golang.org/x/sys/windows"
)

// tryLock takes a LockFileEx lock on the first byte without blocking and
// reports whether it got it. The lock file is never read or written, so
// Windows' mandatory byte-range locking has nothing to get in the way of.
func tryLock(f *os.File, exclusive bool) (bool, error) {
	flags := uint32(windows.LOCKFILE_FAIL_IMMEDIATELY)
	if exclusive {
		flags |= windows.LOCKFILE_EXCLUSIVE_LOCK
	}
	var lerr error
	err := control(f, func(h windows.Handle) {
		lerr = windows.LockFileEx(h, flags, 0, 1, 0, new(windows.Overlapped))
	})
	switch {
	case err != nil:
		return false, err
	case lerr == nil:
		return true, nil
	case errors.Is(lerr, windows.ERROR_LOCK_VIOLATION):
		return false, nil
	}
	return false, os.NewSyscallError("LockFileEx", lerr)
}

func unlock(f *os.File) {
	control(f, func(h windows.Handle) {
		windows.UnlockFileEx(h, 0, 1, 0, new(windows.Overlapped))
	})
}

func control(f *os.File, fn func(h windows.Handle)) error {
	rc, err := f.SyscallConn()
	if err != nil {
		return err
	}
	return rc.Control(func(h uintptr) { fn(windows.Handle(h)) })
}

// replaceFile moves from over to with MoveFileEx. MOVEFILE_WRITE_THROUGH
// returns only once the move is on disk, which stands in for syncing the
// directory. Readers of the store hold the lock, so none has it open now,
// but a virus scanner or indexer may, briefly: sharing violations and
// access denied are retried for about half a second.
func replaceFile(from, to string) error {
	from16, err := windows.UTF16PtrFromString(from)
	if err != nil {
		return err
	}
	to16, err := windows.UTF16PtrFromString(to)
	if err != nil {
		return err
	}
	for try := 0; ; try++ {
		err = windows.MoveFileEx(from16, to16, windows.MOVEFILE_REPLACE_EXISTING|windows.MOVEFILE_WRITE_THROUGH)
		if err == nil {
			return nil
		}
		if try == 20 || !(errors.Is(err, windows.ERROR_SHARING_VIOLATION) || errors.Is(err, windows.ERROR_ACCESS_DENIED)) {
			return &os.LinkError{Op: "MoveFileEx", Old: from, New: to, Err: err}
		}
		time.Sleep(25 * time.Millisecond)
	}
}

// syncDir does nothing: Windows cannot flush a directory opened for reading,
// and replaceFile's MOVEFILE_WRITE_THROUGH already made the rename durable.
func syncDir(string) error { return nil }
