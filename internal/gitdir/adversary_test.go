package gitdir_test

import (
	"errors"
	"fmt"
	"io/fs"
	"math/rand/v2"
	"testing"

	"github.com/cordon-sandbox/cordon/internal/gitdir"
)

// This file models the sandbox an adversary runs in, with the protections
// a backend derives from a Result, and checks that whatever the adversary
// does, the user's git started in a root afterwards reads no configuration
// and runs no hook the adversary wrote.
//
// The model: everything outside the roots is read-only; each root is a
// writable mount point; a .git missing at a root is a read-only empty
// placeholder (the backends' protected name); each Protect entry is a
// read-only mount point with everything below it; each Guard is a
// read-only empty directory and a mount point; each Pin is a mount point.
// A mount point cannot be removed, renamed or replaced; a directory that
// holds one can still be renamed, and mounts move with it (rename(2)
// refuses only a mount point itself). Renames across mounts are allowed
// (the kernel says EXDEV), which only makes the adversary stronger.

const evil = "[core]\n\tfsmonitor = touch /tmp/pwned\n"

func setRO(n *node, ro bool) {
	n.ro = ro
	for _, k := range n.kids {
		setRO(k, ro)
	}
}

func hasFixed(n *node) bool {
	if n.fixed {
		return true
	}
	for _, k := range n.kids {
		if hasFixed(k) {
			return true
		}
	}
	return false
}

func contains(n, d *node) bool {
	if n == d {
		return true
	}
	for _, k := range n.kids {
		if contains(k, d) {
			return true
		}
	}
	return false
}

// protect applies res to the model as a backend would.
func protect(l *layout, res gitdir.Result) {
	m := l.m
	for _, v := range m.vols {
		setRO(v, true)
	}
	for _, root := range l.roots {
		lc, _ := m.lookup(root, false)
		setRO(lc.n, false)
		lc.n.fixed = true
	}
	mount := func(p string) *node {
		lc, err := m.lookup(p, false)
		if errors.Is(err, fs.ErrNotExist) && lc.parent != nil {
			lc.n = &node{mode: fs.ModeDir | 0o555, kids: map[string]*node{}}
			lc.parent.kids[lc.name] = lc.n
		} else if err != nil {
			panic(fmt.Sprintf("protect %s: %v", p, err))
		}
		lc.n.fixed = true
		return lc.n
	}
	for _, root := range l.roots {
		setRO(mount(l.paths.Join(root, ".git")), true)
	}
	for _, f := range res.Protect {
		setRO(mount(f.Path), true)
	}
	for _, g := range res.Guards {
		setRO(mount(g), true)
	}
	for _, p := range res.Pins {
		mount(p)
	}
}

// parentOf returns the directory node p's last name is looked up in.
func (m *memFS) parentOf(p string) (*node, string, bool) {
	root, names, ok := m.paths.Abs("", p)
	if !ok || len(names) == 0 || names[len(names)-1] == ".." {
		return nil, "", false
	}
	dir := root
	for _, n := range names[:len(names)-1] {
		dir = m.paths.Join(dir, n)
	}
	lc, err := m.lookup(dir, true)
	if err != nil || !lc.n.isDir() {
		return nil, "", false
	}
	return lc.n, names[len(names)-1], true
}

func (m *memFS) create(p string, n *node) bool {
	dir, name, ok := m.parentOf(p)
	if !ok || dir.ro || dir.kids[name] != nil {
		return false
	}
	n.tainted = true
	dir.kids[name] = n
	dir.tainted = true
	return true
}

// write is open(O_CREAT|O_TRUNC): it follows a final symbolic link, and
// creates a missing target.
func (m *memFS) write(p, content string) bool {
	lc, err := m.lookup(p, true)
	switch {
	case err == nil:
		if !lc.n.isFile() || lc.n.ro {
			return false
		}
		lc.n.data, lc.n.tainted = content, true
		return true
	case errors.Is(err, fs.ErrNotExist) && lc.parent != nil && !lc.parent.ro:
		lc.parent.kids[lc.name] = &node{mode: 0o644, data: content, tainted: true}
		lc.parent.tainted = true
		return true
	}
	return false
}

func (m *memFS) remove(p string) bool {
	dir, name, ok := m.parentOf(p)
	if !ok || dir.ro || dir.kids[name] == nil || hasFixed(dir.kids[name]) {
		return false
	}
	delete(dir.kids, name)
	dir.tainted = true
	return true
}

func (m *memFS) rename(p, q string) bool {
	sd, sn, ok := m.parentOf(p)
	if !ok || sd.ro || sd.kids[sn] == nil || sd.kids[sn].fixed {
		return false
	}
	dd, dn, ok := m.parentOf(q)
	if !ok || dd.ro || dd.kids[dn] != nil || contains(sd.kids[sn], dd) {
		return false
	}
	dd.kids[dn] = sd.kids[sn]
	delete(sd.kids, sn)
	sd.tainted, dd.tainted = true, true
	return true
}

func (m *memFS) mkdirAll(p string) {
	root, names, ok := m.paths.Abs("", p)
	if !ok {
		return
	}
	for _, n := range names {
		root = m.paths.Join(root, n)
		m.create(root, newDir())
	}
}

// plant makes p a git directory whose config and hook run the adversary's
// code.
func (l *layout) plant(p string) {
	m := l.m
	m.mkdirAll(p)
	m.write(l.join(p, "HEAD"), "ref: refs/heads/main\n")
	m.create(l.join(p, "objects"), newDir())
	m.create(l.join(p, "refs"), newDir())
	m.write(l.join(p, "config"), evil)
	m.create(l.join(p, "hooks"), newDir())
	m.write(l.join(p, "hooks", "post-checkout"), evil)
}

// attack protects the layout as res says, lets an adversary act on the
// paths worth aiming at, and checks what the user's git would then use.
// It returns what the adversary achieved.
func attack(l *layout, res gitdir.Result) []string {
	protect(l, res)
	aims := append([]string(nil), l.pool...)
	for _, p := range append(append([]string(nil), l.pool...), l.roots...) {
		for _, name := range []string{".git", "HEAD", "config", "hooks", "commondir", "objects", "refs"} {
			aims = append(aims, l.join(p, name))
		}
	}
	m := l.m
	for i := range 40 {
		p, q := l.pick(aims), l.pick(aims)
		switch l.r.IntN(8) {
		case 0:
			l.plant(p)
		case 1:
			m.rename(p, fmt.Sprintf("%s.moved%d", p, i))
			l.plant(p)
		case 2:
			a := l.paths.Dir(p)
			m.rename(a, fmt.Sprintf("%s.moved%d", a, i))
			l.plant(p)
		case 3:
			m.remove(p)
		case 4:
			m.remove(p)
			m.create(p, newLink(l.spell(l.paths.Dir(p), q)))
			l.plant(q)
		case 5:
			m.remove(p)
			m.write(p, "gitdir: "+l.spell(l.paths.Dir(p), q)+"\n")
			l.plant(q)
		case 6:
			m.write(l.join(p, "commondir"), l.spell(p, q)+"\n")
			l.plant(q)
		default:
			m.write(l.join(p, "config"), evil)
			m.mkdirAll(l.join(p, "hooks"))
			m.write(l.join(p, "hooks", "pre-commit"), evil)
		}
	}
	var won []string
	for _, root := range l.roots {
		ref := refDiscover(m, root)
		if !ref.found {
			continue
		}
		if lc, err := m.lookup(l.join(ref.common, "config"), true); err == nil && lc.n.tainted {
			won = append(won, fmt.Sprintf("git at %s reads the planted config %s (git dir %s)", root, lc.path, ref.gitdir))
		}
		if lc, err := m.lookup(l.join(ref.common, "hooks"), true); err == nil && taintedFile(lc.n) {
			won = append(won, fmt.Sprintf("git at %s runs planted hooks in %s (git dir %s)", root, lc.path, ref.gitdir))
		}
	}
	return won
}

func taintedFile(n *node) bool {
	if !n.isDir() {
		return n.tainted
	}
	for _, k := range n.kids {
		if taintedFile(k) {
			return true
		}
	}
	return false
}

// TestAdversaryIsStrong checks that the adversary matters: with part of
// the protection left out, it takes over git in some layouts.
func TestAdversaryIsStrong(t *testing.T) {
	only := func(keep func(gitdir.Found) bool) func(gitdir.Result) gitdir.Result {
		return func(r gitdir.Result) gitdir.Result {
			var p []gitdir.Found
			for _, f := range r.Protect {
				if keep(f) {
					p = append(p, f)
				}
			}
			r.Protect = p
			return r
		}
	}
	for name, weaken := range map[string]func(gitdir.Result) gitdir.Result{
		"nothing but the .git placeholders": func(gitdir.Result) gitdir.Result { return gitdir.Result{} },
		"no pins":                           func(r gitdir.Result) gitdir.Result { r.Pins = nil; return r },
		"no guards":                         func(r gitdir.Result) gitdir.Result { r.Guards = nil; return r },
		"only .git itself":                  only(func(f gitdir.Found) bool { return f.Kind == gitdir.DotGit }),
	} {
		won := 0
		for seed := range uint64(500) {
			l := genLayout(rand.New(rand.NewPCG(seed, 1)), gitdir.POSIX)
			if len(attack(l, weaken(gitdir.Resolve(l.m, l.paths, l.roots)))) > 0 {
				won++
			}
		}
		t.Logf("with %s, the adversary won in %d of 500 layouts", name, won)
		if won == 0 {
			t.Errorf("with %s, the adversary never won: it is too weak to test the protection", name)
		}
	}
}
