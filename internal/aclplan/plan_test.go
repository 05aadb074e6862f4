package aclplan

import (
	"context"
	"errors"
	"reflect"
	"strings"
	"testing"

	"github.com/cordon-sandbox/cordon/internal/fsview"
	"github.com/cordon-sandbox/cordon/ntsec"
	"github.com/cordon-sandbox/cordon/policy"
)

func edits(pl *Plan) []string {
	var out []string
	for _, e := range pl.Edits {
		out = append(out, string(e.Op)+" "+e.Path+" "+e.ACE.SDDL())
	}
	return out
}

func TestColdPlanWorkspaceWrite(t *testing.T) {
	m := machine(t)
	in := wsInput(t, m, policy.WorkspaceWrite)
	pl := mustMake(t, in)
	got := edits(pl)
	// The workspace has a .git; every other protected name is missing in
	// it, and all are missing in the temp directory: placeholders.
	want := []string{
		`add C:\Users\me\ws (D;CI;0x40;;;S-1-5-21-1-2-3-1001)`,
		`add C:\Users\me\ws\.git (D;OICI;0x1f0156;;;S-1-5-21-11-11-11-11)`,
		`label C:\Users\me\ws\.git (ML;OICI;NW;;;ME)`,
	}
	placeholders := func(root, sid string, names []string) {
		for _, n := range names {
			want = append(want, `create-dir `+root+`\`+n+` (D;OICI;0x1f0156;;;`+sid+`)`, `label `+root+`\`+n+` (ML;OICI;NW;;;ME)`)
		}
	}
	placeholders(`C:\Users\me\ws`, `S-1-5-21-11-11-11-11`, policy.DefaultProtectedNames[1:])
	want = append(want, `add C:\Users\me\AppData\Local\Temp (D;CI;0x40;;;S-1-5-21-1-2-3-1001)`)
	placeholders(`C:\Users\me\AppData\Local\Temp`, `S-1-5-21-22-22-22-22`, policy.DefaultProtectedNames)
	if !reflect.DeepEqual(got[:len(want)], want) {
		t.Errorf("protected-name edits:\n%s", strings.Join(got, "\n"))
	}
	// The roots are granted and labelled Low; nothing outside them is
	// edited: a Low token may write no unlabelled (Medium) object, so
	// world-writable Public\Shared needs no deny.
	for _, w := range []string{
		`add C:\Users\me\ws (A;OICI;0x1301bf;;;S-1-5-21-11-11-11-11)`,
		`label C:\Users\me\ws (ML;OICI;NW;;;LW)`,
		`add C:\Users\me\AppData\Local\Temp (A;OICI;0x1301bf;;;S-1-5-21-22-22-22-22)`,
		`label C:\Users\me\AppData\Local\Temp (ML;OICI;NW;;;LW)`,
	} {
		if !contains(got, w) {
			t.Errorf("missing edit %s in\n%s", w, strings.Join(got, "\n"))
		}
	}
	for _, e := range pl.Edits {
		if _, in := in.Policy.RootOf(e.Path); !in {
			t.Errorf("edit outside the roots: %v", e)
		}
	}
	// Grants and labels come last, after every deny that guards what they
	// open.
	if last := pl.Edits[len(pl.Edits)-1]; last.Op != SetLabel && last.ACE.Type != ntsec.AccessAllowed {
		t.Errorf("last edit is neither an allow nor a label: %v", last)
	}
	if !pl.Proof.OK || pl.Proof.ViolationCount != 0 || pl.Proof.Nodes == 0 || len(pl.Proof.Readings) != len(ntsec.OpenReadings()) {
		t.Errorf("proof: %s under %v", pl.Proof.Summary(), pl.Proof.Readings)
	}
	if len(pl.Audit.Flagged) != 0 {
		t.Errorf("flagged %v, want none", pl.Audit.Flagged)
	}
}

// A Medium-integrity sandbox gets no labels, and the audit's denies come
// back: it flags Public\Shared, which Everyone may write (inherited), and
// not C:\ or Windows\Temp, which only Authenticated Users and Users may
// write: neither is a restricting SID of the write-restricted token, so the
// proof shows them unwritable without any deny, and cordon leaves system
// directories alone. Its plan holds under H1; under H2 the user's own
// FILE_DELETE_CHILD outside the roots is the sandbox's, and the proof says
// so.
func TestColdPlanMediumIntegrity(t *testing.T) {
	m := machine(t)
	in := wsInput(t, m, policy.WorkspaceWrite)
	in.User.MediumIntegrity = true
	in.Readings = []ntsec.Reading{ntsec.DefaultReading}
	pl := mustMake(t, in)
	got := edits(pl)
	for _, w := range []string{
		`add C:\Users\Public\Shared (D;OICI;0x1f0156;;;S-1-5-21-11-11-11-11)`,
		`add C:\Users\me\ws (A;OICI;0x1301bf;;;S-1-5-21-11-11-11-11)`,
		`add C:\Users\me\ws (D;CI;0x40;;;S-1-5-21-1-2-3-1001)`,
	} {
		if !contains(got, w) {
			t.Errorf("missing edit %s in\n%s", w, strings.Join(got, "\n"))
		}
	}
	for _, e := range pl.Edits {
		if e.Path == `C:\` || e.Path == `C:\Windows\Temp` {
			t.Errorf("edit on a directory only Authenticated Users or Users may write: %v", e)
		}
		if e.Op == SetLabel {
			t.Errorf("label in a Medium plan: %v", e)
		}
	}
	if want := []string{`C:\Users\Public\Shared`}; !reflect.DeepEqual(pl.Audit.Flagged, want) {
		t.Errorf("flagged %v, want %v", pl.Audit.Flagged, want)
	}
	in.Readings = ntsec.OpenReadings()
	pr, err := Prove(m, in, pl.Edits)
	if err != nil {
		t.Fatal(err)
	}
	for i, rd := range in.Readings {
		tally := pr.PerReading[i]
		if (rd.Mask == ntsec.MaskH2) != (tally.Violations > 0) || tally.Violations != tally.DeleteChild {
			t.Errorf("%s: %+v", rd, tally)
		}
	}
	for _, v := range pr.Violations {
		if _, in := in.Policy.RootOf(v.Path); in {
			t.Errorf("Medium under H2: a violation inside a root: %+v", v)
		}
	}
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

// Re-planning the tree the plan was applied to gives no edits, and reads
// only the roots, protected names and audited directories.
func TestWarmPlanIsEmpty(t *testing.T) {
	m := machine(t)
	in := wsInput(t, m, policy.WorkspaceWrite)
	pl := mustMake(t, in)
	writes, err := Apply(m, pl.Edits)
	if err != nil {
		t.Fatal(err)
	}
	objects := map[string]bool{}
	for _, e := range pl.Edits {
		objects[e.Path] = true
	}
	if writes != pl.Proof.Writes || writes < len(objects) {
		t.Errorf("Apply wrote %d descriptors, proof predicted %d, edited objects %d", writes, pl.Proof.Writes, len(objects))
	}
	m.ResetReads()
	again := mustMake(t, in)
	if len(again.Edits) != 0 {
		t.Errorf("warm plan has edits:\n%s", strings.Join(edits(again), "\n"))
	}
	if again.Proof.Writes != 0 {
		t.Errorf("warm plan writes %d descriptors", again.Proof.Writes)
	}
	// cwd + temp + 2×3 protected names + the audit (roots and children).
	if r := m.Reads(); r > 60 {
		t.Errorf("warm plan made %d reads", r)
	}
}

func TestReadOnlyPlan(t *testing.T) {
	m := machine(t)
	in := wsInput(t, m, policy.ReadOnly)
	pl := mustMake(t, in)
	for _, e := range pl.Edits {
		if e.ACE.Type != ntsec.AccessDenied || e.ACE.SID != roSID || e.Op != AddACE {
			t.Errorf("read-only plan has %v", e)
		}
	}
	// At Low integrity a read-only run writes nothing at all: the one
	// world-writable directory is held by its (Medium) label.
	if len(pl.Edits) != 0 || !pl.Proof.OK || !contains(pl.Proof.Tokens, "read-only") {
		t.Errorf("read-only plan: %v, %s", edits(pl), pl.Proof.Summary())
	}
	in.User.MediumIntegrity = true
	in.Readings = []ntsec.Reading{ntsec.DefaultReading}
	pl = mustMake(t, in)
	if len(pl.Edits) != 1 || !pl.Proof.OK {
		t.Errorf("Medium read-only plan: %v, %s", edits(pl), pl.Proof.Summary())
	}
}

func TestProtectedVariants(t *testing.T) {
	m := machine(t)
	b := &builder{t, m}
	b.add(`C:\Users\me\ws\.CODEX`, fsview.Directory, "")
	b.add(`C:\Users\me\ws\.agents`, fsview.File, "") // a file is protected too
	pl := mustMake(t, wsInput(t, m, policy.WorkspaceWrite))
	got := edits(pl)
	for _, w := range []string{
		`add C:\Users\me\ws\.CODEX (D;OICI;0x1f0156;;;S-1-5-21-11-11-11-11)`,
		`add C:\Users\me\ws\.agents (D;;0x1f0156;;;S-1-5-21-11-11-11-11)`,
	} {
		if !contains(got, w) {
			t.Errorf("missing %s in\n%s", w, strings.Join(got, "\n"))
		}
	}
}

// A gitfile (.git as a file, for worktrees and submodules) is protected like
// a .git directory.
func TestGitfile(t *testing.T) {
	b := newBuilder(t)
	b.add(`C:\`, fsview.Directory, "O:SYD:PAI(A;OICI;FA;;;SY)(A;OICI;FA;;;S-1-5-21-1-2-3-1001)")
	b.add(`C:\wt`, fsview.Directory, "")
	b.add(`C:\wt\.git`, fsview.File, "")
	pol := policy.Policy{Mode: policy.WorkspaceWrite, Cwd: `C:\wt`, ExcludeTmp: true}
	res, err := pol.Resolve(policy.Env{Rules: policy.Windows})
	if err != nil {
		t.Fatal(err)
	}
	n, _ := b.m.Stat(`C:\wt\.git`)
	if !n.IsGitfile() {
		t.Fatal("gitfile not recognised")
	}
	pl := mustMake(t, Input{Policy: res, SIDs: testSID, View: b.m})
	if !contains(edits(pl), `add C:\wt\.git (D;;0x1f0156;;;S-1-5-21-11-11-11-11)`) {
		t.Errorf("gitfile not denied: %v", edits(pl))
	}
}

func TestPlanBadInput(t *testing.T) {
	m := machine(t)
	cases := []struct {
		cwd   string
		extra []string
		want  string
	}{
		{`C:\Users\me\nope`, nil, `cwd C:\Users\me\nope does not exist`},
		{`C:\Users\me\ws\link`, nil, `cwd C:\Users\me\ws\link is a junction to C:\Windows`},
		{`C:\Users\me\ws\README.md`, nil, "is a file, not a directory"},
		{`C:\Users\me\ws`, []string{`C:\Users\me\gone`}, `extra root C:\Users\me\gone does not exist`},
	}
	for _, c := range cases {
		pol := policy.Policy{Mode: policy.WorkspaceWrite, Cwd: c.cwd, WritableRoots: c.extra, ExcludeTmp: true}
		res, err := pol.Resolve(policy.Env{Rules: policy.Windows})
		if err != nil {
			t.Fatal(err)
		}
		_, err = Make(context.Background(), Input{Policy: res, SIDs: testSID, View: m})
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("cwd %s: error %v, want %q", c.cwd, err, c.want)
		}
	}
	pol := policy.Policy{Mode: policy.WorkspaceWrite, Cwd: `C:\Users\me\ws`}
	res, _ := pol.Resolve(policy.Env{Rules: policy.Windows})
	if _, err := Make(context.Background(), Input{Policy: res, View: m}); err == nil || !strings.Contains(err.Error(), "capability SIDs") {
		t.Errorf("missing SIDs: %v", err)
	}
}

// The proof catches plans that leave the sandbox too much: here, plans with
// one of their guarding edits removed or an allow that is too broad.
func TestProofCatchesBadPlans(t *testing.T) {
	m := machine(t)
	in := wsInput(t, m, policy.WorkspaceWrite)
	good := mustMake(t, in)
	drop := func(match func(Edit) bool) []Edit {
		var out []Edit
		for _, e := range good.Edits {
			if !match(e) {
				out = append(out, e)
			}
		}
		return out
	}
	cases := map[string]struct {
		edits []Edit
		want  string
	}{
		".git deny dropped":   {drop(func(e Edit) bool { return strings.HasSuffix(e.Path, `ws\.git`) }), `C:\Users\me\ws\.git`},
		"placeholder dropped": {drop(func(e Edit) bool { return strings.HasSuffix(e.Path, `ws\.codex`) }), `C:\Users\me\ws`},
		// Without the user's denial other Low sandboxes may delete in the
		// workspace under H2.
		"user's delete-child deny dropped": {drop(func(e Edit) bool {
			return e.ACE.Mask == ntsec.FileDeleteChild && e.ACE.Type == ntsec.AccessDenied
		}), `C:\Users\me\`},
	}
	// An allow with DELETE_CHILD, and the user's denial that would still
	// hold it back in the normal pass gone too.
	var broad []Edit
	for _, e := range drop(func(e Edit) bool { return e.ACE.Mask == ntsec.FileDeleteChild && e.Path == `C:\Users\me\ws` }) {
		if e.ACE.Type == ntsec.AccessAllowed && e.ACE.SID == wsSID {
			e.ACE.Mask |= ntsec.FileDeleteChild
		}
		broad = append(broad, e)
	}
	cases["allow with DELETE_CHILD"] = struct {
		edits []Edit
		want  string
	}{broad, `C:\Users\me\ws`}
	for name, c := range cases {
		pr, err := Prove(m, in, c.edits)
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if pr.OK {
			t.Errorf("%s: proof passed", name)
			continue
		}
		found := false
		for _, v := range pr.Violations {
			if strings.HasPrefix(v.Path, c.want) {
				found = true
			}
		}
		if !found {
			t.Errorf("%s: no violation at %s: %s", name, c.want, pr.Summary())
		}
	}
	// At Medium integrity the world-writable audit's denies are what
	// holds Public\Shared. The workspace token holds the generic SID too:
	// either deny stops it, so both must go.
	in.User.MediumIntegrity = true
	in.Readings = []ntsec.Reading{ntsec.DefaultReading}
	med := mustMake(t, in)
	var kept []Edit
	for _, e := range med.Edits {
		if !(strings.HasSuffix(e.Path, `Shared`) && (e.ACE.SID == wsSID || e.ACE.SID == genSID)) {
			kept = append(kept, e)
		}
	}
	if len(kept) == len(med.Edits) {
		t.Fatal("the Medium plan has no deny on Public\\Shared")
	}
	if pr, err := Prove(m, in, kept); err != nil || pr.OK || !strings.HasPrefix(pr.Violations[0].Path, `C:\Users\Public\Shared`) {
		t.Errorf("Medium, world-writable deny dropped: %v %s", err, pr.Summary())
	}
}

func TestInverseRestores(t *testing.T) {
	m := machine(t)
	before := m.Clone()
	in := wsInput(t, m, policy.WorkspaceWrite)
	pl := mustMake(t, in)
	if _, err := Apply(m, pl.Edits); err != nil {
		t.Fatal(err)
	}
	if _, err := Apply(m, Inverse(pl.Edits)); err != nil {
		t.Fatal(err)
	}
	// Every DACL holds the same ACEs as before, in the same order. The
	// auto-inherited flag may now be set where it was not: Windows sets it
	// on every object its propagation visits, and it grants nothing.
	if before.Len() != m.Len() {
		t.Fatalf("inverse left %d nodes, want %d", m.Len(), before.Len())
	}
	before.Walk(`C:\`, func(n, _ *fsview.Node) bool {
		after, err := m.Stat(n.Path)
		if err != nil {
			t.Errorf("%s: %v", n.Path, err)
			return true
		}
		if !reflect.DeepEqual(after.SD.DACL.Entries, n.SD.DACL.Entries) || after.SD.Control&^ntsec.DACLAutoInherited != n.SD.Control&^ntsec.DACLAutoInherited {
			t.Errorf("%s: after inverse %s, before %s", n.Path, after.SD.SDDL(), n.SD.SDDL())
		}
		return true
	})
}

func TestRemoveSIDs(t *testing.T) {
	m := machine(t)
	in := wsInput(t, m, policy.WorkspaceWrite)
	pl := mustMake(t, in)
	Apply(m, pl.Edits)
	rm, err := RemoveSIDs(m, []string{`C:\Users\me\ws`, `C:\Users\me\ws\.git`, `C:\Users\me\nope`}, []ntsec.SID{wsSID})
	if err != nil {
		t.Fatal(err)
	}
	if len(rm) != 2 || rm[0].ACE.Type != ntsec.AccessAllowed || rm[1].ACE.Type != ntsec.AccessDenied {
		t.Errorf("RemoveSIDs: %v", rm)
	}
}

func TestAuditBudgets(t *testing.T) {
	m := machine(t)
	in := wsInput(t, m, policy.WorkspaceWrite)
	in.Audit.MaxChecks = 3
	pl, err := Make(context.Background(), in)
	if err != nil && !errors.Is(err, ErrProof) {
		t.Fatal(err)
	}
	if pl.Audit.Complete || pl.Audit.Checked != 3 || len(pl.Audit.Skipped) == 0 || !strings.Contains(pl.Audit.Skipped[0].Why, "check budget of 3") {
		t.Errorf("check budget: %+v", pl.Audit)
	}
	in = wsInput(t, m, policy.WorkspaceWrite)
	in.Audit.MaxChildren = 2
	pl, err = Make(context.Background(), in)
	if err != nil && !errors.Is(err, ErrProof) {
		t.Fatal(err)
	}
	found := false
	for _, s := range pl.Audit.Skipped {
		if strings.Contains(s.Why, "children budget of 2") {
			found = true
		}
	}
	if pl.Audit.Complete || !found {
		t.Errorf("children budget: %+v", pl.Audit)
	}
}

// A workspace inside the temp directory is refused on Windows: the generic
// SID's grant on the temp directory would let every other sandbox write it.
func TestWorkspaceInsideTempRefused(t *testing.T) {
	m := machine(t)
	b := &builder{t, m}
	b.add(`C:\Users\me\AppData\Local\Temp\ws`, fsview.Directory, "")
	pol := policy.Policy{Mode: policy.WorkspaceWrite, Cwd: `C:\Users\me\AppData\Local\Temp\ws`}
	res, err := pol.Resolve(policy.Env{Rules: policy.Windows, TempDirs: []string{`C:\Users\me\AppData\Local\Temp`}})
	if err != nil {
		t.Fatal(err)
	}
	_, err = Make(context.Background(), Input{Policy: res, SIDs: testSID, View: m})
	if err == nil || !strings.Contains(err.Error(), `cwd root C:\Users\me\AppData\Local\Temp\ws lies inside temp root`) {
		t.Errorf("Make: %v", err)
	}
}

// A .git junction whose target lies in a writable root would leave the
// repository writable through the target: refused.
func TestProtectedJunctionIntoRoot(t *testing.T) {
	m := machine(t)
	b := &builder{t, m}
	b.add(`C:\Users\me\ws\gitdir`, fsview.Directory, "")
	if err := m.Remove(`C:\Users\me\ws\link`); err != nil {
		t.Fatal(err)
	}
	ws, _ := m.Stat(`C:\Users\me\ws`)
	if err := m.Add(fsview.Node{Path: `C:\Users\me\ws\.agents`, Type: fsview.Junction, SD: ws.SD, Target: `C:\Users\me\ws\gitdir`}); err != nil {
		t.Fatal(err)
	}
	_, err := Make(context.Background(), wsInput(t, m, policy.WorkspaceWrite))
	if err == nil || !strings.Contains(err.Error(), `is a junction to C:\Users\me\ws\gitdir, inside a writable root`) {
		t.Errorf("Make: %v", err)
	}
}

// A plan on a view that is not in memory cannot be proven by Make, and is
// refused unless the caller proves it itself.
func TestUnprovenView(t *testing.T) {
	in := wsInput(t, machine(t), policy.WorkspaceWrite)
	in.View = struct{ fsview.View }{in.View}
	if _, err := Make(context.Background(), in); err == nil || !strings.Contains(err.Error(), "cannot be proven") {
		t.Errorf("unproven view: %v", err)
	}
	in.Unproven = true
	if pl, err := Make(context.Background(), in); err != nil || pl.Proof.Skipped == "" {
		t.Errorf("Unproven: %v %+v", err, pl)
	}
}
