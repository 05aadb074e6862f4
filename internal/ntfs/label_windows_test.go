//go:build windows

package ntfs

// Mandatory labels on NTFS. Wine 8 accepts SetSecurityInfo with
// LABEL_SECURITY_INFORMATION and keeps nothing, so under Wine these tests
// check the plumbing and then skip, saying so; what was stored, its
// propagation and the junction case are checked on real Windows only.

import (
	"context"
	"os"
	"path/filepath"
	"testing"

	"github.com/cordon-sandbox/cordon/internal/aclplan"
	"github.com/cordon-sandbox/cordon/internal/testutil"
	"github.com/cordon-sandbox/cordon/ntsec"
)

// labels returns the label SACL of sd in SDDL, "" for none.
func labels(sd *ntsec.SecurityDescriptor) string {
	if sd == nil || sd.SACL == nil {
		return ""
	}
	return sd.SACL.SDDL()
}

// explicitLabels returns the explicit entries of sd's label SACL, none
// when it has no SACL.
func explicitLabels(sd *ntsec.SecurityDescriptor) *ntsec.ACL {
	if sd.SACL == nil {
		return &ntsec.ACL{Revision: ntsec.ACLRevision, Entries: []ntsec.ACE{}}
	}
	return explicitPart(sd.SACL)
}

// explicitLabel returns the explicit label of sd, nil for none.
func explicitLabel(sd *ntsec.SecurityDescriptor) *ntsec.ACE {
	if l := explicitLabels(sd); len(l.Entries) > 0 {
		return &l.Entries[0]
	}
	return nil
}

// A Low label set on a directory reaches what is below it, as aclplan.Apply
// models; a label set twice is written once; a SetLabel or RemoveLabel
// whose expected label is no longer there leaves the object alone; and
// aclplan.Inverse puts every label back as it was, a replaced one included.
// Under Wine only the plumbing runs: the calls are accepted, and the test
// skips, saying so, when Wine does not keep the label.
func TestApplyLabel(t *testing.T) {
	base := testutil.TempDir(t)
	dir, other := filepath.Join(base, "d"), filepath.Join(base, "e")
	sub, file := filepath.Join(dir, "sub"), filepath.Join(dir, "sub", "c.txt")
	mkdirs(t, sub, other)
	writeFiles(t, file, filepath.Join(other, "f.txt"))
	v := NewView()
	ctx := context.Background()
	before := map[string]string{}
	for _, p := range []string{dir, sub, file, other, filepath.Join(other, "f.txt")} {
		before[p] = labels(stat(t, v, p).SD)
	}
	set := []aclplan.Edit{{Op: aclplan.SetLabel, Path: dir, ACE: aclplan.LowLabel, Prev: explicitLabel(stat(t, v, dir).SD), Reason: "test"}}
	predicted := load(t, v, base)
	modelWrites, err := aclplan.Apply(predicted, set)
	if err != nil {
		t.Fatal(err)
	}
	w, err := Apply(ctx, set)
	if w < 1 || err != nil {
		t.Fatalf("Apply(set) = %d, %v", w, err)
	}
	got := stat(t, v, dir).SD
	if testutil.UnderWine() {
		if l := explicitLabel(got); l == nil || *l != aclplan.LowLabel {
			t.Skipf("Wine deviation: SetSecurityInfo(LABEL_SECURITY_INFORMATION) was accepted but the label was not kept (read back %q); labels are checked on real Windows", labels(got))
		}
		t.Logf("Wine kept the label: %s", got.SDDL())
	}
	testutil.RealWindows(t)
	if l := explicitLabel(got); l == nil || *l != aclplan.LowLabel {
		t.Fatalf("label %s not set: %s", aclplan.LowLabel.SDDL(), got.SDDL())
	}
	// Propagation: what was written below is what the model predicted,
	// one write per object.
	if w != modelWrites {
		t.Errorf("Apply(set) wrote %d objects, the model %d", w, modelWrites)
	}
	for _, p := range []string{dir, sub, file} {
		n, _ := predicted.Stat(p)
		if disk := labels(stat(t, v, p).SD); disk != labels(n.SD) {
			t.Errorf("%s: label on disk %q, model %q", p, disk, labels(n.SD))
		}
	}
	inherited := aclplan.LowLabel
	inherited.Flags = ntsec.Inherited
	if l, ok := stat(t, v, file).SD.Label(); !ok || l != inherited {
		t.Errorf("the file below has label %v, %v; want %s", l, ok, inherited.SDDL())
	}
	if w, err := Apply(ctx, set); w != 0 || err != nil {
		t.Errorf("second Apply = %d, %v; want 0 writes", w, err)
	}
	// Compare-and-swap: edits expecting a label that is not there write
	// nothing.
	medium := ntsec.ACE{Type: ntsec.MandatoryLabel, Flags: ntsec.ObjectInherit | ntsec.ContainerInherit, Mask: ntsec.LabelNoWriteUp, SID: ntsec.MediumLabel}
	stale := []aclplan.Edit{
		{Op: aclplan.SetLabel, Path: dir, ACE: medium},                // expects no label
		{Op: aclplan.SetLabel, Path: dir, ACE: medium, Prev: &medium}, // expects Medium
		{Op: aclplan.RemoveLabel, Path: dir, ACE: medium},
	}
	if w, err := Apply(ctx, stale); w != 0 || err != nil {
		t.Errorf("stale label edits = %d writes, %v; want none", w, err)
	}
	if l := explicitLabel(stat(t, v, dir).SD); l == nil || *l != aclplan.LowLabel {
		t.Errorf("a stale edit changed the label: %v", l)
	}
	// A label replaced, then restored: someone's Medium on other, Low over
	// it, the inverse.
	mine := []aclplan.Edit{{Op: aclplan.SetLabel, Path: other, ACE: medium, Prev: explicitLabel(stat(t, v, other).SD)}}
	if w, err := Apply(ctx, mine); w != 2 || err != nil { // other and, inheriting, f.txt
		t.Fatalf("Apply(Medium on %s) = %d, %v", other, w, err)
	}
	someone := map[string]string{other: labels(stat(t, v, other).SD), filepath.Join(other, "f.txt"): labels(stat(t, v, filepath.Join(other, "f.txt")).SD)}
	over := []aclplan.Edit{{Op: aclplan.SetLabel, Path: other, ACE: aclplan.LowLabel, Prev: &medium}}
	if err := ApplyAll(ctx, over); err != nil {
		t.Fatal(err)
	}
	if l := explicitLabel(stat(t, v, other).SD); l == nil || *l != aclplan.LowLabel {
		t.Errorf("Low over Medium: %v", l)
	}
	if err := ApplyAll(ctx, append(aclplan.Inverse(set), aclplan.Inverse(over)...)); err != nil {
		t.Fatalf("undo: %v", err)
	}
	for p, want := range someone {
		if got := labels(stat(t, v, p).SD); got != want {
			t.Errorf("%s after undo: %q, want %q", p, got, want)
		}
	}
	for _, p := range []string{dir, sub, file} {
		if got := labels(stat(t, v, p).SD); got != before[p] {
			t.Errorf("%s after undo: %q, before: %q", p, got, before[p])
		}
	}
	if err := ApplyAll(ctx, aclplan.Inverse(mine)); err != nil {
		t.Errorf("undoing the Medium label: %v", err)
	}
	// Undoing again, or undoing on objects gone, does nothing.
	if err := os.RemoveAll(other); err != nil {
		t.Fatal(err)
	}
	if w, err := Apply(ctx, append(aclplan.Inverse(set), aclplan.Inverse(over)...)); w != 0 || err != nil {
		t.Errorf("undo again = %d, %v", w, err)
	}
}

// A label set on a junction is the junction's own: nothing behind it
// changes.
func TestLabelJunction(t *testing.T) {
	testutil.RealWindows(t)
	base := testutil.TempDir(t)
	ws, outside := filepath.Join(base, "ws"), filepath.Join(base, "outside")
	mkdirs(t, ws, outside)
	secret := filepath.Join(outside, "secret.txt")
	writeFiles(t, secret)
	link := filepath.Join(ws, "link")
	mklink(t, link, outside)
	v := NewView()
	outBefore, secretBefore := labels(stat(t, v, outside).SD), labels(stat(t, v, secret).SD)
	linkBefore := labels(stat(t, v, link).SD)
	set := []aclplan.Edit{{Op: aclplan.SetLabel, Path: link, ACE: aclplan.LowLabel, Prev: explicitLabel(stat(t, v, link).SD)}}
	if w, err := Apply(context.Background(), set); w != 1 || err != nil {
		t.Fatalf("Apply = %d, %v", w, err)
	}
	if l := explicitLabel(stat(t, v, link).SD); l == nil || *l != aclplan.LowLabel {
		t.Errorf("the junction's own label: %v", l)
	}
	if got := labels(stat(t, v, outside).SD); got != outBefore {
		t.Errorf("the junction's target changed: %q, was %q", got, outBefore)
	}
	if got := labels(stat(t, v, secret).SD); got != secretBefore {
		t.Errorf("a file behind the junction changed: %q, was %q", got, secretBefore)
	}
	if err := ApplyAll(context.Background(), aclplan.Inverse(set)); err != nil {
		t.Error(err)
	}
	if got := labels(stat(t, v, link).SD); got != linkBefore {
		t.Errorf("the junction's label after undo: %q, before: %q", got, linkBefore)
	}
}
