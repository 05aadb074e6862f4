//go:build windows

package ntfs

// The propagation walk on a real file system. TestPropagationWalk is
// plumbing and runs under Wine too: which objects the walk reaches, by
// handles that survive a rename of the tree above them, the file with two
// names reported and never written, the count of writes. What it cannot
// show under Wine, which keeps no DACL or label it is given, is what was
// stored: TestOwnPropagation compares every descriptor with aclplan.Apply's
// model on real Windows only, with a junction and a protected directory in
// the tree.

import (
	"context"
	"os"
	"path/filepath"
	"reflect"
	"sort"
	"testing"

	"golang.org/x/sys/windows"

	"github.com/cordon-sandbox/cordon/internal/aclplan"
	"github.com/cordon-sandbox/cordon/internal/fsview"
	"github.com/cordon-sandbox/cordon/internal/testutil"
	"github.com/cordon-sandbox/cordon/ntsec"
)

func TestPropagationWalk(t *testing.T) {
	base := testutil.TempDir(t)
	top, outside := filepath.Join(base, "top"), filepath.Join(base, "outside")
	mkdirs(t, filepath.Join(top, "a", "deep"), filepath.Join(top, "b"), filepath.Join(top, "p"), outside)
	orig, linked := filepath.Join(outside, "orig.txt"), filepath.Join(top, "linked.txt")
	writeFiles(t, filepath.Join(top, "a", "f1.txt"), filepath.Join(top, "a", "deep", "f2.txt"), filepath.Join(top, "b", "inner.txt"),
		filepath.Join(top, "file.txt"), filepath.Join(top, "p", "x.txt"), filepath.Join(outside, "secret.txt"), orig)
	if err := os.Link(orig, linked); err != nil {
		t.Fatal(err)
	}
	v := NewView()
	outBefore := load(t, v, outside)
	var want []string
	for _, p := range []string{`a`, `a\deep`, `a\deep\f2.txt`, `a\f1.txt`, `b`, `file.txt`, `linked.txt`, `p`, `p\x.txt`} {
		want = append(want, canon(t, filepath.Join(top, p)))
	}

	// top\b is listed as a directory; while the walk is in top\a, it is
	// moved out of the tree and something else takes its name: a junction
	// to outside (real Windows) or a file (Wine cannot make junctions).
	// The walk goes by what it opens, not by the listing: it writes the
	// new b's own descriptor and goes no further, neither through the
	// junction nor into the directory that moved.
	away := filepath.Join(base, "b-away")
	swapped := false
	var visited, wrote []string
	ctx := withTrace(context.Background(), func(p string, w bool) {
		if !swapped {
			swapped = true
			if err := os.Rename(filepath.Join(top, "b"), away); err != nil {
				t.Fatal(err)
			}
			if testutil.UnderWine() {
				writeFiles(t, filepath.Join(top, "b"))
			} else {
				mklink(t, filepath.Join(top, "b"), outside)
			}
		}
		visited = append(visited, p)
		if w {
			wrote = append(wrote, p)
		}
	})
	grant := ntsec.ACE{Type: ntsec.AccessAllowed, Flags: ntsec.ObjectInherit | ntsec.ContainerInherit, Mask: aclplan.AllowMask, SID: randomSID(t)}
	edits := []aclplan.Edit{{Op: aclplan.AddACE, Path: top, ACE: grant, Reason: "test"}}
	rep, err := ApplyReport(ctx, edits)
	if err != nil {
		t.Fatalf("ApplyReport: %v", err)
	}
	t.Logf("report: %d writes, %d propagated, %d rewritten, linked %q", rep.Writes, rep.Propagated, rep.Rewritten, rep.Linked)
	sort.Strings(visited)
	if !reflect.DeepEqual(visited, want) {
		t.Errorf("visited:\n %q\nwant:\n %q", visited, want)
	}
	if len(rep.Linked) != 1 || rep.Linked[0] != canon(t, linked) {
		t.Errorf("Linked = %q, want %s", rep.Linked, linked)
	}
	for _, p := range wrote {
		if p == canon(t, linked) {
			t.Errorf("the walk wrote %s, which has another name outside", p)
		}
	}
	if rep.Propagated != len(wrote) || rep.Writes != 1+rep.Propagated || rep.Rewritten != 0 || len(rep.Changed) != 1 {
		t.Errorf("report %+v, %d objects traced as written", rep, len(wrote))
	}
	// What lies outside, behind the junction or through the other name
	// of the linked file, is as it was (under Wine this holds whatever
	// was written, as Wine keeps no DACL; on Windows it is the proof that
	// nothing was written there).
	sameStored(t, load(t, v, outside), outBefore, outside, "outside", ntsec.DACLProtected|ntsec.DACLAutoInherited)
	if testutil.UnderWine() {
		t.Skip("Wine deviation: the descriptors written are not stored; what the walk wrote is compared with the model on real Windows (TestOwnPropagation)")
	}
	testutil.RealWindows(t)
	if w, err := Apply(context.Background(), edits); w != 0 || err != nil {
		t.Errorf("warm Apply = %d, %v; want no writes", w, err)
	}
	if err := ApplyAll(context.Background(), aclplan.Inverse(edits)); err != nil {
		t.Errorf("undo: %v", err)
	}
}

// protect makes path's DACL protected, keeping what it held as explicit
// ACEs (what "disable inheritance, convert" does).
func protect(t *testing.T, path string) {
	t.Helper()
	n := stat(t, NewView(), path)
	acl := &ntsec.ACL{Revision: ntsec.ACLRevision}
	for _, e := range n.SD.DACL.Entries {
		e.Flags &^= ntsec.Inherited
		acl.Entries = append(acl.Entries, e)
	}
	wsd, err := winSD(&ntsec.SecurityDescriptor{Control: ntsec.DACLProtected, DACL: acl})
	if err != nil {
		t.Fatal(err)
	}
	dacl, _, err := wsd.DACL()
	if err != nil {
		t.Fatal(err)
	}
	if err := windows.SetNamedSecurityInfo(path, windows.SE_FILE_OBJECT,
		windows.DACL_SECURITY_INFORMATION|windows.PROTECTED_DACL_SECURITY_INFORMATION, nil, nil, dacl, nil); err != nil {
		t.Fatal(err)
	}
}

// sameStored reports, as test errors, the objects below root whose
// descriptor on disk differs from want's: DACL and its protected and
// auto-inherited bits, labels.
func sameStored(t *testing.T, disk, want *fsview.Memory, root, what string, bits ntsec.Control) {
	t.Helper()
	want.Walk(canon(t, root), func(w, _ *fsview.Node) bool {
		g, err := disk.Stat(w.Path)
		switch {
		case err != nil:
			t.Errorf("%s: %s: %v", what, w.Path, err)
		case g.SD.Control&bits != w.SD.Control&bits || !g.SD.DACL.Equal(w.SD.DACL) || !sameLabels(g.SD.SACL, w.SD.SACL):
			t.Errorf("%s: %s:\n on disk %s\n want    %s", what, w.Path, g.SD.SDDL(), w.SD.SDDL())
		}
		return true
	})
}

// Own propagation on NTFS does what aclplan.Apply models, object by object,
// with one write per object: a grant and a Low label set on a workspace
// reach everything below it, a protected directory keeps its DACL and
// takes the label, a junction gets its own descriptor and nothing behind
// it changes, and a file with a second name outside is left alone. The
// inverse puts every object back.
func TestOwnPropagation(t *testing.T) {
	testutil.RealWindows(t)
	base := testutil.TempDir(t)
	ws, outside := filepath.Join(base, "ws"), filepath.Join(base, "outside")
	prot := filepath.Join(ws, "prot")
	mkdirs(t, filepath.Join(ws, "src", "deep"), prot, filepath.Join(outside, "sub"))
	writeFiles(t, filepath.Join(ws, "README.md"), filepath.Join(ws, "src", "main.go"), filepath.Join(ws, "src", "deep", "x.go"),
		filepath.Join(prot, "inner.txt"), filepath.Join(outside, "secret.txt"), filepath.Join(outside, "sub", "s.txt"))
	protect(t, prot)
	mklink(t, filepath.Join(ws, "link"), outside)
	orig, hard := filepath.Join(outside, "orig.txt"), filepath.Join(ws, "hard.txt")
	writeFiles(t, orig)
	if err := os.Link(orig, hard); err != nil {
		t.Fatal(err)
	}
	v := NewView()
	before := load(t, v, base)
	if n, _ := before.Stat(hard); !n.MultiLinked() {
		t.Fatalf("%s: %d links", hard, n.Links)
	}
	grant := ntsec.ACE{Type: ntsec.AccessAllowed, Flags: ntsec.ObjectInherit | ntsec.ContainerInherit, Mask: aclplan.AllowMask, SID: randomSID(t)}
	edits := []aclplan.Edit{
		{Op: aclplan.AddACE, Path: ws, ACE: grant, Reason: "test"},
		{Op: aclplan.SetLabel, Path: ws, ACE: aclplan.LowLabel, Prev: explicitLabel(stat(t, v, ws).SD), Reason: "test"},
	}
	model := before.Clone()
	modelWrites, err := aclplan.Apply(model, edits)
	if err != nil {
		t.Fatal(err)
	}
	var traced []string
	ctx := withTrace(context.Background(), func(p string, wrote bool) {
		if wrote {
			traced = append(traced, p)
		}
	})
	rep, err := ApplyReport(ctx, edits)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("%d objects written (model %d), %d by propagation, %d rewritten; linked %q", rep.Writes, modelWrites, rep.Propagated, rep.Rewritten, rep.Linked)
	if rep.Writes != modelWrites {
		t.Errorf("%d objects written, the model writes %d", rep.Writes, modelWrites)
	}
	seen := map[string]bool{}
	for _, p := range traced {
		if seen[p] {
			t.Errorf("%s written twice", p)
		}
		seen[p] = true
	}
	if len(rep.Linked) != 1 || rep.Linked[0] != canon(t, hard) || seen[canon(t, hard)] {
		t.Errorf("Linked = %q (written: %v), want %s left alone", rep.Linked, seen[canon(t, hard)], hard)
	}
	after := load(t, v, base)
	const bits = ntsec.DACLProtected | ntsec.DACLAutoInherited
	// Everything, ws and outside alike, holds what the model predicts;
	// outside, the junction's target and the linked file's other name,
	// that is what it held before.
	sameStored(t, after, model, base, "applied", bits)
	sameStored(t, after, before, outside, "outside", bits)
	if n, _ := after.Stat(hard); !n.SD.DACL.Equal(mustStat(t, before, hard).SD.DACL) || !sameLabels(n.SD.SACL, mustStat(t, before, hard).SD.SACL) {
		t.Errorf("the linked file changed: %s", n.SD.SDDL())
	}
	if w, err := Apply(context.Background(), edits); w != 0 || err != nil {
		t.Errorf("warm Apply = %d, %v; want no writes", w, err)
	}
	// The inverse, and its own propagation, put every object back (the
	// auto-inherited bit aside: propagation sets it where it was not).
	if err := ApplyAll(context.Background(), aclplan.Inverse(edits)); err != nil {
		t.Fatal(err)
	}
	sameStored(t, load(t, v, base), before, base, "undone", ntsec.DACLProtected)
}

func mustStat(t *testing.T, m *fsview.Memory, path string) fsview.Node {
	t.Helper()
	n, err := m.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	return n
}
