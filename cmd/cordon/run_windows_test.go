package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/cordon-sandbox/cordon/internal/testutil"
)

// cordon run on Windows: auto refuses without the experimental flag, and
// --sandbox restricted-token runs end to end (under Wine, its plumbing
// only, and it says so); cordon cleanup then removes what the run added.
func TestRunRestrictedTokenCLI(t *testing.T) {
	if testutil.UnderWine() {
		t.Setenv("CORDON_WINE_PLUMBING", "1")
	} else if os.Getenv(testutil.RealWindowsEnv) != "1" {
		t.Skip("the backend changes DACLs: on Windows it runs with CORDON_REAL_WINDOWS=1 only")
	}
	testutil.SkipIfElevated(t)
	state, ws, temp := testutil.TempDir(t), testutil.TempDir(t), testutil.TempDir(t)
	t.Setenv("CORDON_STATE_DIR", state)
	t.Setenv("TEMP", temp)
	t.Setenv("TMP", temp)
	t.Setenv("CORDON_EXPERIMENTAL_WINDOWS_SANDBOX", "")

	code, out, errOut := runCLI(t, "", "run", "--cwd", ws, "--", "cmd", "/c", "echo hi")
	if code != exitSetup || !strings.Contains(errOut, "cordon: unavailable:") || !strings.Contains(errOut, "CORDON_EXPERIMENTAL_WINDOWS_SANDBOX=1") {
		t.Errorf("auto without the flag: exit %d\n%s%s", code, out, errOut)
	}
	code, out, errOut = runCLI(t, "", "run", "--sandbox", "restricted-token", "--cwd", ws, "--", "cmd", "/c", "echo hi& exit 3")
	if code != 3 || strings.TrimSpace(out) != "hi" {
		t.Errorf("run: exit %d, stdout %q, stderr %q", code, out, errOut)
	}
	if testutil.UnderWine() && !strings.Contains(errOut, "cordon: warning: not enforced:") {
		t.Errorf("under Wine the run did not say nothing was enforced: %q", errOut)
	}
	t.Setenv("CORDON_EXPERIMENTAL_WINDOWS_SANDBOX", "1")
	code, out, errOut = runCLI(t, "", "run", "--json", "--cwd", ws, "--", "cmd", "/c", "echo hi")
	if code != 0 || !strings.Contains(out, `"sandbox":"restricted-token"`) {
		t.Errorf("auto with the flag: exit %d\n%s%s", code, out, errOut)
	}
	if _, err := os.Stat(filepath.Join(ws, ".codex")); err != nil {
		t.Errorf("no placeholder after the run: %v", err)
	}
	code, out, errOut = runCLI(t, "", "cleanup")
	if code != 0 || !strings.Contains(out, "the record is empty") {
		t.Errorf("cleanup: exit %d\n%s%s", code, out, errOut)
	}
	if _, err := os.Stat(filepath.Join(ws, ".codex")); !os.IsNotExist(err) {
		t.Errorf("cleanup left the placeholder: %v", err)
	}
}
