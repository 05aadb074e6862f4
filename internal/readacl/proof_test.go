package readacl

import (
	"strings"
	"testing"

	"github.com/cordon-sandbox/cordon/internal/aclplan"
	"github.com/cordon-sandbox/cordon/internal/fsview"
	"github.com/cordon-sandbox/cordon/ntsec"
)

func grantEdit(path string) aclplan.Edit {
	return aclplan.Edit{Op: aclplan.AddACE, Path: path, ACE: GrantACE(group), Reason: "test"}
}

// The proof fails each plan that lets a sandbox user read a secret or
// write outside the roots, and says where.
func TestProofCatchesBadPlans(t *testing.T) {
	cases := []struct {
		name  string
		setup func(b *builder)
		edits []aclplan.Edit
		want  string
	}{
		{"profile child passes its grant on to a secret folder", nil,
			[]aclplan.Edit{grantEdit(`C:\Users\me\.config`)}, `C:\Users\me\.config\gh`},
		{"the whole profile granted", nil,
			[]aclplan.Edit{grantEdit(`C:\Users\me`)}, `C:\Users\me\.aws`},
		{"a secret created later inherits the grant", nil,
			[]aclplan.Edit{grantEdit(`C:\Users\me\AppData\Local`)}, `C:\Users\me\AppData\Local\Microsoft\Credentials`},
		{"explicit Everyone read on .ssh", func(b *builder) {
			b.add(`C:\Users\me\.ssh\known_hosts`, fsview.File, "D:(A;;0x1200a9;;;WD)")
		}, nil, `C:\Users\me\.ssh\known_hosts`},
		{"grant on a junction into .ssh", func(b *builder) {
			b.link(`C:\Users\me\keys`, fsview.Junction, `C:\Users\me\.ssh`)
		}, []aclplan.Edit{grantEdit(`C:\Users\me\keys`)}, `an edit on a junction`},
		{"world-writable directory outside the roots", func(b *builder) {
			b.add(`C:\Shared`, fsview.Directory, "D:(A;OICI;FA;;;WD)")
		}, nil, `C:\Shared`},
		{"a secret behind a junction, its target granted", func(b *builder) {
			b.add(`D:\gpg`, fsview.Directory, "")
			b.add(`D:\gpg\secring`, fsview.File, "")
			b.link(`C:\Users\me\.gnupg`, fsview.Junction, `D:\gpg`)
		}, []aclplan.Edit{grantEdit(`D:\gpg`)}, `D:\gpg`},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			m := machine(t)
			if c.setup != nil {
				c.setup(&builder{t, m})
			}
			in := input(t, m, resolve(t, `C:\Users\me\proj`, nil))
			if ok := mustProve(t, m, in, nil); c.edits != nil && !ok.OK {
				t.Fatalf("the tree fails before the edits: %s", ok.Summary())
			}
			pr := mustProve(t, m, in, c.edits)
			if pr.OK || !strings.Contains(pr.Summary(), c.want) {
				t.Errorf("proof: %s; want a violation at %s", pr.Summary(), c.want)
			}
			if len(pr.Tokens) != 2 || len(pr.Readings) != len(ntsec.OpenReadings()) {
				t.Errorf("checked %v under %v", pr.Tokens, pr.Readings)
			}
		})
	}
}

// With the cwd the profile itself, the planner splits it: the cwd's
// children are granted, not the cwd, and the proof holds.
func TestCwdIsProfile(t *testing.T) {
	m := machine(t)
	in := input(t, m, resolve(t, `C:\Users\me`, nil))
	pl, err := Make(in)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range pl.Edits {
		if e.Path == `C:\Users\me` {
			t.Errorf("the profile is granted: %s", e)
		}
	}
	if !strings.Contains(strings.Join(paths(pl.Edits), "\n"), `C:\Users\me\Documents `) {
		t.Errorf("edits: %v", paths(pl.Edits))
	}
}
