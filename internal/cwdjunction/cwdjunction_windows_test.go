package cwdjunction

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/cordon-sandbox/cordon/internal/testutil"
)

// Junctions are not supported under Wine (FSCTL_SET_REPARSE_POINT fails
// with ERROR_NOT_SUPPORTED), so these run on real Windows only.

func TestRealWindowsEnsure(t *testing.T) {
	testutil.RealWindows(t)
	base := testutil.TempDir(t)
	profile, ws := filepath.Join(base, "profile"), filepath.Join(base, "ws")
	for _, d := range []string{profile, ws} {
		if err := os.Mkdir(d, 0o700); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.WriteFile(filepath.Join(ws, "marker"), []byte("ws"), 0o600); err != nil {
		t.Fatal(err)
	}
	j, err := Ensure(profile, ws)
	if err != nil {
		t.Fatal(err)
	}
	if b, err := os.ReadFile(filepath.Join(j, "marker")); err != nil || string(b) != "ws" {
		t.Fatalf("through the junction: %q, %v", b, err)
	}
	// Reused as it is.
	if j2, err := Ensure(profile, ws); err != nil || j2 != j {
		t.Fatalf("second Ensure: %q, %v", j2, err)
	}

	// A command re-points it at another directory: Ensure puts it back.
	other := filepath.Join(base, "other")
	if err := os.Mkdir(other, 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(other, "keep"), []byte("x"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := Remove(j); err != nil {
		t.Fatal(err)
	}
	if err := create(j, other); err != nil {
		t.Fatal(err)
	}
	if _, err := Ensure(profile, ws); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(j, "marker")); err != nil {
		t.Errorf("the re-pointed junction was not restored: %v", err)
	}
	if _, err := os.Stat(filepath.Join(other, "keep")); err != nil {
		t.Errorf("restoring the junction touched what the planted one pointed at: %v", err)
	}

	// A planted junction above it (.cordon -> other) is replaced, not
	// followed: nothing is created in other.
	if err := os.RemoveAll(filepath.Join(profile, ".cordon")); err != nil {
		t.Fatal(err)
	}
	if err := create(filepath.Join(profile, ".cordon"), other); err != nil {
		t.Fatal(err)
	}
	if _, err := Ensure(profile, ws); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(other, "cwd")); !os.IsNotExist(err) {
		t.Errorf("Ensure followed a planted .cordon junction: %v", err)
	}

	// Remove takes the link only.
	if err := Remove(j); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(ws, "marker")); err != nil {
		t.Errorf("removing the junction removed the workspace's file: %v", err)
	}
}

// Under Wine, which cannot make junctions, Ensure fails and leaves no
// directory where the junction would have been: a half-made junction
// (an empty directory) would be taken for the workspace.
func TestEnsureFailureLeavesNothing(t *testing.T) {
	if !testutil.UnderWine() {
		t.Skip("needs a system without junctions (Wine)")
	}
	base := testutil.TempDir(t)
	profile, ws := filepath.Join(base, "profile"), filepath.Join(base, "ws")
	for _, d := range []string{profile, ws} {
		if err := os.Mkdir(d, 0o700); err != nil {
			t.Fatal(err)
		}
	}
	// A file planted where the directories go is replaced, unfollowed.
	if err := os.WriteFile(filepath.Join(profile, ".cordon"), []byte("planted"), 0o600); err != nil {
		t.Fatal(err)
	}
	j, err := Ensure(profile, ws)
	if err == nil {
		t.Fatalf("Ensure made a junction under Wine: %s", j)
	}
	p, _ := Path(profile, ws)
	if _, err := os.Lstat(p); !os.IsNotExist(err) {
		t.Errorf("a failed Ensure left %s: %v", p, err)
	}
	if fi, err := os.Stat(filepath.Join(profile, ".cordon", "cwd")); err != nil || !fi.IsDir() {
		t.Errorf("the planted file was not replaced by the junction directory: %v", err)
	}
}
