package fsview

import (
	"fmt"
	"sort"
	"sync/atomic"

	"github.com/cordon-sandbox/cordon/internal/winpath"
	"github.com/cordon-sandbox/cordon/ntsec"
)

// Memory is an in-memory View. It also counts the reads made through the
// View interface, so tests can show that a warm plan reads O(roots) objects,
// never O(files).
type Memory struct {
	nodes map[string]*memNode // by key
	reads atomic.Int64
}

type memNode struct {
	Node
	name   string // last element, as written
	parent *memNode
	kids   []*memNode // sorted by name when sorted is true
	sorted bool
}

func (n *memNode) sortKids() {
	if !n.sorted {
		sort.Slice(n.kids, func(i, j int) bool { return n.kids[i].name < n.kids[j].name })
		n.sorted = true
	}
}

// NewMemory returns an empty view.
func NewMemory() *Memory { return &Memory{nodes: map[string]*memNode{}} }

// Reads returns how many Stat and List calls the view has answered.
func (m *Memory) Reads() int64 { return m.reads.Load() }

// ResetReads sets the read counter to zero.
func (m *Memory) ResetReads() { m.reads.Store(0) }

// Len is the number of nodes.
func (m *Memory) Len() int { return len(m.nodes) }

// Add adds a node. Its parent must already be present, unless the node is a
// volume root (C:\); a path that is already present is an error. sd may be
// shared between nodes: the view never modifies a descriptor in place.
func (m *Memory) Add(n Node) error {
	p, err := winpath.Parse(n.Path)
	if err != nil {
		return fmt.Errorf("add %q: %w", n.Path, err)
	}
	if p.Stream != "" || p.Kind == winpath.KindDevice {
		return fmt.Errorf("add %q: not a file or directory path", n.Path)
	}
	switch n.Type {
	case File, Directory, Symlink, Junction:
	default:
		return fmt.Errorf("add %q: unknown type %q (want file, directory, symlink or junction)", n.Path, n.Type)
	}
	if n.SD == nil {
		return fmt.Errorf("add %q: no security descriptor", n.Path)
	}
	key := p.Key()
	if _, dup := m.nodes[key]; dup {
		return fmt.Errorf("add %q: already present", n.Path)
	}
	n.Path = p.String()
	node := &memNode{Node: n, name: p.Base()}
	if parent, ok := p.Parent(); ok {
		pn := m.nodes[parent.Key()]
		if pn == nil {
			return fmt.Errorf("add %q: parent %s is not present", n.Path, parent)
		}
		if pn.Type != Directory {
			return fmt.Errorf("add %q: parent %s is a %s, not a directory", n.Path, parent, pn.Type)
		}
		pn.kids = append(pn.kids, node)
		pn.sorted = false
		node.parent = pn
	} else if n.Type != Directory {
		return fmt.Errorf("add %q: a volume root must be a directory", n.Path)
	}
	m.nodes[key] = node
	return nil
}

func (m *Memory) lookup(path string) (*memNode, error) {
	p, err := winpath.Parse(path)
	if err != nil {
		return nil, err
	}
	n := m.nodes[p.Object().Key()]
	if n == nil {
		return nil, fmt.Errorf("%s: %w", path, ErrNotExist)
	}
	return n, nil
}

// Stat implements View.
func (m *Memory) Stat(path string) (Node, error) {
	m.reads.Add(1)
	n, err := m.lookup(path)
	if err != nil {
		return Node{}, err
	}
	return n.Node, nil
}

// List implements View.
func (m *Memory) List(dir string) ([]string, error) {
	m.reads.Add(1)
	n, err := m.lookup(dir)
	if err != nil {
		return nil, err
	}
	if n.Type != Directory {
		return nil, fmt.Errorf("list %s: a %s, not a directory", dir, n.Type)
	}
	n.sortKids()
	names := make([]string, len(n.kids))
	for i, k := range n.kids {
		names[i] = k.name
	}
	return names, nil
}

// SetSD replaces the descriptor of path. It does not propagate anything:
// that is the caller's job, as it is on Windows for a caller of
// SetSecurityInfo.
func (m *Memory) SetSD(path string, sd *ntsec.SecurityDescriptor) error {
	n, err := m.lookup(path)
	if err != nil {
		return err
	}
	n.SD = sd
	return nil
}

// Walk calls fn for root and every node below it, parents before children,
// siblings in name order, without following reparse points (they have no
// children in the view). fn returning false skips the node's subtree. The
// nodes are the view's own: fn may replace n.SD (the only field it may
// change), which is how a propagation pass rewrites descriptors without
// looking every path up again. Walk does not count as reads: it is for
// tests and proofs, not for the planner.
func (m *Memory) Walk(root string, fn func(n, parent *Node) bool) error {
	start, err := m.lookup(root)
	if err != nil {
		return err
	}
	var parent *Node
	if start.parent != nil {
		parent = &start.parent.Node
	}
	m.walk(start, parent, fn)
	return nil
}

func (m *Memory) walk(n *memNode, parent *Node, fn func(n, parent *Node) bool) {
	if !fn(&n.Node, parent) {
		return
	}
	n.sortKids()
	for _, k := range n.kids {
		m.walk(k, &n.Node, fn)
	}
}

// Ref returns the view's own node at path, for callers that go on to Walk
// and need to recognise it by pointer.
func (m *Memory) Ref(path string) (*Node, error) {
	n, err := m.lookup(path)
	if err != nil {
		return nil, err
	}
	return &n.Node, nil
}

// Roots returns the volume roots in the view.
func (m *Memory) Roots() []string {
	var out []string
	for _, n := range m.nodes {
		if n.parent == nil {
			out = append(out, n.Path)
		}
	}
	sort.Strings(out)
	return out
}

// Clone returns an independent copy of the view (descriptors are shared,
// which is safe because the view never modifies one in place).
func (m *Memory) Clone() *Memory {
	c := &Memory{nodes: make(map[string]*memNode, len(m.nodes))}
	copies := make(map[*memNode]*memNode, len(m.nodes))
	for k, n := range m.nodes {
		nn := &memNode{Node: n.Node, name: n.name, sorted: n.sorted}
		copies[n] = nn
		c.nodes[k] = nn
	}
	for old, nn := range copies {
		if old.parent != nil {
			nn.parent = copies[old.parent]
		}
		if len(old.kids) == 0 {
			continue
		}
		nn.kids = make([]*memNode, len(old.kids))
		for i, k := range old.kids {
			nn.kids[i] = copies[k]
		}
	}
	return c
}

// Remove removes an empty directory or a file.
func (m *Memory) Remove(path string) error {
	n, err := m.lookup(path)
	if err != nil {
		return err
	}
	if len(n.kids) > 0 {
		return fmt.Errorf("remove %s: directory not empty", path)
	}
	if n.parent != nil {
		kids := n.parent.kids[:0]
		for _, k := range n.parent.kids {
			if k != n {
				kids = append(kids, k)
			}
		}
		n.parent.kids = kids
	}
	k, _ := Key(n.Path)
	delete(m.nodes, k)
	return nil
}
