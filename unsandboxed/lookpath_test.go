package unsandboxed

import (
	"os"
	"path/filepath"
	"runtime"
	"testing"

	"github.com/cordon-sandbox/cordon/internal/testutil"
)

// TestLookPath: the program is found through the PATH of the command's
// environment, whose name is compared case-insensitively on every platform,
// the last entry winning.
func TestLookPath(t *testing.T) {
	name := "cordon-test-tool"
	if runtime.GOOS == "windows" {
		name += ".exe"
	}
	first, last := testutil.TempDir(t), testutil.TempDir(t)
	for _, d := range []string{first, last} {
		if err := os.WriteFile(filepath.Join(d, name), []byte("#!/bin/sh\n"), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	env := []string{"PATH=" + first, "HOME=/", "Path=" + last}
	got, err := lookPath(name, env)
	if want := filepath.Join(last, name); err != nil || got != want {
		t.Errorf("lookPath(%q, %q) = %q, %v; want %q", name, env, got, err, want)
	}
	if _, err := lookPath(name, []string{"PATH=" + testutil.TempDir(t)}); err == nil {
		t.Errorf("lookPath found %q in an empty directory", name)
	}
	if got, err := lookPath("./x", nil); got != "./x" || err != nil {
		t.Errorf("lookPath(./x) = %q, %v; want it as is", got, err)
	}
}
