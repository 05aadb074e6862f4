package ntfs

// Propagation of inheritance, done by cordon rather than by Windows.
//
// An edit writes its object alone (apply_windows.go). Once all the edits of
// an Apply are written, the inheritable ACEs and labels are carried down
// once, top down, from the outermost edited objects (aclplan.Outermost), as
// aclplan.Apply models it: every object below gets ntsec.Propagate of its
// parent's new descriptor and its own, and is written only when that
// differs from what it holds. So an object is written once however many
// edited directories lie above it, where SetSecurityInfo (MARTA) rewrote a
// subtree once per edited directory; the one exception is an edited object
// below another edited one, written by its edit and again by propagation
// when its inherited part changes (Report.Rewritten): O(edits), not
// O(files).
//
// The walk never follows a reparse point, and below the edited objects
// (opened by path, as their edits were) it never reaches an object by a
// path: each child is opened relative to its parent's handle, by the name
// the parent's listing gave (objHandle.open), so a directory swapped for a
// junction while the walk runs cannot take it anywhere else. A junction or
// symlink gets its own descriptor propagated, like any object, and is never
// descended into (fsview.Memory's junctions are leaves, too). A file with
// more than one name (NumberOfLinks > 1) is never written: another of its
// names may lie outside every root, and a grant or a Low label propagated to
// it would open that name too. The planner lists such files (Plan.Linked)
// and the proof holds them to what outside objects are; the walk reports
// the ones it met (Report.Linked).
//
// Where this departs from aclplan.Apply: the model treats every symlink as a
// directory (its snapshot cannot tell a file symlink from a directory one);
// the walk asks the handle (FILE_ATTRIBUTE_DIRECTORY), so a file symlink
// inherits as a file. The real-Windows tests make no file symlink (it
// needs a privilege), so the two never meet there.
//
// The walk checks ctx before each object. An interrupted or failed
// propagation is an error: ApplyAll then rolls the edits back and
// propagates again from the same objects, which brings every descendant
// back in line with them, whichever side of the interruption it was on.

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/cordon-sandbox/cordon/internal/aclplan"
	"github.com/cordon-sandbox/cordon/internal/fsview"
	"github.com/cordon-sandbox/cordon/ntsec"
)

// parts says which parts of a descriptor a write sets.
type parts uint8

const (
	daclPart  parts = 1 << iota // the DACL, with its protected and auto-inherited bits
	labelPart                   // the mandatory label ACEs of the SACL, never audit ACEs
)

// changedParts returns the parts in which next differs from cur: what a
// propagation must write, nothing when aclplan.Apply would count no write.
func changedParts(cur, next *ntsec.SecurityDescriptor) parts {
	const daclBits = ntsec.DACLPresent | ntsec.DACLAutoInherited | ntsec.DACLProtected
	const saclBits = ntsec.SACLPresent | ntsec.SACLAutoInherited | ntsec.SACLProtected
	var ps parts
	if cur.Control&daclBits != next.Control&daclBits || !cur.DACL.Equal(next.DACL) {
		ps |= daclPart
	}
	if cur.Control&saclBits != next.Control&saclBits || !sameLabels(cur.SACL, next.SACL) {
		ps |= labelPart
	}
	return ps
}

// sameLabels compares two label SACLs; no SACL and an empty one hold the
// same labels.
func sameLabels(a, b *ntsec.ACL) bool {
	if a == nil || b == nil {
		return (a == nil || len(a.Entries) == 0) && (b == nil || len(b.Entries) == 0)
	}
	return a.Equal(b)
}

// object is what the walk learns about one object from its handle.
type object struct {
	dir   bool   // FILE_ATTRIBUTE_DIRECTORY: it inherits as a directory
	link  bool   // a name surrogate (junction, symlink): never descended into
	links uint32 // a plain file's number of names; 0 when not asked
	sd    *ntsec.SecurityDescriptor
}

// multiLinked is fsview.Node.MultiLinked: a plain file with several names.
func (o object) multiLinked() bool { return !o.dir && !o.link && o.links > 1 }

// descend reports whether the walk goes below the object: a directory that
// is not a reparse point standing for another object.
func (o object) descend() bool { return o.dir && !o.link }

func (o object) objType() ntsec.ObjectType {
	if o.dir {
		return ntsec.Directory
	}
	return ntsec.File
}

// objHandle is one object held open by the walk.
type objHandle interface {
	// examine reads the object through the handle: its kind, its number
	// of names if it is a file, its owner, group, DACL and label.
	examine() (object, error)
	// names lists a directory's entries, "." and ".." left out.
	names() ([]string, error)
	// open opens the entry name of this directory, relative to this
	// handle, without following a reparse point there; a missing entry
	// gives an error wrapping fsview.ErrNotExist.
	open(name string) (objHandle, error)
	// write sets the parts ps of sd on this object, and on nothing else.
	write(sd *ntsec.SecurityDescriptor, ps parts) error
	close() error
}

// propResult is what a propagation did.
type propResult struct {
	writes    int      // objects it wrote that nothing had written before
	rewritten int      // objects it wrote that an edit had written already
	linked    []string // files with several names it left alone
}

// traceKey carries, in a context, a function the walk calls for every
// object it reaches below a top, saying whether it wrote it: tests see
// through it what was visited, and can cancel mid-walk.
type traceKey struct{}

func withTrace(ctx context.Context, fn func(path string, wrote bool)) context.Context {
	return context.WithValue(ctx, traceKey{}, fn)
}

type walker struct {
	ctx     context.Context
	written map[string]bool // keys of the objects written so far, by edits or by the walk
	res     propResult
	trace   func(path string, wrote bool)
}

func newWalker(ctx context.Context, written map[string]bool) *walker {
	w := &walker{ctx: ctx, written: written}
	w.trace, _ = ctx.Value(traceKey{}).(func(string, bool))
	return w
}

// propagateTops propagates below each of tops that no other contains
// (aclplan.Outermost), opening each with openTop, which returns the handle and
// the top's canonical path, or an error wrapping fsview.ErrNotExist for a
// top removed since its edit (nothing lies below it any more).
func propagateTops(ctx context.Context, tops []string, written map[string]bool, openTop func(string) (objHandle, string, error)) (propResult, error) {
	w := newWalker(ctx, written)
	for _, top := range aclplan.Outermost(tops) {
		if err := ctx.Err(); err != nil {
			return w.res, fmt.Errorf("propagation interrupted before %s: %w", top, err)
		}
		h, path, err := openTop(top)
		if errors.Is(err, fsview.ErrNotExist) {
			continue
		}
		if err != nil {
			return w.res, fmt.Errorf("propagate from %s: %w", top, err)
		}
		err = w.from(h, path)
		h.close()
		if err != nil {
			return w.res, err
		}
	}
	return w.res, nil
}

// from propagates to everything below the object open as top, at path.
func (w *walker) from(top objHandle, path string) error {
	o, err := top.examine()
	if err != nil {
		return fmt.Errorf("propagate from %s: %w", path, err)
	}
	if o.sd == nil {
		return fmt.Errorf("propagate from %s: no security descriptor read", path)
	}
	if !o.descend() {
		return nil
	}
	return w.below(top, path, o.sd)
}

// below propagates sd, the descriptor of the directory open as dir, to
// its entries and everything below them.
func (w *walker) below(dir objHandle, path string, sd *ntsec.SecurityDescriptor) error {
	names, err := dir.names()
	if err != nil {
		return fmt.Errorf("propagate below %s: %w", path, err)
	}
	for _, name := range names {
		p := join(path, name)
		if err := w.ctx.Err(); err != nil {
			return fmt.Errorf("propagation interrupted before %s: %w", p, err)
		}
		if err := w.child(dir, p, name, sd); err != nil {
			return err
		}
	}
	return nil
}

// child propagates parent, its directory's descriptor, to the entry name
// of dir, at path p, and on below it.
func (w *walker) child(dir objHandle, p, name string, parent *ntsec.SecurityDescriptor) error {
	h, err := dir.open(name)
	if errors.Is(err, fsview.ErrNotExist) {
		return nil // removed since the listing: nothing left to propagate to
	}
	if err != nil {
		return fmt.Errorf("propagate to %s: %w", p, err)
	}
	defer h.close() // after the subtree: its children open relative to it
	o, err := h.examine()
	if err != nil {
		return fmt.Errorf("propagate to %s: %w", p, err)
	}
	if o.sd == nil {
		return fmt.Errorf("propagate to %s: no security descriptor read", p)
	}
	if o.multiLinked() {
		w.res.linked = append(w.res.linked, p)
		w.visit(p, false)
		return nil
	}
	next := ntsec.Propagate(parent, o.sd, o.objType())
	ps := changedParts(o.sd, next)
	if ps != 0 {
		if err := h.write(next, ps); err != nil {
			return fmt.Errorf("propagate to %s: %w", p, err)
		}
		w.count(p)
	} else {
		next = o.sd
	}
	w.visit(p, ps != 0)
	if o.descend() {
		return w.below(h, p, next)
	}
	return nil
}

func (w *walker) visit(p string, wrote bool) {
	if w.trace != nil {
		w.trace(p, wrote)
	}
}

// count records a write to the object at p: once per object, as
// aclplan.Apply counts.
func (w *walker) count(p string) {
	k := objectKey(p)
	if w.written[k] {
		w.res.rewritten++
		return
	}
	w.written[k] = true
	w.res.writes++
}

// objectKey is the key of the object at p, as edits' paths are keyed. A
// path Win32 cannot spell as a file (NTFS holds names like "nul", which
// winpath reads as the device) keys as itself: no edit can name it, so it
// cannot collide with one, nor with another such name elsewhere.
func objectKey(p string) string {
	wp, _, err := resolve(p)
	if err != nil {
		return "\x00" + p
	}
	return wp.Key()
}

func join(dir, name string) string {
	if strings.HasSuffix(dir, `\`) {
		return dir + name
	}
	return dir + `\` + name
}
