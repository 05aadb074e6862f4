package readacl

import (
	"testing"

	"github.com/cordon-sandbox/cordon/internal/fsview"
	"github.com/cordon-sandbox/cordon/internal/winpath"
	"github.com/cordon-sandbox/cordon/ntsec"
	"github.com/cordon-sandbox/cordon/policy"
)

var (
	me      = mustSID("S-1-5-21-1-2-3-1001")
	group   = mustSID("S-1-5-21-1-2-3-2000")
	offline = mustSID("S-1-5-21-1-2-3-2001")
	online  = mustSID("S-1-5-21-1-2-3-2002")
	capWS   = mustSID("S-1-5-21-11-11-11-11")
)

func mustSID(s string) ntsec.SID {
	v, err := ntsec.ParseSID(s)
	if err != nil {
		panic(err)
	}
	return v
}

type builder struct {
	t *testing.T
	m *fsview.Memory
}

// add adds path: sddl "" means what it inherits alone, otherwise the
// explicit ACEs followed by what it inherits, unless protected.
func (b *builder) add(path string, typ fsview.Type, sddl string) {
	b.t.Helper()
	b.addNode(fsview.Node{Path: path, Type: typ}, sddl)
}

func (b *builder) link(path string, typ fsview.Type, target string) {
	b.t.Helper()
	b.addNode(fsview.Node{Path: path, Type: typ, Target: target}, "")
}

func (b *builder) addNode(n fsview.Node, sddl string) {
	b.t.Helper()
	p, err := winpath.Parse(n.Path)
	if err != nil {
		b.t.Fatal(err)
	}
	var parentSD *ntsec.SecurityDescriptor
	if pp, ok := p.Parent(); ok {
		pn, err := b.m.Stat(pp.String())
		if err != nil {
			b.t.Fatalf("parent of %s: %v", n.Path, err)
		}
		parentSD = pn.SD
	}
	nt := ntsec.File
	if n.Type != fsview.File {
		nt = ntsec.Directory
	}
	if sddl == "" {
		n.SD = ntsec.NewObject(parentSD, nt, me, ntsec.SID{}, nil)
	} else {
		explicit, err := ntsec.ParseSDDL(sddl)
		if err != nil {
			b.t.Fatal(err)
		}
		if explicit.Owner.IsZero() {
			explicit.Owner = me
		}
		n.SD = explicit
		if parentSD != nil {
			n.SD = ntsec.SetDACL(parentSD, explicit, nt, explicit.DACL, explicit.Control&ntsec.DACLProtected != 0)
		}
	}
	if err := b.m.Add(n); err != nil {
		b.t.Fatal(err)
	}
}

// machine is a Windows install with one user's profile: system
// directories Users reads, a toolchain only its owner reads, the profile
// (protected: the user, SYSTEM, Administrators) with its usual secret
// folders, a project (the cwd) and a second drive.
func machine(t *testing.T) *fsview.Memory {
	b := &builder{t, fsview.NewMemory()}
	D, F := fsview.Directory, fsview.File
	b.add(`C:\`, D, "O:SYD:PAI(A;OICI;FA;;;BA)(A;OICI;FA;;;SY)(A;OICIIO;SDGXGWGR;;;AU)(A;;0x1301bf;;;AU)(A;OICI;0x1200a9;;;BU)")
	b.add(`C:\Windows`, D, "O:SYD:PAI(A;OICI;FA;;;SY)(A;OICI;FA;;;BA)(A;OICI;0x1200a9;;;BU)")
	b.add(`C:\Windows\notepad.exe`, F, "")
	b.add(`C:\Tools`, D, "D:P(A;OICI;FA;;;SY)(A;OICI;FA;;;BA)(A;OICI;FA;;;S-1-5-21-1-2-3-1001)")
	b.add(`C:\Tools\go.exe`, F, "")
	b.add(`C:\Users`, D, "O:SYD:PAI(A;OICI;FA;;;SY)(A;OICI;FA;;;BA)(A;OICI;0x1200a9;;;BU)")
	b.add(`C:\Users\me`, D, "D:P(A;OICI;FA;;;SY)(A;OICI;FA;;;BA)(A;OICI;FA;;;S-1-5-21-1-2-3-1001)")
	for _, d := range []string{`.ssh`, `.aws`, `.config`, `.config\gh`, `.config\git`, `Documents`, `proj`, `proj\src`,
		`AppData`, `AppData\Roaming`, `AppData\Roaming\Microsoft`, `AppData\Roaming\Microsoft\Credentials`,
		`AppData\Roaming\Microsoft\Windows`, `AppData\Roaming\npm`, `AppData\Local`, `AppData\Local\Temp`} {
		b.add(`C:\Users\me\`+d, D, "")
	}
	for _, f := range []string{`.ssh\id_ed25519`, `.aws\credentials`, `.config\gh\hosts.yml`, `.config\git\config`,
		`.gitconfig`, `.npmrc`, `NTUSER.DAT`, `ntuser.dat.LOG1`, `Documents\notes.txt`, `proj\src\main.go`, `AppData\Roaming\Microsoft\Credentials\blob`} {
		b.add(`C:\Users\me\`+f, F, "")
	}
	b.add(`D:\`, D, "O:SYD:PAI(A;OICI;FA;;;BA)(A;OICI;FA;;;SY)(A;OICI;FA;;;S-1-5-21-1-2-3-1001)")
	b.add(`D:\data`, D, "")
	b.add(`D:\data\big.bin`, F, "")
	return b.m
}

// env is the environment the default deny-read list is resolved from.
func env(v string) string {
	return map[string]string{
		"USERPROFILE":  `C:\Users\me`,
		"APPDATA":      `C:\Users\me\AppData\Roaming`,
		"LOCALAPPDATA": `C:\Users\me\AppData\Local`,
	}[v]
}

// resolve resolves a workspace-write policy at cwd with the default
// deny-read list plus extra.
func resolve(t *testing.T, cwd string, writable []string, extra ...string) *policy.Resolved {
	t.Helper()
	pol := policy.Policy{Mode: policy.WorkspaceWrite, Cwd: cwd, ExcludeTmp: true, WritableRoots: writable, DenyRead: extra}
	res, err := pol.Resolve(policy.Env{Rules: policy.Windows, Getenv: env})
	if err != nil {
		t.Fatal(err)
	}
	return res
}

func input(t *testing.T, m *fsview.Memory, res *policy.Resolved) Input {
	return Input{Policy: res, Profile: `C:\Users\me`, System: []string{`C:\Windows`, `C:\Tools`},
		Group: group, Users: []ntsec.SID{offline, online}, Caps: []ntsec.SID{capWS}, View: m}
}
