package ntsec

import (
	"encoding/binary"
	"fmt"
	"slices"
	"strings"
)

// ACL revisions ([MS-DTYP] 2.4.5). Revision 4 is needed only for object ACEs,
// which the model does not accept, but Windows may still label a plain ACL 4.
const (
	ACLRevision   = 2
	ACLRevisionDS = 4
)

// ACL is an ordered list of ACEs ([MS-DTYP] 2.4.5). A nil *ACL in a security
// descriptor is a null DACL (grants everything); a non-nil ACL with no
// entries is an empty DACL (grants nothing but the owner's implicit rights).
type ACL struct {
	Revision uint8 // ACLRevision unless decoded with another
	Entries  []ACE
}

// Clone returns a deep copy of a (nil for nil).
func (a *ACL) Clone() *ACL {
	if a == nil {
		return nil
	}
	return &ACL{Revision: a.Revision, Entries: append([]ACE(nil), a.Entries...)}
}

// SDDL formats the ACEs of a in SDDL (no flags, which belong to the
// descriptor).
func (a *ACL) SDDL() string {
	var sb strings.Builder
	for _, e := range a.Entries {
		sb.WriteString(e.SDDL())
	}
	return sb.String()
}

func (a *ACL) revision() uint8 {
	if a.Revision == 0 {
		return ACLRevision
	}
	return a.Revision
}

// size is the encoded size: the 8-byte header plus each ACE.
func (a *ACL) size() int {
	n := 8
	for _, e := range a.Entries {
		n += 8 + e.SID.Len()
	}
	return n
}

// marshal appends the binary form of [MS-DTYP] 2.4.5.
func (a *ACL) marshal(b []byte) ([]byte, error) {
	size := a.size()
	if size > 0xFFFF || len(a.Entries) > 0xFFFF {
		return nil, fmt.Errorf("ACL of %d ACEs is %d bytes, more than 65535", len(a.Entries), size)
	}
	b = append(b, a.revision(), 0, byte(size), byte(size>>8), byte(len(a.Entries)), byte(len(a.Entries)>>8), 0, 0)
	for _, e := range a.Entries {
		b = e.marshal(b)
	}
	return b, nil
}

// unmarshalACL decodes the ACL at the start of b. label says whether it is a
// SACL, which may hold only mandatory label ACEs in this model.
func unmarshalACL(b []byte, label bool) (*ACL, error) {
	if len(b) < 8 {
		return nil, fmt.Errorf("ACL header: %d bytes, want 8", len(b))
	}
	rev := b[0]
	if rev != ACLRevision && rev != ACLRevisionDS {
		return nil, fmt.Errorf("ACL revision %d, want 2 or 4", rev)
	}
	size := int(binary.LittleEndian.Uint16(b[2:]))
	count := int(binary.LittleEndian.Uint16(b[4:]))
	if size < 8 || size > len(b) {
		return nil, fmt.Errorf("ACL size %d does not fit the %d bytes available", size, len(b))
	}
	a := &ACL{Revision: rev, Entries: make([]ACE, 0, min(count, size/8))}
	off := 8
	for i := 0; i < count; i++ {
		e, n, err := unmarshalACE(b[off:size])
		if err != nil {
			return nil, fmt.Errorf("ACE %d: %w", i, err)
		}
		if err := e.validate(label); err != nil {
			return nil, fmt.Errorf("ACE %d: %w", i, err)
		}
		a.Entries = append(a.Entries, e)
		off += n
	}
	return a, nil
}

// Canonical reports whether a is in the order Windows' ACL editor and
// SetEntriesInAcl produce: explicit deny, explicit allow, then inherited
// ACEs. The access check does not need canonical order (it evaluates ACEs as
// they are), but a planner that adds ACEs must keep it.
func (a *ACL) Canonical() bool {
	if a == nil {
		return true
	}
	stage := 0 // 0 explicit deny, 1 explicit allow, 2 inherited
	for _, e := range a.Entries {
		s := 2
		if e.Flags&Inherited == 0 {
			s = 0
			if e.Type == AccessAllowed {
				s = 1
			}
		}
		if s < stage {
			return false
		}
		stage = s
	}
	return true
}

// Equal reports whether a and b hold the same entries in the same order;
// the revision is not compared. A nil ACL (no DACL: every access granted)
// equals only another nil one, never an empty ACL (no access granted).
func (a *ACL) Equal(b *ACL) bool {
	if a == nil || b == nil {
		return a == b
	}
	return slices.Equal(a.Entries, b.Entries)
}
