package aclplan

import (
	"context"
	"fmt"
	"math/rand"
	"testing"

	"github.com/cordon-sandbox/cordon/internal/fsview"
	"github.com/cordon-sandbox/cordon/internal/testutil"
)

// The elevated mode over the same random trees and policies as
// TestRandomTreesPlanProveIdempotentInverse, at Low or Medium integrity:
// every plan passes its proof for both sandbox users under every open
// reading (ownership included), a second plan over the applied tree has no
// edits, and the inverse restores every DACL.
//
// Pure Go: it runs natively only, not again under Wine, where it would
// prove the same thing ten times slower.
func TestElevatedRandomTrees(t *testing.T) {
	if testutil.UnderWine() {
		t.Skip("pure model test: runs natively")
	}
	for seed := int64(0); seed < 150; seed++ {
		t.Run(fmt.Sprint(seed), func(t *testing.T) {
			r := rand.New(rand.NewSource(seed))
			m := randomMachine(t, r)
			addElevatedNodes(t, r, m)
			in := randomInput(t, r, m)
			in.Sandbox = sbUsers
			in.User.MediumIntegrity = r.Intn(2) == 0
			before := m.Clone()
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
			before.Walk(`C:\`, func(n, _ *fsview.Node) bool {
				after, err := m.Stat(n.Path)
				if err != nil {
					t.Errorf("%s: gone after the inverse: %v", n.Path, err)
				} else if !equivalentDACL(after.SD, n.SD) {
					t.Errorf("%s: after inverse %s, before %s", n.Path, after.SD.SDDL(), n.SD.SDDL())
				}
				return true
			})
		})
	}
}

// elevatedPool adds the DACLs that matter to a sandbox user's normal pass:
// CREATOR OWNER full control below, Users or Authenticated Users full
// control, a grant to a sandbox user itself, a protected DACL granting
// Users full control.
var elevatedPool = []string{
	"D:(A;OICIIO;GA;;;CO)(A;OICIIO;SDGXGWGR;;;AU)",
	"D:(A;OICI;FA;;;BU)",
	"D:(A;OICI;FA;;;AU)",
	"D:(A;OICI;FA;;;S-1-5-21-1-2-3-2001)",
	"D:P(A;OICI;FA;;;BU)(A;OICI;FA;;;SY)",
	"D:(A;;FA;;;IU)",
}

// addElevatedNodes adds a few directories and files with elevatedPool's
// DACLs inside and outside the roots.
func addElevatedNodes(t *testing.T, r *rand.Rand, m *fsview.Memory) {
	b := &builder{t, m}
	dirs := []string{`C:\Users\me\ws`, `C:\Users\me\ws\src`, `C:\Users\me\other`, `C:\Users\me`, `C:\Users\me\AppData\Local\Temp`}
	for i, n := 0, 2+r.Intn(6); i < n; i++ {
		path := dirs[r.Intn(len(dirs))] + `\e` + fmt.Sprint(i)
		typ := fsview.Directory
		if r.Intn(3) == 0 {
			typ = fsview.File
		}
		b.add(path, typ, elevatedPool[r.Intn(len(elevatedPool))])
		if typ == fsview.Directory {
			dirs = append(dirs, path)
			b.add(path+`\.git`, fsview.Directory, "")
			b.add(path+`\f.txt`, fsview.File, "")
		}
	}
}
