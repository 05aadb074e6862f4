package main

import (
	"bytes"
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/cordon-sandbox/cordon/internal/acelog"
	"github.com/cordon-sandbox/cordon/internal/aclhelper"
	"github.com/cordon-sandbox/cordon/internal/aclplan"
	"github.com/cordon-sandbox/cordon/internal/sandboxusers"
	"github.com/cordon-sandbox/cordon/internal/testutil"
	"github.com/cordon-sandbox/cordon/ntsec"
)

// removeState is a state directory with one recorded grant for the
// sandbox group and two read grants queued for the helper.
func removeState(t *testing.T) (string, aclplan.Edit) {
	t.Helper()
	dir := testutil.TempDir(t)
	group, err := ntsec.ParseSID("S-1-5-21-1-2-3-2001")
	if err != nil {
		t.Fatal(err)
	}
	ace := ntsec.ACE{Type: ntsec.AccessAllowed, Flags: ntsec.ObjectInherit | ntsec.ContainerInherit, Mask: ntsec.FileGenericRead | ntsec.FileGenericExecute, SID: group}
	e := aclplan.Edit{Op: aclplan.AddACE, Path: `C:\work`, ACE: ace}
	if _, err := acelog.Record(context.Background(), dir, []aclplan.Edit{e}); err != nil {
		t.Fatal(err)
	}
	var items []aclhelper.Item
	for _, p := range []string{`C:\Users\me\src`, `C:\Users\me\Documents`} {
		it, err := aclhelper.ItemOf(aclplan.Edit{Op: aclplan.AddACE, Path: p, ACE: ace})
		if err != nil {
			t.Fatal(err)
		}
		items = append(items, it)
	}
	if err := aclhelper.Enqueue(context.Background(), dir, items, nil); err != nil {
		t.Fatal(err)
	}
	return dir, e
}

// setup --remove first drops the queued read grants and undoes the
// record, and says so; the accounts' removal comes after it.
func TestRemoveGrantsUndoesRecordFirst(t *testing.T) {
	dir, e := removeState(t)
	var applied []aclplan.Edit
	undo := func(ctx context.Context, dir string) ([]aclplan.Edit, error) {
		return acelog.Cleanup(ctx, dir, func(_ context.Context, edits []aclplan.Edit) error {
			applied = append(applied, edits...)
			return nil
		})
	}
	res, err := removeGrants(context.Background(), dir, false, undo)
	if err != nil {
		t.Fatal(err)
	}
	if len(applied) != 1 || applied[0].Op != aclplan.RemoveACE || applied[0].Path != e.Path || applied[0].ACE != e.ACE {
		t.Fatalf("undo applied %v; want the removal of %v", applied, e)
	}
	if res.Done != 1 || !strings.Contains(res.Output, `C:\work`) {
		t.Fatalf("result %+v does not report the removal", res)
	}
	if rec, err := acelog.Load(context.Background(), dir); err != nil || len(rec) != 0 {
		t.Fatalf("record after removal: %v, %v", rec, err)
	}
	if st, err := aclhelper.Status(dir, nil); err != nil || st.Pending != 0 {
		t.Fatalf("read grants still queued after removal: %+v, %v", st, err)
	}
	accounts := sandboxusers.Result{Output: "delete user CordonSandboxOffline\n", Planned: []string{"delete user CordonSandboxOffline"}, Done: 2}
	all := merge(res, accounts)
	if all.Planned[0] != res.Planned[0] || !strings.HasPrefix(all.Output, res.Output) || all.Done != 1+2 {
		t.Fatalf("merge does not put the grants first: %+v", all)
	}
}

// A dry run lists the undo and changes neither the record nor the queue.
func TestRemoveGrantsDryRun(t *testing.T) {
	dir, e := removeState(t)
	undo := func(context.Context, string) ([]aclplan.Edit, error) {
		t.Fatal("a dry run undid the record")
		return nil, nil
	}
	res, err := removeGrants(context.Background(), dir, true, undo)
	if err != nil {
		t.Fatal(err)
	}
	if res.Done != 0 || len(res.Planned) != 1 || !strings.Contains(res.Planned[0], e.Path) {
		t.Fatalf("dry run result %+v", res)
	}
	if rec, _ := acelog.Load(context.Background(), dir); len(rec) != 1 {
		t.Fatalf("dry run changed the record: %v", rec)
	}
	if st, _ := aclhelper.Status(dir, nil); st.Pending != 2 {
		t.Fatalf("dry run changed the queue: %+v", st)
	}
}

// When the undo fails (a running sandbox, an object that refuses), setup
// stops before the accounts with the cleanup's code and a hint to run it
// again; the CLI prints both.
func TestRemoveGrantsFailureStopsSetup(t *testing.T) {
	dir, _ := removeState(t)
	undo := func(context.Context, string) ([]aclplan.Edit, error) {
		return nil, acelog.ErrBusy
	}
	_, err := removeGrants(context.Background(), dir, false, undo)
	var ge *grantsError
	if !errors.As(err, &ge) || ge.code != "busy" || !strings.Contains(ge.Hint(), "setup --remove") {
		t.Fatalf("err = %v; want a grantsError with code busy and a hint", err)
	}
	var errb bytes.Buffer
	fail(&errb, ge.code, err)
	if !strings.Contains(errb.String(), "cordon: busy:") {
		t.Fatalf("CLI line: %q", errb.String())
	}
}
