package aclplan

import (
	"fmt"

	"github.com/cordon-sandbox/cordon/internal/fsview"
	"github.com/cordon-sandbox/cordon/internal/winpath"
	"github.com/cordon-sandbox/cordon/ntsec"
)

// Apply applies edits to an in-memory view the way the Windows backend
// applies them to NTFS, and returns how many objects' descriptors it wrote.
//
// Each edited object gets its explicit ACEs changed first; then inheritance
// is propagated once, top down, from every edited object that has no edited
// ancestor, rewriting only the descendants whose DACL changes. That is what
// SetNamedSecurityInfo's propagation does on Windows, done once for the
// whole plan so that no object is written twice, and what ntfs.Apply's own
// propagation does on NTFS. A file with more than one name
// (fsview.Node.MultiLinked) is never rewritten.
func Apply(m *fsview.Memory, edits []Edit) (writes int, err error) {
	written := map[string]bool{}
	var tops []string
	for i, e := range edits {
		p, err := winpath.Parse(e.Path)
		if err != nil {
			return writes, fmt.Errorf("edit %d: %w", i, err)
		}
		switch e.Op {
		case CreateDir:
			parent, ok := p.Parent()
			if !ok {
				return writes, fmt.Errorf("edit %d: cannot create a volume root %s", i, e.Path)
			}
			pn, err := m.Stat(parent.String())
			if err != nil {
				return writes, fmt.Errorf("edit %d: create %s: %w", i, e.Path, err)
			}
			owner := e.Owner
			if owner.IsZero() {
				owner = pn.SD.Owner
			}
			def := &ntsec.ACL{Revision: ntsec.ACLRevision, Entries: []ntsec.ACE{
				{Type: ntsec.AccessAllowed, Mask: ntsec.FileAllAccess, SID: owner},
				{Type: ntsec.AccessAllowed, Mask: ntsec.FileAllAccess, SID: ntsec.LocalSystem},
			}}
			sd := ntsec.NewObject(pn.SD, ntsec.Directory, owner, ntsec.SID{}, def)
			sd.DACL = WithACE(sd.DACL, e.ACE)
			if err := m.Add(fsview.Node{Path: p.String(), Type: fsview.Directory, SD: sd}); err != nil {
				return writes, fmt.Errorf("edit %d: %w", i, err)
			}
		case AddACE, RemoveACE:
			n, err := m.Stat(p.String())
			if err != nil {
				return writes, fmt.Errorf("edit %d: %w", i, err)
			}
			sd := n.SD.Clone()
			if e.Op == AddACE {
				sd.DACL = WithACE(sd.DACL, e.ACE)
			} else {
				sd.DACL = WithoutACE(sd.DACL, e.ACE)
			}
			if err := m.SetSD(p.String(), sd); err != nil {
				return writes, fmt.Errorf("edit %d: %w", i, err)
			}
		case SetLabel, RemoveLabel:
			n, err := m.Stat(p.String())
			if err != nil {
				return writes, fmt.Errorf("edit %d: %w", i, err)
			}
			sd, ok := LabelEdit(n.SD, e)
			if !ok {
				continue
			}
			if err := m.SetSD(p.String(), sd); err != nil {
				return writes, fmt.Errorf("edit %d: %w", i, err)
			}
		case RemoveDir:
			names, err := m.List(p.String())
			if err != nil {
				return writes, fmt.Errorf("edit %d: %w", i, err)
			}
			if len(names) == 0 {
				if err := m.Remove(p.String()); err != nil {
					return writes, fmt.Errorf("edit %d: %w", i, err)
				}
			}
			continue
		default:
			return writes, fmt.Errorf("edit %d: unknown op %q", i, e.Op)
		}
		if !written[p.Key()] {
			written[p.Key()] = true
			writes++
		}
		tops = append(tops, p.String())
	}
	edited := map[*fsview.Node]bool{}
	for _, t := range tops {
		if n, err := m.Ref(t); err == nil {
			edited[n] = true
		}
	}
	type memoKey struct {
		parent, child *ntsec.SecurityDescriptor
		typ           ntsec.ObjectType // a file and a directory may share a descriptor yet inherit differently
	}
	memo := map[memoKey]*ntsec.SecurityDescriptor{}
	for _, top := range Outermost(tops) {
		m.Walk(top, func(n, parent *fsview.Node) bool {
			if parent == nil || n.Path == top {
				return true
			}
			if n.MultiLinked() {
				// Another name of it may lie outside every root:
				// propagation leaves it as it is (Plan.Linked).
				return true
			}
			cur := n.SD
			key := memoKey{parent.SD, cur, n.ObjectType()}
			next, ok := memo[key]
			if !ok {
				next = ntsec.Propagate(parent.SD, cur, n.ObjectType())
				if sameSD(next, cur) {
					next = cur
				}
				memo[key] = next
			}
			if next != cur {
				n.SD = next
				if !edited[n] {
					edited[n] = true
					writes++
				}
			}
			return true
		})
	}
	return writes, nil
}

// Outermost keeps the paths that have no ancestor (or equal) among the
// others, in their order: the objects a single top-down propagation starts
// from. ntfs.Apply propagates from the same ones, so that it writes what
// this model writes.
func Outermost(paths []string) []string {
	var out []string
	for i, p := range paths {
		pp, _ := winpath.Parse(p)
		covered := false
		for j, q := range paths {
			if i == j {
				continue
			}
			qp, _ := winpath.Parse(q)
			if pp.Within(qp) && (!qp.Within(pp) || j < i) {
				covered = true
				break
			}
		}
		if !covered {
			out = append(out, p)
		}
	}
	return out
}

// WithACE returns acl with e added to its explicit part in canonical order:
// a deny after the explicit denies, an allow after the explicit allows.
//
// A null DACL grants everyone everything; adding a deny to it must not turn
// it into a DACL that grants nothing else, so it first becomes its
// equivalent, one non-inheritable ACE allowing Everyone full access (a null
// DACL passes nothing on to new children either).
func WithACE(acl *ntsec.ACL, e ntsec.ACE) *ntsec.ACL {
	if acl == nil {
		acl = &ntsec.ACL{Revision: ntsec.ACLRevision, Entries: []ntsec.ACE{{Type: ntsec.AccessAllowed, Mask: ntsec.FileAllAccess, SID: ntsec.Everyone}}}
	}
	out := &ntsec.ACL{Revision: acl.Revision}
	entries := acl.Entries
	at := len(entries)
	for i, x := range entries {
		inherited := x.Flags&ntsec.Inherited != 0
		if inherited || (e.Type == ntsec.AccessDenied && x.Type == ntsec.AccessAllowed) {
			at = i
			break
		}
	}
	out.Entries = make([]ntsec.ACE, 0, len(entries)+1)
	out.Entries = append(append(append(out.Entries, entries[:at]...), e), entries[at:]...)
	return out
}

// WithoutACE returns acl without the explicit ACEs equal to e.
func WithoutACE(acl *ntsec.ACL, e ntsec.ACE) *ntsec.ACL {
	if acl == nil {
		return nil
	}
	out := &ntsec.ACL{Revision: acl.Revision, Entries: []ntsec.ACE{}}
	for _, x := range acl.Entries {
		if x == e {
			continue
		}
		out.Entries = append(out.Entries, x)
	}
	return out
}

// sameSD reports whether propagation left a descriptor as it was: same
// control, DACL and label SACL.
func sameSD(a, b *ntsec.SecurityDescriptor) bool {
	return a.Control == b.Control && a.DACL.Equal(b.DACL) && a.SACL.Equal(b.SACL)
}

// LabelEdit returns the descriptor sd becomes under a SetLabel or
// RemoveLabel edit, and false when the edit leaves it alone: SetLabel when
// the explicit label is no longer e.Prev (or is e.ACE already), RemoveLabel
// when it is not e.ACE. The new explicit label goes first, before what the
// object inherits, so it is the one that counts.
func LabelEdit(sd *ntsec.SecurityDescriptor, e Edit) (*ntsec.SecurityDescriptor, bool) {
	cur := explicitLabel(sd)
	var want *ntsec.ACE
	switch e.Op {
	case SetLabel:
		if !sameLabel(cur, e.Prev) || sameLabel(cur, &e.ACE) {
			return sd, false
		}
		want = &e.ACE
	case RemoveLabel:
		if !sameLabel(cur, &e.ACE) {
			return sd, false
		}
	default:
		return sd, false
	}
	out := sd.Clone()
	var entries []ntsec.ACE
	if want != nil {
		entries = append(entries, *want)
	}
	if sd.SACL != nil {
		for _, x := range sd.SACL.Entries {
			if x.Flags&ntsec.Inherited != 0 || x.Type != ntsec.MandatoryLabel {
				entries = append(entries, x)
			}
		}
	}
	if entries == nil {
		out.SACL = nil
		out.Control &^= ntsec.SACLPresent | ntsec.SACLAutoInherited
		return out, true
	}
	out.SACL = &ntsec.ACL{Revision: ntsec.ACLRevision, Entries: entries}
	out.Control |= ntsec.SACLPresent
	return out, true
}

func sameLabel(a, b *ntsec.ACE) bool {
	if a == nil || b == nil {
		return a == b
	}
	return *a == *b
}
