//go:build unix

package gitdir_test

import (
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/cordon-sandbox/cordon/internal/gitdir"
)

// realGit runs git in a temporary directory, isolated from the user's
// configuration and from any repository above the directory.
type realGit struct {
	t   *testing.T
	tmp string
}

func newRealGit(t *testing.T) *realGit {
	t.Helper()
	if _, err := exec.LookPath("git"); err != nil {
		t.Skip("git is not installed")
	}
	tmp, err := filepath.EvalSymlinks(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	return &realGit{t: t, tmp: tmp}
}

func (g *realGit) path(rel string) string { return filepath.Join(g.tmp, rel) }

// run runs git in dir (relative to the temporary directory) and returns
// its output and whether it succeeded.
func (g *realGit) run(dir string, args ...string) (string, bool) {
	cmd := exec.Command("git", args...)
	cmd.Dir = g.path(dir)
	for _, e := range os.Environ() {
		if !strings.HasPrefix(e, "GIT_") && !strings.HasPrefix(e, "HOME=") && !strings.HasPrefix(e, "XDG_CONFIG_HOME=") {
			cmd.Env = append(cmd.Env, e)
		}
	}
	cmd.Env = append(cmd.Env, "HOME="+g.tmp, "GIT_CONFIG_NOSYSTEM=1", "GIT_CEILING_DIRECTORIES="+filepath.Dir(g.tmp),
		"GIT_AUTHOR_NAME=t", "GIT_AUTHOR_EMAIL=t@example.com", "GIT_COMMITTER_NAME=t", "GIT_COMMITTER_EMAIL=t@example.com")
	out, err := cmd.CombinedOutput()
	return string(out), err == nil
}

func (g *realGit) mkdir(rel string) {
	g.t.Helper()
	if err := os.MkdirAll(g.path(rel), 0o755); err != nil {
		g.t.Fatal(err)
	}
}

func (g *realGit) write(rel, content string) {
	g.t.Helper()
	g.mkdir(filepath.Dir(rel))
	if err := os.WriteFile(g.path(rel), []byte(content), 0o644); err != nil {
		g.t.Fatal(err)
	}
}

func (g *realGit) must(dir string, args ...string) {
	g.t.Helper()
	if out, ok := g.run(dir, args...); !ok {
		g.t.Fatalf("git %s in %s: %s", strings.Join(args, " "), dir, out)
	}
}

// dirs returns the real paths of what git started in dir uses as its git
// directory and common directory, or nil when git finds no repository.
func (g *realGit) dirs(dir string) []string {
	out, ok := g.run(dir, "rev-parse", "--path-format=absolute", "--git-dir", "--git-common-dir")
	if !ok {
		return nil
	}
	var real []string
	for _, line := range strings.Fields(out) {
		p, err := filepath.EvalSymlinks(line)
		if err != nil {
			g.t.Fatalf("git names %s: %v", line, err)
		}
		real = append(real, p)
	}
	return real
}

func TestRealGit(t *testing.T) {
	tests := []struct {
		name  string
		setup func(g *realGit)
		roots []string
	}{
		{"init", func(g *realGit) { g.must(".", "init", "-q", "ws") }, []string{"ws"}},
		{"bare", func(g *realGit) { g.must(".", "init", "-q", "--bare", "ws") }, []string{"ws"}},
		{"separate git dir inside", func(g *realGit) {
			g.mkdir("ws/.meta")
			g.must(".", "init", "-q", "--separate-git-dir", g.path("ws/.meta/repo.git"), "ws")
		}, []string{"ws"}},
		{"separate git dir outside", func(g *realGit) {
			g.mkdir("out")
			g.must(".", "init", "-q", "--separate-git-dir", g.path("out/repo.git"), "ws")
		}, []string{"ws"}},
		{"symlink into a subdirectory", func(g *realGit) {
			g.must(".", "init", "-q", "--bare", "ws/sub/realgit")
			if err := os.Symlink("sub/realgit", g.path("ws/.git")); err != nil {
				g.t.Fatal(err)
			}
		}, []string{"ws"}},
		{"worktree and main", func(g *realGit) {
			g.must(".", "init", "-q", "main")
			g.must("main", "commit", "-q", "--allow-empty", "-m", "x")
			g.must("main", "worktree", "add", "-q", "../wt")
		}, []string{"wt", "main"}},
		{"worktree of a repository in the root", func(g *realGit) {
			g.must(".", "init", "-q", "ws/main")
			g.must("ws/main", "commit", "-q", "--allow-empty", "-m", "x")
			g.must("ws/main", "worktree", "add", "-q", "../wt")
			g.must(".", "init", "-q", "--separate-git-dir", g.path("ws/sep.git"), "ws2")
		}, []string{"ws/wt", "ws", "ws2"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			g := newRealGit(t)
			tc.setup(g)
			var roots []string
			for _, r := range tc.roots {
				roots = append(roots, g.path(r))
			}
			res := gitdir.Resolve(gitdir.OS(), gitdir.POSIX, roots)
			t.Logf("roots %q\nresult %+v", roots, res)
			kept := func(p string) bool {
				return slices.Contains(res.Guards, p) ||
					slices.ContainsFunc(res.Protect, func(f gitdir.Found) bool { return f.Path == p })
			}
			checked := 0
			for _, root := range roots {
				for _, d := range g.dirs(root[len(g.tmp)+1:]) {
					if !inside(gitdir.POSIX, d, roots) {
						continue
					}
					checked++
					if !kept(d) && !(kept(filepath.Join(d, "config")) && kept(filepath.Join(d, "hooks"))) {
						t.Errorf("git in %s uses %s, which is not protected", root, d)
					}
				}
			}
			if checked == 0 && tc.name != "separate git dir outside" {
				t.Errorf("git found no directory inside the roots to check")
			}
		})
	}
}

// TestRealGitGuards checks against real git that what Resolve guards and
// protects keeps the layouts the review broke from turning into a
// repository that the user's git would use: the sandbox writes everything
// it may (not the guards, not the protected entries) and git must still
// refuse.
func TestRealGitGuards(t *testing.T) {
	// makeGuards creates the guards and the .git placeholder as the
	// backends do.
	makeGuards := func(g *realGit, root string, wantGuards ...string) {
		g.t.Helper()
		res := gitdir.Resolve(gitdir.OS(), gitdir.POSIX, []string{g.path(root)})
		var want []string
		for _, w := range wantGuards {
			want = append(want, g.path(w))
		}
		if !slices.Equal(res.Guards, want) {
			g.t.Fatalf("Guards %q, want %q", res.Guards, want)
		}
		for _, p := range append(res.Guards, g.path(root+"/.git")) {
			if err := os.Mkdir(p, 0o555); err != nil && !os.IsExist(err) {
				g.t.Fatal(err)
			}
		}
	}
	t.Run("no .git: HEAD guard", func(t *testing.T) {
		g := newRealGit(t)
		g.mkdir("ws")
		makeGuards(g, "ws", "ws/HEAD")
		g.mkdir("ws/objects")
		g.mkdir("ws/refs")
		g.write("ws/config", evil)
		if out, ok := g.run("ws", "rev-parse", "--git-dir"); ok {
			t.Errorf("git takes the guarded root for a repository: %s", out)
		}
		// The attack is real: without the guard, git takes it.
		if err := os.Remove(g.path("ws/HEAD")); err != nil {
			t.Fatal(err)
		}
		g.write("ws/HEAD", "ref: refs/heads/main\n")
		if out, ok := g.run("ws", "rev-parse", "--git-dir"); !ok || strings.TrimSpace(out) != "." {
			t.Errorf("without the guard git should take the root for a bare repository; it says %q", out)
		}
	})
	t.Run("valid HEAD: config, hooks and commondir guards", func(t *testing.T) {
		g := newRealGit(t)
		g.write("ws/HEAD", "ref: refs/heads/main\n")
		makeGuards(g, "ws", "ws/commondir", "ws/config", "ws/hooks")
		g.mkdir("ws/objects")
		g.mkdir("ws/refs")
		if out, ok := g.run("ws", "config", "--list"); ok {
			t.Errorf("git works in the guarded root: %s", out)
		}
	})
	t.Run("missing gitfile target", func(t *testing.T) {
		g := newRealGit(t)
		g.write("ws/.git", "gitdir: sub/gone\n")
		g.mkdir("ws/sub")
		makeGuards(g, "ws", "ws/HEAD", "ws/sub/gone")
		if out, ok := g.run("ws", "rev-parse", "--git-dir"); ok {
			t.Errorf("git takes the guard for a repository: %s", out)
		}
	})
}
