package testutil_test

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"runtime"
	"testing"

	"github.com/cordon-sandbox/cordon/internal/testutil"
)

// checkTempDirRemoved calls TempDir in a subtest, lets populate fill the
// directory, and checks that the directory is gone once the subtest (and
// so its cleanups) finished.
func checkTempDirRemoved(t *testing.T, populate func(t *testing.T, dir string)) {
	t.Helper()
	var dir string
	t.Run("populate", func(t *testing.T) {
		dir = testutil.TempDir(t)
		if fi, err := os.Stat(dir); err != nil || !fi.IsDir() {
			t.Fatalf("TempDir returned %q, which is not a directory (err=%v)", dir, err)
		}
		populate(t, dir)
	})
	if dir == "" {
		t.Fatal("subtest did not create a directory")
	}
	if _, err := os.Lstat(dir); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("TempDir %q still exists after its test ended (Lstat err=%v)", dir, err)
	}
}

// writeTree creates nested directories and files, including an empty
// directory, under dir.
func writeTree(t *testing.T, dir string) {
	t.Helper()
	for _, d := range []string{"a/b/c", "a/empty", "d"} {
		if err := os.MkdirAll(filepath.Join(dir, filepath.FromSlash(d)), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	for _, f := range []string{"top.txt", "a/one.txt", "a/b/two.txt", "a/b/c/three.txt", "d/four.txt"} {
		if err := os.WriteFile(filepath.Join(dir, filepath.FromSlash(f)), []byte(f), 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

func TestTempDirRemovesNestedTree(t *testing.T) {
	checkTempDirRemoved(t, writeTree)
}

// A test may delete its temp dir itself; cleanup must not then fail.
func TestTempDirAlreadyRemoved(t *testing.T) {
	checkTempDirRemoved(t, func(t *testing.T, dir string) {
		if err := os.Remove(dir); err != nil {
			t.Fatal(err)
		}
	})
}

func TestTempDirDistinct(t *testing.T) {
	a, b := testutil.TempDir(t), testutil.TempDir(t)
	if a == b {
		t.Fatalf("two TempDir calls returned the same directory %q", a)
	}
}

func TestUnderWineOnlyOnWindows(t *testing.T) {
	if runtime.GOOS != "windows" && testutil.UnderWine() {
		t.Fatalf("UnderWine() = true on %s", runtime.GOOS)
	}
}

func TestRealWindowsSkipsUnlessEnabled(t *testing.T) {
	wantRun := runtime.GOOS == "windows" && !testutil.UnderWine() && os.Getenv(testutil.RealWindowsEnv) == "1"
	ran := false
	var sub *testing.T
	t.Run("gated", func(t *testing.T) {
		sub = t
		testutil.RealWindows(t)
		ran = true
	})
	if ran != wantRun || sub.Skipped() == wantRun {
		t.Fatalf("RealWindows: ran=%v skipped=%v, want ran=%v (GOOS=%s, UnderWine=%v, %s=%q)",
			ran, sub.Skipped(), wantRun, runtime.GOOS, testutil.UnderWine(),
			testutil.RealWindowsEnv, os.Getenv(testutil.RealWindowsEnv))
	}
}
