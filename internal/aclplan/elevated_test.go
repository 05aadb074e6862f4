package aclplan

import (
	"context"
	"strings"
	"testing"

	"github.com/cordon-sandbox/cordon/internal/fsview"
	"github.com/cordon-sandbox/cordon/ntsec"
	"github.com/cordon-sandbox/cordon/policy"
)

var (
	sbGroup   = mustParseSID("S-1-5-21-1-2-3-2000")
	sbOffline = mustParseSID("S-1-5-21-1-2-3-2001")
	sbOnline  = mustParseSID("S-1-5-21-1-2-3-2002")
	sbUsers   = SandboxUsers{Group: sbGroup, Users: []ntsec.SID{sbOffline, sbOnline}}
)

// elevatedMachine is a Windows install with C:\'s real DACL (CREATOR OWNER
// full control below, Authenticated Users modify below), the user's
// profile with a workspace and its .git, a project under C:\src (where
// nothing inherited names the user), and a project under a ProgramData
// folder that grants Users full control, as application folders often do.
func elevatedMachine(t *testing.T) *fsview.Memory {
	b := newBuilder(t)
	D, F := fsview.Directory, fsview.File
	b.add(`C:\`, D, "O:SYD:PAI(A;OICI;FA;;;BA)(A;OICI;FA;;;SY)(A;OICIIO;GA;;;CO)(A;OICIIO;SDGXGWGR;;;AU)(A;;0x1301bf;;;AU)(A;OICI;0x1200a9;;;BU)")
	b.add(`C:\Users`, D, "O:SYD:PAI(A;OICI;FA;;;SY)(A;OICI;FA;;;BA)(A;OICI;0x1200a9;;;BU)")
	b.add(`C:\Users\me`, D, "D:P(A;OICI;FA;;;SY)(A;OICI;FA;;;BA)(A;OICI;FA;;;S-1-5-21-1-2-3-1001)")
	b.add(`C:\Users\me\ws`, D, "")
	b.add(`C:\Users\me\ws\main.go`, F, "")
	b.add(`C:\Users\me\ws\.git`, D, "")
	b.add(`C:\Users\me\ws\.git\hooks`, D, "")
	b.add(`C:\Users\me\ws\.git\hooks\pre-commit`, F, "")
	b.add(`C:\Users\me\secrets.txt`, F, "")
	b.add(`C:\Users\me\AppData`, D, "")
	b.add(`C:\Users\me\AppData\Local`, D, "")
	b.add(`C:\Users\me\AppData\Local\Temp`, D, "")
	b.add(`C:\src`, D, "")
	b.add(`C:\src\proj`, D, "")
	b.add(`C:\src\proj\.git`, D, "")
	b.add(`C:\src\proj\.git\config`, F, "")
	b.add(`C:\src\notes.txt`, F, "")
	b.add(`C:\ProgramData`, D, "O:SYD:PAI(A;OICI;FA;;;SY)(A;OICI;FA;;;BA)(A;OICI;0x1200a9;;;BU)(A;OICIIO;GA;;;CO)")
	b.add(`C:\ProgramData\app`, D, "D:(A;OICI;FA;;;BU)")
	b.add(`C:\ProgramData\app\app.db`, F, "")
	b.add(`C:\ProgramData\app\proj`, D, "")
	// A .git whose DACL someone protected, granting Users full control:
	// nothing the root passes on reaches it.
	b.add(`C:\ProgramData\app\proj\.git`, D, "D:P(A;OICI;FA;;;BU)(A;OICI;FA;;;SY)")
	// A project whose own DACL grants Users full control, in a folder
	// the audit finds nothing wrong with.
	b.add(`C:\ProgramData\app2`, D, "")
	b.add(`C:\ProgramData\app2\proj`, D, "D:(A;OICI;FA;;;BU)")
	b.add(`C:\ProgramData\app2\proj\.git`, D, "")
	b.add(`C:\ProgramData\app2\proj\.git\config`, F, "")
	b.add(`C:\ProgramData\app\proj\.git\config`, F, "")
	return b.m
}

func elevatedInput(t *testing.T, m *fsview.Memory) Input {
	t.Helper()
	pol := policy.Policy{Mode: policy.WorkspaceWrite, Cwd: `C:\Users\me\ws`, WritableRoots: []string{`C:\src\proj`, `C:\ProgramData\app\proj`, `C:\ProgramData\app2\proj`}}
	res, err := pol.Resolve(policy.Env{Rules: policy.Windows, TempDirs: []string{`C:\Users\me\AppData\Local\Temp`}})
	if err != nil {
		t.Fatal(err)
	}
	return Input{
		Policy: res, SIDs: testSID, View: m, Sandbox: sbUsers,
		Audit: AuditConfig{Roots: []string{`C:\Users\me\ws`, `C:\Users\me`, `C:\`, `C:\src`, `C:\ProgramData`}, Depth: 1},
	}
}

// Each root is granted to the group as well as to its capability SID,
// with the ownership ACEs; every protected name is denied to the group
// too; the group, not the user, loses FILE_DELETE_CHILD; and the proof,
// for both sandbox users under every reading, holds.
func TestElevatedColdPlan(t *testing.T) {
	for _, medium := range []bool{false, true} {
		m := elevatedMachine(t)
		in := elevatedInput(t, m)
		in.User.MediumIntegrity = medium
		pl := mustMake(t, in)
		got := edits(pl)
		want := []string{
			`add C:\Users\me\ws (D;CI;0x40;;;S-1-5-21-1-2-3-2000)`,
			`add C:\Users\me\ws\.git (D;OICI;0x1f0156;;;S-1-5-21-11-11-11-11)`,
			`add C:\Users\me\ws\.git (D;OICI;0x1f0156;;;S-1-5-21-1-2-3-2000)`,
			`create-dir C:\Users\me\ws\.codex (D;OICI;0x1f0156;;;S-1-5-21-11-11-11-11)`,
			`add C:\Users\me\ws\.codex (D;OICI;0x1f0156;;;S-1-5-21-1-2-3-2000)`,
			`add C:\Users\me\ws (A;OICI;0x1301bf;;;S-1-5-21-11-11-11-11)`,
			`add C:\Users\me\ws (A;OICI;0x1301bf;;;S-1-5-21-1-2-3-2000)`,
			`add C:\Users\me\ws (A;OICIIO;RC;;;OW)`,
			`add C:\src\proj (A;OICI;0x1301bf;;;S-1-5-21-1-2-3-2000)`,
			`add C:\src\proj (A;OICIIO;RC;;;OW)`,
			`add C:\src\proj (A;OICI;FA;;;S-1-5-21-1-2-3-1001)`,
			`add C:\src\proj\.git (D;OICI;0x1f0156;;;S-1-5-21-1-2-3-2000)`,
			`add C:\ProgramData\app\proj (D;CI;0x40;;;S-1-5-21-1-2-3-2000)`,
		}
		for _, w := range want {
			if !contains(got, w) {
				t.Errorf("medium=%v: missing edit %s in\n%s", medium, w, strings.Join(got, "\n"))
			}
		}
		for _, e := range pl.Edits {
			if e.ACE.SID == me && e.ACE.Type == ntsec.AccessDenied {
				t.Errorf("medium=%v: the real user is denied something in the elevated mode: %v", medium, e)
			}
			// The profile passes the user's full control on; Users' full
			// control reaches the ProgramData project.
			if e.ACE == UserFullControl(me) && e.Path != `C:\src\proj` {
				t.Errorf("medium=%v: user full control where inheritance gives it: %v", medium, e)
			}
		}
		if !pl.Proof.OK || len(pl.Proof.Readings) != len(ntsec.OpenReadings()) || pl.Proof.GapCount != 0 {
			t.Errorf("medium=%v: proof %s, gaps %+v", medium, pl.Proof.Summary(), pl.Proof.Gaps)
		}
		for _, u := range []ntsec.SID{sbOffline, sbOnline} {
			if !containsSub(pl.Proof.Tokens, "workspace as "+u.String()) || !containsSub(pl.Proof.Tokens, "read-only as "+u.String()) {
				t.Errorf("medium=%v: proof tokens %v lack %s's", medium, pl.Proof.Tokens, u)
			}
		}
		if medium && !contains(pl.Audit.Flagged, `C:\ProgramData\app`) {
			t.Errorf("medium: the folder Users may delete in under H2 is not flagged: %v", pl.Audit.Flagged)
		}
	}
}

func containsSub(list []string, s string) bool {
	for _, x := range list {
		if strings.HasPrefix(x, s) {
			return true
		}
	}
	return false
}

// A warm plan over the applied tree writes nothing.
func TestElevatedWarmPlanWritesNothing(t *testing.T) {
	for _, medium := range []bool{false, true} {
		m := elevatedMachine(t)
		in := elevatedInput(t, m)
		in.User.MediumIntegrity = medium
		cold := mustMake(t, in)
		if len(cold.Edits) == 0 {
			t.Fatal("cold plan has no edits")
		}
		if _, err := Apply(m, cold.Edits); err != nil {
			t.Fatal(err)
		}
		warm := mustMake(t, in)
		if len(warm.Edits) != 0 {
			t.Errorf("medium=%v: warm plan: %s", medium, strings.Join(edits(warm), "\n"))
		}
	}
}

// Each of the elevated mode's edits is needed: the plan without it fails
// its proof under some reading, with the violation that edit prevents.
func TestElevatedEachEditNeeded(t *testing.T) {
	cases := []struct {
		name   string
		medium bool
		drop   func(Edit) bool
		why    string
		token  string // a prefix of the violating token's name
	}{
		{"group deny on .git", true, func(e Edit) bool {
			return e.ACE.SID == sbGroup && e.ACE.Type == ntsec.AccessDenied && e.Path == `C:\ProgramData\app\proj\.git`
		}, "protected name", "workspace as "},
		{"group FILE_DELETE_CHILD deny on the root", true, func(e Edit) bool {
			return e.ACE == groupDenyDeleteChild(sbGroup)
		}, "protected name", "workspace as "},
		{"audit deny for the group", true, func(e Edit) bool {
			return e.ACE.SID == sbGroup && e.Path == `C:\ProgramData\app`
		}, "outside every writable root", "workspace as "},
		{"OWNER RIGHTS", false, func(e Edit) bool { return e.ACE == OwnerRightsACE }, "no OWNER RIGHTS ACE", "workspace as "},
		{"user full control", false, func(e Edit) bool { return e.ACE == UserFullControl(me) }, "the real user must keep full control", "real user "},
	}
	for _, c := range cases {
		m := elevatedMachine(t)
		in := elevatedInput(t, m)
		in.User.MediumIntegrity = c.medium
		pl := mustMake(t, in)
		var kept []Edit
		dropped := 0
		for _, e := range pl.Edits {
			if c.drop(e) {
				dropped++
				continue
			}
			kept = append(kept, e)
		}
		if dropped == 0 {
			t.Errorf("%s: the plan has no such edit", c.name)
			continue
		}
		in.User.SID = me
		pr, err := Prove(m, in, kept)
		if err != nil {
			t.Fatal(err)
		}
		found := false
		for _, v := range pr.Violations {
			if strings.Contains(v.Why, c.why) && strings.HasPrefix(v.Token, c.token) {
				found = true
			}
		}
		if pr.OK || !found {
			t.Errorf("%s: proof without it: %s; violations %+v", c.name, pr.Summary(), pr.Violations)
		}
	}
}

// Without the group's grant the sandbox cannot write its roots: the proof
// reports the whole roots as gaps (less access than the policy allows).
func TestElevatedGroupGrantNeeded(t *testing.T) {
	m := elevatedMachine(t)
	in := elevatedInput(t, m)
	pl := mustMake(t, in)
	pr := proveWithout(t, m, in, pl.Edits, func(e Edit) bool { return e.ACE.SID == sbGroup && e.ACE.Type == ntsec.AccessAllowed })
	if pr.GapCount == 0 {
		t.Errorf("no gap without the group grant: %s", pr.Summary())
	}
	for _, g := range pr.Gaps {
		if _, inRoot := in.Policy.RootOf(g.Path); !inRoot {
			t.Errorf("gap outside the roots: %+v", g)
		}
	}
}

func TestElevatedInputRefused(t *testing.T) {
	for name, s := range map[string]SandboxUsers{
		"users without group":  {Users: []ntsec.SID{sbOffline}},
		"group without users":  {Group: sbGroup},
		"real user as sandbox": {Group: sbGroup, Users: []ntsec.SID{me}},
		"group as user":        {Group: sbGroup, Users: []ntsec.SID{sbGroup}},
	} {
		m := elevatedMachine(t)
		in := elevatedInput(t, m)
		in.Sandbox = s
		if _, err := Make(context.Background(), in); err == nil || !strings.Contains(err.Error(), "sandbox") {
			t.Errorf("%s: Make: %v", name, err)
		}
		// Prove, which backends call on their own, refuses it too: with
		// no sandbox user it would have no token to check.
		if pr, err := Prove(m, in, nil); err == nil || !strings.Contains(err.Error(), "sandbox") {
			t.Errorf("%s: Prove: %v (%s)", name, err, pr.Summary())
		}
	}
}
