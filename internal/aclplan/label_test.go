package aclplan

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/cordon-sandbox/cordon/internal/fsview"
	"github.com/cordon-sandbox/cordon/ntsec"
	"github.com/cordon-sandbox/cordon/policy"
)

func labelOf(t *testing.T, m *fsview.Memory, path string) string {
	t.Helper()
	n, err := m.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if n.SD.SACL == nil {
		return ""
	}
	return n.SD.SACL.SDDL()
}

// A root that already carries an explicit label of its own gets Low in its
// place, and the inverse puts the old one back, exactly; if the label was
// changed since, the inverse leaves it alone.
func TestLabelReplacesAndRestores(t *testing.T) {
	for _, changed := range []bool{false, true} {
		m := machine(t)
		n, _ := m.Stat(`C:\Users\me\ws`)
		sd := n.SD.Clone()
		sd.SACL = &ntsec.ACL{Revision: ntsec.ACLRevision, Entries: []ntsec.ACE{{Type: ntsec.MandatoryLabel, Flags: dirInherit, Mask: ntsec.LabelNoWriteUp, SID: ntsec.MediumLabel}}}
		sd.Control |= ntsec.SACLPresent
		if err := m.SetSD(`C:\Users\me\ws`, sd); err != nil {
			t.Fatal(err)
		}
		pl := mustMake(t, wsInput(t, m, policy.WorkspaceWrite))
		var set *Edit
		for i, e := range pl.Edits {
			if e.Op == SetLabel && e.Path == `C:\Users\me\ws` {
				set = &pl.Edits[i]
			}
		}
		if set == nil || set.Prev == nil || set.Prev.SID != ntsec.MediumLabel || set.ACE != LowLabel {
			t.Fatalf("label edit %+v", set)
		}
		if _, err := Apply(m, pl.Edits); err != nil {
			t.Fatal(err)
		}
		if got := labelOf(t, m, `C:\Users\me\ws`); got != "(ML;OICI;NW;;;LW)" {
			t.Errorf("root label after apply: %s", got)
		}
		if got := labelOf(t, m, `C:\Users\me\ws\src\main.go`); got != "(ML;ID;NW;;;LW)" {
			t.Errorf("inherited label below the root: %s", got)
		}
		want := "(ML;OICI;NW;;;ME)"
		if changed {
			// The user relabels the root High in between.
			n, _ := m.Stat(`C:\Users\me\ws`)
			sd := n.SD.Clone()
			sd.SACL = &ntsec.ACL{Revision: ntsec.ACLRevision, Entries: []ntsec.ACE{{Type: ntsec.MandatoryLabel, Mask: ntsec.LabelNoWriteUp, SID: ntsec.HighLabel}}}
			m.SetSD(`C:\Users\me\ws`, sd)
			want = "(ML;;NW;;;HI)"
		}
		if _, err := Apply(m, Inverse(pl.Edits)); err != nil {
			t.Fatal(err)
		}
		if got := labelOf(t, m, `C:\Users\me\ws`); got != want {
			t.Errorf("changed=%v: root label after the inverse %s, want %s", changed, got, want)
		}
		if got := labelOf(t, m, `C:\Users\me\ws\src\main.go`); !changed && got != "(ML;ID;NW;;;ME)" {
			t.Errorf("label below the root after the inverse: %q", got)
		}
	}
}

// A root that is Low already, by a label it inherits, needs no label.
func TestLowRootNeedsNoLabel(t *testing.T) {
	b := newBuilder(t)
	b.add(`C:\`, fsview.Directory, "O:SYD:PAI(A;OICI;FA;;;SY)(A;OICI;FA;;;S-1-5-21-1-2-3-1001)")
	b.add(`C:\LocalLow`, fsview.Directory, "D:(A;OICI;FA;;;S-1-5-21-1-2-3-1001)S:(ML;OICI;NW;;;LW)")
	b.add(`C:\LocalLow\ws`, fsview.Directory, "")
	pol := policy.Policy{Mode: policy.WorkspaceWrite, Cwd: `C:\LocalLow\ws`, ExcludeTmp: true}
	res, err := pol.Resolve(policy.Env{Rules: policy.Windows})
	if err != nil {
		t.Fatal(err)
	}
	if got := labelOf(t, b.m, `C:\LocalLow\ws`); got != "(ML;OICIID;NW;;;LW)" {
		t.Fatalf("fixture: %s", got)
	}
	// Unaudited, C:\LocalLow — Low, outside the roots — lets every Low
	// sandbox delete in it under H2, and the proof says so.
	in := Input{Policy: res, SIDs: testSID, View: b.m}
	pl, err := Make(context.Background(), in)
	if !errors.Is(err, ErrProof) || !strings.HasPrefix(pl.Proof.Violations[0].Path, `C:\LocalLow`) {
		t.Fatalf("unaudited LocalLow: %v", err)
	}
	// Audited, it gets the user's FILE_DELETE_CHILD denied.
	in.Audit = AuditConfig{Roots: []string{`C:\LocalLow`}, Depth: 1}
	pl = mustMake(t, in)
	for _, e := range pl.Edits {
		if e.Op == SetLabel && e.Path == `C:\LocalLow\ws` {
			t.Errorf("label edit on a Low root: %v", e)
		}
	}
	if !contains(edits(pl), `add C:\LocalLow (D;CI;0x40;;;S-1-5-21-1-2-3-1001)`) || len(pl.Audit.LowLabelled) != 1 {
		t.Errorf("LocalLow not denied: %v, %v", edits(pl), pl.Audit.LowLabelled)
	}
}

// A directory inside a root whose DACL would not let the root's denial of
// the user's FILE_DELETE_CHILD decide — protected, or with an explicit
// allow ahead of it — gets the denial explicitly on a cold plan; without
// it, every other Low sandbox could delete its contents under H2.
func TestCutOffDirectoriesGetTheDenial(t *testing.T) {
	m := machine(t)
	b := &builder{t, m}
	b.add(`C:\Users\me\ws\vendor`, fsview.Directory, "D:P(A;OICI;FA;;;S-1-5-21-1-2-3-1001)(A;OICI;FA;;;SY)")
	b.add(`C:\Users\me\ws\vendor\lib.go`, fsview.File, "")
	b.add(`C:\Users\me\ws\shared`, fsview.Directory, "D:(A;;FA;;;S-1-5-21-1-2-3-1001)")
	b.add(`C:\Users\me\ws\shared\x.txt`, fsview.File, "")
	in := wsInput(t, m, policy.WorkspaceWrite)
	pl := mustMake(t, in)
	for _, p := range []string{`C:\Users\me\ws\vendor`, `C:\Users\me\ws\shared`} {
		if !contains(edits(pl), `add `+p+` (D;CI;0x40;;;S-1-5-21-1-2-3-1001)`) {
			t.Errorf("no denial on %s:\n%s", p, strings.Join(edits(pl), "\n"))
		}
	}
	// Without those two edits the proof fails, under H2 only, at them.
	pr := proveWithout(t, m, in, pl.Edits, func(e Edit) bool {
		return e.ACE.Mask == ntsec.FileDeleteChild && (strings.HasSuffix(e.Path, `vendor`) || strings.HasSuffix(e.Path, `shared`))
	})
	if pr.OK {
		t.Fatal("the proof passed without the denials")
	}
	for i, rd := range ntsec.OpenReadings() {
		if (pr.PerReading[i].Violations > 0) != (rd.Mask == ntsec.MaskH2) {
			t.Errorf("%s: %+v", rd, pr.PerReading[i])
		}
	}
	for _, v := range pr.Violations {
		if !strings.HasPrefix(v.Path, `C:\Users\me\ws\vendor`) && !strings.HasPrefix(v.Path, `C:\Users\me\ws\shared`) || v.Token == "workspace" {
			t.Errorf("violation %+v", v)
		}
	}
	// Warm: applied, a second plan has nothing to do and reads no file
	// below the root.
	if _, err := Apply(m, pl.Edits); err != nil {
		t.Fatal(err)
	}
	rec := fsview.Record(m)
	in.View, in.Unproven = rec, true
	again := mustMake(t, in)
	if len(again.Edits) != 0 {
		t.Errorf("warm plan: %v", edits(again))
	}
	for _, p := range rec.Paths() {
		if strings.HasSuffix(p, `.go`) || strings.HasSuffix(p, `.txt`) && strings.Contains(p, `\ws\`) {
			t.Errorf("warm plan read %s", p)
		}
	}
}

// Guards get the user's FILE_DELETE_CHILD denied, inherited; a missing
// guard is skipped; a guard that is not a plain directory is refused.
func TestGuards(t *testing.T) {
	m := machine(t)
	b := &builder{t, m}
	b.add(`C:\Users\me\AppData\Local\cordon`, fsview.Directory, "")
	in := wsInput(t, m, policy.WorkspaceWrite)
	in.Guards = []string{`C:\Users\me\AppData\Local\cordon`, `C:\Users\me\AppData\Local\gone`}
	pl := mustMake(t, in)
	if !contains(edits(pl), `add C:\Users\me\AppData\Local\cordon (D;CI;0x40;;;S-1-5-21-1-2-3-1001)`) {
		t.Errorf("no guard edit:\n%s", strings.Join(edits(pl), "\n"))
	}
	in.Guards = []string{`C:\Users\me\secrets.txt`}
	if _, err := Make(context.Background(), in); err == nil || !strings.Contains(err.Error(), `guarded directory C:\Users\me\secrets.txt`) {
		t.Errorf("file guard: %v", err)
	}
}

// A temp directory that belongs to the workspace (policy.RootOwnTemp) is
// granted the workspace's own SID: another workspace's sandbox, which
// holds the generic SID, may not write it, and the proof checks that.
func TestOwnTempIsTheWorkspaces(t *testing.T) {
	m := machine(t)
	b := &builder{t, m}
	b.add(`C:\Users\me\AppData\Local\cordon`, fsview.Directory, "")
	b.add(`C:\Users\me\AppData\Local\cordon\tmp`, fsview.Directory, "")
	b.add(`C:\Users\me\AppData\Local\cordon\tmp\0123456789abcdef`, fsview.Directory, "")
	b.add(`C:\Users\me\AppData\Local\cordon\tmp\0123456789abcdef\t.txt`, fsview.File, "")
	own := `C:\Users\me\AppData\Local\cordon\tmp\0123456789abcdef`
	pol := policy.Policy{Mode: policy.WorkspaceWrite, Cwd: `C:\Users\me\ws`}
	res, err := pol.Resolve(policy.Env{Rules: policy.Windows, TempDirs: []string{own}, TempOwned: true})
	if err != nil {
		t.Fatal(err)
	}
	if r, ok := res.RootOf(own); !ok || r.Kind != policy.RootOwnTemp {
		t.Fatalf("root of %s: %+v", own, r)
	}
	in := Input{Policy: res, SIDs: testSID, View: m}
	pl := mustMake(t, in)
	if !contains(edits(pl), `add `+own+` (A;OICI;0x1301bf;;;S-1-5-21-11-11-11-11)`) {
		t.Errorf("own temp not granted the workspace SID:\n%s", strings.Join(edits(pl), "\n"))
	}
	for _, e := range pl.Edits {
		if e.ACE.SID == genSID && e.ACE.Type == ntsec.AccessAllowed {
			t.Errorf("generic grant: %v", e)
		}
	}
	// Granted the generic SID instead, the proof catches the neighbour.
	bad := append([]Edit(nil), pl.Edits...)
	for i, e := range bad {
		if e.Path == own && e.ACE.Type == ntsec.AccessAllowed {
			bad[i].ACE.SID = genSID
		}
	}
	pr, err := Prove(m, in, bad)
	if err != nil {
		t.Fatal(err)
	}
	if pr.OK || !strings.HasPrefix(pr.Violations[0].Path, own) || !strings.HasPrefix(pr.Violations[0].Token, "other-workspace") {
		t.Errorf("generic grant on the own temp: %s", pr.Summary())
	}
}

// A file with more than one name inside a cold root is listed, never
// rewritten by the plan's propagation, and held to what an object outside
// the roots is held to: a user's file linked into the workspace stays as
// unwritable as its other name; one the plan would have opened fails the
// proof.
func TestMultiLinkedFilesLeftAlone(t *testing.T) {
	m := machine(t)
	b := &builder{t, m}
	b.add(`C:\Users\me\ws\linked.txt`, fsview.File, "")
	n, _ := m.Stat(`C:\Users\me\ws\linked.txt`)
	before := n.SD.SDDL()
	n.Links = 2
	m.Remove(n.Path)
	if err := m.Add(n); err != nil {
		t.Fatal(err)
	}
	in := wsInput(t, m, policy.WorkspaceWrite)
	pl := mustMake(t, in)
	if len(pl.Linked) != 1 || pl.Linked[0] != `C:\Users\me\ws\linked.txt` {
		t.Errorf("Linked = %v", pl.Linked)
	}
	if _, err := Apply(m, pl.Edits); err != nil {
		t.Fatal(err)
	}
	after, _ := m.Stat(`C:\Users\me\ws\linked.txt`)
	if after.SD.SDDL() != before {
		t.Errorf("a multi-linked file was rewritten:\n%s\n%s", before, after.SD.SDDL())
	}
	// Its neighbour, a single-named file, got the grant and the label.
	readme, _ := m.Stat(`C:\Users\me\ws\README.md`)
	if !strings.Contains(readme.SD.SDDL(), "S-1-5-21-11-11-11-11") || !strings.Contains(readme.SD.SDDL(), "LW") {
		t.Errorf("README.md: %s", readme.SD.SDDL())
	}
	// Had the file already carried the workspace's grant and a Low label
	// (the sandbox linked two of its own names), the proof fails closed.
	m2 := machine(t)
	b2 := &builder{t, m2}
	b2.add(`C:\Users\me\ws\linked.txt`, fsview.File, "D:(A;;0x1301bf;;;S-1-5-21-11-11-11-11)S:(ML;;NW;;;LW)")
	n2, _ := m2.Stat(`C:\Users\me\ws\linked.txt`)
	n2.Links = 2
	m2.Remove(n2.Path)
	m2.Add(n2)
	if _, err := Make(context.Background(), wsInput(t, m2, policy.WorkspaceWrite)); !errors.Is(err, ErrProof) || !strings.Contains(err.Error(), "linked.txt") {
		t.Errorf("writable multi-linked file: %v", err)
	}
}

// The root's Low label opens the workspace to any Low process of the user,
// not only to cordon's tokens; the protected names' Medium label keeps
// every Low token out of .git, whatever the DACL says.
func TestProtectedNamesHeldFromEveryLowProcess(t *testing.T) {
	m := machine(t)
	pl := mustMake(t, wsInput(t, m, policy.WorkspaceWrite))
	if _, err := Apply(m, pl.Edits); err != nil {
		t.Fatal(err)
	}
	low := baseToken(User{SID: me}) // an unrestricted Low process of the user
	low.Integrity = ntsec.LowLabel
	for path, want := range map[string]bool{
		`C:\Users\me\ws\README.md`:             true,
		`C:\Users\me\ws\.git\config`:           false,
		`C:\Users\me\ws\.git\hooks\pre-commit`: false,
		`C:\Users\me\ws\.codex`:                false,
	} {
		n, _ := m.Stat(path)
		if got := ntsec.AccessCheck(n.SD, low, ntsec.FileWriteData, n.ObjectType()).Allowed; got != want {
			t.Errorf("Low process writing %s: %v, want %v (%s)", path, got, want, n.SD.SDDL())
		}
	}
}

// The planner asks the live token (Input.Token) whether the user's own
// rights hand the sandbox FILE_DELETE_CHILD: a directory granting a group
// the real user holds and the stand-in lacks (Local account, S-1-5-113)
// gets its explicit denial, and the plan is proven. Input.Token is asked
// with a capability SID, since the backend's refuses none.
func TestCutOffDirsAskTheLiveToken(t *testing.T) {
	m := machine(t)
	b := &builder{t, m}
	b.add(`C:\Users\me\ws\vendor`, fsview.Directory, "D:(A;OICI;FA;;;S-1-5-113)")
	in := wsInput(t, m, policy.WorkspaceWrite)
	local := mustParseSID("S-1-5-113")
	in.Token = func(caps ...ntsec.SID) (*ntsec.Token, error) {
		if len(caps) == 0 { // as restrictedtoken.Model, the backend's Input.Token, refuses
			return nil, errors.New("no capability SIDs")
		}
		tok := SandboxToken(User{SID: me}, caps...)
		tok.Groups = append(tok.Groups, ntsec.Group{SID: local, Attributes: ntsec.GroupEnabled | ntsec.GroupMandatory})
		return tok, nil
	}
	pl := mustMake(t, in)
	if !contains(edits(pl), `add C:\Users\me\ws\vendor (D;CI;0x40;;;S-1-5-21-1-2-3-1001)`) {
		t.Errorf("no denial on vendor:\n%s", strings.Join(edits(pl), "\n"))
	}
}
