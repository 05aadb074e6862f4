package ntsec

import (
	"encoding/binary"
	"fmt"
)

// Control holds the control flags of a security descriptor ([MS-DTYP] 2.4.6).
type Control uint16

// Control flags. The model keeps all of them when decoding and encoding, but
// only PRESENT, PROTECTED and AUTO_INHERITED change what it computes.
const (
	OwnerDefaulted     Control = 0x0001
	GroupDefaulted     Control = 0x0002
	DACLPresent        Control = 0x0004
	DACLDefaulted      Control = 0x0008
	SACLPresent        Control = 0x0010
	SACLDefaulted      Control = 0x0020
	DACLTrusted        Control = 0x0040
	ServerSecurity     Control = 0x0080
	DACLAutoInheritReq Control = 0x0100
	SACLAutoInheritReq Control = 0x0200
	DACLAutoInherited  Control = 0x0400 // SDDL "AI" on D:
	SACLAutoInherited  Control = 0x0800 // SDDL "AI" on S:
	DACLProtected      Control = 0x1000 // SDDL "P" on D:
	SACLProtected      Control = 0x2000 // SDDL "P" on S:
	RMControlValid     Control = 0x4000
	SelfRelative       Control = 0x8000
)

// SecurityDescriptor is an object's security descriptor ([MS-DTYP] 2.4.6).
//
// DACL nil means a null DACL when Control has DACLPresent (everyone gets
// every right) and no DACL at all otherwise; the access check treats both
// alike, as Windows does. A non-nil DACL with no entries is an empty DACL.
// SACL may hold only mandatory label ACEs: the model does not audit.
type SecurityDescriptor struct {
	Control Control
	Owner   SID // zero when absent
	Group   SID // zero when absent
	DACL    *ACL
	SACL    *ACL
}

// HasNullDACL reports whether sd grants everything because it has no DACL or
// a null one.
func (sd *SecurityDescriptor) HasNullDACL() bool { return sd.DACL == nil }

// Clone returns a deep copy of sd.
func (sd *SecurityDescriptor) Clone() *SecurityDescriptor {
	c := *sd
	c.DACL = sd.DACL.Clone()
	c.SACL = sd.SACL.Clone()
	return &c
}

// normalize makes the PRESENT bits agree with the ACLs: a non-nil ACL is
// always present.
func (sd *SecurityDescriptor) normalize() {
	if sd.DACL != nil {
		sd.Control |= DACLPresent
	}
	if sd.SACL != nil {
		sd.Control |= SACLPresent
	}
}

// Label returns the mandatory label ACE of sd, if any: the first effective
// ML ACE of the SACL ([MS-DTYP] 2.4.4.13).
func (sd *SecurityDescriptor) Label() (ACE, bool) {
	if sd.SACL == nil {
		return ACE{}, false
	}
	for _, e := range sd.SACL.Entries {
		if e.Type == MandatoryLabel && e.Effective() {
			return e, true
		}
	}
	return ACE{}, false
}

// validate checks the ACLs, whichever form they came from.
func (sd *SecurityDescriptor) validate() error {
	if sd.DACL != nil {
		for i, e := range sd.DACL.Entries {
			if err := e.validate(false); err != nil {
				return fmt.Errorf("DACL ACE %d: %w", i, err)
			}
		}
	}
	if sd.SACL != nil {
		for i, e := range sd.SACL.Entries {
			if err := e.validate(true); err != nil {
				return fmt.Errorf("SACL ACE %d: %w", i, err)
			}
		}
	}
	return nil
}

// MarshalBinary encodes sd in self-relative form ([MS-DTYP] 2.4.6): the
// 20-byte header, then owner, group, SACL and DACL. The order of the parts
// carries no meaning (readers follow the offsets); Wine, for one, puts the
// DACL first.
// A present-but-null DACL or SACL gets offset 0 with its PRESENT bit set.
func (sd *SecurityDescriptor) MarshalBinary() ([]byte, error) {
	if err := sd.validate(); err != nil {
		return nil, err
	}
	c := *sd
	c.normalize()
	c.Control |= SelfRelative
	b := make([]byte, 20, 20+c.Owner.Len()+c.Group.Len()+64)
	b[0] = 1
	binary.LittleEndian.PutUint16(b[2:], uint16(c.Control))
	put := func(at int) { binary.LittleEndian.PutUint32(b[at:], uint32(len(b))) }
	if !c.Owner.IsZero() {
		put(4)
		b = append(b, c.Owner.b...)
	}
	if !c.Group.IsZero() {
		put(8)
		b = append(b, c.Group.b...)
	}
	var err error
	if c.SACL != nil {
		put(12)
		if b, err = c.SACL.marshal(b); err != nil {
			return nil, fmt.Errorf("SACL: %w", err)
		}
	}
	if c.DACL != nil {
		put(16)
		if b, err = c.DACL.marshal(b); err != nil {
			return nil, fmt.Errorf("DACL: %w", err)
		}
	}
	return b, nil
}

// ParseBinary decodes a self-relative security descriptor ([MS-DTYP] 2.4.6).
// Every offset and size is checked against the buffer; errors name the part
// that is wrong.
func ParseBinary(b []byte) (*SecurityDescriptor, error) {
	if len(b) < 20 {
		return nil, fmt.Errorf("security descriptor: %d bytes, want at least 20", len(b))
	}
	if b[0] != 1 {
		return nil, fmt.Errorf("security descriptor: revision %d, want 1", b[0])
	}
	sd := &SecurityDescriptor{Control: Control(binary.LittleEndian.Uint16(b[2:]))}
	if sd.Control&SelfRelative == 0 {
		return nil, fmt.Errorf("security descriptor: not self-relative (control 0x%04x lacks SE_SELF_RELATIVE)", uint16(sd.Control))
	}
	off := func(at int, what string) (int, error) {
		o := int(binary.LittleEndian.Uint32(b[at:]))
		if o != 0 && (o < 20 || o >= len(b)) {
			return 0, fmt.Errorf("security descriptor: %s offset %d outside 20..%d", what, o, len(b)-1)
		}
		return o, nil
	}
	sid := func(at int, what string) (SID, error) {
		o, err := off(at, what)
		if err != nil || o == 0 {
			return SID{}, err
		}
		s, _, err := SIDFromBytes(b[o:])
		if err != nil {
			return SID{}, fmt.Errorf("security descriptor: %s: %w", what, err)
		}
		return s, nil
	}
	acl := func(at int, present Control, what string, label bool) (*ACL, error) {
		o, err := off(at, what)
		if err != nil {
			return nil, err
		}
		if sd.Control&present == 0 {
			if o != 0 {
				return nil, fmt.Errorf("security descriptor: %s offset %d but %s_PRESENT is not set", what, o, what)
			}
			return nil, nil
		}
		if o == 0 {
			return nil, nil // present and null
		}
		a, err := unmarshalACL(b[o:], label)
		if err != nil {
			return nil, fmt.Errorf("security descriptor: %s: %w", what, err)
		}
		return a, nil
	}
	var err error
	if sd.Owner, err = sid(4, "owner"); err != nil {
		return nil, err
	}
	if sd.Group, err = sid(8, "group"); err != nil {
		return nil, err
	}
	if sd.SACL, err = acl(12, SACLPresent, "SACL", true); err != nil {
		return nil, err
	}
	if sd.DACL, err = acl(16, DACLPresent, "DACL", false); err != nil {
		return nil, err
	}
	sd.Control &^= SelfRelative
	return sd, nil
}
