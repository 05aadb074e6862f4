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
// empty and [Apply] opens nothing at all. Re-stamping every root's whole
// tree on every command instead costs 20 to 120 s on large repositories;
// here the tree below a root is written only when its root's ACEs change,
// once, by cordon's own propagation. [View.Reads] counts the calls, as
// fsview.Memory does, so tests can hold the planner to that.
//
// # Writing
//
// [Apply] writes edits one at a time, in the plan's order (denies before
// the grants they guard), checking each object first and writing nothing
// when it already holds what the edit asks for: applying a plan twice writes
// once. Each edit writes its own object and nothing else; then inheritance
// is propagated once, top down, from the outermost edited objects, by
// handles opened relative to their parents, writing each object below at
// most once and never a file with more than one name (propagate.go), as
// aclplan.Apply models it. See apply_windows.go for how each op maps to
// Windows and propagate_windows.go for the walk. [ApplyAll] rolls back the
// edits already applied when an edit or the propagation fails;
// [ApplyReport] also says what was written and which multi-linked files
// were left alone.
package ntfs

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"strings"
	"sync"
	"sync/atomic"

	"github.com/cordon-sandbox/cordon/internal/aclplan"
	"github.com/cordon-sandbox/cordon/internal/fsview"
	"github.com/cordon-sandbox/cordon/internal/winpath"
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

// Report says what an apply wrote.
type Report struct {
	// Writes counts the objects whose descriptor was written, each once,
	// as aclplan.Apply counts them: the edited objects that changed (a
	// placeholder created counts as one) and the objects below them that
	// propagation rewrote. On a cold run it equals aclplan.Apply's count on
	// the same tree: one write per object.
	Writes int
	// Propagated counts, of Writes, the objects only propagation wrote.
	Propagated int
	// Rewritten counts the edited objects propagation wrote a second time,
	// because an edit above them changed what they inherit; they are
	// counted once in Writes.
	Rewritten int
	// Linked lists the files with more than one name that propagation
	// reached and left as they were (see fsview.Node.MultiLinked).
	Linked []string
	// Changed lists the edits that changed something: the ones this call
	// is responsible for (see ApplyChanged).
	Changed []aclplan.Edit
}

// Apply applies edits to the file system in order, then propagates
// inheritance once from the objects they changed, and returns how many
// objects it wrote (Report.Writes): edits already in effect, and label
// edits whose compare-and-swap finds another label, write nothing, and
// propagation writes only the objects whose descriptor changes.
//
// A failure stops the edits: Apply still propagates from the edits that
// changed something, so that they reach what lies below them, and returns
// the writes made and an error naming the failed edit's op, ACE and path.
// The edits before it stay applied; a caller that wants all or nothing
// uses [ApplyAll], which undoes them with aclplan.Inverse.
func Apply(ctx context.Context, edits []aclplan.Edit) (writes int, err error) {
	if !supported {
		return 0, ErrNotWindows
	}
	r, err := applyOnce(ctx, edits, osOps)
	return r.Writes, err
}

// ApplyAll applies edits like [Apply]. When an edit or the propagation
// fails it undoes, best effort, the edits that had changed something, by
// applying aclplan.Inverse of them (an ACE that was already present is not
// removed: the plan did not put it there), even if ctx is done, and, if
// propagation had begun, propagating again from the same objects, which
// puts back what lies below them. A label set is undone by putting back
// the label it replaced, if the object still holds the one set. Removals
// (RemoveACE, RemoveLabel, RemoveDir) have no inverse and are not undone:
// cleanup removes grants before the denies they were guarded by, so a
// partial cleanup leaves nothing writable that was not. A cleanup's
// SetLabel restoring a previous label is undone like any label set, back
// to the label cordon had set: the record still lists it, and the next
// cleanup tries again. The error names the failed edit and says what was
// rolled back, what stays, and what the rollback failed to undo.
func ApplyAll(ctx context.Context, edits []aclplan.Edit) error {
	_, err := ApplyReport(ctx, edits)
	return err
}

// ApplyChanged is ApplyAll that also returns, on success, the edits that
// changed something: the ones this call is responsible for, as opposed to
// edits already in effect (put there by a concurrent run of the same
// workspace, say), which a caller undoing its own work must leave alone.
func ApplyChanged(ctx context.Context, edits []aclplan.Edit) ([]aclplan.Edit, error) {
	r, err := ApplyReport(ctx, edits)
	return r.Changed, err
}

// ApplyReport is ApplyAll that also says, on success, what it wrote: the
// objects, the multi-linked files propagation left alone, and the edits
// that changed something. On failure the Report is empty: what was
// changed has been rolled back, as far as the error says.
func ApplyReport(ctx context.Context, edits []aclplan.Edit) (Report, error) {
	if !supported {
		return Report{}, ErrNotWindows
	}
	return applyAll(ctx, edits, osOps)
}

// Propagate re-applies, below each of tops, the inheritance its descriptor
// passes on, as Apply does after its edits, writing only what differs: it
// finishes what a run cut short between its edits and its walk left undone
// (acelog.Propagating marks such a run). The report counts the objects it
// wrote and the multi-linked files it left alone.
func Propagate(ctx context.Context, tops []string) (Report, error) {
	if !supported {
		return Report{}, ErrNotWindows
	}
	var canon []string
	for _, t := range tops {
		p, err := winpath.Parse(t)
		if err != nil {
			return Report{}, fmt.Errorf("propagate from %s: %w", t, err)
		}
		canon = append(canon, p.Object().String())
	}
	res, err := osOps.propagate(ctx, aclplan.Outermost(canon), map[string]bool{})
	return Report{Writes: res.writes, Propagated: res.writes, Linked: res.linked}, err
}

// applyFunc applies one edit. changed reports whether it altered the file
// system; it may be true together with an error, so that a rollback undoes
// it.
type applyFunc func(e aclplan.Edit) (changed bool, err error)

// propagateFunc propagates inheritance below the objects at tops (each
// edited, in canonical form), adding to written the keys of the objects it
// writes.
type propagateFunc func(ctx context.Context, tops []string, written map[string]bool) (propResult, error)

// ops is how edits reach a file system: NTFS (osOps), or a fake in tests.
type ops struct {
	apply     applyFunc
	propagate propagateFunc
}

var osOps = ops{apply: applyEdit, propagate: propagate}

// applyOnce applies edits, stopping at the first failure, and propagates
// from those that changed something.
func applyOnce(ctx context.Context, edits []aclplan.Edit, o ops) (Report, error) {
	done, err := run(ctx, edits, o.apply, false)
	r, perr := propagateEdits(ctx, done, o)
	return r, errors.Join(err, perr)
}

func applyAll(ctx context.Context, edits []aclplan.Edit, o ops) (Report, error) {
	done, err := run(ctx, edits, o.apply, false)
	propagated := false
	if err == nil {
		var r Report
		propagated = true
		if r, err = propagateEdits(ctx, done, o); err == nil {
			r.Changed = done
			return r, nil
		}
	}
	if len(done) == 0 {
		return Report{}, fmt.Errorf("%w (nothing had been changed)", err)
	}
	bg := context.WithoutCancel(ctx)
	undo := aclplan.Inverse(done)
	var notes []string
	if kept := len(done) - undoable(done); kept > 0 {
		notes = append(notes, fmt.Sprintf("%d removals before it stay made", kept))
	}
	var uerr error
	if n := undoable(done); n > 0 {
		_, uerr = run(bg, undo, o.apply, true)
		notes = append(notes, fmt.Sprintf("%d additions before it rolled back", n))
	}
	if propagated {
		// Below the edited objects, propagation may have reached some
		// objects and not others: propagating again from all of them,
		// removals included, lines every descendant up with what its
		// edited ancestor now holds.
		_, perr := propagateEdits(bg, done, o)
		if perr != nil {
			perr = fmt.Errorf("propagating the rollback: %w", perr)
		}
		uerr = errors.Join(uerr, perr)
		notes = append(notes, "propagated again")
	}
	if uerr != nil {
		return Report{}, fmt.Errorf("%w; the rollback (%s) failed too: %w", err, strings.Join(notes, "; "), uerr)
	}
	return Report{}, fmt.Errorf("%w (%s)", err, strings.Join(notes, "; "))
}

// propagateEdits propagates from the objects done changed and reports the
// writes: the edited objects, once each, and what propagation added.
func propagateEdits(ctx context.Context, done []aclplan.Edit, o ops) (Report, error) {
	written := map[string]bool{}
	var tops []string
	for _, e := range done {
		if e.Op == aclplan.RemoveDir {
			continue // nothing is left to write or to propagate from
		}
		p, err := winpath.Parse(e.Path)
		if err != nil {
			return Report{}, fmt.Errorf("propagate from %s: %w", e.Path, err)
		}
		written[p.Object().Key()] = true
		tops = append(tops, p.Object().String())
	}
	r := Report{Writes: len(written)}
	if len(tops) == 0 {
		return r, nil
	}
	res, err := o.propagate(ctx, tops, written)
	r.Writes, r.Propagated, r.Rewritten, r.Linked = len(written), res.writes, res.rewritten, res.linked
	return r, err
}

// undoable counts the edits aclplan.Inverse undoes: additions, labels set
// included.
func undoable(edits []aclplan.Edit) int {
	n := 0
	for _, e := range edits {
		if e.Op == aclplan.AddACE || e.Op == aclplan.SetLabel || e.Op == aclplan.CreateDir {
			n++
		}
	}
	return n
}

// run applies edits in order and returns the edits that changed something.
// It stops at the first error unless keepGoing, in which case it applies
// every edit and returns all the errors joined.
func run(ctx context.Context, edits []aclplan.Edit, apply applyFunc, keepGoing bool) (done []aclplan.Edit, err error) {
	var errs []error
	for i, e := range edits {
		if err := ctx.Err(); err != nil {
			return done, fmt.Errorf("edit %d of %d (%s %s): %w", i+1, len(edits), e.Op, e.Path, err)
		}
		changed, err := apply(e)
		if changed {
			done = append(done, e)
		}
		if err != nil {
			err = fmt.Errorf("edit %d of %d: %w", i+1, len(edits), err)
			if !keepGoing {
				return done, err
			}
			errs = append(errs, err)
		}
	}
	return done, errors.Join(errs...)
}
