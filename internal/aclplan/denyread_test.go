package aclplan

import (
	"strings"
	"testing"

	"github.com/cordon-sandbox/cordon/internal/fsview"
	"github.com/cordon-sandbox/cordon/ntsec"
	"github.com/cordon-sandbox/cordon/policy"
)

// Deny-read paths get a Medium no-read-up label: no sandbox token reads
// them under any reading, inside a root too (where deny-read wins), while
// the user's own token still does; without the label the proof fails; a
// path whose label the user may not set is reported, not planned.
func TestDenyReadPlanned(t *testing.T) {
	m := machine(t)
	b := &builder{t, m}
	b.add(`C:\Users\me\.ssh`, fsview.Directory, "")
	b.add(`C:\Users\me\.ssh\id_ed25519`, fsview.File, "")
	b.add(`C:\Users\me\ws\.env`, fsview.File, "")
	b.add(`C:\Users\me\locked`, fsview.Directory, "D:P(A;OICI;0x1200a9;;;S-1-5-21-1-2-3-1001)")
	pol := policy.Policy{Mode: policy.WorkspaceWrite, Cwd: `C:\Users\me\ws`, ExcludeTmp: true,
		DenyRead: []string{`C:\Users\me\.ssh`, `C:\Users\me\ws\.env`, `C:\Users\me\gone`, `C:\Users\me\locked`}}
	off := false
	pol.DefaultDenyRead = &off
	res, err := pol.Resolve(policy.Env{Rules: policy.Windows})
	if err != nil {
		t.Fatal(err)
	}
	in := Input{Policy: res, SIDs: testSID, View: m}
	pl := mustMake(t, in)
	for _, w := range []string{
		`label C:\Users\me\.ssh (ML;OICI;NRNW;;;ME)`,
		`label C:\Users\me\ws\.env (ML;;NRNW;;;ME)`,
	} {
		if !contains(edits(pl), w) {
			t.Errorf("missing %s:\n%s", w, strings.Join(edits(pl), "\n"))
		}
	}
	if len(pl.DenyReadSkipped) != 1 || pl.DenyReadSkipped[0].Path != `C:\Users\me\locked` || !strings.Contains(pl.DenyReadSkipped[0].Why, "WRITE_OWNER") {
		t.Errorf("skipped: %+v", pl.DenyReadSkipped)
	}
	work := m.Clone()
	if _, err := Apply(work, pl.Edits); err != nil {
		t.Fatal(err)
	}
	key, _ := work.Stat(`C:\Users\me\.ssh\id_ed25519`)
	env, _ := work.Stat(`C:\Users\me\ws\.env`)
	sandboxTok := SandboxToken(User{SID: me}, wsSID, genSID)
	userTok := baseToken(User{SID: me})
	for _, n := range []fsview.Node{key, env} {
		for _, rd := range ntsec.OpenReadings() {
			if ntsec.AccessCheckUnder(rd, n.SD, sandboxTok, ntsec.FileReadData, ntsec.File).Allowed {
				t.Errorf("%s: the sandbox reads %s", rd, n.Path)
			}
		}
		if !ntsec.AccessCheck(n.SD, userTok, ntsec.FileReadData|ntsec.FileWriteData, ntsec.File).Allowed {
			t.Errorf("the user can no longer read and write %s", n.Path)
		}
	}
	// Without the .ssh label the proof fails, on reading.
	pr := proveWithout(t, m, in, pl.Edits, func(e Edit) bool { return e.Path == `C:\Users\me\.ssh` })
	if pr.OK || !strings.HasPrefix(pr.Violations[0].Rights, "read") || !strings.HasPrefix(pr.Violations[0].Path, `C:\Users\me\.ssh`) {
		t.Errorf("without the label: %s", pr.Summary())
	}
	// The inverse takes the labels away again.
	if _, err := Apply(work, Inverse(pl.Edits)); err != nil {
		t.Fatal(err)
	}
	if n, _ := work.Stat(`C:\Users\me\.ssh\id_ed25519`); n.SD.SACL != nil {
		t.Errorf("label left after the inverse: %s", n.SD.SDDL())
	}
	// At Medium integrity, run on best effort, nothing is labelled.
	in.DenyReadUnenforced = true
	for _, e := range mustMake(t, in).Edits {
		if e.ACE == DenyReadLabel {
			t.Errorf("labelled although unenforced: %v", e)
		}
	}
}
