package winsandbox_test

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/cordon-sandbox/cordon"
	"github.com/cordon-sandbox/cordon/internal/acelog"
	"github.com/cordon-sandbox/cordon/internal/aclplan"
	"github.com/cordon-sandbox/cordon/internal/ntfs"
	"github.com/cordon-sandbox/cordon/internal/testutil"
	"github.com/cordon-sandbox/cordon/policy"
	"github.com/cordon-sandbox/cordon/winsandbox"
)

// The Windows backend resolves git directories with the Linux backend's
// rule: a gitfile's target is protected, the directory on the way to it is
// pinned, and a root that is no repository gets a HEAD placeholder. Under
// Wine this checks the wiring (what is planned and recorded); on real
// Windows the same run is enforced.
func TestGitDirectoriesPlanned(t *testing.T) {
	f := newFixture(t)
	real := filepath.Join(f.ws, "sub", "real.git")
	for _, d := range []string{filepath.Join(real, "objects"), filepath.Join(real, "refs")} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.WriteFile(filepath.Join(real, "HEAD"), []byte("ref: refs/heads/main\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(f.ws, ".git"), []byte("gitdir: sub/real.git\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	extra := testutil.TempDir(t)
	res, err := cordon.Run(context.Background(), cordon.Request{
		Policy:  policy.Policy{Mode: policy.WorkspaceWrite, WritableRoots: []string{extra}},
		Command: []string{"cmd", "/c", "echo x> ok.txt"}, Dir: f.ws, Env: f.env,
		Backend: winsandbox.Name, Timeout: time.Minute,
	})
	if err != nil || res.ExitCode != 0 {
		t.Fatalf("run: %v, exit %d, %s", err, res.ExitCode, res.Stderr)
	}
	edits, err := acelog.Load(context.Background(), f.state)
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]aclplan.Op{
		ntfs.FinalPath(real):                         aclplan.AddACE,
		ntfs.FinalPath(filepath.Join(f.ws, "sub")):   aclplan.AddACE,
		filepath.Join(ntfs.FinalPath(extra), "HEAD"): aclplan.CreateDir,
	}
	for p, op := range want {
		found := false
		for _, e := range edits {
			if strings.EqualFold(e.Path, p) && e.Op == op {
				found = true
			}
		}
		if !found {
			t.Errorf("no %s recorded on %s; recorded: %v", op, p, edits)
		}
	}
	if fi, err := os.Stat(filepath.Join(extra, "HEAD")); err != nil || !fi.IsDir() {
		t.Errorf("HEAD placeholder in the extra root: %v", err)
	}
}
