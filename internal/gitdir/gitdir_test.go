package gitdir_test

import (
	"slices"
	"strings"
	"testing"

	"github.com/cordon-sandbox/cordon/internal/gitdir"
)

// worktree is a main repository /main/.git with a linked worktree /wt, as
// git worktree add writes them.
var worktree = []string{
	"/main/.git git",
	"/main/.git/worktrees/x/HEAD = ref: refs/heads/x\n",
	"/main/.git/worktrees/x/commondir = ../..\n",
	"/main/.git/worktrees/x/gitdir = /wt/.git\n",
	"/wt/.git = gitdir: /main/.git/worktrees/x\n",
}

func TestResolve(t *testing.T) {
	tests := []struct {
		name   string
		paths  gitdir.Paths
		roots  []string
		tree   []string
		want   []string // Protect as "path kind"
		pins   []string
		guards []string
		notes  []string // substrings, each in some note
	}{
		{name: "plain .git directory", tree: []string{"/ws/.git git"}, want: []string{"/ws/.git dot-git"}},
		{name: "symlink relative to the root", tree: []string{"/ws/.git -> realgit", "/ws/realgit git"},
			want: []string{"/ws/.git dot-git", "/ws/realgit symlink"}},
		{name: "symlink relative into a subdirectory", tree: []string{"/ws/.git -> sub/realgit", "/ws/sub/realgit git"},
			want: []string{"/ws/.git dot-git", "/ws/sub/realgit symlink"}, pins: []string{"/ws/sub"}},
		{name: "symlink absolute", tree: []string{"/ws/.git -> /ws/a/b/realgit", "/ws/a/b/realgit git"},
			want: []string{"/ws/.git dot-git", "/ws/a/b/realgit symlink"}, pins: []string{"/ws/a", "/ws/a/b"}},
		{name: "symlink chain through a subdirectory", tree: []string{"/ws/.git -> sub/l1", "/ws/sub/l1 -> ../d/realgit", "/ws/d/realgit git"},
			want: []string{"/ws/.git dot-git", "/ws/d/realgit symlink", "/ws/sub/l1 link"}, pins: []string{"/ws/d", "/ws/sub"}},
		{name: "symlink outside every root", tree: []string{"/ws/.git -> /out/repo.git", "/out/repo.git git", "/ws/"},
			want: []string{"/ws/.git dot-git"}, notes: []string{"/out/repo.git, outside every writable root"}},
		{name: "symlink to a gitfile reads the gitfile in the root", tree: []string{"/ws/.git -> sub/gf", "/ws/sub/gf = gitdir: real\n", "/ws/real git"},
			want: []string{"/ws/.git dot-git", "/ws/real gitfile", "/ws/sub/gf symlink"}, pins: []string{"/ws/sub"}},
		{name: "gitfile relative", tree: []string{"/ws/.git = gitdir: sub/realgit\n", "/ws/sub/realgit git"},
			want: []string{"/ws/.git dot-git", "/ws/sub/realgit gitfile"}, pins: []string{"/ws/sub"}},
		{name: "gitfile absolute with CRLF", tree: []string{"/ws/.git = gitdir: /ws/sub/realgit\r\n\r\n", "/ws/sub/realgit git"},
			want: []string{"/ws/.git dot-git", "/ws/sub/realgit gitfile"}, pins: []string{"/ws/sub"}},
		{name: "gitfile through a symlinked directory", tree: []string{"/ws/.git = gitdir: lnk/wt\n", "/ws/lnk -> d2", "/ws/d2/wt git"},
			want: []string{"/ws/.git dot-git", "/ws/d2/wt gitfile", "/ws/lnk link"}, pins: []string{"/ws/d2"}},
		{name: "gitfile keeps a trailing space, as git does", tree: []string{"/ws/.git = gitdir: real \n", "/ws/real git"},
			want: []string{"/ws/.git dot-git"}, guards: []string{"/ws/HEAD", "/ws/real "}, notes: []string{"/ws/real , which does not exist"}},
		{name: "separate git dir outside the root", tree: []string{"/ws/.git = gitdir: /home/me/ws.git\n", "/home/me/ws.git git"},
			want: []string{"/ws/.git dot-git"}, notes: []string{"outside every writable root"}},
		{name: "separate git dir inside the root", tree: []string{"/ws/.git = gitdir: /ws/.meta/ws.git\n", "/ws/.meta/ws.git git"},
			want: []string{"/ws/.git dot-git", "/ws/.meta/ws.git gitfile"}, pins: []string{"/ws/.meta"}},
		{name: "worktree alone", roots: []string{"/wt"}, tree: worktree,
			want: []string{"/wt/.git dot-git"}, notes: []string{"/main/.git/worktrees/x, outside every writable root"}},
		{name: "worktree and its main repository", roots: []string{"/wt", "/main"}, tree: worktree,
			want: []string{"/main/.git dot-git", "/main/.git/worktrees/x gitfile", "/wt/.git dot-git"}},
		{name: "worktree in a subdirectory of its root", roots: []string{"/ws"}, tree: []string{
			"/ws/main/.git git", "/ws/main/.git/worktrees/x/HEAD = ref: refs/heads/x\n", "/ws/main/.git/worktrees/x/commondir = ../..\n",
			"/ws/.git = gitdir: main/.git/worktrees/x\n"},
			want: []string{"/ws/.git dot-git", "/ws/main/.git commondir", "/ws/main/.git/worktrees/x gitfile"}, pins: []string{"/ws/main"}},
		{name: "missing target", tree: []string{"/ws/.git = gitdir: sub/gone\n", "/ws/sub/"},
			want: []string{"/ws/.git dot-git"}, guards: []string{"/ws/HEAD", "/ws/sub/gone"}, pins: []string{"/ws/sub"},
			notes: []string{"/ws/sub/gone, which does not exist"}},
		{name: "missing intermediate directory", tree: []string{"/ws/.git -> a/b/c"},
			want: []string{"/ws/.git dot-git"}, guards: []string{"/ws/HEAD", "/ws/a"}},
		{name: "target behind a file", tree: []string{"/ws/.git = gitdir: f/x\n", "/ws/f = data"},
			want: []string{"/ws/.git dot-git", "/ws/f gitfile"}, guards: []string{"/ws/HEAD"}, notes: []string{"not a directory"}},
		{name: "symlink loop", tree: []string{"/ws/.git -> l1", "/ws/l1 -> l2", "/ws/l2 -> l1"},
			want: []string{"/ws/.git dot-git", "/ws/l1 link", "/ws/l2 link"}, guards: []string{"/ws/HEAD"}, notes: []string{"too many levels"}},
		{name: "gitfile to a gitfile", tree: []string{"/ws/.git = gitdir: sub/other\n", "/ws/sub/other = gitdir: /ws/real\n", "/ws/real git"},
			want: []string{"/ws/.git dot-git", "/ws/sub/other gitfile"}, guards: []string{"/ws/HEAD"}, pins: []string{"/ws/sub"},
			notes: []string{"itself a gitfile"}},
		{name: "gitfile without a gitdir line", tree: []string{"/ws/.git = nonsense\n"},
			want: []string{"/ws/.git dot-git"}, guards: []string{"/ws/HEAD"}, notes: []string{`no "gitdir: <path>" line`}},
		{name: "over-long gitfile", tree: []string{"/ws/.git = gitdir: real" + strings.Repeat("\n", gitdir.ReadLimit+10), "/ws/real git"},
			want: []string{"/ws/.git dot-git", "/ws/real gitfile"}, notes: []string{"longer than"}},
		{name: "gitfile with a NUL names its own directory", tree: []string{"/ws/.git = gitdir: \x00x\n", "/ws/HEAD = ref: refs/heads/main\n", "/ws/objects/", "/ws/refs/"},
			want: []string{"/ws/.git dot-git", "/ws/HEAD bare", "/ws/objects bare", "/ws/refs bare"}, guards: []string{"/ws/commondir", "/ws/config", "/ws/hooks"}},
		{name: "no .git", tree: []string{"/ws/"}, guards: []string{"/ws/HEAD"}},
		{name: "empty .git placeholder", tree: []string{"/ws/.git/"},
			want: []string{"/ws/.git dot-git"}, guards: []string{"/ws/HEAD"}, notes: []string{"not a valid git directory"}},
		{name: "bare repository as the root", tree: []string{"/ws git", "/ws/packed-refs = x"},
			want:   []string{"/ws/HEAD bare", "/ws/config bare", "/ws/hooks bare", "/ws/objects bare", "/ws/packed-refs bare", "/ws/refs bare"},
			guards: []string{"/ws/commondir"}},
		{name: "valid HEAD, no repository yet", tree: []string{"/ws/HEAD = 0123456789abcdef0123456789abcdef01234567"},
			want: []string{"/ws/HEAD bare"}, guards: []string{"/ws/commondir", "/ws/config", "/ws/hooks"}, notes: []string{"not a complete git directory"}},
		{name: "invalid HEAD is kept", tree: []string{"/ws/HEAD = hello\n"}, want: []string{"/ws/HEAD head"}},
		{name: "HEAD directory is kept", tree: []string{"/ws/HEAD/"}, want: []string{"/ws/HEAD head"}},
		{name: ".git symlink to the root itself", tree: []string{"/ws/.git -> .", "/ws git"},
			want:   []string{"/ws/.git dot-git", "/ws/HEAD bare", "/ws/config bare", "/ws/hooks bare", "/ws/objects bare", "/ws/refs bare"},
			guards: []string{"/ws/commondir"}},
		{name: "commondir elsewhere in the root", tree: []string{"/ws/.git git", "/ws/.git/commondir = ../shared/c\n", "/ws/shared/c git"},
			want: []string{"/ws/.git dot-git", "/ws/shared/c commondir"}, pins: []string{"/ws/shared"}},
		{name: "commondir symlink", tree: []string{"/ws/.git git", "/ws/.git/commondir -> ../cd", "/ws/cd = /out\n"},
			want: []string{"/ws/.git dot-git", "/ws/.git/commondir link", "/ws/cd commondir"}, guards: []string{"/ws/HEAD"}, notes: []string{"/out", "not a valid git directory"}},
		{name: "hooks and config shared through the work tree", tree: []string{"/ws/.git git", "/ws/.git/hooks -> ../tools/hooks", "/ws/tools/hooks/", "/ws/.git/config -> /ws/cfg", "/ws/cfg = x"},
			want: []string{"/ws/.git dot-git", "/ws/.git/config link", "/ws/.git/hooks link", "/ws/cfg entry-target", "/ws/tools/hooks entry-target"}, pins: []string{"/ws/tools"}},
		{name: "gitfile into another root", roots: []string{"/a", "/b"},
			tree: []string{"/a/.git = gitdir: /b/sub/repo.git\n", "/b/sub/repo.git git", "/b/.git git"},
			want: []string{"/a/.git dot-git", "/b/.git dot-git", "/b/sub/repo.git gitfile"}, pins: []string{"/b/sub"}},
		{name: "nested roots", roots: []string{"/ws", "/ws/a/tmp"}, tree: []string{"/ws/.git git", "/ws/a/tmp/"},
			want: []string{"/ws/.git dot-git"}, guards: []string{"/ws/a/.git", "/ws/a/HEAD", "/ws/a/tmp/HEAD"}, pins: []string{"/ws/a"}},
		{name: "gitfile to a directory that holds a root", roots: []string{"/ws", "/ws/a/tmp"},
			tree:   []string{"/ws/.git git", "/ws/a/tmp/.git = gitdir: ..\n", "/ws/a/HEAD = ref: refs/heads/main\n", "/ws/a/objects/", "/ws/a/refs/"},
			want:   []string{"/ws/.git dot-git", "/ws/a/HEAD bare", "/ws/a/objects bare", "/ws/a/refs bare", "/ws/a/tmp/.git dot-git"},
			guards: []string{"/ws/a/commondir", "/ws/a/config", "/ws/a/hooks"}, pins: []string{"/ws/a"}},
		{name: "root that does not exist", roots: []string{"/nope"}, notes: []string{"root /nope"}},
		{name: "windows gitfile to another drive", paths: gitdir.Windows, roots: []string{`C:\ws`},
			tree: []string{`C:\ws\.git = gitdir: D:/x/.git` + "\n", `D:\x\.git git`},
			want: []string{`C:\ws\.git dot-git`}, guards: []string{}, notes: []string{`D:\x\.git, outside every writable root`}},
		{name: "windows gitfile into a second root", paths: gitdir.Windows, roots: []string{`c:\ws`, `D:\x`},
			tree: []string{`C:\ws\.git = gitdir: D:/x/.git` + "\n", `D:\x\.git git`},
			want: []string{`C:\ws\.git dot-git`, `D:\x\.git dot-git`}},
		{name: "windows relative gitfile with backslashes", paths: gitdir.Windows, roots: []string{`C:\ws`},
			tree: []string{`C:\ws\.git = gitdir: sub\..\sub\real` + "\r\n", `C:\ws\sub\real git`},
			want: []string{`C:\ws\.git dot-git`, `C:\ws\sub\real gitfile`}, pins: []string{`C:\ws\sub`}},
		{name: "windows gitfile through a name ending in a space guards that name, spelled verbatim",
			paths: gitdir.Windows, roots: []string{`C:\ws`},
			tree: []string{`C:\ws\.git = gitdir: sub /real` + "\n", `C:\ws\sub\real git`},
			want: []string{`C:\ws\.git dot-git`}, guards: []string{`C:\ws\HEAD`, `\\?\C:\ws\sub `}, notes: []string{`\\?\C:\ws\sub , which does not exist`}},
		{name: "windows gitfile into a directory whose name ends in a dot",
			paths: gitdir.Windows, roots: []string{`C:\ws`},
			tree: []string{`C:\ws\.git = gitdir: sub. /real` + "\n", `\\?\C:\ws\sub. \real git`},
			want: []string{`C:\ws\.git dot-git`, `C:\ws\sub. \real gitfile`}, pins: []string{`\\?\C:\ws\sub. `}},
		{name: "windows no .git", paths: gitdir.Windows, roots: []string{`C:\ws`}, tree: []string{`C:\ws\`},
			guards: []string{`C:\ws\HEAD`}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			paths, roots := tc.paths, tc.roots
			if paths == nil {
				paths = gitdir.POSIX
			}
			if roots == nil {
				roots = []string{"/ws"}
			}
			res := gitdir.Resolve(tree(paths, tc.tree...), paths, roots)
			var got []string
			for _, f := range res.Protect {
				got = append(got, f.Path+" "+f.Kind.String())
			}
			same(t, "Protect", got, tc.want)
			same(t, "Pins", res.Pins, tc.pins)
			same(t, "Guards", res.Guards, tc.guards)
			for _, n := range tc.notes {
				if !slices.ContainsFunc(res.Notes, func(s string) bool { return strings.Contains(s, n) }) {
					t.Errorf("no note contains %q; notes:\n%s", n, strings.Join(res.Notes, "\n"))
				}
			}
			if t.Failed() {
				t.Logf("notes:\n%s", strings.Join(res.Notes, "\n"))
			}
		})
	}
}

func same(t *testing.T, what string, got, want []string) {
	t.Helper()
	if len(got) == 0 && len(want) == 0 {
		return
	}
	if !slices.Equal(got, want) {
		t.Errorf("%s:\n got  %q\n want %q", what, got, want)
	}
}

func TestKindString(t *testing.T) {
	for k, want := range map[gitdir.Kind]string{gitdir.DotGit: "dot-git", gitdir.SymlinkTarget: "symlink", gitdir.Gitfile: "gitfile",
		gitdir.CommonDir: "commondir", gitdir.Bare: "bare", gitdir.Head: "head", gitdir.EntryTarget: "entry-target", gitdir.Link: "link", gitdir.Kind(99): "Kind(99)"} {
		if got := k.String(); got != want {
			t.Errorf("Kind(%d).String() = %q, want %q", int(k), got, want)
		}
	}
}

func TestPaths(t *testing.T) {
	for _, tc := range []struct {
		paths     gitdir.Paths
		dir, p    string
		want      string
		ok        bool
		within    string
		isWithin  bool
		parentDir string
	}{
		{paths: gitdir.POSIX, dir: "/ws", p: "a/../b", want: "/ws/a/../b", ok: true, within: "/ws", isWithin: true, parentDir: "/ws"},
		{paths: gitdir.POSIX, dir: "/ws", p: "/x//y/", want: "/x/y", ok: true, within: "/x/y", isWithin: true, parentDir: "/x"},
		{paths: gitdir.POSIX, dir: "", p: "rel", ok: false},
		{paths: gitdir.POSIX, dir: "/ws", p: "", ok: false},
		{paths: gitdir.POSIX, dir: "/ws", p: "/wsx", want: "/wsx", ok: true, within: "/ws", isWithin: false, parentDir: "/"},
		{paths: gitdir.Windows, dir: `C:\ws`, p: `a\..\b`, want: `C:\ws\b`, ok: true, within: `c:\WS`, isWithin: true, parentDir: `C:\ws`},
		{paths: gitdir.Windows, dir: `C:\ws`, p: `\top`, want: `C:\top`, ok: true, within: `C:\ws`, isWithin: false, parentDir: `C:\`},
		{paths: gitdir.Windows, dir: `C:\ws`, p: `\??\D:\x`, want: `D:\x`, ok: true, within: `D:\`, isWithin: true, parentDir: `D:\`},
		{paths: gitdir.Windows, dir: `C:\ws`, p: `//srv/share/r`, want: `\\srv\share\r`, ok: true, within: `\\SRV\share`, isWithin: true, parentDir: `\\srv\share\`},
		{paths: gitdir.Windows, dir: `C:\ws`, p: `sub \x`, want: `C:\ws\sub \x`, ok: true, within: `C:\ws\sub`, isWithin: false, parentDir: `\\?\C:\ws\sub `},
		{paths: gitdir.Windows, dir: `C:\ws`, p: `D:rel`, ok: false},
		{paths: gitdir.Windows, dir: `C:\ws`, p: `C:\ws\nul`, ok: false},
	} {
		root, names, ok := tc.paths.Abs(tc.dir, tc.p)
		if ok != tc.ok {
			t.Errorf("Abs(%q, %q) ok = %v, want %v", tc.dir, tc.p, ok, tc.ok)
			continue
		}
		if !ok {
			continue
		}
		got := root
		for _, n := range names {
			got = tc.paths.Join(got, n)
		}
		if got != tc.want {
			t.Errorf("Abs(%q, %q) = %q, want %q", tc.dir, tc.p, got, tc.want)
		}
		if w := tc.paths.Within(got, tc.within); w != tc.isWithin {
			t.Errorf("Within(%q, %q) = %v, want %v", got, tc.within, w, tc.isWithin)
		}
		if d := tc.paths.Dir(got); d != tc.parentDir {
			t.Errorf("Dir(%q) = %q, want %q", got, d, tc.parentDir)
		}
	}
}
