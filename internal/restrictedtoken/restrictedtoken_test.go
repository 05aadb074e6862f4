package restrictedtoken

import (
	"context"
	"errors"
	"fmt"
	"reflect"
	"runtime"
	"slices"
	"strings"
	"testing"

	"github.com/cordon-sandbox/cordon/internal/aclplan"
	"github.com/cordon-sandbox/cordon/internal/fsview"
	"github.com/cordon-sandbox/cordon/internal/winpath"
	"github.com/cordon-sandbox/cordon/ntsec"
	"github.com/cordon-sandbox/cordon/policy"
)

func mustSID(s string) ntsec.SID {
	v, err := ntsec.ParseSID(s)
	if err != nil {
		panic(err)
	}
	return v
}

var (
	me     = mustSID("S-1-5-21-1-2-3-1001")
	logon  = ntsec.LogonSID(0, 0x3e7a1)
	wsSID  = mustSID("S-1-5-21-11-11-11-11")
	genSID = mustSID("S-1-5-21-22-22-22-22")
	roSID  = mustSID("S-1-5-21-33-33-33-33")
	nbrSID = mustSID("S-1-5-21-44-44-44-44")
	runSID = mustSID("S-1-5-21-55-55-55-55")
)

const (
	enabled = ntsec.GroupEnabled | ntsec.GroupEnabledByDefault | ntsec.GroupMandatory // 0x7
)

// realisticBase is a UAC-filtered interactive user's token as Query reads
// it on Windows: plan's baseToken shape (the user; Everyone, Authenticated
// Users, Users, Interactive and the logon SID enabled; Administrators
// deny-only) with the attributes Windows reports, the explicit Medium label,
// and SeShutdownPrivilege enabled besides SeChangeNotifyPrivilege.
func realisticBase() *ntsec.Token {
	return &ntsec.Token{
		User: me,
		Groups: []ntsec.Group{
			{SID: ntsec.Everyone, Attributes: enabled},
			{SID: ntsec.AuthenticatedUsers, Attributes: enabled},
			{SID: ntsec.BuiltinUsers, Attributes: enabled},
			{SID: ntsec.Interactive, Attributes: enabled},
			{SID: logon, Attributes: enabled | ntsec.GroupLogonID},
			{SID: ntsec.BuiltinAdministrators, Attributes: ntsec.GroupDenyOnly},
		},
		Privileges: []string{"SeChangeNotifyPrivilege", "SeShutdownPrivilege"},
		Integrity:  ntsec.MediumLabel,
	}
}

func TestModel(t *testing.T) {
	base := realisticBase()
	before := fmt.Sprint(base)
	got, err := Model(base, Spec{Run: runSID, Caps: []ntsec.SID{wsSID, genSID}})
	if err != nil {
		t.Fatal(err)
	}
	want := &ntsec.Token{
		User:            me,
		Groups:          realisticBase().Groups,
		RestrictedSIDs:  []ntsec.SID{wsSID, genSID, runSID, logon, ntsec.Everyone},
		WriteRestricted: true,
		Privileges:      []string{"SeChangeNotifyPrivilege"},
		Integrity:       ntsec.MediumLabel,
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("Model:\n got %s\nwant %s", tokenJSON(t, got), tokenJSON(t, want))
	}
	if fmt.Sprint(base) != before {
		t.Errorf("Model changed its base token")
	}
	got.Groups[0].Attributes = 0
	if base.Groups[0].Attributes != enabled {
		t.Errorf("the model's groups share memory with the base token's")
	}

	low, err := Model(base, Spec{Run: runSID, Caps: []ntsec.SID{wsSID}, LowIntegrity: true})
	if err != nil {
		t.Fatal(err)
	}
	if low.Integrity != ntsec.LowLabel || low.IntegrityRID() != 0x1000 {
		t.Errorf("LowIntegrity: integrity %s, want Low", low.Integrity)
	}

	// Privileges the base holds are gone whatever they are: a base with
	// backup, restore and take-ownership enabled is accepted, and the
	// sandbox token has none of them.
	priv := realisticBase()
	priv.Privileges = append(priv.Privileges, "SeBackupPrivilege", "SeRestorePrivilege", "SeTakeOwnershipPrivilege", "SeSecurityPrivilege")
	m, err := Model(priv, Spec{Run: runSID, Caps: []ntsec.SID{wsSID}})
	if err != nil {
		t.Fatalf("base with backup privileges: %v", err)
	}
	if !reflect.DeepEqual(m.Privileges, []string{"SeChangeNotifyPrivilege"}) {
		t.Errorf("privileges %v, want SeChangeNotifyPrivilege alone", m.Privileges)
	}
}

func tokenJSON(t *testing.T, tok *ntsec.Token) string {
	t.Helper()
	b, err := tok.MarshalJSON()
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func TestModelErrors(t *testing.T) {
	with := func(f func(*ntsec.Token)) *ntsec.Token {
		b := realisticBase()
		f(b)
		return b
	}
	caps := []ntsec.SID{wsSID}
	cases := []struct {
		name string
		base *ntsec.Token
		spec Spec
		want string
		is   error
	}{
		{"nil base", nil, Spec{Run: runSID, Caps: caps}, "no base token", nil},
		{"no caps", realisticBase(), Spec{}, "no capability SIDs", nil},
		{"duplicate cap", realisticBase(), Spec{Run: runSID, Caps: []ntsec.SID{wsSID, genSID, wsSID}}, "S-1-5-21-11-11-11-11 is given twice", nil},
		{"zero cap", realisticBase(), Spec{Run: runSID, Caps: []ntsec.SID{{}}}, "capability SID 0 (empty) is not an S-1-5-21-… SID", nil},
		{"Everyone as cap", realisticBase(), Spec{Run: runSID, Caps: []ntsec.SID{wsSID, ntsec.Everyone}}, "capability SID 1 (S-1-1-0) is not an S-1-5-21-… SID", nil},
		{"AppContainer capability", realisticBase(), Spec{Run: runSID, Caps: []ntsec.SID{mustSID("S-1-15-3-1")}}, "(S-1-15-3-1) is not an S-1-5-21-… SID", nil},
		{"S-1-5-32 alias", realisticBase(), Spec{Run: runSID, Caps: []ntsec.SID{ntsec.BuiltinUsers}}, "(S-1-5-32-545) is not an S-1-5-21-… SID", nil},
		{"bare S-1-5-21", realisticBase(), Spec{Run: runSID, Caps: []ntsec.SID{mustSID("S-1-5-21")}}, "(S-1-5-21) is not an S-1-5-21-… SID", nil},
		{"user as cap", realisticBase(), Spec{Run: runSID, Caps: []ntsec.SID{me}}, "S-1-5-21-1-2-3-1001 is the token's user", nil},
		{"group as cap", with(func(b *ntsec.Token) {
			b.Groups = append(b.Groups, ntsec.Group{SID: mustSID("S-1-5-21-1-2-3-513"), Attributes: enabled})
		}), Spec{Run: runSID, Caps: []ntsec.SID{mustSID("S-1-5-21-1-2-3-513")}}, "S-1-5-21-1-2-3-513 is already a group of the token", nil},
		{"elevated", with(func(b *ntsec.Token) { b.Groups[5].Attributes = enabled | ntsec.GroupOwner }), Spec{Run: runSID, Caps: caps}, "run cordon from a non-elevated shell", ErrElevated},
		{"already restricted", with(func(b *ntsec.Token) { b.RestrictedSIDs = []ntsec.SID{ntsec.Everyone} }), Spec{Run: runSID, Caps: caps}, "already restricted", nil},
		{"no logon SID", with(func(b *ntsec.Token) { b.Groups = append(b.Groups[:4:4], b.Groups[5]) }), Spec{Run: runSID, Caps: caps}, "no logon SID", nil},
		{"two logon SIDs", with(func(b *ntsec.Token) {
			b.Groups = append(b.Groups, ntsec.Group{SID: ntsec.LogonSID(0, 1), Attributes: enabled | ntsec.GroupLogonID})
		}), Spec{Run: runSID, Caps: caps}, "two logon SIDs", nil},
		{"no user", with(func(b *ntsec.Token) { b.User = ntsec.SID{} }), Spec{Run: runSID, Caps: caps}, "no user SID", nil},
		{"no run SID", realisticBase(), Spec{Caps: caps}, "run SID (empty) is not an S-1-5-21-… SID", nil},
		{"Everyone as run SID", realisticBase(), Spec{Caps: caps, Run: ntsec.Everyone}, "run SID (S-1-1-0) is not", nil},
		{"run SID is a cap", realisticBase(), Spec{Caps: caps, Run: wsSID}, "is also a capability SID", nil},
		{"run SID is the user", realisticBase(), Spec{Caps: caps, Run: me}, "is already held by the token", nil},
	}
	for _, c := range cases {
		got, err := Model(c.base, c.spec)
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: Model = %v, %v; want an error containing %q", c.name, got, err, c.want)
			continue
		}
		if got != nil {
			t.Errorf("%s: Model returned a token with its error", c.name)
		}
		if c.is != nil && !errors.Is(err, c.is) {
			t.Errorf("%s: error %v is not %v", c.name, err, c.is)
		}
	}
	// A logon SID only mentioned in the groups (without SE_GROUP_LOGON_ID)
	// is not the logon SID: the attribute decides, as for Windows.
	b := realisticBase()
	b.Groups[4].Attributes = enabled
	if _, err := Model(b, Spec{Run: runSID, Caps: caps}); err == nil || !strings.Contains(err.Error(), "no logon SID") {
		t.Errorf("logon SID without SE_GROUP_LOGON_ID: %v", err)
	}
}

func TestDefaultDACL(t *testing.T) {
	acl := DefaultDACL(me, runSID)
	want := "(A;;GA;;;S-1-5-21-1-2-3-1001)(A;;GA;;;SY)(A;;GA;;;S-1-5-21-55-55-55-55)"
	if got := acl.SDDL(); got != want {
		t.Errorf("DefaultDACL = %s, want %s", got, want)
	}
	// The binary form Create passes to SetTokenInformation round-trips.
	b, err := (&ntsec.SecurityDescriptor{DACL: acl}).MarshalBinary()
	if err != nil {
		t.Fatal(err)
	}
	back, err := ntsec.ParseBinary(b)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(back.DACL, acl) {
		t.Errorf("round trip: %s, want %s", back.DACL.SDDL(), acl.SDDL())
	}
	// An object created with it is writable by the sandbox token itself,
	// whose writes need a restricting SID granted: the run SID.
	tok, err := Model(realisticBase(), Spec{Run: runSID, Caps: []ntsec.SID{wsSID}})
	if err != nil {
		t.Fatal(err)
	}
	obj := ntsec.NewObject(nil, ntsec.File, me, ntsec.SID{}, DefaultDACL(me, runSID))
	if res := ntsec.AccessCheck(obj, tok, ntsec.FileAllAccess, ntsec.File); !res.Allowed {
		t.Errorf("sandbox token on an object with the default DACL:\n%s", res.Explain())
	}
}

// descriptors are the descriptors the token comparisons run over: the
// workspace, .git and outside shapes of plan's tests and the edge cases of
// a write-restricted token (owner rights, deny-only Administrators, a label,
// Everyone, the logon SID, another workspace's SID). Every one has an owner,
// a group and a DACL, as Windows' AccessCheck needs.
func descriptors(user, logon ntsec.SID, ws, gen, other ntsec.SID) map[string]string {
	r := strings.NewReplacer("$U", user.String(), "$L", logon.String(), "$W", ws.String(), "$G", gen.String(), "$O", other.String())
	out := map[string]string{}
	for name, s := range map[string]string{
		"workspace":          "O:$UG:$UD:AI(A;OICI;0x1301bf;;;$W)(A;OICIID;FA;;;SY)(A;OICIID;FA;;;BA)(A;OICIID;FA;;;$U)",
		"workspace file":     "O:$UG:$UD:AI(A;ID;0x1301bf;;;$W)(A;ID;FA;;;SY)(A;ID;FA;;;BA)(A;ID;FA;;;$U)",
		".git":               "O:$UG:$UD:AI(D;OICI;0x1f0156;;;$W)(A;OICIID;0x1301bf;;;$W)(A;OICIID;FA;;;SY)(A;OICIID;FA;;;BA)(A;OICIID;FA;;;$U)",
		".git/config":        "O:$UG:$UD:AI(D;ID;0x1f0156;;;$W)(A;ID;0x1301bf;;;$W)(A;ID;FA;;;SY)(A;ID;FA;;;BA)(A;ID;FA;;;$U)",
		"temp":               "O:$UG:$UD:AI(A;OICI;0x1301bf;;;$G)(A;OICIID;FA;;;SY)(A;OICIID;FA;;;BA)(A;OICIID;FA;;;$U)",
		"profile (outside)":  "O:$UG:$UD:P(A;OICI;FA;;;SY)(A;OICI;FA;;;BA)(A;OICI;FA;;;$U)",
		"secrets (outside)":  "O:$UG:$UD:AI(A;ID;FA;;;SY)(A;ID;FA;;;BA)(A;ID;FA;;;$U)",
		"windows":            "O:SYG:SYD:PAI(A;OICI;FA;;;SY)(A;OICI;FA;;;BA)(A;OICI;0x1200a9;;;BU)",
		"C:\\":               "O:SYG:SYD:PAI(A;OICI;FA;;;BA)(A;OICI;FA;;;SY)(A;OICIIO;SDGXGWGR;;;AU)(A;;0x1301bf;;;AU)(A;OICI;0x1200a9;;;BU)",
		"C:\\ guarded":       "O:SYG:SYD:PAI(D;OICI;0x1f0156;;;$W)(A;OICI;FA;;;BA)(A;OICI;FA;;;SY)(A;OICIIO;SDGXGWGR;;;AU)(A;;0x1301bf;;;AU)(A;OICI;0x1200a9;;;BU)",
		"world-writable":     "O:SYG:SYD:(A;OICI;FA;;;WD)",
		"world, guarded":     "O:SYG:SYD:(D;OICI;0x1f0156;;;$W)(D;OICI;0x1f0156;;;$G)(A;OICI;FA;;;WD)",
		"logon SID":          "O:SYG:SYD:(A;;FA;;;$L)",
		"users may write":    "O:SYG:SYD:(A;CI;0x6;;;BU)",
		"other workspace":    "O:$UG:$UD:(A;OICI;0x1301bf;;;$O)(A;OICI;FA;;;$U)",
		"admins only":        "O:BAG:SYD:(A;;FA;;;BA)",
		"deny admins":        "O:$UG:$UD:(D;;FA;;;BA)(A;;FA;;;$U)(A;;FA;;;$W)",
		"owner, empty DACL":  "O:$UG:$UD:",
		"owner rights":       "O:$UG:$UD:(A;;FR;;;OW)(A;;FA;;;$W)",
		"null DACL":          "O:$UG:$UD:NO_ACCESS_CONTROL",
		"low label":          "O:$UG:$UD:(A;;FA;;;$U)(A;;FA;;;$W)S:(ML;;NW;;;LW)",
		"high label":         "O:$UG:$UD:(A;;FA;;;$U)(A;;FA;;;$W)S:(ML;;NWNR;;;HI)",
		"cap, not user":      "O:SYG:SYD:(A;;FA;;;$W)",
		"user, read-only":    "O:SYG:SYD:(A;;FR;;;$U)(A;;FA;;;$W)",
		"write-restricted":   "O:SYG:SYD:(A;;FA;;;WR)(A;;FA;;;$U)",
		"restricted code":    "O:SYG:SYD:(A;;FA;;;RC)(A;;FA;;;$U)",
		"cap deny-only diff": "O:SYG:SYD:(A;;FA;;;$U)(D;;WD;;;$G)(A;;FA;;;$G)",
	} {
		out[name] = r.Replace(s)
	}
	return out
}

// rights are the file rights compared one at a time.
var rights = []ntsec.AccessMask{
	ntsec.FileReadData, ntsec.FileWriteData, ntsec.FileAppendData, ntsec.FileReadEA, ntsec.FileWriteEA,
	ntsec.FileExecute, ntsec.FileDeleteChild, ntsec.FileReadAttributes, ntsec.FileWriteAttributes,
	ntsec.Delete, ntsec.ReadControl, ntsec.WriteDAC, ntsec.WriteOwner, ntsec.Synchronize,
}

// sameAccess reports how a and b differ in what they get on sd, one right at
// a time and with MAXIMUM_ALLOWED ("" when they agree).
func sameAccess(sd *ntsec.SecurityDescriptor, a, b *ntsec.Token, typ ntsec.ObjectType) string {
	var diffs []string
	for _, r := range append(rights, ntsec.MaximumAllowed) {
		ra, rb := ntsec.AccessCheck(sd, a, r, typ), ntsec.AccessCheck(sd, b, r, typ)
		if ra.Allowed != rb.Allowed || ra.Granted != rb.Granted {
			name := "MAXIMUM_ALLOWED"
			if r != ntsec.MaximumAllowed {
				name = ntsec.RightName(r, typ == ntsec.Directory)
			}
			diffs = append(diffs, fmt.Sprintf("%s: %v %s vs %v %s", name, ra.Allowed, ra.Granted, rb.Allowed, rb.Granted))
		}
	}
	return strings.Join(diffs, "; ")
}

// The point of the package: the token Create makes, as Model describes it,
// gets exactly the access aclplan.SandboxToken — what the planner's proof
// checks — says it gets, on every descriptor of the table.
func TestModelAgreesWithPlanSandboxToken(t *testing.T) {
	for _, low := range []bool{true, false} {
		u := aclplan.User{SID: me, Logon: logon, MediumIntegrity: !low}
		for _, caps := range [][]ntsec.SID{{wsSID, genSID}, {roSID}, {nbrSID, genSID}} {
			model, err := Model(realisticBase(), Spec{Run: runSID, Caps: caps, LowIntegrity: low})
			if err != nil {
				t.Fatal(err)
			}
			proof := aclplan.SandboxToken(u, caps...)
			for name, sddl := range descriptors(me, logon, wsSID, genSID, nbrSID) {
				sd, err := ntsec.ParseSDDL(sddl)
				if err != nil {
					t.Fatalf("%s: %v", name, err)
				}
				for _, typ := range []ntsec.ObjectType{ntsec.File, ntsec.Directory} {
					if d := sameAccess(sd, model, proof, typ); d != "" {
						t.Errorf("caps %v, %s (%s): model vs aclplan.SandboxToken: %s", caps, name, typ, d)
					}
				}
			}
		}
	}
}

// The same over every node of a small machine after a real plan for it has
// been made (and proven) and applied: the descriptors the proof actually
// checked.
func TestModelAgreesWithPlanOnAppliedPlan(t *testing.T) {
	m := machine(t)
	pol := policy.Policy{Mode: policy.WorkspaceWrite, Cwd: `C:\Users\me\ws`}
	res, err := pol.Resolve(policy.Env{Rules: policy.Windows, TempDirs: []string{`C:\Users\me\AppData\Local\Temp`}})
	if err != nil {
		t.Fatal(err)
	}
	in := aclplan.Input{
		Policy: res, View: m, User: aclplan.User{SID: me, Logon: logon},
		SIDs:  aclplan.SIDs{Workspace: wsSID, Generic: genSID, ReadOnly: roSID, Others: []ntsec.SID{nbrSID}},
		Audit: aclplan.AuditConfig{Roots: []string{`C:\Users\me`, `C:\Users\Public`, `C:\`, `C:\Windows`}, Depth: 1},
	}
	pl, err := aclplan.Make(context.Background(), in)
	if err != nil {
		t.Fatalf("aclplan.Make: %v", err)
	}
	if _, err := aclplan.Apply(m, pl.Edits); err != nil {
		t.Fatal(err)
	}
	nodes := 0
	for _, caps := range [][]ntsec.SID{{wsSID, genSID}, {roSID}, {nbrSID, genSID}} {
		model, err := Model(realisticBase(), Spec{Run: runSID, Caps: caps, LowIntegrity: true})
		if err != nil {
			t.Fatal(err)
		}
		proof := aclplan.SandboxToken(in.User, caps...)
		for _, root := range m.Roots() {
			err := m.Walk(root, func(n, _ *fsview.Node) bool {
				nodes++
				if d := sameAccess(n.SD, model, proof, n.ObjectType()); d != "" {
					t.Errorf("caps %v, %s %s: model vs aclplan.SandboxToken: %s", caps, n.Path, n.SD.SDDL(), d)
				}
				return true
			})
			if err != nil {
				t.Fatal(err)
			}
		}
	}
	if nodes < 3*15 {
		t.Errorf("compared only %d nodes", nodes)
	}
}

// machine is a small Windows install after plan's tests: the real DACLs of
// C:\, a profile, a workspace with .git, a temp directory, a world-writable
// folder and C:\Windows.
func machine(t *testing.T) *fsview.Memory {
	m := fsview.NewMemory()
	add := func(path string, typ fsview.Type, sddl string) {
		t.Helper()
		p, err := winpath.Parse(path)
		if err != nil {
			t.Fatal(err)
		}
		var parent *ntsec.SecurityDescriptor
		if pp, ok := p.Parent(); ok {
			n, err := m.Stat(pp.String())
			if err != nil {
				t.Fatalf("parent of %s: %v", path, err)
			}
			parent = n.SD
		}
		nt := ntsec.File
		if typ != fsview.File {
			nt = ntsec.Directory
		}
		sd := ntsec.NewObject(parent, nt, me, ntsec.SID{}, nil)
		if sddl != "" {
			explicit, err := ntsec.ParseSDDL(sddl)
			if err != nil {
				t.Fatal(err)
			}
			if explicit.Owner.IsZero() {
				explicit.Owner = me
			}
			sd = explicit
			if parent != nil {
				sd = ntsec.SetDACL(parent, explicit, nt, explicit.DACL, explicit.Control&ntsec.DACLProtected != 0)
			}
		}
		if err := m.Add(fsview.Node{Path: path, Type: typ, SD: sd}); err != nil {
			t.Fatal(err)
		}
	}
	D, F := fsview.Directory, fsview.File
	add(`C:\`, D, "O:SYD:PAI(A;OICI;FA;;;BA)(A;OICI;FA;;;SY)(A;OICIIO;SDGXGWGR;;;AU)(A;;0x1301bf;;;AU)(A;OICI;0x1200a9;;;BU)")
	add(`C:\Users`, D, "O:SYD:PAI(A;OICI;FA;;;SY)(A;OICI;FA;;;BA)(A;OICI;0x1200a9;;;BU)")
	add(`C:\Users\me`, D, "D:P(A;OICI;FA;;;SY)(A;OICI;FA;;;BA)(A;OICI;FA;;;"+me.String()+")")
	add(`C:\Users\me\ws`, D, "")
	add(`C:\Users\me\ws\main.go`, F, "")
	add(`C:\Users\me\ws\.git`, D, "")
	add(`C:\Users\me\ws\.git\config`, F, "")
	add(`C:\Users\me\AppData`, D, "")
	add(`C:\Users\me\AppData\Local`, D, "")
	add(`C:\Users\me\AppData\Local\Temp`, D, "")
	add(`C:\Users\me\secrets.txt`, F, "")
	add(`C:\Users\Public`, D, "D:AI(A;OICI;0x1200a9;;;WD)")
	add(`C:\Users\Public\Shared`, D, "D:(A;OICI;FA;;;WD)")
	add(`C:\Users\Public\Shared\drop.txt`, F, "")
	add(`C:\Windows`, D, "O:SYD:PAI(A;OICI;FA;;;SY)(A;OICI;FA;;;BA)(A;OICI;0x1200a9;;;BU)")
	add(`C:\Windows\notepad.exe`, F, "")
	add(`C:\Windows\Temp`, D, "D:(A;CI;0x6;;;BU)")
	return m
}

// A Low-integrity sandbox token cannot write what has no label (which
// counts as Medium with no-write-up), even inside the workspace, but still
// reads it; a Low label makes the workspace writable again.
func TestLowIntegrityNeedsLabel(t *testing.T) {
	tok, err := Model(realisticBase(), Spec{Run: runSID, Caps: []ntsec.SID{wsSID}, LowIntegrity: true})
	if err != nil {
		t.Fatal(err)
	}
	d := descriptors(me, logon, wsSID, genSID, nbrSID)
	ws, _ := ntsec.ParseSDDL(d["workspace file"])
	if ntsec.AccessCheck(ws, tok, ntsec.FileWriteData, ntsec.File).Allowed {
		t.Error("Low token writes an unlabelled workspace file")
	}
	if !ntsec.AccessCheck(ws, tok, ntsec.FileGenericRead, ntsec.File).Allowed {
		t.Error("Low token cannot read a workspace file")
	}
	low, _ := ntsec.ParseSDDL(d["low label"])
	if !ntsec.AccessCheck(low, tok, ntsec.FileWriteData, ntsec.File).Allowed {
		t.Error("Low token cannot write a Low-labelled file granted to its capability SID")
	}
}

func TestNotWindows(t *testing.T) {
	if runtime.GOOS == "windows" {
		t.Skip("Create and Query work on Windows")
	}
	if _, err := Create(Spec{Run: runSID, Caps: []ntsec.SID{wsSID}}); err == nil || !strings.Contains(err.Error(), "only on Windows") || !errors.Is(err, errors.ErrUnsupported) {
		t.Errorf("Create: %v", err)
	}
	if _, err := Query(0); err == nil || !strings.Contains(err.Error(), "only on Windows") {
		t.Errorf("Query: %v", err)
	}
}

func TestDiff(t *testing.T) {
	a, err := Model(realisticBase(), Spec{Caps: []ntsec.SID{wsSID, genSID}, Run: runSID})
	if err != nil {
		t.Fatal(err)
	}
	b, _ := Model(realisticBase(), Spec{Caps: []ntsec.SID{wsSID, genSID}, Run: runSID})
	if d := Diff(a, b); len(d) != 0 {
		t.Errorf("Diff of equal tokens: %v", d)
	}
	// The order of restricting SIDs does not matter to the access check.
	slices.Reverse(b.RestrictedSIDs)
	if d := Diff(a, b); len(d) != 0 {
		t.Errorf("Diff with the restricting SIDs reordered: %v", d)
	}
	b.RestrictedSIDs[0] = nbrSID
	b.WriteRestricted = false
	b.Privileges = nil
	b.Integrity = ntsec.LowLabel
	d := Diff(a, b)
	for _, f := range []string{"RestrictedSIDs", "WriteRestricted", "Privileges", "Integrity"} {
		if _, ok := d[f]; !ok {
			t.Errorf("Diff misses %s: %v", f, d)
		}
	}
	if len(d) != 4 {
		t.Errorf("Diff reports more than the four changed fields: %v", d)
	}
}
