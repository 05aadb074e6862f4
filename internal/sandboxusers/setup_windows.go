//go:build windows

package sandboxusers

import (
	"context"
	"crypto/rand"
	"io"
	"path/filepath"
	"time"

	"github.com/cordon-sandbox/cordon/internal/statedir"
)

// Setup performs cordon's setup on this machine: it creates or repairs the
// sandbox group and users, keeps their passwords in the state directory
// under DPAPI, and writes the marker (or, with opts.Remove, undoes all of
// it). It needs administrator rights unless opts.DryRun (a dry run by a
// standard user may still fail where Windows refuses to show an account,
// with CodeNeedsAdmin); a caller without them runs itself through
// [Elevate]. One setup runs at a time (CodeBusy).
func Setup(ctx context.Context, opts Options, w io.Writer) (Report, error) {
	if !opts.DryRun {
		admin, err := IsAdmin()
		if err != nil {
			return Report{}, &Error{Code: CodeFailed, Op: "checking for administrator rights", Err: err}
		}
		if !admin {
			return Report{}, &Error{Code: CodeNeedsAdmin, Op: "checking for administrator rights"}
		}
	}
	if err := checkUser(opts.ForUserSID); err != nil {
		return Report{}, err
	}
	dir := opts.StateDir
	if dir == "" {
		d, err := statedir.Dir()
		if err != nil {
			return Report{}, &Error{Code: CodeFailed, Op: "finding the state directory", Err: err}
		}
		dir = d
	}
	dir = filepath.Join(dir, SubDir)
	sys := System{
		Accounts: SAM{},
		Secrets:  FileSecrets{Dir: dir, P: DPAPI{}},
		Markers:  FileMarkers{Dir: dir},
		Rand:     rand.Reader,
		Now:      time.Now,
	}
	if opts.DryRun {
		return Run(ctx, sys, Default(), opts, w)
	}
	if err := makePrivateDir(dir); err != nil {
		return Report{}, &Error{Code: CodeSecret, Op: "creating " + dir, Err: err}
	}
	release, ok, err := statedir.TryLock(filepath.Join(dir, "setup.lock"), true)
	if err != nil {
		return Report{}, &Error{Code: CodeFailed, Op: "locking " + dir, Err: err}
	}
	if !ok {
		return Report{}, &Error{Code: CodeBusy, Op: "locking " + dir}
	}
	defer release()
	// A setup killed inside statedir.WriteFile leaves its temporary file;
	// only the lock holder may remove them.
	statedir.RemoveStaleTemps(sys.Markers.(FileMarkers).path())
	for _, u := range Default().Users {
		statedir.RemoveStaleTemps(sys.Secrets.(FileSecrets).path(u))
	}
	return Run(ctx, sys, Default(), opts, w)
}
