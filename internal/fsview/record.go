package fsview

import (
	"errors"
	"fmt"
	"sort"
	"sync"

	"github.com/cordon-sandbox/cordon/internal/winpath"
)

// Recorder is a View that passes every call to another view and remembers
// the paths it was asked to Stat. The Windows backend plans through one, so
// that after applying the plan it knows exactly which objects the planner
// based its decisions on, and can read those again to prove the result.
type Recorder struct {
	View
	mu    sync.Mutex
	paths map[string]string // key -> path as asked
	seen  map[string]stat   // key -> the first answer
}

type stat struct {
	n   Node
	err error
}

// Record returns a Recorder over v.
func Record(v View) *Recorder {
	return &Recorder{View: v, paths: map[string]string{}, seen: map[string]stat{}}
}

// Stat implements View and records path and the answer, whether or not it
// exists.
func (r *Recorder) Stat(path string) (Node, error) {
	n, err := r.View.Stat(path)
	if k, kerr := Key(path); kerr == nil {
		r.mu.Lock()
		if _, ok := r.paths[k]; !ok {
			r.paths[k] = path
			r.seen[k] = stat{n, err}
		}
		r.mu.Unlock()
	}
	return n, err
}

// Recorded returns the first answer Stat gave for path, and whether there
// was one.
func (r *Recorder) Recorded(path string) (Node, error, bool) {
	k, err := Key(path)
	if err != nil {
		return Node{}, nil, false
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	s, ok := r.seen[k]
	return s.n, s.err, ok
}

// Paths returns the paths Stat was asked about, sorted by key.
func (r *Recorder) Paths() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	keys := make([]string, 0, len(r.paths))
	for k := range r.paths {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	out := make([]string, len(keys))
	for i, k := range keys {
		out[i] = r.paths[k]
	}
	return out
}

// Capture reads paths and all their ancestors from v into a new Memory, as
// they are now. Paths that do not exist are left out; an existing object
// whose descriptor cannot be read is an error naming it, since the result
// is meant for a proof and an unknown descriptor proves nothing. It reads
// O(len(paths) × depth) objects, never a subtree.
func Capture(v View, paths []string) (*Memory, error) {
	m := NewMemory()
	var add func(p winpath.Path) (bool, error)
	add = func(p winpath.Path) (bool, error) {
		if _, ok := m.nodes[p.Key()]; ok {
			return true, nil
		}
		if parent, ok := p.Parent(); ok {
			present, err := add(parent)
			if err != nil || !present {
				return false, err
			}
		}
		n, err := v.Stat(p.String())
		if errors.Is(err, ErrNotExist) {
			return false, nil
		}
		if err != nil {
			return false, fmt.Errorf("capture %s: %w", p, err)
		}
		if n.SD == nil {
			return false, fmt.Errorf("capture %s: %w", p, ErrUnreadable)
		}
		n.Path = p.String()
		if err := m.Add(n); err != nil {
			return false, fmt.Errorf("capture: %w", err)
		}
		return true, nil
	}
	for _, s := range paths {
		p, err := winpath.Parse(s)
		if err != nil {
			return nil, fmt.Errorf("capture %q: %w", s, err)
		}
		if _, err := add(p); err != nil {
			return nil, err
		}
	}
	return m, nil
}
