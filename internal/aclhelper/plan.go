package aclhelper

import (
	"context"
	"fmt"

	"github.com/cordon-sandbox/cordon/internal/aclplan"
	"github.com/cordon-sandbox/cordon/internal/readacl"
)

// ItemsOf returns the journal items of a read plan's edits, in order.
func ItemsOf(edits []aclplan.Edit) ([]Item, error) {
	out := make([]Item, 0, len(edits))
	for _, e := range edits {
		it, err := ItemOf(e)
		if err != nil {
			return nil, err
		}
		out = append(out, it)
	}
	return out, nil
}

// ReadPlan returns a Config.Plan that plans in's read grants with
// readacl.Make: what `cordon acl-helper` runs for the cwd, roots and
// profile it is started for, over the live NTFS view on Windows.
func ReadPlan(in readacl.Input) func(context.Context) ([]Item, error) {
	return func(context.Context) ([]Item, error) {
		pl, err := readacl.Make(in)
		if err != nil {
			return nil, fmt.Errorf("read plan: %w", err)
		}
		return ItemsOf(pl.Edits)
	}
}
