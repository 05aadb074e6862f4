//go:build windows

package ntfs

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"testing"

	"github.com/cordon-sandbox/cordon/internal/aclplan"
	"github.com/cordon-sandbox/cordon/internal/testutil"
	"github.com/cordon-sandbox/cordon/ntsec"
)

// ApplyNoFollow reaches a plain path component by component (relative
// opens, which run under Wine too) and refuses a file with a second name.
func TestApplyNoFollowPlainAndLinked(t *testing.T) {
	base := testutil.TempDir(t)
	dir := filepath.Join(base, "a", "b")
	mkdirs(t, dir)
	file, link := filepath.Join(dir, "f.txt"), filepath.Join(base, "alias.txt")
	writeFiles(t, file)
	ace := ntsec.ACE{Type: ntsec.AccessAllowed, Flags: ntsec.ObjectInherit | ntsec.ContainerInherit, Mask: aclplan.AllowMask, SID: randomSID(t)}
	ctx := context.Background()
	if w, err := ApplyNoFollow(ctx, []aclplan.Edit{{Op: aclplan.AddACE, Path: dir, ACE: ace}}); err != nil || w == 0 {
		t.Fatalf("ApplyNoFollow on a plain directory = %d, %v", w, err)
	}
	if err := os.Link(file, link); err != nil {
		t.Fatal(err)
	}
	fileACE := ace
	fileACE.Flags = 0
	if _, err := ApplyNoFollow(ctx, []aclplan.Edit{{Op: aclplan.AddACE, Path: link, ACE: fileACE}}); !errors.Is(err, ErrReparseOnPath) {
		t.Fatalf("ApplyNoFollow on a file with two names = %v, want ErrReparseOnPath", err)
	}
	if _, err := ApplyNoFollow(ctx, []aclplan.Edit{{Op: aclplan.CreateDir, Path: filepath.Join(base, "x"), ACE: ace}}); err == nil {
		t.Fatal("ApplyNoFollow took a CreateDir")
	}
}

// A junction on the way is refused, and its target is left as it was:
// the attack of a sandboxed command that swaps a directory of its
// workspace for a junction to yours before the read-grant helper applies
// a grant below it. Wine cannot make junctions.
func TestApplyNoFollowRefusesJunctionOnPath(t *testing.T) {
	testutil.RealWindows(t)
	base := testutil.TempDir(t)
	ws, yours := filepath.Join(base, "ws"), filepath.Join(base, "yours")
	mkdirs(t, ws, filepath.Join(yours, ".ssh"))
	mklink(t, filepath.Join(ws, "src"), yours)
	v := NewView()
	before := stat(t, v, filepath.Join(yours, ".ssh")).SD
	ace := ntsec.ACE{Type: ntsec.AccessAllowed, Flags: ntsec.ObjectInherit | ntsec.ContainerInherit, Mask: aclplan.AllowMask, SID: randomSID(t)}
	_, err := ApplyNoFollow(context.Background(), []aclplan.Edit{{Op: aclplan.AddACE, Path: filepath.Join(ws, "src", ".ssh"), ACE: ace}})
	if !errors.Is(err, ErrReparseOnPath) {
		t.Fatalf("ApplyNoFollow through a junction = %v, want ErrReparseOnPath", err)
	}
	if after := stat(t, v, filepath.Join(yours, ".ssh")).SD; !after.DACL.Equal(before.DACL) {
		t.Fatalf("the junction's target changed: %s, was %s", after.SDDL(), before.SDDL())
	}
}
