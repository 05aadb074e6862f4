package acelog

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"testing"

	"github.com/cordon-sandbox/cordon/internal/aclplan"
	"github.com/cordon-sandbox/cordon/internal/testutil"
	"github.com/cordon-sandbox/cordon/ntsec"
)

// An application that fails or is cut short leaves its mark, and Repair
// finishes the walk from the objects it names, once; one that succeeds
// leaves none.
func TestPropagatingMarkAndRepair(t *testing.T) {
	dir := testutil.TempDir(t)
	ctx := context.Background()
	deny := ntsec.ACE{Type: ntsec.AccessDenied, Mask: ntsec.FileDeleteChild, SID: ntsec.Everyone}
	edits := []aclplan.Edit{
		{Op: aclplan.AddACE, Path: `C:\ws`, ACE: deny},
		{Op: aclplan.RemoveDir, Path: `C:\ws\.codex`},
		{Op: aclplan.SetLabel, Path: `C:\ws\.git`, ACE: aclplan.MediumLabel},
	}
	if err := Propagating(ctx, dir, edits, func() error { return nil }); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(dir, PendingName)); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("a finished application left its mark: %v", err)
	}
	boom := errors.New("killed mid-walk")
	if err := Propagating(ctx, dir, edits, func() error { return boom }); !errors.Is(err, boom) {
		t.Fatalf("Propagating = %v", err)
	}
	var got [][]string
	propagate := func(_ context.Context, tops []string) error { got = append(got, tops); return nil }
	if ok, err := Repair(ctx, dir, propagate); !ok || err != nil {
		t.Fatalf("Repair = %v, %v", ok, err)
	}
	if want := [][]string{{`C:\ws`, `C:\ws\.git`}}; !reflect.DeepEqual(got, want) {
		t.Errorf("propagated from %v, want %v", got, want)
	}
	if ok, err := Repair(ctx, dir, propagate); ok || err != nil || len(got) != 1 {
		t.Errorf("second Repair = %v, %v (%d walks)", ok, err, len(got))
	}
	// A repair that fails keeps the mark for the next one.
	Propagating(ctx, dir, edits, func() error { return boom })
	if _, err := Repair(ctx, dir, func(context.Context, []string) error { return boom }); !errors.Is(err, boom) {
		t.Errorf("failed repair = %v", err)
	}
	if _, err := os.Stat(filepath.Join(dir, PendingName)); err != nil {
		t.Errorf("a failed repair dropped the mark: %v", err)
	}
	// A damaged mark is an error, never ignored.
	os.WriteFile(filepath.Join(dir, PendingName), []byte(`{"version":1,"tops":["relative"]}`), 0o600)
	if _, err := Repair(ctx, dir, propagate); !errors.Is(err, ErrDamaged) {
		t.Errorf("damaged mark: %v", err)
	}
}

// A cleanup killed between its edits and its walk is finished by the next
// cleanup before anything else.
func TestCleanupRepairsAnInterruptedCleanup(t *testing.T) {
	dir := testutil.TempDir(t)
	ctx := context.Background()
	e := aclplan.Edit{Op: aclplan.AddACE, Path: `C:\ws`, ACE: ntsec.ACE{Type: ntsec.AccessAllowed, Flags: ntsec.ObjectInherit | ntsec.ContainerInherit, Mask: aclplan.AllowMask, SID: ntsec.Everyone}}
	if _, err := Record(ctx, dir, []aclplan.Edit{e}); err != nil {
		t.Fatal(err)
	}
	boom := errors.New("killed")
	if _, err := Cleanup(ctx, dir, func(context.Context, []aclplan.Edit) error { return boom }); !errors.Is(err, boom) {
		t.Fatalf("Cleanup = %v", err)
	}
	var walked []string
	undone, err := CleanupRepairing(ctx, dir, func(context.Context, []aclplan.Edit) error { return nil }, func(_ context.Context, tops []string) error {
		walked = append(walked, tops...)
		return nil
	})
	if err != nil || len(undone) != 1 || !reflect.DeepEqual(walked, []string{`C:\ws`}) {
		t.Errorf("CleanupRepairing = %v, %v; walked %v", undone, err, walked)
	}
	if _, err := os.Stat(filepath.Join(dir, PendingName)); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("mark left after a cleanup that finished: %v", err)
	}
}
