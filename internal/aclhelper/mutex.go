package aclhelper

import "errors"

// MutexName is the machine-wide name of the helper's mutex. "Local\" is
// the session namespace (Kernel Object Namespaces, Microsoft Learn): the
// helper runs as the real user in that user's session, where every cordon
// of the user looks for it.
const MutexName = `Local\CordonReadAcl`

// Mutex is the one-helper-at-a-time lock. Windows: a named mutex
// (OpenMutex, mutex_windows.go); elsewhere a file lock in the state
// directory (statedir.TryLock), so that the helper's logic runs and is
// tested on Linux.
type Mutex interface {
	// TryLock takes the mutex if it is free now and never waits. ok is
	// false while another holder has it. abandoned says the previous
	// holder died holding it (WAIT_ABANDONED on Windows; a holder mark
	// left behind elsewhere): the journal then says where it stopped.
	TryLock() (ok, abandoned bool, err error)
	// Unlock releases a mutex TryLock took.
	Unlock() error
	// Held reports whether a holder has the mutex now, without taking
	// it for longer than the probe: for Status.
	Held() (bool, error)
	// Close releases what the Mutex holds open; it unlocks first if
	// locked.
	Close() error
}

// ErrHeld is returned, wrapped, by Run when another helper holds the
// mutex: the caller exits, and that helper picks up the queued items.
var ErrHeld = errors.New("another read-ACL helper is running")
