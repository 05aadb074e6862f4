package aclhelper

import (
	"context"
	"fmt"

	"github.com/cordon-sandbox/cordon/internal/acelog"
	"github.com/cordon-sandbox/cordon/internal/aclplan"
)

// Recorded is the Applier that puts every read grant in cordon's record
// of applied ACEs (internal/acelog) before Applier writes it, so that
// `cordon cleanup` and `cordon setup --remove` take the grants away with
// everything else cordon added. Recording first means a helper killed
// between the two leaves a recorded ACE that is not there, which cleanup
// removes as a no-op; the other order could leave an ACE nobody knows to
// remove.
//
// Each item is recorded and applied under the run lock (acelog.HoldRun),
// held shared: a cleanup, which takes it exclusive, then runs between two
// items and never removes the record of an item half applied.
type Recorded struct {
	// Dir is cordon's state directory, where the record lives.
	Dir     string
	Applier Applier
}

// Apply implements Applier.
func (r Recorded) Apply(ctx context.Context, it Item, resumed bool) (bool, error) {
	if r.Dir == "" || r.Applier == nil {
		return false, fmt.Errorf("read ACL: Recorded needs a state directory and an Applier")
	}
	e, err := it.Edit()
	if err != nil {
		return false, err
	}
	release, err := acelog.HoldRun(ctx, r.Dir)
	if err != nil {
		return false, fmt.Errorf("read ACL: %s: %w", it.Path, err)
	}
	defer release()
	if _, err := acelog.Record(ctx, r.Dir, []aclplan.Edit{e}); err != nil {
		return false, fmt.Errorf("read ACL: record %s: %w", it.Path, err)
	}
	return r.Applier.Apply(ctx, it, resumed)
}

// Cancel drops the journal's items that no helper has started, and
// returns how many it dropped; a helper running now finishes the item it
// is applying and then finds nothing left. `cordon setup --remove` calls it
// before it undoes the recorded ACEs, so that no grant is added behind
// the cleanup for accounts about to be deleted.
func Cancel(ctx context.Context, dir string) (int, error) {
	dropped := 0
	err := (&Config{Dir: dir}).update(ctx, func(j *Journal) bool {
		kept := j.Items[:0]
		for _, it := range j.Items {
			if !it.Done && !it.Started {
				dropped++
				continue
			}
			kept = append(kept, it)
		}
		j.Items = kept
		return dropped > 0
	})
	return dropped, err
}
