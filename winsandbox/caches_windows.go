package winsandbox

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"syscall"

	"github.com/cordon-sandbox/cordon/internal/cachelayer"
	"github.com/cordon-sandbox/cordon/internal/statedir"
	"github.com/cordon-sandbox/cordon/sandbox"
)

// cacheRun is the host side of a run's tool caches (caches.go).
type cacheRun struct {
	env     []string // the command's environment, variables redirected
	dirs    []string // the variables' directories, evicted from after the run
	base    string   // their parent, <own temp>\cache
	cap     uint64
	release func() // the workspace's cache lock, held shared
}

// takeCaches readies the run's tool caches: it decides what to redirect
// (redirectCaches), takes the workspace's cache lock shared (`cordon cache
// clear` takes it exclusive), records workspace.json for `cordon cache
// list` and creates the variables' directories. state is the final path
// of the state directory. Only ctx's end fails the run; anything else
// leaves the caches read-only, and the notes say why.
func (s *setup) takeCaches(ctx context.Context, spec sandbox.Spec, state string) error {
	red := redirectCaches(spec.Policy, spec.Env)
	s.notes = append(s.notes, red.Notes...)
	if len(red.Dirs) == 0 {
		return nil
	}
	skip := func(err error) error {
		s.notes = append(s.notes, fmt.Sprintf("tool caches stay read-only: %v", err))
		return nil
	}
	ws := cachelayer.Open(state, spec.Policy.Cwd)
	ws.Vars = red.Base
	if err := os.MkdirAll(ws.Dir, 0o700); err != nil {
		return skip(err)
	}
	wctx, cancel := context.WithTimeout(ctx, lockWait)
	release, err := statedir.Lock(wctx, ws.LockPath(), false)
	cancel()
	if err != nil {
		if ctx.Err() != nil {
			return fmt.Errorf("%w: waiting for the cache layers of %s (cordon cache clear holds them): %v", sandbox.ErrBusy, spec.Policy.Cwd, err)
		}
		return skip(err)
	}
	cr := &cacheRun{env: red.Env, dirs: red.Dirs, base: red.Base, cap: spec.Policy.CacheCap, release: release}
	for _, d := range append([]string{red.Base}, red.Dirs...) {
		if err := plainDir(d); err != nil {
			release()
			return skip(err)
		}
	}
	if err := ws.Record(red.Caches); err != nil {
		// The layers work; only cordon cache list and clear miss them.
		s.notes = append(s.notes, fmt.Sprintf("tool caches: not recorded for cordon cache: %v", err))
	}
	s.caches = cr
	return nil
}

// plainDir makes p a plain directory: created if missing (inheriting its
// parent's ACEs and label, as every object of the root does), and made
// again if it is anything else. A previous run of the workspace may have
// left a junction or symbolic link there (it may write its temp root):
// cordon, which runs as the user, must not create, walk or evict through
// it. Removing a link removes the link alone (RemoveDirectory, DeleteFile).
func plainDir(p string) error {
	plain, err := isPlainDir(p)
	if err == nil && plain {
		return nil
	}
	if err == nil {
		if err := os.Remove(p); err != nil {
			return fmt.Errorf("tool cache directory %s is a link or a file and could not be removed: %w", p, err)
		}
	} else if !errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("tool cache directory %s: %w", p, err)
	}
	if err := os.Mkdir(p, 0o700); err != nil {
		return fmt.Errorf("tool cache directory: %w", err)
	}
	return nil
}

// isPlainDir reports whether p itself (not what it points to) is a
// directory that is no reparse point.
func isPlainDir(p string) (bool, error) {
	fi, err := os.Lstat(p)
	if err != nil {
		return false, err
	}
	if a, ok := fi.Sys().(*syscall.Win32FileAttributeData); ok && a.FileAttributes&syscall.FILE_ATTRIBUTE_REPARSE_POINT != 0 {
		return false, nil
	}
	return fi.Mode().Type() == fs.ModeDir, nil
}

// commandEnv is env with the tools' variables redirected, or env when
// nothing is.
func (cr *cacheRun) commandEnv(env []string) []string {
	if cr == nil {
		return env
	}
	return cr.env
}

// finish runs once the command and its job are gone: it evicts what
// exceeds the cap from the directories, if they are still plain
// directories (the command may have swapped one for a link to somewhere
// cordon must not remove files from), and releases the lock.
func (cr *cacheRun) finish() {
	if cr == nil || cr.release == nil {
		return
	}
	var dirs []string
	if ok, _ := isPlainDir(cr.base); ok {
		for _, d := range cr.dirs {
			if ok, _ := isPlainDir(d); ok {
				dirs = append(dirs, d)
			}
		}
	}
	_, _, _ = cachelayer.Evict(dirs, cr.cap)
	cr.release()
	cr.release = nil
}
