package aclplan

import (
	"context"
	"errors"
	"os"
	"os/exec"
	"testing"
	"time"

	"github.com/cordon-sandbox/cordon/internal/testutil"
)

// elevatedExeEnv names a cordon.exe whose `run --sandbox elevated` works:
// built with the elevated mode wired, `cordon setup` already done.
const elevatedExeEnv = "CORDON_ELEVATED_EXE"

// TestRealWindowsElevatedOwnership runs CheckOwnership through
// `cordon run --sandbox elevated` on a fresh git repository in the user's
// profile (not in TEMP: a workspace inside a temp root is refused).
// Preconditions, each a skip when missing: real Windows
// (CORDON_REAL_WINDOWS=1), a standard (not elevated) shell, CORDON_ELEVATED_EXE
// set as above, git on PATH.
func TestRealWindowsElevatedOwnership(t *testing.T) {
	testutil.RealWindows(t)
	testutil.SkipIfElevated(t)
	exe := os.Getenv(elevatedExeEnv)
	if exe == "" {
		t.Skipf("set %s to a cordon.exe whose --sandbox elevated runs (after cordon setup)", elevatedExeEnv)
	}
	git, err := exec.LookPath("git")
	if err != nil {
		t.Skip("git is not on PATH")
	}
	home, err := os.UserHomeDir()
	if err != nil {
		t.Fatal(err)
	}
	root, err := os.MkdirTemp(home, "cordon-own-test-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(root) })
	if out, err := exec.Command(git, "init", "-q", root).CombinedOutput(); err != nil {
		t.Fatalf("git init: %v: %s", err, out)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	run := func(ctx context.Context, dir, name string, args ...string) ([]byte, error) {
		argv := append([]string{"run", "--sandbox", "elevated", "--cwd", dir, "--", name}, args...)
		return exec.CommandContext(ctx, exe, argv...).CombinedOutput()
	}
	err = CheckOwnership(ctx, root, run)
	if errors.Is(err, ErrNoGit) {
		t.Skip(err)
	}
	if err != nil {
		t.Fatal(err)
	}
}
