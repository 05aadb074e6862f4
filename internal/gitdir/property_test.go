package gitdir_test

import (
	"fmt"
	"math/rand/v2"
	"reflect"
	"slices"
	"strings"
	"testing"

	"github.com/cordon-sandbox/cordon/internal/gitdir"
)

// layout is a generated tree with its roots and the paths worth aiming at.
type layout struct {
	m     *memFS
	paths gitdir.Paths
	roots []string
	pool  []string // existing and missing paths that links and gitfiles may name
	r     *rand.Rand
}

func (l *layout) pick(s []string) string { return s[l.r.IntN(len(s))] }

func (l *layout) join(dir string, names ...string) string {
	for _, n := range names {
		dir = l.paths.Join(dir, n)
	}
	return dir
}

// spell returns how a link in dir or a gitfile read in dir may name
// target: absolute, or relative with ".." (and on Windows either
// separator).
func (l *layout) spell(dir, target string) string {
	if l.r.IntN(3) == 0 {
		return target
	}
	droot, dnames, _ := l.paths.Abs("", dir)
	troot, tnames, _ := l.paths.Abs("", target)
	if droot != troot {
		return target
	}
	k := 0
	for k < len(dnames) && k < len(tnames) && dnames[k] == tnames[k] {
		k++
	}
	var parts []string
	for range dnames[k:] {
		parts = append(parts, "..")
	}
	parts = append(parts, tnames[k:]...)
	if len(parts) == 0 {
		return "."
	}
	sep := "/"
	if l.paths == gitdir.Windows && l.r.IntN(2) == 0 {
		sep = `\`
	}
	return strings.Join(parts, sep)
}

// genLayout builds a random tree: directories, git directories (valid or
// not, bare or with worktrees), and at each root a .git that is missing, a
// directory, a symbolic link (relative, absolute, chained, dangling, in a
// loop) or a gitfile (relative or absolute, CRLF, trailing space, NUL, to a
// directory, a file or nothing), plus stray links and HEADs.
func genLayout(r *rand.Rand, paths gitdir.Paths) *layout {
	l := &layout{m: newMemFS(paths), paths: paths, r: r}
	base := "/"
	if paths == gitdir.Windows {
		base = `C:\`
	}
	ws, ws2, out := l.join(base, "ws"), l.join(base, "ws2"), l.join(base, "out")
	l.roots = []string{ws}
	if r.IntN(2) == 0 {
		l.roots = append(l.roots, ws2)
	}
	if r.IntN(4) == 0 {
		l.roots = append(l.roots, l.join(ws, "a", "tmp"))
	}
	dirs := []string{ws, ws2, out}
	for _, d := range append(dirs, l.roots...) {
		l.m.dir(d)
	}
	for range 3 + r.IntN(6) {
		d := l.join(l.pick(dirs), l.pick([]string{"a", "b", "sub", "x"}))
		l.m.dir(d)
		dirs = append(dirs, d)
	}
	l.pool = append(l.pool, dirs...)
	var gits []string
	for range r.IntN(4) {
		g := l.join(l.pick(dirs), l.pick([]string{"realgit", "repo.git", ".git"}))
		l.genGit(g)
		gits = append(gits, g)
	}
	if r.IntN(3) == 0 { // a main repository with a linked worktree
		main := l.join(l.pick(dirs), ".git")
		l.m.gitDir(main)
		wt := l.join(main, "worktrees", "w")
		l.m.file(l.join(wt, "HEAD"), "ref: refs/heads/w\n")
		l.m.file(l.join(wt, "commondir"), l.pick([]string{"../..\n", main + "\n", "../../\r\n"}))
		gits = append(gits, main, wt)
	}
	l.pool = append(l.pool, gits...)
	for range 2 {
		missing, file := l.join(l.pick(dirs), "gone"), l.join(l.pick(dirs), "f")
		l.pool = append(l.pool, missing, file)
		if len(gits) > 0 && r.IntN(2) == 0 {
			l.m.file(file, "gitdir: "+l.pick(gits)+"\n") // a gitfile not named .git
		}
	}
	for _, root := range append(slices.Clone(l.roots), l.pick(dirs)) {
		l.genDotGit(root, gits)
	}
	for range r.IntN(4) { // stray links, some in loops
		p := l.join(l.pick(dirs), l.pick([]string{"l1", "l2", "sub"}))
		l.m.link(p, l.spell(paths.Dir(p), l.pick(l.pool)))
		l.pool = append(l.pool, p)
	}
	if r.IntN(4) == 0 {
		a, b := l.join(ws, "la"), l.join(ws, "lb")
		l.m.link(a, "lb")
		l.m.link(b, l.spell(ws, a))
		l.pool = append(l.pool, a)
	}
	for _, root := range l.roots {
		switch r.IntN(6) {
		case 0:
			l.m.file(l.join(root, "HEAD"), "ref: refs/heads/main\n")
		case 1:
			l.m.file(l.join(root, "HEAD"), "junk\n")
		case 2:
			l.m.dir(l.join(root, "objects"))
			l.m.dir(l.join(root, "refs"))
		}
	}
	return l
}

func (l *layout) genGit(g string) {
	switch l.r.IntN(6) {
	case 0:
		l.m.fill(g, "ref: refs/heads/main\n", false) // no objects/ or refs/
	case 1:
		l.m.repo(g, "not a head\n")
	case 2:
		l.m.gitDir(g)
		l.m.link(l.join(g, "HEAD"), "refs/heads/main")
	case 3:
		l.m.repo(g, strings.Repeat("ab", 20)+"\n")
	case 4:
		l.m.gitDir(g)
		l.m.file(l.join(g, "commondir"), l.spell(g, l.pick(l.pool))+"\n")
	default:
		l.m.gitDir(g)
	}
}

func (l *layout) genDotGit(d string, gits []string) {
	dotgit := l.join(d, ".git")
	targets := append(slices.Clone(l.pool), gits...)
	target := l.pick(targets)
	switch l.r.IntN(7) {
	case 0:
	case 1:
		l.m.dir(dotgit)
	case 2:
		l.m.gitDir(dotgit)
	case 3:
		l.m.link(dotgit, l.spell(d, target))
	case 4: // a chain: .git -> sub/hop -> target
		hop := l.join(l.pick(l.pool), "hop")
		l.m.link(hop, l.spell(l.paths.Dir(hop), target))
		l.m.link(dotgit, l.spell(d, hop))
	default:
		line := l.spell(d, target)
		l.m.file(dotgit, "gitdir: "+line+l.pick([]string{"\n", "\r\n", "", " \n", "\x00tail\n", "\n\n"}))
	}
}

// inside reports whether p is inside one of roots.
func inside(paths gitdir.Paths, p string, roots []string) bool {
	return slices.ContainsFunc(roots, func(r string) bool { return paths.Within(p, r) })
}

// verify returns where res breaks a property Resolve promises for roots
// on m: every path inside a root; Protect entries exist, Guards do not
// and have a parent directory; every pin is a directory, not a root, and
// a strict ancestor of a protected or guarded path; and what git started
// in a root uses (by the reference implementation), when inside a root,
// is protected, or for a root or a bare repository, its control entries.
func verify(m *memFS, paths gitdir.Paths, roots []string, res gitdir.Result) []string {
	var bad []string
	fail := func(format string, args ...any) { bad = append(bad, fmt.Sprintf(format, args...)) }
	protected := map[string]bool{}
	var targets []string
	for _, f := range res.Protect {
		protected[f.Path] = true
		targets = append(targets, f.Path)
		if _, err := m.Lstat(f.Path); err != nil {
			fail("Protect %s does not exist: %v", f.Path, err)
		}
	}
	for _, g := range res.Guards {
		targets = append(targets, g)
		if _, err := m.Lstat(g); err == nil {
			fail("Guard %s exists", g)
		}
		if fi, err := m.Lstat(paths.Dir(g)); err != nil || !fi.IsDir() {
			fail("Guard %s has no parent directory", g)
		}
	}
	for _, p := range slices.Concat(targets, res.Pins) {
		if !inside(paths, p, roots) {
			fail("%s is outside every root %q", p, roots)
		}
	}
	for _, p := range res.Pins {
		if slices.Contains(roots, p) {
			fail("pin %s is a root", p)
		}
		if !slices.ContainsFunc(targets, func(q string) bool { return q != p && paths.Within(q, p) }) {
			fail("pin %s is no ancestor of a protected or guarded path", p)
		}
		if fi, err := m.Lstat(p); err != nil || !fi.IsDir() {
			fail("pin %s is not a directory", p)
		}
	}
	for _, root := range roots {
		ref := refDiscover(m, root)
		if !ref.found {
			continue
		}
		for _, g := range []string{ref.gitdir, ref.common} {
			kept := func(name string) bool {
				p := paths.Join(g, name)
				return protected[p] || slices.Contains(res.Guards, p)
			}
			if inside(paths, g, roots) && !protected[g] && !(kept("config") && kept("hooks") && kept("commondir")) {
				fail("git at %s uses %s, which is not protected; Protect %v", root, g, res.Protect)
			}
		}
	}
	return bad
}

// checkLayout checks the properties on one layout, and that Resolve gives
// the same result for the roots in another order.
func checkLayout(t *testing.T, l *layout, seed uint64) gitdir.Result {
	t.Helper()
	res := gitdir.Resolve(l.m, l.paths, l.roots)
	for _, b := range verify(l.m, l.paths, l.roots, res) {
		t.Errorf("seed %d: %s", seed, b)
	}
	shuffled := slices.Clone(l.roots)
	l.r.Shuffle(len(shuffled), func(i, j int) { shuffled[i], shuffled[j] = shuffled[j], shuffled[i] })
	if again := gitdir.Resolve(l.m, l.paths, shuffled); !reflect.DeepEqual(res, again) {
		t.Errorf("seed %d: not deterministic:\n%+v\n%+v", seed, res, again)
	}
	return res
}

func TestResolveProperties(t *testing.T) {
	n := 3000
	if testing.Short() {
		n = 300
	}
	for seed := range uint64(n) {
		paths := gitdir.POSIX
		if seed%4 == 3 {
			paths = gitdir.Windows
		}
		l := genLayout(rand.New(rand.NewPCG(seed, 1)), paths)
		before := l.m.String()
		res := checkLayout(t, l, seed)
		for _, w := range attack(l, res) {
			t.Errorf("seed %d: after the attack, %s", seed, w)
		}
		if t.Failed() {
			t.Fatalf("seed %d failed; roots %q\nresult %+v\ntree:\n%s", seed, l.roots, res, before)
		}
	}
}
