package aclhelper

import (
	"context"
	"errors"
	"testing"

	"github.com/cordon-sandbox/cordon/internal/acelog"
	"github.com/cordon-sandbox/cordon/internal/aclplan"
	"github.com/cordon-sandbox/cordon/internal/testutil"
)

// Every grant the helper applies through Recorded is in cordon's record
// before it is written (so cleanup undoes it), and cleanup's inverse of
// that record takes the tree back to what it was.
func TestRecordedGrantsAreUndoneByCleanup(t *testing.T) {
	dir := testutil.TempDir(t)
	m := tree(t, 3)
	before := sddls(t, m)
	inner := &memApplier{m: m, crashAt: -1}
	// The record must hold each item's edit before the write: checked
	// from inside the inner applier, at the moment of the write.
	var missing []string
	check := applierFunc(func(ctx context.Context, it Item, resumed bool) (bool, error) {
		rec, err := acelog.Load(ctx, dir)
		if err != nil {
			return false, err
		}
		e, _ := it.Edit()
		found := false
		for _, r := range rec {
			if r.Path == e.Path && r.ACE == e.ACE {
				found = true
			}
		}
		if !found {
			missing = append(missing, it.Path)
		}
		return inner.Apply(ctx, it, resumed)
	})
	c := Config{Dir: dir, Mutex: newMutex(t, dir), Plan: plan(items(3)), Applier: Recorded{Dir: dir, Applier: check}}
	if err := Run(context.Background(), c); err != nil {
		t.Fatal(err)
	}
	if len(missing) > 0 {
		t.Fatalf("written before being recorded: %v", missing)
	}
	rec, err := acelog.Load(context.Background(), dir)
	if err != nil || len(rec) != 3 {
		t.Fatalf("record after the helper: %v, %v; want the 3 grants", rec, err)
	}
	if after := sddls(t, m); after[`C:\d0`] == before[`C:\d0`] {
		t.Fatal("the helper changed nothing: the test proves nothing")
	}
	undone, err := acelog.Cleanup(context.Background(), dir, func(_ context.Context, edits []aclplan.Edit) error {
		_, err := aclplan.Apply(m, edits)
		return err
	})
	if err != nil || len(undone) != 3 {
		t.Fatalf("cleanup: %v, %v", undone, err)
	}
	after := sddls(t, m)
	for p, s := range before {
		if after[p] != s {
			t.Errorf("%s after cleanup: %s, want %s", p, after[p], s)
		}
	}
}

// A Recorded with no state directory refuses rather than applying a
// grant nobody could take back.
func TestRecordedNeedsDir(t *testing.T) {
	inner := &memApplier{m: tree(t, 1), crashAt: -1}
	if _, err := (Recorded{Applier: inner}).Apply(context.Background(), grant(`C:\d0`), false); err == nil {
		t.Fatal("Recorded without Dir applied an item")
	}
	if len(inner.calls) != 0 {
		t.Fatalf("inner applier called: %v", inner.calls)
	}
}

// Cancel drops what no helper started and keeps what is done or being
// applied; a helper run afterwards applies nothing.
func TestCancelDropsUnstarted(t *testing.T) {
	dir := testutil.TempDir(t)
	ctx := context.Background()
	its := items(4)
	if err := Enqueue(ctx, dir, its, nil); err != nil {
		t.Fatal(err)
	}
	// Item 0 done, item 1 started by a helper that is applying it.
	c := &Config{Dir: dir}
	if err := c.update(ctx, func(j *Journal) bool {
		j.Items[0].Started, j.Items[0].Done = true, true
		j.Items[1].Started = true
		return true
	}); err != nil {
		t.Fatal(err)
	}
	n, err := Cancel(ctx, dir)
	if err != nil || n != 2 {
		t.Fatalf("Cancel = %d, %v; want 2 dropped", n, err)
	}
	j, err := ReadJournal(journalPath(dir))
	if err != nil {
		t.Fatal(err)
	}
	if len(j.Items) != 2 || j.Items[0].Path != its[0].Path || j.Items[1].Path != its[1].Path {
		t.Fatalf("journal after Cancel: %+v", j.Items)
	}
	if n, err := Cancel(ctx, dir); err != nil || n != 0 {
		t.Fatalf("second Cancel = %d, %v; want 0", n, err)
	}
	// Only the started item is left for a helper (resumed).
	inner := &memApplier{m: tree(t, 4), crashAt: -1}
	if err := Run(ctx, Config{Dir: dir, Mutex: newMutex(t, dir), Applier: inner}); err != nil && !errors.Is(err, ErrHeld) {
		t.Fatal(err)
	}
	if len(inner.calls) != 1 || inner.calls[0].path != its[1].Path || !inner.calls[0].resumed {
		t.Fatalf("helper after Cancel applied %+v; want only %s, resumed", inner.calls, its[1].Path)
	}
}

type applierFunc func(ctx context.Context, it Item, resumed bool) (bool, error)

func (f applierFunc) Apply(ctx context.Context, it Item, resumed bool) (bool, error) {
	return f(ctx, it, resumed)
}
