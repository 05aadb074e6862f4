package ntfs

import (
	"context"
	"errors"

	"github.com/cordon-sandbox/cordon/internal/aclplan"
)

// ErrReparseOnPath is returned, wrapped, by ApplyNoFollow when a directory
// on the way to an edited object is a junction or a symbolic link (a
// name-surrogate reparse point), or the object is a file with more than
// one name.
var ErrReparseOnPath = errors.New("a junction or symbolic link on the path, or a multi-linked file")

// ApplyNoFollow is Apply for edits planned long before they are applied,
// by paths through directories someone else may write in the meantime:
// the read-grant helper's (internal/aclhelper). Each object is reached
// from its volume's root one component at a time, each opened relative to
// its parent's handle without following a reparse point, and the edit is
// refused (ErrReparseOnPath) if any directory on the way is a junction or
// a symbolic link, or the object is a file with another name: a sandboxed
// command that swaps a directory of its workspace for a junction to your
// .ssh between the plan and the helper gets an error, not a grant there.
// Apply, by contrast, lets Windows resolve every component but the last,
// which suits plans applied right after they are made, over paths the
// planner resolved itself. Only AddACE and RemoveACE are taken.
func ApplyNoFollow(ctx context.Context, edits []aclplan.Edit) (writes int, err error) {
	if !supported {
		return 0, ErrNotWindows
	}
	for _, e := range edits {
		if e.Op != aclplan.AddACE && e.Op != aclplan.RemoveACE {
			return 0, errors.New("ntfs: ApplyNoFollow takes AddACE and RemoveACE edits only: " + e.String())
		}
	}
	r, err := applyOnce(ctx, edits, ops{apply: setACENoFollow, propagate: propagate})
	return r.Writes, err
}
