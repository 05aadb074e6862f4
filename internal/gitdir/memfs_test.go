package gitdir_test

import (
	"errors"
	"fmt"
	"io/fs"
	"sort"
	"strings"
	"time"

	"github.com/cordon-sandbox/cordon/internal/gitdir"
)

// memFS is an in-memory file system for gitdir.FS, with path rules from a
// gitdir.Paths. Its nodes also carry what the adversary test needs: which
// are read-only, which are mount points, which the adversary touched.
type memFS struct {
	paths gitdir.Paths
	vols  map[string]*node
	calls int // FS calls, to catch a resolver that does not terminate
}

type node struct {
	mode    fs.FileMode // fs.ModeDir, fs.ModeSymlink or 0 (regular), with permission bits
	data    string      // a file's content or a link's target
	kids    map[string]*node
	ro      bool // read-only: neither content nor entries can change
	fixed   bool // a mount point: cannot be removed, renamed or replaced
	tainted bool // created or changed by the adversary
}

func (n *node) isDir() bool  { return n.mode.IsDir() }
func (n *node) isLink() bool { return n.mode&fs.ModeSymlink != 0 }
func (n *node) isFile() bool { return n.mode.IsRegular() }

func newMemFS(paths gitdir.Paths) *memFS { return &memFS{paths: paths, vols: map[string]*node{}} }

var (
	errMemNotDir = errors.New("not a directory")
	errMemLoop   = errors.New("too many levels of symbolic links")
)

// loc is a place lookup reached: path is canonical (every link resolved),
// n is nil when the last component is missing (its parent then exists).
type loc struct {
	path   string
	n      *node
	parent *node
	name   string
}

// lookup resolves p as the kernel does: links in every component but the
// last followed, the last followed if follow is set, ".." taken from the
// real directory.
func (m *memFS) lookup(p string, follow bool) (loc, error) {
	m.calls++
	if m.calls > 5_000_000 {
		panic("memFS: too many calls: the resolver does not terminate")
	}
	root, names, ok := m.paths.Abs("", p)
	if !ok {
		return loc{}, fmt.Errorf("%q: invalid path", p)
	}
	type frame struct {
		path, name string
		n          *node
	}
	vol := m.vols[root]
	if vol == nil {
		return loc{}, &fs.PathError{Op: "lookup", Path: p, Err: fs.ErrNotExist}
	}
	stack := []frame{{path: root, n: vol}}
	hops := 0
	for i := 0; i < len(names); i++ {
		top := stack[len(stack)-1]
		if !top.n.isDir() {
			return loc{}, &fs.PathError{Op: "lookup", Path: p, Err: errMemNotDir}
		}
		name := names[i]
		if name == ".." {
			if len(stack) > 1 {
				stack = stack[:len(stack)-1]
			}
			continue
		}
		child := top.n.kids[name]
		childPath := m.paths.Join(top.path, name)
		last := i == len(names)-1
		if child == nil {
			if last {
				return loc{path: childPath, parent: top.n, name: name}, &fs.PathError{Op: "lookup", Path: p, Err: fs.ErrNotExist}
			}
			return loc{}, &fs.PathError{Op: "lookup", Path: p, Err: fs.ErrNotExist}
		}
		if child.isLink() && (!last || follow) {
			if hops++; hops > 40 {
				return loc{}, &fs.PathError{Op: "lookup", Path: p, Err: errMemLoop}
			}
			r2, n2, ok := m.paths.Abs(top.path, child.data)
			if !ok || m.vols[r2] == nil {
				return loc{}, &fs.PathError{Op: "lookup", Path: p, Err: fs.ErrNotExist}
			}
			names = append(append([]string(nil), n2...), names[i+1:]...)
			i = -1
			stack = []frame{{path: r2, n: m.vols[r2]}}
			continue
		}
		stack = append(stack, frame{path: childPath, name: name, n: child})
	}
	top := stack[len(stack)-1]
	l := loc{path: top.path, n: top.n, name: top.name}
	if len(stack) > 1 {
		l.parent = stack[len(stack)-2].n
	}
	return l, nil
}

type memInfo struct {
	name string
	n    *node
}

func (i memInfo) Name() string       { return i.name }
func (i memInfo) Size() int64        { return int64(len(i.n.data)) }
func (i memInfo) Mode() fs.FileMode  { return i.n.mode }
func (i memInfo) ModTime() time.Time { return time.Time{} }
func (i memInfo) IsDir() bool        { return i.n.isDir() }
func (i memInfo) Sys() any           { return nil }

func (m *memFS) Lstat(p string) (fs.FileInfo, error) {
	l, err := m.lookup(p, false)
	if err != nil {
		return nil, err
	}
	return memInfo{name: l.name, n: l.n}, nil
}

func (m *memFS) Readlink(p string) (string, error) {
	l, err := m.lookup(p, false)
	if err != nil {
		return "", err
	}
	if !l.n.isLink() {
		return "", &fs.PathError{Op: "readlink", Path: p, Err: errors.New("invalid argument")}
	}
	return l.n.data, nil
}

func (m *memFS) ReadFile(p string) ([]byte, error) {
	l, err := m.lookup(p, true)
	if err != nil {
		return nil, err
	}
	if !l.n.isFile() {
		return nil, &fs.PathError{Op: "read", Path: p, Err: errors.New("is a directory or special file")}
	}
	return []byte(l.n.data), nil
}

// put creates the entry at p, creating missing parent directories, and
// replaces whatever was there.
func (m *memFS) put(p string, n *node) {
	root, names, ok := m.paths.Abs("", p)
	if !ok {
		panic("memFS.put: invalid path " + p)
	}
	if m.vols[root] == nil {
		m.vols[root] = &node{mode: fs.ModeDir | 0o755, kids: map[string]*node{}}
	}
	dir := m.vols[root]
	for i, name := range names {
		if i == len(names)-1 {
			if old := dir.kids[name]; old != nil && old.isDir() && n.isDir() && len(n.kids) == 0 {
				return // mkdir -p: an existing directory stays as it is
			}
			dir.kids[name] = n
			return
		}
		next := dir.kids[name]
		if next == nil || !next.isDir() {
			next = &node{mode: fs.ModeDir | 0o755, kids: map[string]*node{}}
			dir.kids[name] = next
		}
		dir = next
	}
	panic("memFS.put: cannot replace a volume root")
}

func newDir() *node                  { return &node{mode: fs.ModeDir | 0o755, kids: map[string]*node{}} }
func newFile(content string) *node   { return &node{mode: 0o644, data: content} }
func newLink(target string) *node    { return &node{mode: fs.ModeSymlink | 0o777, data: target} }
func (m *memFS) dir(p string)        { m.put(p, newDir()) }
func (m *memFS) file(p, c string)    { m.put(p, newFile(c)) }
func (m *memFS) link(p, t string)    { m.put(p, newLink(t)) }
func (m *memFS) gitDir(p string)     { m.repo(p, "ref: refs/heads/main\n") }
func (m *memFS) repo(p, head string) { m.fill(p, head, true) }

// fill makes p a git directory: HEAD (if head is not empty), objects/ and
// refs/ when full, a config and hooks/.
func (m *memFS) fill(p, head string, full bool) {
	m.dir(p)
	if head != "" {
		m.file(m.paths.Join(p, "HEAD"), head)
	}
	if full {
		m.dir(m.paths.Join(p, "objects"))
		m.dir(m.paths.Join(p, "refs"))
	}
	m.file(m.paths.Join(p, "config"), "[core]\n\trepositoryformatversion = 0\n")
	m.dir(m.paths.Join(p, "hooks"))
}

// tree builds a memFS from lines: "p/" a directory, "p -> t" a symbolic
// link, "p = c" a file, "p git" a valid git directory.
func tree(paths gitdir.Paths, lines ...string) *memFS {
	m := newMemFS(paths)
	for _, l := range lines {
		switch {
		case strings.Contains(l, " -> "):
			p, t, _ := strings.Cut(l, " -> ")
			m.link(p, t)
		case strings.Contains(l, " = "):
			p, c, _ := strings.Cut(l, " = ")
			m.file(p, c)
		case strings.HasSuffix(l, " git"):
			m.gitDir(strings.TrimSuffix(l, " git"))
		default:
			m.dir(strings.TrimRight(l, `/\`))
		}
	}
	return m
}

// String lists the tree, one entry a line, for failure messages.
func (m *memFS) String() string {
	var b strings.Builder
	var walk func(prefix string, n *node)
	walk = func(prefix string, n *node) {
		names := make([]string, 0, len(n.kids))
		for k := range n.kids {
			names = append(names, k)
		}
		sort.Strings(names)
		for _, k := range names {
			c, p := n.kids[k], m.paths.Join(prefix, k)
			switch {
			case c.isLink():
				fmt.Fprintf(&b, "%s -> %q\n", p, c.data)
			case c.isDir():
				fmt.Fprintf(&b, "%s/\n", p)
				walk(p, c)
			default:
				fmt.Fprintf(&b, "%s = %q\n", p, c.data)
			}
		}
	}
	vols := make([]string, 0, len(m.vols))
	for v := range m.vols {
		vols = append(vols, v)
	}
	sort.Strings(vols)
	for _, v := range vols {
		walk(v, m.vols[v])
	}
	return b.String()
}

// refResult is what git 2.39 discovers from one directory, by the
// reference implementation below.
type refResult struct {
	found  bool
	fatal  bool
	gitdir string // canonical
	common string // canonical
}

// refDiscover is a direct transcription of git's discovery
// (setup_git_directory_gently_1 with die_on_error, read_gitfile_gently,
// is_git_directory, get_common_dir_noenv, validate_headref), written
// independently of the resolver, walking up to the volume root.
func refDiscover(m *memFS, cwd string) refResult {
	for d := cwd; ; {
		if res, stop := refAt(m, d); stop {
			return res
		}
		parent := m.paths.Dir(d)
		if parent == d {
			return refResult{}
		}
		d = parent
	}
}

func refAt(m *memFS, d string) (refResult, bool) {
	dotgit := m.paths.Join(d, ".git")
	if l, err := m.lookup(dotgit, true); err == nil && l.n.isFile() {
		data := l.n.data
		if len(data) > 1<<20 || !strings.HasPrefix(data, "gitdir: ") {
			return refResult{fatal: true}, true
		}
		data = strings.TrimRight(data, "\r\n")
		if len(data) < 9 {
			return refResult{fatal: true}, true
		}
		dir := data[8:]
		if i := strings.IndexByte(dir, 0); i >= 0 {
			dir = dir[:i]
		}
		if dir == "" {
			dir = "."
		}
		res := refGitDir(m, d, dir)
		if !res.found {
			return refResult{fatal: true}, true
		}
		return res, true
	}
	if res := refGitDir(m, d, ".git"); res.found || res.fatal {
		return res, true
	}
	if res := refGitDir(m, d, "."); res.found || res.fatal {
		return res, true
	}
	return refResult{}, false
}

// refGitDir is is_git_directory for p read in d, with the real paths of
// the git directory and its common directory.
func refGitDir(m *memFS, d, p string) refResult {
	root, names, ok := m.paths.Abs(d, p)
	if !ok {
		return refResult{}
	}
	suspect := root
	for _, n := range names {
		suspect = m.paths.Join(suspect, n)
	}
	if !refValidHead(m, m.paths.Join(suspect, "HEAD")) {
		return refResult{}
	}
	real, err := m.lookup(suspect, true)
	if err != nil {
		return refResult{}
	}
	common := real.path
	if l, err := m.lookup(m.paths.Join(suspect, "commondir"), true); err == nil {
		if !l.n.isFile() || l.n.data == "" {
			return refResult{fatal: true} // git dies reading it
		}
		c := strings.TrimRight(l.n.data, "\r\n")
		if i := strings.IndexByte(c, 0); i >= 0 {
			c = c[:i]
		}
		if c == "" {
			c = "."
		}
		cl, err := m.lookup(refJoin(m, suspect, c), true)
		if err != nil {
			return refResult{}
		}
		common = cl.path
	}
	for _, name := range []string{"objects", "refs"} {
		if l, err := m.lookup(m.paths.Join(common, name), true); err != nil || !l.n.isDir() {
			return refResult{}
		}
	}
	return refResult{found: true, gitdir: real.path, common: common}
}

func refJoin(m *memFS, dir, p string) string {
	if root, names, ok := m.paths.Abs(dir, p); ok {
		for _, n := range names {
			root = m.paths.Join(root, n)
		}
		return root
	}
	return p
}

func refValidHead(m *memFS, p string) bool {
	l, err := m.lookup(p, false)
	switch {
	case err != nil:
		return false
	case l.n.isLink():
		return strings.HasPrefix(l.n.data, "refs/")
	case !l.n.isFile():
		return false
	}
	s := l.n.data
	if len(s) > 255 {
		s = s[:255]
	}
	if i := strings.IndexByte(s, 0); i >= 0 {
		s = s[:i]
	}
	if rest, ok := strings.CutPrefix(s, "ref:"); ok && strings.HasPrefix(strings.TrimLeft(rest, " \t\r\n"), "refs/") {
		return true
	}
	if len(s) < 40 {
		return false
	}
	return strings.Trim(s[:40], "0123456789abcdefABCDEF") == ""
}
