//go:build windows

package sandboxusers

import (
	"context"
	"os"
	"slices"
	"testing"

	"github.com/cordon-sandbox/cordon/internal/testutil"
)

const elevateHelperArg = "cordon-elevate-helper-exit-7"

// TestElevateHelperProcess is the child TestElevateRunsTheChild starts: it
// exits 7 when given elevateHelperArg, and skips otherwise.
func TestElevateHelperProcess(t *testing.T) {
	if !slices.Contains(os.Args, elevateHelperArg) {
		t.Skip("helper process for TestElevateRunsTheChild")
	}
	os.Exit(7)
}

// Under Wine there is no UAC: the "runas" verb starts the program as the
// (already administrator) user. This checks the plumbing: the command
// line reaches the child, Elevate waits for it and returns its exit code.
// On real Windows it would raise a prompt, so it runs only with
// CORDON_REAL_WINDOWS=1 on a machine where the prompt is off (CI).
func TestElevateRunsTheChild(t *testing.T) {
	if !testutil.UnderWine() {
		testutil.RealWindows(t)
	}
	code, err := Elevate(context.Background(), os.Args[0], []string{"-test.run=^TestElevateHelperProcess$", elevateHelperArg})
	if err != nil {
		t.Fatalf("Elevate: %v", err)
	}
	if code != 7 {
		t.Fatalf("exit code %d, want 7", code)
	}
}
