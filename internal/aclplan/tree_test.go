package aclplan

import (
	"context"
	"slices"
	"testing"

	"github.com/cordon-sandbox/cordon/internal/fsview"
	"github.com/cordon-sandbox/cordon/internal/winpath"
	"github.com/cordon-sandbox/cordon/ntsec"
	"github.com/cordon-sandbox/cordon/policy"
)

var (
	me      = mustParseSID("S-1-5-21-1-2-3-1001")
	wsSID   = mustParseSID("S-1-5-21-11-11-11-11")
	genSID  = mustParseSID("S-1-5-21-22-22-22-22")
	roSID   = mustParseSID("S-1-5-21-33-33-33-33")
	nbrSID  = mustParseSID("S-1-5-21-44-44-44-44")
	testSID = SIDs{Workspace: wsSID, Generic: genSID, ReadOnly: roSID, Others: []ntsec.SID{nbrSID}}
)

func mustParseSID(s string) ntsec.SID {
	v, err := ntsec.ParseSID(s)
	if err != nil {
		panic(err)
	}
	return v
}

// builder makes trees whose descriptors are what Windows would hold: an
// explicit descriptor where given, otherwise what the object inherits.
type builder struct {
	t *testing.T
	m *fsview.Memory
}

func newBuilder(t *testing.T) *builder { return &builder{t, fsview.NewMemory()} }

// add adds path; sddl "" means "inherit only", otherwise the explicit ACEs
// are followed by what the object inherits unless sddl's DACL is protected.
func (b *builder) add(path string, typ fsview.Type, sddl string) {
	b.t.Helper()
	p, err := winpath.Parse(path)
	if err != nil {
		b.t.Fatal(err)
	}
	var parentSD *ntsec.SecurityDescriptor
	if pp, ok := p.Parent(); ok {
		pn, err := b.m.Stat(pp.String())
		if err != nil {
			b.t.Fatalf("parent of %s: %v", path, err)
		}
		parentSD = pn.SD
	}
	nt := ntsec.File
	if typ != fsview.File {
		nt = ntsec.Directory
	}
	var sd *ntsec.SecurityDescriptor
	if sddl == "" {
		sd = ntsec.NewObject(parentSD, nt, me, ntsec.SID{}, nil)
	} else {
		explicit, err := ntsec.ParseSDDL(sddl)
		if err != nil {
			b.t.Fatal(err)
		}
		if explicit.Owner.IsZero() {
			explicit.Owner = me
		}
		if parentSD == nil {
			sd = explicit
		} else {
			sd = ntsec.SetDACL(parentSD, explicit, nt, explicit.DACL, explicit.Control&ntsec.DACLProtected != 0)
		}
	}
	n := fsview.Node{Path: path, Type: typ, SD: sd}
	if typ == fsview.Junction || typ == fsview.Symlink {
		n.Target = `C:\Windows`
	}
	if err := b.m.Add(n); err != nil {
		b.t.Fatal(err)
	}
}

// machine is a small Windows install: the real DACLs of C:\ (Authenticated
// Users may create folders there), a user profile, a workspace with a .git
// directory, a world-writable shared folder, C:\Windows\Temp (Users may
// create entries) and a neighbouring workspace.
func machine(t *testing.T) *fsview.Memory {
	b := newBuilder(t)
	D, F := fsview.Directory, fsview.File
	b.add(`C:\`, D, "O:SYD:PAI(A;OICI;FA;;;BA)(A;OICI;FA;;;SY)(A;OICIIO;SDGXGWGR;;;AU)(A;;0x1301bf;;;AU)(A;OICI;0x1200a9;;;BU)")
	b.add(`C:\Users`, D, "O:SYD:PAI(A;OICI;FA;;;SY)(A;OICI;FA;;;BA)(A;OICI;0x1200a9;;;BU)")
	b.add(`C:\Users\me`, D, "D:P(A;OICI;FA;;;SY)(A;OICI;FA;;;BA)(A;OICI;FA;;;S-1-5-21-1-2-3-1001)")
	b.add(`C:\Users\me\ws`, D, "")
	b.add(`C:\Users\me\ws\src`, D, "")
	b.add(`C:\Users\me\ws\src\main.go`, F, "")
	b.add(`C:\Users\me\ws\README.md`, F, "")
	b.add(`C:\Users\me\ws\.git`, D, "")
	b.add(`C:\Users\me\ws\.git\config`, F, "")
	b.add(`C:\Users\me\ws\.git\hooks`, D, "")
	b.add(`C:\Users\me\ws\.git\hooks\pre-commit`, F, "")
	b.add(`C:\Users\me\ws\link`, fsview.Junction, "")
	b.add(`C:\Users\me\AppData`, D, "")
	b.add(`C:\Users\me\AppData\Local`, D, "")
	b.add(`C:\Users\me\AppData\Local\Temp`, D, "")
	b.add(`C:\Users\me\AppData\Local\Temp\build.log`, F, "")
	b.add(`C:\Users\me\other`, D, "")
	b.add(`C:\Users\me\other\notes.txt`, F, "")
	b.add(`C:\Users\me\secrets.txt`, F, "")
	b.add(`C:\Users\Public`, D, "D:AI(A;OICI;0x1200a9;;;WD)")
	b.add(`C:\Users\Public\Shared`, D, "D:(A;OICI;FA;;;WD)")
	b.add(`C:\Users\Public\Shared\drop.txt`, F, "")
	b.add(`C:\Windows`, D, "O:SYD:PAI(A;OICI;FA;;;SY)(A;OICI;FA;;;BA)(A;OICI;0x1200a9;;;BU)")
	b.add(`C:\Windows\notepad.exe`, F, "")
	b.add(`C:\Windows\Temp`, D, "D:(A;CI;0x6;;;BU)")
	return b.m
}

func wsInput(t *testing.T, m *fsview.Memory, mode policy.Mode) Input {
	t.Helper()
	pol := policy.Policy{Mode: mode, Cwd: `C:\Users\me\ws`}
	res, err := pol.Resolve(policy.Env{Rules: policy.Windows, TempDirs: []string{`C:\Users\me\AppData\Local\Temp`}})
	if err != nil {
		t.Fatal(err)
	}
	return Input{
		Policy: res, SIDs: testSID, View: m,
		Audit: AuditConfig{Roots: []string{`C:\Users\me\ws`, `C:\Users\me\AppData\Local\Temp`, `C:\Users\me`, `C:\Users\Public`, `C:\`, `C:\Windows`}, Depth: 1},
	}
}

func mustMake(t *testing.T, in Input) *Plan {
	t.Helper()
	pl, err := Make(context.Background(), in)
	if err != nil {
		if pl != nil {
			for _, v := range pl.Proof.Violations {
				t.Logf("violation: %+v", v)
			}
		}
		t.Fatalf("Make: %v", err)
	}
	return pl
}

// proveWithout proves edits less those drop selects, on m; drop must
// select at least one.
func proveWithout(t *testing.T, m *fsview.Memory, in Input, edits []Edit, drop func(Edit) bool) Proof {
	t.Helper()
	kept := slices.DeleteFunc(slices.Clone(edits), drop)
	if len(kept) == len(edits) {
		t.Fatal("proveWithout: no edit dropped")
	}
	pr, err := Prove(m, in, kept)
	if err != nil {
		t.Fatal(err)
	}
	return pr
}
