// Package ntfs is the real Windows file system for cordon's restricted-token
// backend: a [fsview.View] that reads NTFS objects and their security
// descriptors, and [Apply], which writes a plan's edits to them.
//
// # Reading: one handle per object, never through a reparse point
//
// Every object is opened by handle with FILE_FLAG_BACKUP_SEMANTICS (so that
// a directory opens at all) and FILE_FLAG_OPEN_REPARSE_POINT, so that a
// junction or symbolic link is examined itself and never followed: a
// junction inside the workspace that points at C:\Windows is reported as a
// Junction, with its target, and the planner never treats C:\Windows as part
// of the workspace. Only the last component is opened that way: the
// components above it are resolved as Windows resolves them, which is why
// the planner only asks about paths it built from roots it has already seen
// to be plain directories, and why List refuses a reparse point. Everything
// about one object (its attributes, reparse tag and target, and its
// descriptor) comes from that one handle, so a swap between two calls cannot
// mix two objects into one Node.
//
// A Stat asks for READ_CONTROL and FILE_READ_ATTRIBUTES only: no data, no
// write access, nothing that takes an oplock or wakes a cloud provider. The
// owner, group, DACL and mandatory label are read with GetSecurityInfo on
// that handle, as self-relative bytes decoded by [ntsec.ParseBinary]. The
// label lives in the SACL, but LABEL_SECURITY_INFORMATION reads it with
// READ_CONTROL alone; SACL_SECURITY_INFORMATION would need
// ACCESS_SYSTEM_SECURITY and SeSecurityPrivilege, and would read audit ACEs
// the model rejects. Where READ_CONTROL is refused the object is still
// reported, with a nil SD, which the planner treats as unreadable.
//
// A file's number of names (fsview.Node.Links) comes from the same handle
// (GetFileInformationByHandle): the planner lists a file with more than one
// in Plan.Linked, and propagation never rewrites it, since another of its
// names may lie outside every root.
//
// Reparse points: the tag, read with GetFileInformationByHandleEx
// (FileAttributeTagInfo), decides. IO_REPARSE_TAG_MOUNT_POINT is a Junction
// and IO_REPARSE_TAG_SYMLINK a Symlink, their Target the substitute name
// from FSCTL_GET_REPARSE_POINT with \??\ stripped (a relative symlink's
// target is resolved against the link's directory). Any other name-surrogate
// tag (a WSL symlink, a container link) aliases something the view cannot
// name: it is reported as a Symlink with an empty Target, so the planner
// neither descends into it nor accepts it as a root. Tags that are not name
// surrogates (OneDrive and other cloud-file placeholders, deduplicated files,
// AF_UNIX sockets, ...) mark an ordinary file or directory that a filter
// driver serves: refusing them would refuse every OneDrive workspace, so
// they are File or Directory according to FILE_ATTRIBUTE_DIRECTORY, and the
// view records their tags ([View.Tags]).
//
// # Why a warm run reads O(roots)
//
// The view answers exactly the Stat and List calls the planner makes, one
// handle each, and never walks a tree: the planner reads the writable roots,
// the protected names inside them and the directories the world-writable
// audit visits. On a warm run every ACE is already in place, so the plan is
// empty and [Apply] opens nothing at all. The anchor instead re-stamps every
// root's whole tree on every command (20 to 120 s on large repositories);
// here the tree below a root is written only when its root's ACEs change,
// by Windows' own propagation. [View.Reads] counts the calls, as
// fsview.Memory does, so tests can hold the planner to that.
//
// # Writing
//
// [Apply] writes edits one at a time, in the plan's order (denies before
// the grants they guard), checking each object first and writing nothing
// when it already holds what the edit asks for: applying a plan twice writes
// once. See apply_windows.go for how each op maps to Windows and where that
// differs from plan.Apply's model. [ApplyAll] rolls back the edits already
// applied when one fails.
package ntfs

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"strings"
	"sync"
	"sync/atomic"

	"github.com/cordon-sandbox/cordon/fsview"
	"github.com/cordon-sandbox/cordon/plan"
)

// ErrNotWindows is returned, wrapped, by every operation on other systems.
var ErrNotWindows = errors.New("NTFS views exist only on Windows")

var _ fsview.View = (*View)(nil)

// View is the file system of the running Windows machine. The zero View is
// not ready for use; call [NewView]. A View is safe for concurrent use.
type View struct {
	reads atomic.Int64
	mu    sync.Mutex
	tags  map[string]uint32 // by canonical path: see Tags
}

// NewView returns a view of the machine's file systems.
func NewView() *View { return &View{tags: map[string]uint32{}} }

// Reads returns how many Stat and List calls the view has answered.
func (v *View) Reads() int64 { return v.reads.Load() }

// ResetReads sets the read counter to zero.
func (v *View) ResetReads() { v.reads.Store(0) }

// Tags returns the objects seen so far that carry a reparse tag other than
// a junction's or a symlink's, with their tags: cloud-file placeholders,
// deduplicated files and the like, reported as plain files and directories,
// and other name surrogates, reported as symlinks without a target.
func (v *View) Tags() map[string]uint32 {
	v.mu.Lock()
	defer v.mu.Unlock()
	out := make(map[string]uint32, len(v.tags))
	for k, t := range v.tags {
		out[k] = t
	}
	return out
}

func (v *View) recordTag(path string, tag uint32) {
	v.mu.Lock()
	defer v.mu.Unlock()
	if v.tags == nil {
		v.tags = map[string]uint32{}
	}
	v.tags[path] = tag
}

func sortNames(names []string) []string {
	sort.Strings(names)
	return names
}

// Apply applies edits to the file system in order and returns how many
// descriptors it wrote: one per edit that changed its object (an ACE added
// or removed, a label set or removed, a placeholder created); edits already
// in effect, and label edits whose compare-and-swap finds another label,
// write nothing.
// The descriptors Windows rewrites below an edited directory when it
// propagates inheritance are not counted (plan.Apply's model counts them).
//
// A failure stops the run: Apply returns the writes made so far and an
// error naming the edit's op, ACE and path. The edits before it stay
// applied; a caller that wants all or nothing uses [ApplyAll], which undoes
// them with plan.Inverse.
func Apply(ctx context.Context, edits []plan.Edit) (writes int, err error) {
	if !supported {
		return 0, ErrNotWindows
	}
	writes, _, err = run(ctx, edits, applyEdit, false)
	return writes, err
}

// ApplyAll applies edits like [Apply]. When one fails it undoes, best
// effort, the edits that had changed something before it, by applying
// plan.Inverse of them (an ACE that was already present is not removed:
// the plan did not put it there), even if ctx is done. A label set is
// undone by putting back the label it replaced, if the object still holds
// the one set. Removals (RemoveACE, RemoveLabel, RemoveDir) have no
// inverse and are not undone: cleanup removes grants before the denies
// they were guarded by, so a partial cleanup leaves nothing writable that
// was not. A cleanup's SetLabel restoring a previous label is undone like
// any label set, back to the label cordon had set: the record still lists
// it, and the next cleanup tries again. The error names the failed edit
// and says what was rolled back, what stays, and what the rollback failed
// to undo.
func ApplyAll(ctx context.Context, edits []plan.Edit) error {
	_, err := ApplyChanged(ctx, edits)
	return err
}

// ApplyChanged is ApplyAll that also returns, on success, the edits that
// changed something: the ones this call is responsible for, as opposed to
// edits already in effect (put there by a concurrent run of the same
// workspace, say), which a caller undoing its own work must leave alone.
func ApplyChanged(ctx context.Context, edits []plan.Edit) ([]plan.Edit, error) {
	if !supported {
		return nil, ErrNotWindows
	}
	return applyAll(ctx, edits, applyEdit)
}

// applyFunc applies one edit. changed reports whether it altered the file
// system; it may be true together with an error (a DACL set on the object
// before its propagation to the subtree failed), so that a rollback undoes
// it.
type applyFunc func(e plan.Edit) (changed bool, err error)

func applyAll(ctx context.Context, edits []plan.Edit, apply applyFunc) ([]plan.Edit, error) {
	_, done, err := run(ctx, edits, apply, false)
	if err == nil {
		return done, nil
	}
	if len(done) == 0 {
		return nil, fmt.Errorf("%w (nothing had been changed)", err)
	}
	undo := plan.Inverse(done)
	var notes []string
	if kept := len(done) - undoable(done); kept > 0 {
		notes = append(notes, fmt.Sprintf("%d removals before it stay made", kept))
	}
	if n := undoable(done); n > 0 {
		_, _, uerr := run(context.WithoutCancel(ctx), undo, apply, true)
		if uerr != nil {
			return nil, fmt.Errorf("%w; rolling back the %d additions before it failed too: %w", err, n, uerr)
		}
		notes = append(notes, fmt.Sprintf("%d additions before it rolled back", n))
	}
	return nil, fmt.Errorf("%w (%s)", err, strings.Join(notes, "; "))
}

// undoable counts the edits plan.Inverse undoes: additions, labels set
// included.
func undoable(edits []plan.Edit) int {
	n := 0
	for _, e := range edits {
		if e.Op == plan.AddACE || e.Op == plan.SetLabel || e.Op == plan.CreateDir {
			n++
		}
	}
	return n
}

// run applies edits in order. It returns the writes made and the edits that
// changed something. It stops at the first error unless keepGoing, in which
// case it applies every edit and returns all the errors joined.
func run(ctx context.Context, edits []plan.Edit, apply applyFunc, keepGoing bool) (writes int, done []plan.Edit, err error) {
	var errs []error
	for i, e := range edits {
		if err := ctx.Err(); err != nil {
			return writes, done, fmt.Errorf("edit %d of %d (%s %s): %w", i+1, len(edits), e.Op, e.Path, err)
		}
		changed, err := apply(e)
		if changed {
			done = append(done, e)
			if e.Op != plan.RemoveDir {
				writes++
			}
		}
		if err != nil {
			err = fmt.Errorf("edit %d of %d: %w", i+1, len(edits), err)
			if !keepGoing {
				return writes, done, err
			}
			errs = append(errs, err)
		}
	}
	return writes, done, errors.Join(errs...)
}
