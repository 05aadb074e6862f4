package linuxsandbox

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/cordon-sandbox/cordon/policy"
)

// The git directories a root's .git names are protected wherever they lie
// in the root, the directories on the way there cannot be renamed to make
// the link name a fresh one, and a root that is no repository cannot be
// made into one. Each attack here got out before the resolver was wired in.

func gitInit(t *testing.T, dir string, args ...string) {
	t.Helper()
	if _, err := exec.LookPath("git"); err != nil {
		t.Skip("git is not installed")
	}
	cmd := exec.Command("git", append([]string{"init", "-q"}, args...)...)
	cmd.Dir = dir
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("git init %v: %v\n%s", args, err, out)
	}
}

// gitConfigValue is what the user's own git, run on the host, reads.
func gitConfigValue(t *testing.T, dir, key string) string {
	t.Helper()
	cmd := exec.Command("git", "config", "--get", key)
	cmd.Dir = dir
	out, _ := cmd.Output()
	return strings.TrimSpace(string(out))
}

func TestSeparateGitDirInsideRoot(t *testing.T) {
	w := newWS(t)
	if err := os.Mkdir(filepath.Join(w.cwd, "sub"), 0o755); err != nil {
		t.Fatal(err)
	}
	gitInit(t, w.cwd, "--separate-git-dir=sub/realgit", ".")
	pol := w.policy(t, policy.Policy{Mode: policy.WorkspaceWrite})
	denied(t, pol,
		"echo '[core] fsmonitor = touch /tmp/pwned' >> sub/realgit/config",
		"echo x > sub/realgit/hooks/pre-commit",
		"rm -rf sub/realgit/hooks",
		// Move the directory that holds the git directory away and
		// build a fresh one at the path the gitfile names.
		"mv sub sub2",
		"rmdir sub",
	)
	if r := sh(t, pol, "echo ok > sub/other.txt && echo ok > top.txt"); r.code != 0 {
		t.Errorf("the rest of the pinned directory must stay writable: %+v", r)
	}
	if v := gitConfigValue(t, w.cwd, "core.fsmonitor"); v != "" {
		t.Errorf("the user's git reads core.fsmonitor = %q", v)
	}
	mustNotExist(t, filepath.Join(w.cwd, "sub", "realgit", "hooks", "pre-commit"))
}

func TestGitSymlinkInsideRoot(t *testing.T) {
	w := newWS(t)
	inner := filepath.Join(w.cwd, "inner")
	if err := os.MkdirAll(filepath.Join(inner, "repo"), 0o755); err != nil {
		t.Fatal(err)
	}
	gitInit(t, filepath.Join(inner, "repo"))
	if err := os.Symlink("inner/repo/.git", filepath.Join(w.cwd, ".git")); err != nil {
		t.Fatal(err)
	}
	pol := w.policy(t, policy.Policy{Mode: policy.WorkspaceWrite})
	denied(t, pol,
		"echo '[core] fsmonitor = x' >> .git/config",
		"echo '[core] fsmonitor = x' >> inner/repo/.git/config",
		"mv inner inner2",
		"mv inner/repo inner/repo2",
		"ln -sfn /tmp .git",
	)
	if v := gitConfigValue(t, w.cwd, "core.fsmonitor"); v != "" {
		t.Errorf("the user's git reads core.fsmonitor = %q", v)
	}
}

// TestWorktreeCommonDir: the root is a worktree whose main repository lies
// inside it (moved there, then repaired): the gitfile leads to the
// worktree's git directory, whose commondir names the main repository's,
// with the config and hooks the user's git reads in the worktree.
func TestWorktreeCommonDir(t *testing.T) {
	w := newWS(t)
	main, wt := filepath.Join(w.cwd, "main"), filepath.Join(w.cwd, "wt")
	if err := os.Mkdir(main, 0o755); err != nil {
		t.Fatal(err)
	}
	gitInit(t, main)
	git := func(dir string, args ...string) {
		t.Helper()
		cmd := exec.Command("git", args...)
		cmd.Dir = dir
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("git %v: %v\n%s", args, err, out)
		}
	}
	git(main, "-c", "user.name=t", "-c", "user.email=t@t", "commit", "-q", "--allow-empty", "-m", "x")
	git(main, "worktree", "add", "-q", wt)
	if err := os.Rename(main, filepath.Join(wt, "main")); err != nil {
		t.Fatal(err)
	}
	git(filepath.Join(wt, "main"), "worktree", "repair", wt)
	pol, err := policy.Policy{Mode: policy.WorkspaceWrite, Cwd: wt}.Resolve(policy.Env{Rules: policy.POSIX})
	if err != nil {
		t.Fatal(err)
	}
	denied(t, pol,
		"echo '[core] fsmonitor = x' >> main/.git/config",
		"echo x > main/.git/worktrees/wt/commondir",
		"echo x > main/.git/hooks/post-checkout",
		"mv main main2",
	)
	if v := gitConfigValue(t, wt, "core.fsmonitor"); v != "" {
		t.Errorf("the user's git reads core.fsmonitor = %q", v)
	}
}

// TestRootBecomesNoRepository: a root that is no repository (a subfolder of
// a monorepo) cannot be turned into a bare repository that the user's git
// would then use there.
func TestRootBecomesNoRepository(t *testing.T) {
	mono := t.TempDir()
	gitInit(t, mono)
	sub := filepath.Join(mono, "sub")
	if err := os.Mkdir(sub, 0o755); err != nil {
		t.Fatal(err)
	}
	pol, err := policy.Policy{Mode: policy.WorkspaceWrite, Cwd: sub}.Resolve(policy.Env{Rules: policy.POSIX})
	if err != nil {
		t.Fatal(err)
	}
	r := sh(t, pol, `git init -q --bare . 2>/dev/null; printf 'ref: refs/heads/main\n' > HEAD; mkdir -p objects refs; printf '[core]\n\tfsmonitor = touch pwned\n' > config; echo done`)
	if r.code != 0 {
		t.Fatalf("%+v", r)
	}
	cmd := exec.Command("git", "rev-parse", "--absolute-git-dir")
	cmd.Dir = sub
	out, err := cmd.Output()
	if got := strings.TrimSpace(string(out)); err != nil || got != filepath.Join(mono, ".git") {
		t.Errorf("git in the root now uses %q (%v), want the monorepo's %s", got, err, filepath.Join(mono, ".git"))
	}
	mustNotExist(t, filepath.Join(sub, "HEAD"))
}
