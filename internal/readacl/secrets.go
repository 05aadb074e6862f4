package readacl

import (
	"errors"
	"fmt"
	"strings"

	"github.com/cordon-sandbox/cordon/internal/fsview"
	"github.com/cordon-sandbox/cordon/internal/winpath"
)

// SecretSet is the secret paths: the policy's deny-read paths and every
// other name the view shows for them, through a junction or symbolic link
// on the way or at the end.
type SecretSet struct {
	paths    []winpath.Path
	existing []string // the paths, aliases included, that exist in the view
}

// maxHops bounds how many reparse points one secret path is resolved
// through: a loop of junctions must not hang the planner.
const maxHops = 16

// Secrets resolves the deny-read paths against v. Names compare as
// winpath.EqualName does (case folded, trailing dots and spaces ignored),
// so `.SSH` and `.ssh.` are the secret `.ssh` too: a name NTFS keeps
// apart, written through \\?\, is still held secret, never granted, and
// hidden if readable. Each path is followed down from its volume, every
// child whose name matches at each level (a directory that cannot be
// listed is looked up by the exact name alone), through junctions and
// symbolic links, whose targets become secret paths too.
func Secrets(v fsview.View, denyRead []string) (*SecretSet, error) {
	s := &SecretSet{}
	seen := map[string]bool{}
	lists := map[string][]string{}
	list := func(dir winpath.Path) ([]string, bool) {
		if names, ok := lists[dir.Key()]; ok {
			return names, names != nil
		}
		names, err := v.List(dir.String())
		if err != nil {
			names = nil
		}
		lists[dir.Key()] = names
		return names, names != nil
	}
	var add func(p winpath.Path, hops int) error
	add = func(p winpath.Path, hops int) error {
		if seen[p.Key()] {
			return nil
		}
		seen[p.Key()] = true
		s.paths = append(s.paths, p)
		root, ok := volumeRoot(p)
		if !ok {
			return nil
		}
		frontier := []winpath.Path{root}
		for i, e := range p.Elems {
			var next []winpath.Path
			for _, cur := range frontier {
				names, ok := list(cur)
				if !ok {
					names = []string{e}
				}
				for _, name := range names {
					if !winpath.EqualName(name, e) {
						continue
					}
					child, err := cur.Child(name)
					if err != nil {
						return fmt.Errorf("secret path %s: %w", p, err)
					}
					n, err := v.Stat(child.String())
					if errors.Is(err, fsview.ErrNotExist) {
						continue
					}
					if err != nil {
						return fmt.Errorf("secret path %s: %w", p, err)
					}
					if !n.IsReparse() {
						next = append(next, child)
						continue
					}
					if n.Target == "" {
						return fmt.Errorf("secret path %s: %s is a reparse point whose target cannot be read", p, child)
					}
					if hops >= maxHops {
						return fmt.Errorf("secret path %s: more than %d reparse points on the way", p, maxHops)
					}
					t, err := winpath.Parse(n.Target)
					if err == nil {
						t, err = t.Join(p.Elems[i+1:]...)
					}
					if err != nil {
						return fmt.Errorf("secret path %s: target of %s: %w", p, child, err)
					}
					if err := add(t, hops+1); err != nil {
						return err
					}
				}
			}
			frontier = next
		}
		for _, f := range frontier {
			s.existing = append(s.existing, f.String())
			if !seen[f.Key()] {
				seen[f.Key()] = true
				s.paths = append(s.paths, f)
			}
		}
		return nil
	}
	for _, d := range denyRead {
		p, err := winpath.Parse(d)
		if err != nil {
			return nil, fmt.Errorf("deny-read path %s: %w", d, err)
		}
		if err := add(p.Object(), 0); err != nil {
			return nil, err
		}
	}
	return s, nil
}

// Paths returns the secret paths, aliases included.
func (s *SecretSet) Paths() []string {
	out := make([]string, len(s.paths))
	for i, p := range s.paths {
		out[i] = p.String()
	}
	return out
}

func volumeRoot(p winpath.Path) (winpath.Path, bool) {
	r := winpath.Path{Kind: p.Kind, Volume: p.Volume}
	return r, p.Kind == winpath.KindDrive || p.Kind == winpath.KindUNC
}

// within says whether p equals root or lies below it, names compared as
// winpath.EqualName compares them.
func within(p, root winpath.Path) bool {
	if p.Kind != root.Kind || !strings.EqualFold(p.Volume, root.Volume) || len(p.Elems) < len(root.Elems) {
		return false
	}
	for i, e := range root.Elems {
		if !winpath.EqualName(p.Elems[i], e) {
			return false
		}
	}
	return true
}

// Covering returns the secret path at or above p, if any.
func (s *SecretSet) Covering(p winpath.Path) (string, bool) {
	for _, x := range s.paths {
		if within(p, x) {
			return x.String(), true
		}
	}
	return "", false
}

// Below says whether a secret path lies strictly below dir.
func (s *SecretSet) Below(dir winpath.Path) bool {
	for _, x := range s.paths {
		if len(x.Elems) > len(dir.Elems) && within(x, dir) {
			return true
		}
	}
	return false
}

// ChildNames returns the names of dir's children on the way to a secret
// path below dir.
func (s *SecretSet) ChildNames(dir winpath.Path) []string {
	var out []string
	for _, x := range s.paths {
		if len(x.Elems) > len(dir.Elems) && within(x, dir) {
			out = append(out, x.Elems[len(dir.Elems)])
		}
	}
	return out
}
