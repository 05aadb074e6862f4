//go:build windows

package aclhelper

import (
	"context"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"testing"

	"github.com/cordon-sandbox/cordon/internal/ntfs"
	"github.com/cordon-sandbox/cordon/internal/testutil"
)

// The attack readacl's TestAttackSplitItemsBelowAWritableRootCanBeRedirected
// describes, on real NTFS: an item two levels below a writable root is
// queued; before the helper applies it, the command renames the middle
// directory and puts a junction to another folder of yours in its place.
// The helper, running as you, must not put the group's grant on that
// folder's same-named child: its applier reaches each item component by
// component without following a junction (ntfs.ApplyNoFollow) and fails
// the item instead.
func TestRealWindowsAttackItemThroughSwappedParent(t *testing.T) {
	testutil.RealWindows(t)
	ws := canonical(t, testutil.TempDir(t))
	yours := canonical(t, testutil.TempDir(t)) // stands for C:\Users\you
	for _, d := range []string{filepath.Join(ws, "src", ".ssh"), filepath.Join(yours, ".ssh")} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	it := grant(filepath.Join(ws, "src", ".ssh")) // planned while src was a folder
	// The command's move, between the plan and the helper.
	if err := os.Rename(filepath.Join(ws, "src"), filepath.Join(ws, "src.old")); err != nil {
		t.Fatal(err)
	}
	if out, err := exec.Command("cmd", "/c", "mklink", "/J", filepath.Join(ws, "src"), yours).CombinedOutput(); err != nil {
		t.Fatalf("mklink /J: %v\n%s", err, out)
	}
	if _, err := (NTFS{}).Apply(context.Background(), it, false); !errors.Is(err, ntfs.ErrReparseOnPath) {
		t.Errorf("apply through the swapped parent: %v, want ErrReparseOnPath", err)
	}
	n, serr := ntfs.NewView().Stat(filepath.Join(yours, ".ssh"))
	if serr != nil {
		t.Fatal(serr)
	}
	e, _ := it.Edit()
	for _, x := range n.SD.DACL.Entries {
		if x.SID == e.ACE.SID {
			t.Errorf("the grant meant for %s landed on %s: %s", it.Path, n.Path, n.SD.SDDL())
		}
	}
}
