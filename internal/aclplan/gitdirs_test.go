package aclplan

import (
	"strings"
	"testing"

	"github.com/cordon-sandbox/cordon/internal/fsview"
	"github.com/cordon-sandbox/cordon/ntsec"
	"github.com/cordon-sandbox/cordon/policy"
)

// A workspace whose .git is a gitfile naming sub\real.git, and an extra
// root that is no repository: the resolver's findings become denies on the
// git directory and the gitfile, a pin on sub, and a HEAD placeholder in
// the extra root; the proof holds them, and fails without each.
func TestGitDirsPlanned(t *testing.T) {
	m := machine(t)
	b := &builder{t, m}
	b.m.Remove(`C:\Users\me\ws\.git\hooks\pre-commit`)
	b.m.Remove(`C:\Users\me\ws\.git\hooks`)
	b.m.Remove(`C:\Users\me\ws\.git\config`)
	b.m.Remove(`C:\Users\me\ws\.git`)
	b.add(`C:\Users\me\ws\.git`, fsview.File, "")
	b.add(`C:\Users\me\ws\sub`, fsview.Directory, "")
	b.add(`C:\Users\me\ws\sub\real.git`, fsview.Directory, "")
	b.add(`C:\Users\me\ws\sub\real.git\hooks`, fsview.Directory, "")
	b.add(`C:\Users\me\ws\sub\notes.txt`, fsview.File, "")
	pol := policy.Policy{Mode: policy.WorkspaceWrite, Cwd: `C:\Users\me\ws`, WritableRoots: []string{`C:\Users\me\other`}, ExcludeTmp: true}
	res, err := pol.Resolve(policy.Env{Rules: policy.Windows})
	if err != nil {
		t.Fatal(err)
	}
	in := Input{Policy: res, SIDs: testSID, View: m, Git: GitDirs{
		Protect: []string{`C:\Users\me\ws\.git`, `C:\Users\me\ws\sub\real.git`},
		Pins:    []string{`C:\Users\me\ws\sub`},
		Guards:  []string{`C:\Users\me\other\HEAD`},
	}}
	pl := mustMake(t, in)
	got := edits(pl)
	for _, w := range []string{
		`add C:\Users\me\ws\.git (D;;0x1f0156;;;S-1-5-21-11-11-11-11)`,
		`add C:\Users\me\ws\sub\real.git (D;OICI;0x1f0156;;;S-1-5-21-11-11-11-11)`,
		`add C:\Users\me\ws\sub (D;;SD;;;S-1-5-21-11-11-11-11)`,
		`create-dir C:\Users\me\other\HEAD (D;OICI;0x1f0156;;;S-1-5-21-22-22-22-22)`,
		`label C:\Users\me\ws\sub\real.git (ML;OICI;NW;;;ME)`,
		`label C:\Users\me\other\HEAD (ML;OICI;NW;;;ME)`,
	} {
		if !contains(got, w) {
			t.Errorf("missing %s in\n%s", w, strings.Join(got, "\n"))
		}
	}
	n := 0
	for _, e := range got {
		if e == `add C:\Users\me\ws\.git (D;;0x1f0156;;;S-1-5-21-11-11-11-11)` {
			n++
		}
	}
	if n != 1 {
		t.Errorf("the gitfile's deny is planned %d times (protected name and resolver)", n)
	}
	// The sandbox may still write inside the pin.
	work := m.Clone()
	if _, err := Apply(work, pl.Edits); err != nil {
		t.Fatal(err)
	}
	notes, _ := work.Stat(`C:\Users\me\ws\sub\notes.txt`)
	tok := SandboxToken(User{SID: me}, wsSID, genSID)
	if !ntsec.AccessCheck(notes.SD, tok, ntsec.FileWriteData, ntsec.File).Allowed {
		t.Errorf("the pin's contents are not writable: %s", notes.SD.SDDL())
	}
	// Each dropped whole (the git directory's deny and its Medium label,
	// either of which holds it), the proof fails.
	for name, drop := range map[string]string{
		"pin":           `C:\Users\me\ws\sub`,
		"git directory": `C:\Users\me\ws\sub\real.git`,
		"HEAD guard":    `C:\Users\me\other\HEAD`,
	} {
		if pr := proveWithout(t, m, in, pl.Edits, func(e Edit) bool { return e.Path == drop }); pr.OK {
			t.Errorf("%s dropped: the proof passed", name)
		}
	}
}

// A guard whose last name ends in a space (the gitfile says "gitdir:
// sub /x", and git reads "sub " as a directory of its own when a separator
// follows) comes from the resolver spelled verbatim, \\?\...\sub : the
// placeholder is planned at that name, not at sub, and the proof holds it.
func TestGitGuardTrailingSpace(t *testing.T) {
	m := machine(t)
	b := &builder{t, m}
	b.add(`C:\Users\me\ws\sub`, fsview.Directory, "")
	pol := policy.Policy{Mode: policy.WorkspaceWrite, Cwd: `C:\Users\me\ws`, ExcludeTmp: true}
	res, err := pol.Resolve(policy.Env{Rules: policy.Windows})
	if err != nil {
		t.Fatal(err)
	}
	guard := `\\?\C:\Users\me\ws\sub `
	in := Input{Policy: res, SIDs: testSID, View: m, Git: GitDirs{Guards: []string{guard}}}
	pl := mustMake(t, in)
	got := edits(pl)
	if w := `create-dir ` + guard + ` (D;OICI;0x1f0156;;;S-1-5-21-11-11-11-11)`; !contains(got, w) {
		t.Errorf("missing %s in\n%s", w, strings.Join(got, "\n"))
	}
	for _, e := range pl.Edits {
		if e.Path == `C:\Users\me\ws\sub` {
			t.Errorf("an edit on sub, which is not the guarded name: %+v", e)
		}
	}
	if pr := proveWithout(t, m, in, pl.Edits, func(e Edit) bool { return e.Path == guard }); pr.OK {
		t.Error("the guard dropped: the proof passed")
	}
}
