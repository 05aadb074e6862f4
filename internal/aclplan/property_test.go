package aclplan

import (
	"context"
	"fmt"
	"math/rand"
	"reflect"
	"testing"

	"github.com/cordon-sandbox/cordon/internal/fsview"
	"github.com/cordon-sandbox/cordon/ntsec"
	"github.com/cordon-sandbox/cordon/policy"
)

// DACLs the random trees draw from: inherit only, locked to the user,
// world-writable (inheritable or not, through Everyone, Users,
// Authenticated Users or the logon SID), read-only for the world, denying
// writes, and a null DACL.
var daclPool = []string{
	"", "", "", "", "",
	"D:P(A;OICI;FA;;;S-1-5-21-1-2-3-1001)(A;OICI;FA;;;SY)",
	"D:(A;OICI;FA;;;WD)",
	"D:(A;;FA;;;WD)",
	"D:(A;OICI;0x1301bf;;;BU)",
	"D:(A;CI;0x6;;;AU)",
	"D:(A;OICI;FA;;;S-1-5-5-0-49360)",
	"D:P(A;OICI;0x1200a9;;;WD)(A;OICI;FA;;;S-1-5-21-1-2-3-1001)",
	"D:(D;OICI;FW;;;WD)",
	"D:P(A;OICI;FA;;;WD)",
	"D:(A;OICIIO;FA;;;WD)",
	"D:NO_ACCESS_CONTROL",
}

var namePool = []string{"src", "lib", "a.txt", "b.go", ".git", ".GiT", ".codex", ".agents", "hooks", "x", "y.bin", ".git."}

// randomMachine grows random subtrees under the machine's directories.
func randomMachine(t *testing.T, r *rand.Rand) *fsview.Memory {
	m := machine(t)
	b := &builder{t, m}
	dirs := []string{`C:\Users\me\ws`, `C:\Users\me\AppData\Local\Temp`, `C:\Users\me\other`, `C:\Users\Public`, `C:\`, `C:\Windows`, `C:\Users\me\ws\src`, `C:\Users\me\ws\.git`}
	for i, n := 0, 5+r.Intn(40); i < n; i++ {
		parent := dirs[r.Intn(len(dirs))]
		name := namePool[r.Intn(len(namePool))]
		path := parent + `\` + name
		if parent == `C:\` {
			path = parent + name
		}
		if _, err := m.Stat(path); err == nil {
			continue
		}
		typ := fsview.File
		if r.Intn(2) == 0 {
			typ = fsview.Directory
		}
		b.add(path, typ, daclPool[r.Intn(len(daclPool))])
		if typ == fsview.Directory {
			dirs = append(dirs, path)
		}
	}
	return m
}

func randomInput(t *testing.T, r *rand.Rand, m *fsview.Memory) Input {
	mode := policy.WorkspaceWrite
	if r.Intn(4) == 0 {
		mode = policy.ReadOnly
	}
	pol := policy.Policy{Mode: mode, Cwd: `C:\Users\me\ws`, ExcludeTmp: r.Intn(3) == 0}
	if mode == policy.WorkspaceWrite && r.Intn(2) == 0 {
		pol.WritableRoots = []string{`..\other`}
	}
	if r.Intn(3) == 0 {
		pol.ProtectedNames = []string{"hooks"}
	}
	res, err := pol.Resolve(policy.Env{Rules: policy.Windows, TempDirs: []string{`C:\Users\me\AppData\Local\Temp`}})
	if err != nil {
		t.Fatal(err)
	}
	return Input{Policy: res, SIDs: testSID, View: m, Audit: AuditConfig{Roots: []string{`C:\`}, Depth: -1}}
}

// For random trees and policies: every plan passes its proof, applying it
// and planning again gives no edits, and its inverse restores every DACL.
//
// The plans are proven under every open reading (the default); the trees
// must include ones where H1 and H2 disagree before the plan, or that would
// prove nothing about the readings.
func TestRandomTreesPlanProveIdempotentInverse(t *testing.T) {
	disagree := 0
	defer func() {
		if disagree < 50 {
			t.Errorf("only %d of 150 trees have a node where H1 and H2 disagree for the sandbox token", disagree)
		}
	}()
	for seed := int64(0); seed < 150; seed++ {
		t.Run(fmt.Sprint(seed), func(t *testing.T) {
			r := rand.New(rand.NewSource(seed))
			m := randomMachine(t, r)
			in := randomInput(t, r, m)
			before := m.Clone()
			if readingsDisagree(m) {
				disagree++
			}
			pl := mustMake(t, in)
			if _, err := Apply(m, pl.Edits); err != nil {
				t.Fatal(err)
			}
			again, err := Make(context.Background(), in)
			if err != nil {
				t.Fatalf("re-plan: %v", err)
			}
			if len(again.Edits) != 0 {
				t.Fatalf("re-plan after apply has %d edits, first %v", len(again.Edits), again.Edits[0])
			}
			if _, err := Apply(m, Inverse(pl.Edits)); err != nil {
				t.Fatal(err)
			}
			if m.Len() != before.Len() {
				t.Fatalf("inverse left %d nodes, want %d", m.Len(), before.Len())
			}
			before.Walk(`C:\`, func(n, _ *fsview.Node) bool {
				after, _ := m.Stat(n.Path)
				if !equivalentDACL(after.SD, n.SD) {
					t.Errorf("%s: after inverse %s, before %s", n.Path, after.SD.SDDL(), n.SD.SDDL())
				}
				return true
			})
		})
	}
}

// equivalentDACL compares ACEs, treating a null DACL and a lone "Everyone
// full access" ACE as the same, which is what a deny added to a null DACL
// and removed again leaves.
func equivalentDACL(a, b *ntsec.SecurityDescriptor) bool {
	norm := func(sd *ntsec.SecurityDescriptor) []ntsec.ACE {
		if sd.DACL == nil {
			return []ntsec.ACE{{Type: ntsec.AccessAllowed, Mask: ntsec.FileAllAccess, SID: ntsec.Everyone}}
		}
		return sd.DACL.Entries
	}
	return reflect.DeepEqual(norm(a), norm(b))
}

// readingsDisagree reports whether some node of m gives the workspace's
// sandbox token, at Medium integrity, different rights under H1 and H2:
// before the plan, that is where the readings matter (at Low, integrity
// hides the difference on unlabelled objects).
func readingsDisagree(m *fsview.Memory) bool {
	tok := SandboxToken(User{SID: me, MediumIntegrity: true}, wsSID, genSID)
	h1 := ntsec.Reading{Mask: ntsec.MaskH1, Trigger: ntsec.PerRight, MaxAllowed: ntsec.MaxSplit}
	h2 := h1
	h2.Mask = ntsec.MaskH2
	found := false
	for _, root := range m.Roots() {
		m.Walk(root, func(n, _ *fsview.Node) bool {
			a := ntsec.AccessCheckUnder(h1.Alone(), n.SD, tok, ntsec.MaximumAllowed, n.ObjectType()).Granted
			b := ntsec.AccessCheckUnder(h2.Alone(), n.SD, tok, ntsec.MaximumAllowed, n.ObjectType()).Granted
			found = found || a != b
			return !found
		})
	}
	return found
}
