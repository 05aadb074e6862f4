//go:build windows

package aclhelper

import (
	"fmt"
	"runtime"
	"sync"

	"golang.org/x/sys/windows"
)

// winMutex is the named mutex. A mutex is owned by a thread, not a
// process: ReleaseMutex fails on any other thread ("The ReleaseMutex
// function fails if the calling thread does not own the mutex object",
// ReleaseMutex, Microsoft Learn), and Go moves goroutines between
// threads. So every wait and release happens on one goroutine locked to
// its thread (owner), which the other methods drive through a channel.
//
// The handle is opened once, with CreateMutexW(initial owner FALSE), and
// kept open until Close, taken by WaitForSingleObject with a zero timeout:
// WAIT_OBJECT_0 is ownership, WAIT_TIMEOUT another owner, WAIT_ABANDONED
// ownership of a mutex whose owner "terminated without releasing" it
// (WaitForSingleObject, Microsoft Learn). A mutex lives while any handle
// to it is open, so abandonment is seen only by a process that had the
// handle open when the owner died (a waiting helper, doctor); the journal
// does not depend on it.
type winMutex struct {
	req  chan func()
	once sync.Once
	h    windows.Handle
	held bool // owned by this Mutex (touched only on the owner goroutine)
}

// NewMutex opens (creating if needed) the named mutex name; dir is
// unused on Windows.
func NewMutex(name, dir string) (Mutex, error) {
	_ = dir
	n, err := windows.UTF16PtrFromString(name)
	if err != nil {
		return nil, fmt.Errorf("read-ACL mutex %s: %w", name, err)
	}
	m := &winMutex{req: make(chan func())}
	errc := make(chan error, 1)
	go m.owner(n, errc)
	if err := <-errc; err != nil {
		return nil, fmt.Errorf("read-ACL mutex %s: %w", name, err)
	}
	return m, nil
}

// owner opens the handle and then runs requests until Close. Returning
// while still locked to the thread ends the thread (runtime.LockOSThread),
// so a mutex somehow still owned then is abandoned, not kept.
func (m *winMutex) owner(name *uint16, errc chan<- error) {
	runtime.LockOSThread()
	h, err := windows.CreateMutex(nil, false, name)
	if err == windows.ERROR_ALREADY_EXISTS {
		err = nil // opened the existing mutex, not owning it: as asked
	}
	if err != nil {
		errc <- err
		return
	}
	m.h = h
	errc <- nil
	for f := range m.req {
		f()
	}
}

func (m *winMutex) do(f func()) {
	done := make(chan struct{})
	m.req <- func() { f(); close(done) }
	<-done
}

func (m *winMutex) TryLock() (ok, abandoned bool, err error) {
	m.do(func() {
		if m.held {
			err = fmt.Errorf("read-ACL mutex: already locked by this process")
			return
		}
		ev, werr := windows.WaitForSingleObject(m.h, 0)
		switch {
		case werr != nil:
			err = fmt.Errorf("read-ACL mutex: wait: %w", werr)
		case ev == windows.WAIT_OBJECT_0:
			ok = true
		case ev == windows.WAIT_ABANDONED:
			ok, abandoned = true, true
		case ev == uint32(windows.WAIT_TIMEOUT):
		default:
			err = fmt.Errorf("read-ACL mutex: wait returned %#x", ev)
		}
		m.held = ok
	})
	return ok, abandoned, err
}

func (m *winMutex) Unlock() (err error) {
	m.do(func() {
		if !m.held {
			err = fmt.Errorf("read-ACL mutex: not locked")
			return
		}
		if rerr := windows.ReleaseMutex(m.h); rerr != nil {
			err = fmt.Errorf("read-ACL mutex: release: %w", rerr)
			return
		}
		m.held = false
	})
	return err
}

// Held takes and at once releases the mutex when it is free: a mutex
// object cannot be asked who owns it without NtQueryMutant.
func (m *winMutex) Held() (held bool, err error) {
	m.do(func() {
		if m.held {
			held = true
			return
		}
		ev, werr := windows.WaitForSingleObject(m.h, 0)
		switch {
		case werr != nil:
			err = fmt.Errorf("read-ACL mutex: wait: %w", werr)
		case ev == windows.WAIT_OBJECT_0 || ev == windows.WAIT_ABANDONED:
			err = windows.ReleaseMutex(m.h)
		default:
			held = true
		}
	})
	return held, err
}

func (m *winMutex) Close() (err error) {
	m.once.Do(func() {
		m.do(func() {
			if m.held {
				err = windows.ReleaseMutex(m.h)
				m.held = false
			}
			if cerr := windows.CloseHandle(m.h); err == nil {
				err = cerr
			}
		})
		close(m.req)
	})
	return err
}
