package main

import (
	"os"
	"strings"
	"testing"

	"github.com/cordon-sandbox/cordon/internal/testutil"
)

// cordon run --sandbox elevated without `cordon setup`: refused before
// anything runs, with a message that says what to do. Under Wine this is
// as far as the CLI goes (Wine has no local accounts; elevsandbox's own
// Wine tests run the rest with a fake setup); on real Windows it runs
// only where the setup has not been done for this user.
func TestRunElevatedNeedsSetup(t *testing.T) {
	if testutil.UnderWine() {
		t.Setenv("CORDON_WINE_PLUMBING", "1")
	} else if os.Getenv(testutil.RealWindowsEnv) != "1" || os.Getenv("CORDON_ELEVATED_TESTS") == "1" {
		t.Skip("on real Windows: with CORDON_REAL_WINDOWS=1, for a user without cordon setup")
	}
	state, ws := testutil.TempDir(t), testutil.TempDir(t)
	t.Setenv("CORDON_STATE_DIR", state)
	code, out, errOut := runCLI(t, "", "run", "--sandbox", "elevated", "--cwd", ws, "--", "cmd", "/c", "echo hi")
	if code != exitSetup || !strings.Contains(errOut, "cordon: setup_required:") || !strings.Contains(errOut, "run `cordon setup`") {
		t.Errorf("elevated without setup: exit %d\nstdout %q\nstderr %q", code, out, errOut)
	}
	if strings.Contains(out, "hi") {
		t.Error("the command ran")
	}
}
