//go:build windows

package aclhelper

import (
	"context"

	"github.com/cordon-sandbox/cordon/internal/aclplan"
	"github.com/cordon-sandbox/cordon/internal/ntfs"
)

// NTFS applies items to the machine's file system with ntfs.ApplyNoFollow:
// the object is reached from its volume's root one component at a time,
// never through a junction or symbolic link (an item planned long before,
// below a directory the sandbox may have swapped for a junction since,
// fails rather than landing elsewhere), its DACL is read and written only
// if the ACE is missing, then inheritance is
// propagated by cordon's own walk, which never follows one either and
// leaves multi-linked files alone. A resumed item whose ACE is already in
// place gets ntfs.Propagate below it: its helper may have died during the
// walk.
type NTFS struct{}

// Apply implements Applier.
func (NTFS) Apply(ctx context.Context, it Item, resumed bool) (bool, error) {
	e, err := it.Edit()
	if err != nil {
		return false, err
	}
	writes, err := ntfs.ApplyNoFollow(ctx, []aclplan.Edit{e})
	if err != nil {
		return writes > 0, err
	}
	if writes == 0 && resumed && e.ACE.Flags != 0 {
		r, err := ntfs.Propagate(ctx, []string{e.Path})
		return r.Writes > 0, err
	}
	return writes > 0, nil
}
