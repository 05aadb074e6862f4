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

	"github.com/cordon-sandbox/cordon/internal/aclplan"
	"github.com/cordon-sandbox/cordon/internal/fsview"
	"github.com/cordon-sandbox/cordon/internal/testutil"
	"github.com/cordon-sandbox/cordon/ntsec"
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

func sampleEdits(t *testing.T) []aclplan.Edit {
	ws, gen := sid(t, "S-1-5-21-11-11-11-11"), sid(t, "S-1-5-21-22-22-22-22")
	user := sid(t, "S-1-5-21-1-2-3-1001")
	deny := ntsec.ACE{Type: ntsec.AccessDenied, Flags: ntsec.ObjectInherit | ntsec.ContainerInherit, Mask: aclplan.DenyWriteMask, SID: ws}
	return []aclplan.Edit{
		{Op: aclplan.AddACE, Path: `C:\ws\.git`, ACE: deny},
		{Op: aclplan.CreateDir, Path: `C:\ws\.codex`, ACE: deny, Owner: user},
		{Op: aclplan.RemoveACE, Path: `C:\ws\old`, ACE: deny},
		{Op: aclplan.AddACE, Path: `C:\ws`, ACE: ntsec.ACE{Type: ntsec.AccessAllowed, Flags: ntsec.ObjectInherit | ntsec.ContainerInherit, Mask: aclplan.AllowMask, SID: ws}},
		{Op: aclplan.AddACE, Path: `C:\Temp`, ACE: ntsec.ACE{Type: ntsec.AccessAllowed, Flags: ntsec.ObjectInherit | ntsec.ContainerInherit, Mask: aclplan.AllowMask, SID: gen}},
	}
}

func describe(edits []aclplan.Edit) []string {
	var out []string
	for _, e := range edits {
		s := string(e.Op) + " " + e.Path + " " + e.ACE.SDDL()
		if !e.Owner.IsZero() {
			s += " owner " + e.Owner.String()
		}
		if e.Prev != nil {
			s += " prev " + e.Prev.SDDL()
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
	again := append([]aclplan.Edit{}, all...)
	again[0].Path = `c:\WS\.GIT`
	if added, err := Record(ctx, dir, again); err != nil || len(added) != 0 {
		t.Fatalf("second Record: added %v, %v", describe(added), err)
	}
	got, err := Load(ctx, dir)
	if err != nil {
		t.Fatal(err)
	}
	want := describe([]aclplan.Edit{all[0], all[1], all[3], all[4]}) // the removal is not cordon's addition
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
	var applied []aclplan.Edit
	boom := errors.New("disk on fire")
	if _, err := Cleanup(ctx, dir, func(_ context.Context, e []aclplan.Edit) error { return boom }); !errors.Is(err, boom) {
		t.Fatalf("failed cleanup = %v", err)
	}
	if got, _ := Load(ctx, dir); len(got) != 4 {
		t.Fatalf("a failed cleanup changed the record: %v", describe(got))
	}
	undone, err := Cleanup(ctx, dir, func(_ context.Context, e []aclplan.Edit) error { applied = e; return nil })
	if err != nil {
		t.Fatal(err)
	}
	recorded := []aclplan.Edit{all[0], all[1], all[3], all[4]}
	if want := describe(aclplan.Inverse(recorded)); !reflect.DeepEqual(describe(applied), want) || !reflect.DeepEqual(describe(undone), want) {
		t.Errorf("cleanup applied\n%s\nwant\n%s", strings.Join(describe(applied), "\n"), strings.Join(want, "\n"))
	}
	if got, err := Load(ctx, dir); err != nil || len(got) != 0 {
		t.Errorf("record after cleanup: %v, %v", describe(got), err)
	}
	called := false
	if _, err := Cleanup(ctx, dir, func(context.Context, []aclplan.Edit) error { called = true; return nil }); err != nil || called {
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
		// Label entries: the ace and prev must each be one explicit ML ACE.
		"label of a DACL ACE":   `{"version":1,"entries":[{"op":"label","path":"C:\\x","ace":"(A;;FA;;;WD)"}]}`,
		"label of two labels":   `{"version":1,"entries":[{"op":"label","path":"C:\\x","ace":"(ML;;NW;;;LW)(ML;;NW;;;ME)"}]}`,
		"label and a DACL":      `{"version":1,"entries":[{"op":"label","path":"C:\\x","ace":"(ML;;NW;;;LW)D:(A;;FA;;;WD)"}]}`,
		"label of a non-level":  `{"version":1,"entries":[{"op":"label","path":"C:\\x","ace":"(ML;;NW;;;WD)"}]}`,
		"inherited label":       `{"version":1,"entries":[{"op":"label","path":"C:\\x","ace":"(ML;OICIID;NW;;;LW)"}]}`,
		"garbage prev":          `{"version":1,"entries":[{"op":"label","path":"C:\\x","ace":"(ML;OICI;NW;;;LW)","prev":"medium"}]}`,
		"prev of a DACL ACE":    `{"version":1,"entries":[{"op":"label","path":"C:\\x","ace":"(ML;OICI;NW;;;LW)","prev":"(A;;FA;;;WD)"}]}`,
		"prev on an add":        `{"version":1,"entries":[{"op":"add","path":"C:\\x","ace":"(A;;FA;;;WD)","prev":"(ML;;NW;;;ME)"}]}`,
		"remove-label recorded": `{"version":1,"entries":[{"op":"remove-label","path":"C:\\x","ace":"(ML;OICI;NW;;;LW)"}]}`,
	} {
		t.Run(name, func(t *testing.T) {
			dir := testutil.TempDir(t)
			path := filepath.Join(dir, FileName)
			if err := os.WriteFile(path, []byte(content), 0o600); err != nil {
				t.Fatal(err)
			}
			_, err := Load(ctx, dir)
			if !errors.Is(err, ErrDamaged) || !strings.Contains(err.Error(), path) {
				t.Errorf("Load = %v, want an error naming %s", err, path)
			}
			t.Log(err)
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
			_, err := Record(ctx, dir, []aclplan.Edit{e})
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
	if _, err := Cleanup(short, dir, func(context.Context, []aclplan.Edit) error { called = true; return nil }); !errors.Is(err, ErrBusy) || called {
		t.Errorf("cleanup during a run: called=%v err=%v", called, err)
	}
	// Two runs hold it together.
	release2, err := HoldRun(ctx, dir)
	if err != nil {
		t.Fatalf("a second run could not take the run lock: %v", err)
	}
	release2()
	release()
	if _, err := Cleanup(ctx, dir, func(context.Context, []aclplan.Edit) error { called = true; return nil }); err != nil || !called {
		t.Errorf("cleanup after the run: called=%v err=%v", called, err)
	}
}

var (
	lowLabel    = ntsec.ACE{Type: ntsec.MandatoryLabel, Flags: ntsec.ObjectInherit | ntsec.ContainerInherit, Mask: ntsec.LabelNoWriteUp, SID: ntsec.LowLabel}
	mediumLabel = ntsec.ACE{Type: ntsec.MandatoryLabel, Mask: ntsec.LabelNoWriteUp, SID: ntsec.MediumLabel}
	highLabel   = ntsec.ACE{Type: ntsec.MandatoryLabel, Mask: ntsec.LabelNoWriteUp, SID: ntsec.HighLabel}
)

// addDirs adds directories to m, given as path, SDDL, path, SDDL, ...,
// parents first.
func addDirs(t *testing.T, m *fsview.Memory, pathSDDL ...string) {
	t.Helper()
	for i := 0; i < len(pathSDDL); i += 2 {
		sd, err := ntsec.ParseSDDL(pathSDDL[i+1])
		if err != nil {
			t.Fatal(err)
		}
		if err := m.Add(fsview.Node{Path: pathSDDL[i], Type: fsview.Directory, SD: sd}); err != nil {
			t.Fatal(err)
		}
	}
}

func labelEdits() []aclplan.Edit {
	return []aclplan.Edit{
		{Op: aclplan.SetLabel, Path: `C:\ws`, ACE: lowLabel, Reason: "over no label"},
		{Op: aclplan.SetLabel, Path: `C:\Temp`, ACE: lowLabel, Prev: &mediumLabel, Reason: "over Medium"},
		{Op: aclplan.RemoveLabel, Path: `C:\other`, ACE: lowLabel},
	}
}

// A label cordon set is recorded with the label it replaced, and comes
// back from the file as it went in; a label removal is nothing to undo.
func TestRecordLabels(t *testing.T) {
	dir := testutil.TempDir(t)
	edits := labelEdits()
	added, err := Record(ctx, dir, edits)
	if err != nil {
		t.Fatal(err)
	}
	want := describe(edits[:2])
	if !reflect.DeepEqual(describe(added), want) {
		t.Errorf("Record added %v, want %v", describe(added), want)
	}
	got, err := Load(ctx, dir)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(describe(got), want) {
		t.Errorf("loaded\n%s\nwant\n%s", strings.Join(describe(got), "\n"), strings.Join(want, "\n"))
	}
	if got[0].Prev != nil || got[1].Prev == nil || *got[1].Prev != mediumLabel || got[1].ACE != lowLabel {
		t.Errorf("loaded labels: %+v", got)
	}
	raw, _ := os.ReadFile(filepath.Join(dir, FileName))
	if !strings.Contains(string(raw), `"prev": "(ML;;NW;;;ME)"`) || strings.Count(string(raw), `"prev"`) != 1 {
		t.Errorf("the file does not hold exactly the one prev:\n%s", raw)
	}
	// The same label over the same previous one is already recorded; over
	// another (someone changed it back in between), it is a new entry.
	again := []aclplan.Edit{edits[0], edits[1], {Op: aclplan.SetLabel, Path: `c:\TEMP`, ACE: lowLabel, Prev: &highLabel}}
	added, err = Record(ctx, dir, again)
	if err != nil || !reflect.DeepEqual(describe(added), describe(again[2:])) {
		t.Errorf("second Record added %v, %v; want only the label over High", describe(added), err)
	}
	if err := Forget(ctx, dir, again[2:]); err != nil {
		t.Fatal(err)
	}
	if got, _ := Load(ctx, dir); !reflect.DeepEqual(describe(got), want) {
		t.Errorf("after Forget: %v", describe(got))
	}
}

// Cleanup of recorded labels gives their inverses: RemoveLabel where there
// was none before, SetLabel back to the previous label otherwise, each a
// compare-and-swap against the label cordon set. Applied to a model of the
// objects, that restores every label as it was, except where someone has
// changed it since.
func TestCleanupRestoresLabels(t *testing.T) {
	dir := testutil.TempDir(t)
	m := fsview.NewMemory()
	addDirs(t, m, `C:\`, "O:SYD:(A;OICI;FA;;;SY)", `C:\ws`, "O:SYD:(A;OICI;FA;;;SY)",
		`C:\Temp`, "O:SYD:(A;OICI;FA;;;SY)S:(ML;;NW;;;ME)", `C:\changed`, "O:SYD:(A;OICI;FA;;;SY)")
	edits := append(labelEdits()[:2], aclplan.Edit{Op: aclplan.SetLabel, Path: `C:\changed`, ACE: lowLabel})
	if _, err := Record(ctx, dir, edits); err != nil {
		t.Fatal(err)
	}
	if _, err := aclplan.Apply(m, edits); err != nil {
		t.Fatal(err)
	}
	label := func(path string) string {
		n, err := m.Stat(path)
		if err != nil {
			t.Fatal(err)
		}
		if n.SD.SACL == nil {
			return ""
		}
		return n.SD.SACL.SDDL()
	}
	if got := label(`C:\Temp`); got != "(ML;OICI;NW;;;LW)" {
		t.Fatalf("applied label on C:\\Temp: %q", got)
	}
	// Someone relabels one object High after cordon set it Low.
	n, _ := m.Stat(`C:\changed`)
	sd := n.SD.Clone()
	sd.SACL = &ntsec.ACL{Revision: ntsec.ACLRevision, Entries: []ntsec.ACE{highLabel}}
	if err := m.SetSD(`C:\changed`, sd); err != nil {
		t.Fatal(err)
	}
	undone, err := Cleanup(ctx, dir, func(_ context.Context, inv []aclplan.Edit) error {
		_, err := aclplan.Apply(m, inv)
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	want := []string{
		`remove-label C:\changed (ML;OICI;NW;;;LW)`,
		`label C:\Temp (ML;;NW;;;ME) prev (ML;OICI;NW;;;LW)`,
		`remove-label C:\ws (ML;OICI;NW;;;LW)`,
	}
	if !reflect.DeepEqual(describe(undone), want) {
		t.Errorf("cleanup applied\n%s\nwant\n%s", strings.Join(describe(undone), "\n"), strings.Join(want, "\n"))
	}
	for path, want := range map[string]string{`C:\ws`: "", `C:\Temp`: "(ML;;NW;;;ME)", `C:\changed`: "(ML;;NW;;;HI)"} {
		if got := label(path); got != want {
			t.Errorf("label of %s after cleanup: %q, want %q", path, got, want)
		}
	}
}

// cordon sets Low over a label (or none), someone relabels the object
// High, and a later run sets Low over High: the record holds both labels,
// and cleanup ends on the High that someone set, not on what was there
// before cordon first came (the newer entry is undone first; the older
// then finds High, not Low, and leaves it).
func TestCleanupOfRelabelledObjects(t *testing.T) {
	for name, c := range map[string]struct {
		first, second *ntsec.ACE
		want          string
	}{
		"medium then high": {&mediumLabel, &highLabel, "(ML;;NW;;;HI)"},
		"none then high":   {nil, &highLabel, "(ML;;NW;;;HI)"},
	} {
		t.Run(name, func(t *testing.T) {
			dir := testutil.TempDir(t)
			m := fsview.NewMemory()
			sddl := "O:SYD:(A;OICI;FA;;;SY)"
			if c.first != nil {
				sddl += "S:" + c.first.SDDL()
			}
			addDirs(t, m, `C:\`, "O:SYD:(A;OICI;FA;;;SY)", `C:\ws`, sddl)
			run := func(prev *ntsec.ACE) {
				e := []aclplan.Edit{{Op: aclplan.SetLabel, Path: `C:\ws`, ACE: lowLabel, Prev: prev}}
				if _, err := Record(ctx, dir, e); err != nil {
					t.Fatal(err)
				}
				if _, err := aclplan.Apply(m, e); err != nil {
					t.Fatal(err)
				}
			}
			run(c.first)
			n, _ := m.Stat(`C:\ws`)
			sd := n.SD.Clone()
			sd.SACL = &ntsec.ACL{Revision: ntsec.ACLRevision, Entries: []ntsec.ACE{*c.second}}
			if err := m.SetSD(`C:\ws`, sd); err != nil {
				t.Fatal(err)
			}
			run(c.second)
			if _, err := Cleanup(ctx, dir, func(_ context.Context, inv []aclplan.Edit) error {
				_, err := aclplan.Apply(m, inv)
				return err
			}); err != nil {
				t.Fatal(err)
			}
			n, _ = m.Stat(`C:\ws`)
			if n.SD.SACL == nil || n.SD.SACL.SDDL() != c.want {
				t.Errorf("label after cleanup: %v, want %s", n.SD.SACL, c.want)
			}
		})
	}
}
