package testutil_test

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/cordon-sandbox/cordon/internal/testutil"
)

// scripts/wine/go-wine-exec sets CORDON_EXPECT_WINE=1, so a broken Wine
// detection fails here instead of silently running (or skipping) the wrong
// set of tests.
func TestUnderWineDetection(t *testing.T) {
	got := testutil.UnderWine()
	switch {
	case os.Getenv("CORDON_EXPECT_WINE") == "1":
		if !got {
			t.Fatal("CORDON_EXPECT_WINE=1 but UnderWine() = false: ntdll.dll does not export wine_get_version?")
		}
	case os.Getenv(testutil.RealWindowsEnv) == "1":
		if got {
			t.Fatalf("%s=1 but UnderWine() = true", testutil.RealWindowsEnv)
		}
	default:
		t.Logf("UnderWine() = %v (set CORDON_EXPECT_WINE=1 or %s=1 to assert it)", got, testutil.RealWindowsEnv)
	}
}

// Windows-only awkward entries: a read-only file (DeleteFile refuses it
// until the attribute is cleared) and, where permitted, a symlink to a
// directory outside the tree, which must be unlinked, not followed.
func TestTempDirRemovesAwkwardEntries(t *testing.T) {
	outside := testutil.TempDir(t)
	keep := filepath.Join(outside, "keep.txt")
	if err := os.WriteFile(keep, []byte("keep"), 0o644); err != nil {
		t.Fatal(err)
	}
	checkTempDirRemoved(t, func(t *testing.T, dir string) {
		writeTree(t, dir)
		ro := filepath.Join(dir, "a", "readonly.txt")
		if err := os.WriteFile(ro, []byte("ro"), 0o444); err != nil {
			t.Fatal(err)
		}
		if err := os.Chmod(ro, 0o444); err != nil {
			t.Fatal(err)
		}
		// Needs a privilege or developer mode on real Windows; Wine allows it.
		if err := os.Symlink(outside, filepath.Join(dir, "link")); err != nil {
			t.Logf("no symlink in the tree: %v", err)
		}
	})
	if _, err := os.Stat(keep); err != nil {
		t.Fatalf("cleanup followed a symlink out of the temp dir: %v", err)
	}
}
