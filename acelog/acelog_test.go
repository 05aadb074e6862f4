package acelog

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/cordon-sandbox/cordon/internal/testutil"
	"github.com/cordon-sandbox/cordon/ntsec"
	"github.com/cordon-sandbox/cordon/plan"
)

var ctx = context.Background()

func sid(t *testing.T, s string) ntsec.SID {
	t.Helper()
	v, err := ntsec.ParseSID(s)
	if err != nil {
		t.Fatal(err)
	}
	return v
}

func sampleEdits(t *testing.T) []plan.Edit {
	ws, gen := sid(t, "S-1-5-21-11-11-11-11"), sid(t, "S-1-5-21-22-22-22-22")
	user := sid(t, "S-1-5-21-1-2-3-1001")
	deny := ntsec.ACE{Type: ntsec.AccessDenied, Flags: ntsec.ObjectInherit | ntsec.ContainerInherit, Mask: plan.DenyWriteMask, SID: ws}
	return []plan.Edit{
		{Op: plan.AddACE, Path: `C:\ws\.git`, ACE: deny},
		{Op: plan.CreateDir, Path: `C:\ws\.codex`, ACE: deny, Owner: user},
		{Op: plan.RemoveACE, Path: `C:\ws\old`, ACE: deny},
		{Op: plan.AddACE, Path: `C:\ws`, ACE: ntsec.ACE{Type: ntsec.AccessAllowed, Flags: ntsec.ObjectInherit | ntsec.ContainerInherit, Mask: plan.AllowMask, SID: ws}},
		{Op: plan.AddACE, Path: `C:\Temp`, ACE: ntsec.ACE{Type: ntsec.AccessAllowed, Flags: ntsec.ObjectInherit | ntsec.ContainerInherit, Mask: plan.AllowMask, SID: gen}},
	}
}

func describe(edits []plan.Edit) []string {
	var out []string
	for _, e := range edits {
		s := string(e.Op) + " " + e.Path + " " + e.ACE.SDDL()
		if !e.Owner.IsZero() {
			s += " owner " + e.Owner.String()
		}
		out = append(out, s)
	}
	return out
}

func TestRecordLoadForget(t *testing.T) {
	dir := testutil.TempDir(t)
	if got, err := Load(ctx, dir); err != nil || got != nil {
		t.Fatalf("empty record: %v, %v", got, err)
	}
	all := sampleEdits(t)
	added, err := Record(ctx, dir, all)
	if err != nil {
		t.Fatal(err)
	}
	if len(added) != 4 {
		t.Errorf("Record added %d edits, want the 4 additions", len(added))
	}
	// Recording again (a warm run, or the same edit spelt in another case)
	// adds nothing.
	again := append([]plan.Edit{}, all...)
	again[0].Path = `c:\WS\.GIT`
	if added, err := Record(ctx, dir, again); err != nil || len(added) != 0 {
		t.Fatalf("second Record: added %v, %v", describe(added), err)
	}
	got, err := Load(ctx, dir)
	if err != nil {
		t.Fatal(err)
	}
	want := describe([]plan.Edit{all[0], all[1], all[3], all[4]}) // the removal is not cordon's addition
	if !reflect.DeepEqual(describe(got), want) {
		t.Errorf("loaded\n%s\nwant\n%s", strings.Join(describe(got), "\n"), strings.Join(want, "\n"))
	}
	if err := Forget(ctx, dir, all[3:4]); err != nil {
		t.Fatal(err)
	}
	got, _ = Load(ctx, dir)
	if !reflect.DeepEqual(describe(got), []string{want[0], want[1], want[3]}) {
		t.Errorf("after Forget: %v", describe(got))
	}
}

func TestCleanupUndoesExactlyTheRecord(t *testing.T) {
	dir := testutil.TempDir(t)
	all := sampleEdits(t)
	if _, err := Record(ctx, dir, all); err != nil {
		t.Fatal(err)
	}
	var applied []plan.Edit
	boom := errors.New("disk on fire")
	if _, err := Cleanup(ctx, dir, func(_ context.Context, e []plan.Edit) error { return boom }); !errors.Is(err, boom) {
		t.Fatalf("failed cleanup = %v", err)
	}
	if got, _ := Load(ctx, dir); len(got) != 4 {
		t.Fatalf("a failed cleanup changed the record: %v", describe(got))
	}
	undone, err := Cleanup(ctx, dir, func(_ context.Context, e []plan.Edit) error { applied = e; return nil })
	if err != nil {
		t.Fatal(err)
	}
	recorded := []plan.Edit{all[0], all[1], all[3], all[4]}
	if want := describe(plan.Inverse(recorded)); !reflect.DeepEqual(describe(applied), want) || !reflect.DeepEqual(describe(undone), want) {
		t.Errorf("cleanup applied\n%s\nwant\n%s", strings.Join(describe(applied), "\n"), strings.Join(want, "\n"))
	}
	if got, err := Load(ctx, dir); err != nil || len(got) != 0 {
		t.Errorf("record after cleanup: %v, %v", describe(got), err)
	}
	called := false
	if _, err := Cleanup(ctx, dir, func(context.Context, []plan.Edit) error { called = true; return nil }); err != nil || called {
		t.Errorf("cleanup of an empty record: called=%v err=%v", called, err)
	}
}

func TestDamagedRecordIsAnError(t *testing.T) {
	for name, content := range map[string]string{
		"not json":      "{",
		"version":       `{"version":2,"entries":[]}`,
		"unknown field": `{"version":1,"entries":[],"extra":1}`,
		"bad op":        `{"version":1,"entries":[{"op":"remove","path":"C:\\x","ace":"(A;;FA;;;WD)"}]}`,
		"bad path":      `{"version":1,"entries":[{"op":"add","path":"x","ace":"(A;;FA;;;WD)"}]}`,
		"bad ace":       `{"version":1,"entries":[{"op":"add","path":"C:\\x","ace":"(A;;FA;;;WD)(A;;FA;;;WD)"}]}`,
		"bad owner":     `{"version":1,"entries":[{"op":"create-dir","path":"C:\\x","ace":"(A;;FA;;;WD)","owner":"S-1-x"}]}`,
	} {
		t.Run(name, func(t *testing.T) {
			dir := testutil.TempDir(t)
			path := filepath.Join(dir, FileName)
			if err := os.WriteFile(path, []byte(content), 0o600); err != nil {
				t.Fatal(err)
			}
			if _, err := Load(ctx, dir); !errors.Is(err, ErrDamaged) || !strings.Contains(err.Error(), path) {
				t.Errorf("Load = %v, want an error naming %s", err, path)
			}
			if _, err := Record(ctx, dir, sampleEdits(t)); err == nil {
				t.Error("Record overwrote a damaged record")
			}
			if b, _ := os.ReadFile(path); string(b) != content {
				t.Errorf("the damaged record was changed to %q", b)
			}
		})
	}
}

// Concurrent runs recording their edits lose none of them.
func TestConcurrentRecords(t *testing.T) {
	dir := testutil.TempDir(t)
	base := sampleEdits(t)[0]
	var wg sync.WaitGroup
	const n = 16
	errs := make(chan error, n)
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			e := base
			e.Path = `C:\ws\` + string(rune('a'+i))
			_, err := Record(ctx, dir, []plan.Edit{e})
			errs <- err
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
	if got, _ := Load(ctx, dir); len(got) != n {
		t.Errorf("%d of %d concurrent records kept", len(got), n)
	}
}

// Cleanup waits for running sandboxes: while one holds the run lock, a
// cleanup whose context ends first changes nothing.
func TestCleanupWaitsForRuns(t *testing.T) {
	dir := testutil.TempDir(t)
	if _, err := Record(ctx, dir, sampleEdits(t)); err != nil {
		t.Fatal(err)
	}
	release, err := HoldRun(ctx, dir)
	if err != nil {
		t.Fatal(err)
	}
	short, cancel := context.WithTimeout(ctx, 100*time.Millisecond)
	defer cancel()
	called := false
	if _, err := Cleanup(short, dir, func(context.Context, []plan.Edit) error { called = true; return nil }); !errors.Is(err, ErrBusy) || called {
		t.Errorf("cleanup during a run: called=%v err=%v", called, err)
	}
	// Two runs hold it together.
	release2, err := HoldRun(ctx, dir)
	if err != nil {
		t.Fatalf("a second run could not take the run lock: %v", err)
	}
	release2()
	release()
	if _, err := Cleanup(ctx, dir, func(context.Context, []plan.Edit) error { called = true; return nil }); err != nil || !called {
		t.Errorf("cleanup after the run: called=%v err=%v", called, err)
	}
}
