//go:build !windows

package jobobject

import (
	"errors"
	"fmt"
)

// errNotWindows is what everything returns outside Windows; it matches
// errors.ErrUnsupported.
var errNotWindows = fmt.Errorf("jobobject: job objects exist only on Windows: %w", errors.ErrUnsupported)

// Job is a placeholder outside Windows: [Create] never returns one. The
// Windows-only methods Handle, Assign and Contains are absent because their
// signatures use windows.Handle.
type Job struct{}

// Create fails: job objects exist only on Windows. The error matches
// errors.ErrUnsupported.
func Create(Options) (*Job, error) { return nil, errNotWindows }

// Terminate fails: job objects exist only on Windows.
func (*Job) Terminate(uint32) error { return errNotWindows }

// Close does nothing and returns nil, so that a deferred Close is harmless.
func (*Job) Close() error { return nil }

// Pids fails: job objects exist only on Windows.
func (*Job) Pids() ([]uint32, error) { return nil, errNotWindows }
