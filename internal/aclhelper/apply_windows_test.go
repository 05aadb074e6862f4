//go:build windows

package aclhelper

import (
	"context"
	"os"
	"path/filepath"
	"testing"

	"github.com/cordon-sandbox/cordon/internal/ntfs"
	"github.com/cordon-sandbox/cordon/internal/testutil"
	"github.com/cordon-sandbox/cordon/internal/winpath"
	"github.com/cordon-sandbox/cordon/ntsec"
)

func canonical(t *testing.T, p string) string {
	t.Helper()
	wp, err := winpath.Parse(p)
	if err != nil {
		t.Fatal(err)
	}
	return wp.String()
}

// The NTFS applier accepts a read grant on a real directory, and a
// second application (resumed or not) returns without error. Wine keeps
// no custom SIDs in DACLs, so what was stored is checked by
// TestRealWindowsNTFSApplier.
func TestNTFSApplierAccepts(t *testing.T) {
	dir := canonical(t, testutil.TempDir(t))
	sub := filepath.Join(dir, "docs")
	if err := os.MkdirAll(sub, 0o755); err != nil {
		t.Fatal(err)
	}
	it := grant(sub)
	if _, err := (NTFS{}).Apply(context.Background(), it, false); err != nil {
		t.Fatal(err)
	}
	if _, err := (NTFS{}).Apply(context.Background(), it, true); err != nil {
		t.Fatal(err)
	}
}

// On real Windows: the grant is stored on the directory and inherited by
// a file below; applied again it writes nothing; resumed with the ACE in
// place, it walks below and leaves the inheritance whole. (A walk cut
// short by a kill cannot be staged through ntfs's API, which propagates
// every edit it applies.)
func TestRealWindowsNTFSApplier(t *testing.T) {
	testutil.RealWindows(t)
	dir := canonical(t, testutil.TempDir(t))
	sub := filepath.Join(dir, "docs")
	file := filepath.Join(sub, "a.txt")
	if err := os.MkdirAll(sub, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(file, []byte("x"), 0o644); err != nil {
		t.Fatal(err)
	}
	it := grant(sub)
	e, _ := it.Edit()
	ctx := context.Background()
	if changed, err := (NTFS{}).Apply(ctx, it, false); err != nil || !changed {
		t.Fatalf("first apply: %v, %v", changed, err)
	}
	v := ntfs.NewView()
	inherited := func() bool {
		n, err := v.Stat(file)
		if err != nil {
			t.Fatal(err)
		}
		for _, x := range n.SD.DACL.Entries {
			if x.SID == e.ACE.SID && x.Flags&ntsec.Inherited != 0 && x.Type == ntsec.AccessAllowed {
				return true
			}
		}
		return false
	}
	if !inherited() {
		t.Fatal("the file did not inherit the grant")
	}
	if changed, err := (NTFS{}).Apply(ctx, it, false); err != nil || changed {
		t.Fatalf("second apply: %v, %v", changed, err)
	}
	if _, err := (NTFS{}).Apply(ctx, it, true); err != nil {
		t.Fatal(err)
	}
	if !inherited() {
		t.Error("resumed: the file does not inherit the grant")
	}
}
