//go:build windows

package runner

import (
	"path/filepath"
	"testing"

	"github.com/cordon-sandbox/cordon/internal/runnerpipe"
	"github.com/cordon-sandbox/cordon/internal/testutil"
)

// A directory the runner can list all the way down is used as it is, even
// when the junction is allowed: the junction is for a cwd whose read
// grants are still pending, and it hides the cwd's real parents from the
// command (git's discovery walks them). A missing one is not listable.
func TestWorkDirUsesAListableCwd(t *testing.T) {
	dir := testutil.TempDir(t)
	if !listable(dir) {
		t.Fatalf("listable(%s) = false for a directory of the test's own", dir)
	}
	if listable(filepath.Join(dir, "missing", "deeper")) {
		t.Fatal("a missing directory is listable")
	}
	got, err := workDir(&runnerpipe.Spawn{Dir: dir, CwdJunction: true})
	if err != nil || got != dir {
		t.Fatalf("workDir with the junction allowed = %q, %v; want %q itself", got, err, dir)
	}
}
