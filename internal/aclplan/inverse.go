package aclplan

import (
	"errors"
	"fmt"

	"github.com/cordon-sandbox/cordon/internal/fsview"
	"github.com/cordon-sandbox/cordon/ntsec"
)

// RemoveDir removes a placeholder directory cordon created, if it is still
// empty; a placeholder the user has since filled is left alone.
const RemoveDir Op = "remove-dir"

// Inverse returns the edits that undo edits exactly: each ACE cordon added
// removed, each label it set put back as it was (if nobody changed it
// since) and each placeholder it created removed, in reverse order, so the
// grants on writable roots go before the denies that guarded the protected
// names inside them. Every other ACE stays as it was.
func Inverse(edits []Edit) []Edit {
	out := make([]Edit, 0, len(edits))
	for i := len(edits) - 1; i >= 0; i-- {
		e := edits[i]
		switch e.Op {
		case AddACE:
			out = append(out, Edit{Op: RemoveACE, Path: e.Path, ACE: e.ACE, Reason: "undo: " + e.Reason})
		case SetLabel:
			set := e.ACE
			if e.Prev == nil {
				out = append(out, Edit{Op: RemoveLabel, Path: e.Path, ACE: set, Reason: "undo: " + e.Reason})
			} else {
				out = append(out, Edit{Op: SetLabel, Path: e.Path, ACE: *e.Prev, Prev: &set, Reason: "undo: " + e.Reason})
			}
		case CreateDir:
			out = append(out,
				Edit{Op: RemoveACE, Path: e.Path, ACE: e.ACE, Reason: "undo: " + e.Reason},
				Edit{Op: RemoveDir, Path: e.Path, Reason: "undo: " + e.Reason})
		}
	}
	return out
}

// RemoveSIDs plans the removal of every explicit ACE naming one of sids on
// the given paths — what `cordon cleanup` and `cordon sids gc` need for
// SIDs whose record is gone. Inherited ACEs are not edited: they vanish when
// the explicit ACE they came from is removed and inheritance propagates.
// Missing paths are skipped.
func RemoveSIDs(v fsview.View, paths []string, sids []ntsec.SID) ([]Edit, error) {
	drop := map[ntsec.SID]bool{}
	for _, s := range sids {
		drop[s] = true
	}
	var out []Edit
	for _, p := range paths {
		n, err := v.Stat(p)
		if errors.Is(err, fsview.ErrNotExist) {
			continue
		}
		if err != nil {
			return nil, fmt.Errorf("remove SIDs at %s: %w", p, err)
		}
		if n.SD == nil || n.SD.DACL == nil {
			continue
		}
		seen := map[ntsec.ACE]bool{}
		// Allows first, for the same reason as in Inverse.
		for _, typ := range []ntsec.ACEType{ntsec.AccessAllowed, ntsec.AccessDenied} {
			for _, e := range n.SD.DACL.Entries {
				if e.Type == typ && drop[e.SID] && e.Flags&ntsec.Inherited == 0 && !seen[e] {
					seen[e] = true
					out = append(out, Edit{Op: RemoveACE, Path: n.Path, ACE: e, Reason: "capability SID " + e.SID.String() + " retired"})
				}
			}
		}
	}
	return out, nil
}
