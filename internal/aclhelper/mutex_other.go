//go:build !windows

package aclhelper

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"sync"

	"github.com/cordon-sandbox/cordon/internal/statedir"
)

// fileMutex stands in for the named mutex: an exclusive flock on
// dir/read-acl.lock, which the kernel drops when its holder dies, and a
// holder mark (dir/read-acl.holder, the holder's PID) written after the
// lock is taken and removed before it is released. A mark found by the
// next holder is what WAIT_ABANDONED is on Windows.
type fileMutex struct {
	lock, mark string
	mu         sync.Mutex
	release    func()
}

// NewMutex returns the helper's mutex. name is the Windows object name
// (MutexName); here it is unused, and dir, the state directory, holds the
// lock file.
func NewMutex(name, dir string) (Mutex, error) {
	_ = name
	if dir == "" {
		return nil, fmt.Errorf("read-ACL mutex: no state directory")
	}
	return &fileMutex{lock: filepath.Join(dir, "read-acl.lock"), mark: filepath.Join(dir, "read-acl.holder")}, nil
}

func (m *fileMutex) TryLock() (bool, bool, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.release != nil {
		return false, false, fmt.Errorf("read-ACL mutex: already locked by this process")
	}
	rel, ok, err := statedir.TryLock(m.lock, true)
	if err != nil || !ok {
		return false, false, err
	}
	_, err = os.Stat(m.mark)
	abandoned := err == nil
	if err := os.WriteFile(m.mark, []byte(strconv.Itoa(os.Getpid())), 0o600); err != nil {
		rel()
		return false, false, fmt.Errorf("read-ACL mutex: %w", err)
	}
	m.release = rel
	return true, abandoned, nil
}

func (m *fileMutex) Unlock() error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.release == nil {
		return fmt.Errorf("read-ACL mutex: not locked")
	}
	err := os.Remove(m.mark)
	m.release()
	m.release = nil
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("read-ACL mutex: %w", err)
	}
	return nil
}

func (m *fileMutex) Held() (bool, error) {
	m.mu.Lock()
	mine := m.release != nil
	m.mu.Unlock()
	if mine {
		return true, nil
	}
	rel, ok, err := statedir.TryLock(m.lock, true)
	if err != nil {
		return false, err
	}
	if ok {
		rel()
	}
	return !ok, nil
}

func (m *fileMutex) Close() error {
	m.mu.Lock()
	locked := m.release != nil
	m.mu.Unlock()
	if locked {
		return m.Unlock()
	}
	return nil
}
