package statedir

import (
	"context"
	"fmt"
	"os"
	"time"
)

// maxPoll bounds the wait between two attempts to take a busy lock.
const maxPoll = 25 * time.Millisecond

// fileLock is a held lock on a lock file.
type fileLock struct{ f *os.File }

// acquire opens the lock file at path, creating it if needed, and locks it,
// exclusively or shared, waiting until it gets the lock or ctx is done (an
// already cancelled ctx fails at once).
//
// The locks are flock on Unix and LockFileEx on Windows. Both are held by an
// open file, so two goroutines of one process exclude each other exactly as
// two processes do, and both vanish when their holder dies, so a crashed
// cordon never leaves the store locked. Neither blocking call can be handed
// a context, so acquire polls with non-blocking attempts, 1 ms apart at
// first and maxPoll at most: cancellation is prompt and the cost is nil for a
// lock held for a few milliseconds per command.
func acquire(ctx context.Context, path string, exclusive bool) (*fileLock, error) {
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("statedir: not locking %s: %w", path, err)
	}
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return nil, fmt.Errorf("statedir: opening the lock file: %w", err)
	}
	wait := time.Millisecond
	var timer *time.Timer
	for {
		ok, err := tryLock(f, exclusive)
		if err != nil {
			f.Close()
			return nil, fmt.Errorf("statedir: locking %s: %w", path, err)
		}
		if ok {
			if timer != nil {
				timer.Stop()
			}
			return &fileLock{f: f}, nil
		}
		if timer == nil {
			timer = time.NewTimer(wait)
		} else {
			timer.Reset(wait)
		}
		select {
		case <-ctx.Done():
			timer.Stop()
			f.Close()
			return nil, fmt.Errorf("statedir: waiting for the lock on %s, held by another cordon process: %w", path, ctx.Err())
		case <-timer.C:
		}
		wait = min(2*wait, maxPoll)
	}
}

// release unlocks and closes. Closing alone would release the lock too;
// unlocking first does not depend on that.
func (l *fileLock) release() {
	unlock(l.f)
	l.f.Close()
}

// Lock takes the lock on the file at path (created if needed), exclusive
// or shared, with acquire's waiting and cancellation, and returns the
// function that releases it. Every file in the state directory that more
// than one cordon process may write is guarded by one: the capability SID
// store, the record of applied ACEs, and the lock every running sandbox
// holds shared so that cleanup, which takes it exclusive, never removes
// ACEs from under a running command. A lock file is never deleted:
// removing it would let two processes lock two different files of the
// same name.
func Lock(ctx context.Context, path string, exclusive bool) (release func(), err error) {
	l, err := acquire(ctx, path, exclusive)
	if err != nil {
		return nil, err
	}
	return l.release, nil
}

// WithLock runs f holding the exclusive lock on the file at path; f must
// not take the same lock.
func WithLock(ctx context.Context, path string, f func() error) error {
	release, err := Lock(ctx, path, true)
	if err != nil {
		return err
	}
	defer release()
	return f()
}

// TryLock takes the lock on the file at path (created if needed) if it is
// free now, and never waits: ok is false when another holder has it.
func TryLock(path string, exclusive bool) (release func(), ok bool, err error) {
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return nil, false, fmt.Errorf("statedir: opening the lock file: %w", err)
	}
	got, err := tryLock(f, exclusive)
	if err != nil || !got {
		f.Close()
		if err != nil {
			return nil, false, fmt.Errorf("statedir: locking %s: %w", path, err)
		}
		return nil, false, nil
	}
	l := &fileLock{f: f}
	return l.release, true, nil
}
