package linuxsandbox

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/cordon-sandbox/cordon/policy"
	"github.com/cordon-sandbox/cordon/sandbox"
)

// goCache is a build cache the tests that build share, made a writable
// root of their runs, so that only the first compiles the runtime.
var goCache struct {
	once sync.Once
	dir  string
	err  error
}

// goBuildPolicy is workspace-write in w with the shared build cache
// writable.
func goBuildPolicy(t *testing.T, w ws) *policy.Resolved {
	t.Helper()
	if _, err := exec.LookPath("go"); err != nil {
		t.Skip("go is not on PATH")
	}
	goCache.once.Do(func() { goCache.dir, goCache.err = os.MkdirTemp("", "cordon-test-gocache-") })
	if goCache.err != nil {
		t.Fatal(goCache.err)
	}
	return w.policy(t, policy.Policy{Mode: policy.WorkspaceWrite, WritableRoots: []string{goCache.dir}})
}

// buildGo runs `go build` with VCS stamping on (-buildvcs=auto, the
// default a machine's GOFLAGS may have turned off) in dir, then prints the
// binary's vcs settings.
func buildGo(t *testing.T, pol *policy.Resolved, dir string) result {
	t.Helper()
	goBin, err := exec.LookPath("go")
	if err != nil {
		t.Skip("go is not on PATH")
	}
	mustWrite(t, filepath.Join(dir, "go.mod"), "module example.com/m\n\ngo 1.22\n")
	mustWrite(t, filepath.Join(dir, "main.go"), "package main\n\nfunc main() {}\n")
	return runSpecFor(t, sandbox.Spec{Policy: pol, Dir: dir, Env: []string{
		testPath + ":" + filepath.Dir(goBin), "HOME=" + pol.Cwd, "LC_ALL=C",
		"GOFLAGS=-buildvcs=auto", "GOTOOLCHAIN=local", "GOCACHE=" + goCache.dir, "GOPATH=/tmp/gopath",
		"GIT_CONFIG_GLOBAL=/dev/null",
	}, Args: []string{"/bin/sh", "-c", "go build -o /tmp/m . && { go version -m /tmp/m | grep vcs; true; }"}}, 10*time.Minute)
}

// In a root that no repository encloses, the .git placeholder is an empty
// read-only file: the sandbox can neither make it a repository nor remove
// it, and Go, which takes any directory named .git for a repository, builds
// with VCS stamping on. Before, the placeholder was a directory and every
// such build failed with "error obtaining VCS status".
func TestGitPlaceholderWithoutRepository(t *testing.T) {
	w := newWS(t)
	pol := w.policy(t, policy.Policy{Mode: policy.WorkspaceWrite})
	if r := sh(t, pol, "test -f .git && test ! -s .git && test -d .codex"); r.code != 0 {
		t.Errorf(".git should be an empty file and .codex a directory in the sandbox: %+v", r)
	}
	denied(t, pol,
		"echo 'gitdir: /tmp/evil' > .git",
		"rm -f .git",
		"mv .git moved",
		"rm -f .git; mkdir .git",
		"mv other .git",
		"git init -q .",
	)
	r := buildGo(t, goBuildPolicy(t, w), w.cwd)
	if r.code != 0 || strings.Contains(r.stderr, "VCS status") {
		t.Errorf("go build in a workspace that is no repository: %+v", r)
	}
	mustNotExist(t, filepath.Join(w.cwd, ".git"))
	mustNotExist(t, filepath.Join(w.cwd, "moved"))
}

// In a root inside a repository (a monorepo's subfolder) the placeholder
// stays a directory: git skips a .git that is no repository and finds the
// enclosing one, which an invalid gitfile would stop; Go's build then
// stamps the enclosing repository's revision.
//
// The repository lies outside /tmp: the sandbox's /tmp is private, and
// only the roots below the host's are bound into it.
func TestGitPlaceholderInsideRepository(t *testing.T) {
	parent := nonTmpDir(t)
	gitInit(t, parent)
	sub := filepath.Join(parent, "sub")
	if err := os.Mkdir(sub, 0o755); err != nil {
		t.Fatal(err)
	}
	mustWrite(t, filepath.Join(sub, "README"), "x\n")
	commit := exec.Command("git", "-c", "user.name=t", "-c", "user.email=t@t", "commit", "-q", "--allow-empty", "-m", "first")
	commit.Dir = parent
	if out, err := commit.CombinedOutput(); err != nil {
		t.Fatalf("git commit: %v\n%s", err, out)
	}
	w := ws{cwd: sub, tmp: t.TempDir()}
	pol := w.policy(t, policy.Policy{Mode: policy.WorkspaceWrite})
	r := sh(t, pol, "test -d .git && GIT_CONFIG_GLOBAL=/dev/null git rev-parse --show-toplevel")
	if r.code != 0 || strings.TrimSpace(r.stdout) != parent {
		t.Errorf("git in the subfolder should find the enclosing repository %s: %+v", parent, r)
	}
	denied(t, pol, "mkdir .git/hooks", "rmdir .git", "mv .git moved")
	r = buildGo(t, goBuildPolicy(t, w), sub)
	if r.code != 0 || !strings.Contains(r.stdout, "vcs.revision=") {
		t.Errorf("go build in a repository's subfolder should stamp its revision: %+v", r)
	}
	mustNotExist(t, filepath.Join(sub, ".git"))
}

// nonTmpDir is a fresh directory, removed after the test, outside the
// host's /tmp and /var/tmp, so that the sandbox sees it as the host has it.
func nonTmpDir(t *testing.T) string {
	t.Helper()
	base, err := os.UserCacheDir()
	if err != nil {
		t.Skipf("no user cache directory for a test directory outside /tmp: %v", err)
	}
	if err := os.MkdirAll(base, 0o700); err != nil {
		t.Fatal(err)
	}
	d, err := os.MkdirTemp(base, "cordon-linuxsandbox-test-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(d) })
	if d, err = filepath.EvalSymlinks(d); err != nil {
		t.Fatal(err)
	}
	return d
}
