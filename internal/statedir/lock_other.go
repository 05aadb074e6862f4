//go:build !windows && (!unix || aix)

package statedir

import (
	"errors"
	"fmt"
	"os"
	"runtime"
)

// On systems without flock or LockFileEx in golang.org/x/sys the store
// cannot be shared safely between processes, so it is not used at all.
func tryLock(*os.File, bool) (bool, error) {
	return false, fmt.Errorf("file locking is not implemented on %s: %w", runtime.GOOS, errors.ErrUnsupported)
}

func unlock(*os.File) {}

func replaceFile(from, to string) error { return os.Rename(from, to) }

func syncDir(string) error { return nil }
