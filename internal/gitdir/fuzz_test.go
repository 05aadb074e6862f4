package gitdir_test

import (
	"reflect"
	"strings"
	"testing"

	"github.com/cordon-sandbox/cordon/internal/gitdir"
)

// FuzzResolve feeds arbitrary content to a root's .git gitfile, read with
// POSIX and with Windows path rules, among a git directory in the root, a
// worktree git directory and a repository outside: Resolve must not panic,
// must keep its results inside the roots, protect what git would use and
// be deterministic.
func FuzzResolve(f *testing.F) {
	for _, seed := range []string{
		"gitdir: sub/realgit\n",
		"gitdir: /ws/sub/realgit\r\n",
		"gitdir: .meta/wt\n",
		"gitdir: ../out/repo.git\n",
		"gitdir: l/../realgit \n",
		"gitdir: \x00\n",
		"gitdir:sub/realgit",
		"gitdir: " + strings.Repeat("../", 50) + "ws/sub/realgit",
		`gitdir: C:\ws\sub\realgit` + "\n",
		`gitdir: \\?\C:\ws\.meta\wt`,
		"gitdir: //srv/share/x\n",
	} {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, content string) {
		for _, paths := range []gitdir.Paths{gitdir.POSIX, gitdir.Windows} {
			base := "/"
			if paths == gitdir.Windows {
				base = `C:\`
			}
			p := func(rel string) string {
				root, names, _ := paths.Abs(base, rel)
				for _, n := range names {
					root = paths.Join(root, n)
				}
				return root
			}
			m := newMemFS(paths)
			m.gitDir(p("ws/sub/realgit"))
			m.file(p("ws/.meta/wt/HEAD"), "ref: refs/heads/wt\n")
			m.file(p("ws/.meta/wt/commondir"), "../../sub/realgit\n")
			m.gitDir(p("out/repo.git"))
			m.link(p("ws/l"), "sub")
			m.dir(p("ws2"))
			m.file(p("ws/.git"), content)
			roots := []string{p("ws"), p("ws2")}
			res := gitdir.Resolve(m, paths, roots)
			for _, b := range verify(m, paths, roots, res) {
				t.Errorf("%q: %s", content, b)
			}
			if again := gitdir.Resolve(m, paths, roots); !reflect.DeepEqual(res, again) {
				t.Errorf("%q: not deterministic", content)
			}
		}
	})
}
