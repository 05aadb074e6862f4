package ntsec

import (
	"encoding/binary"
	"fmt"
	"strings"
)

// ACEType is the type of an ACE ([MS-DTYP] 2.4.4.1). The model accepts the
// three types a file's security descriptor uses in practice; every other type
// is rejected when parsed, because an access check that skipped it could
// disagree with Windows.
type ACEType uint8

// The ACE types the model accepts.
const (
	AccessAllowed  ACEType = 0x00 // ACCESS_ALLOWED_ACE_TYPE, SDDL "A"
	AccessDenied   ACEType = 0x01 // ACCESS_DENIED_ACE_TYPE, SDDL "D"
	MandatoryLabel ACEType = 0x11 // SYSTEM_MANDATORY_LABEL_ACE_TYPE, SDDL "ML"
)

func (t ACEType) String() string {
	switch t {
	case AccessAllowed:
		return "A"
	case AccessDenied:
		return "D"
	case MandatoryLabel:
		return "ML"
	}
	return fmt.Sprintf("type 0x%02x", uint8(t))
}

// aceTypeNames names the ACE types the model rejects, so the error says what
// was found.
var aceTypeNames = map[uint8]string{
	0x02: "system audit", 0x03: "system alarm", 0x04: "compound allowed",
	0x05: "object allowed", 0x06: "object denied", 0x07: "object audit",
	0x08: "object alarm", 0x09: "callback allowed", 0x0A: "callback denied",
	0x0B: "callback object allowed", 0x0C: "callback object denied",
	0x0D: "callback audit", 0x0E: "callback alarm", 0x0F: "callback object audit",
	0x10: "callback object alarm", 0x12: "resource attribute",
	0x13: "scoped policy id", 0x14: "process trust label", 0x15: "access filter",
}

var sddlACETypes = map[string]string{
	"OA": "object allowed", "OD": "object denied", "AU": "audit", "AL": "alarm",
	"OU": "object audit", "OL": "object alarm", "XA": "callback allowed",
	"XD": "callback denied", "ZA": "callback object allowed", "XU": "callback audit",
	"RA": "resource attribute", "SP": "scoped policy id", "TL": "process trust label",
	"FL": "access filter",
}

// ACEFlags are the inheritance flags of an ACE ([MS-DTYP] 2.4.4.1).
type ACEFlags uint8

// The ACE flags the model accepts.
const (
	ObjectInherit      ACEFlags = 0x01 // OI: files below inherit the ACE
	ContainerInherit   ACEFlags = 0x02 // CI: directories below inherit the ACE
	NoPropagateInherit ACEFlags = 0x04 // NP: only direct children inherit it
	InheritOnly        ACEFlags = 0x08 // IO: the ACE does not apply to this object
	Inherited          ACEFlags = 0x10 // ID: the ACE was inherited from a parent

	// Audit flags (SA, FA) only mean something on audit ACEs, which the
	// model does not accept.
	inheritFlags = ObjectInherit | ContainerInherit | NoPropagateInherit | InheritOnly
	knownFlags   = inheritFlags | Inherited
)

var sddlFlags = []struct {
	name string
	flag ACEFlags
}{
	{"OI", ObjectInherit}, {"CI", ContainerInherit}, {"NP", NoPropagateInherit},
	{"IO", InheritOnly}, {"ID", Inherited},
}

// SDDL formats f as SDDL flag codes ("OICI").
func (f ACEFlags) SDDL() string {
	var sb strings.Builder
	for _, x := range sddlFlags {
		if f&x.flag != 0 {
			sb.WriteString(x.name)
		}
	}
	return sb.String()
}

// ACE is one access control entry ([MS-DTYP] 2.4.4).
type ACE struct {
	Type  ACEType
	Flags ACEFlags
	Mask  AccessMask
	SID   SID
}

// Inheritable reports whether a child can inherit e.
func (e ACE) Inheritable() bool { return e.Flags&(ObjectInherit|ContainerInherit) != 0 }

// Effective reports whether e applies to the object that holds it.
func (e ACE) Effective() bool { return e.Flags&InheritOnly == 0 }

// SDDL formats e as an SDDL ACE string, "(A;OICI;FA;;;SY)".
func (e ACE) SDDL() string {
	rights := e.Mask.SDDL()
	if e.Type == MandatoryLabel {
		rights = labelSDDL(e.Mask)
	}
	sid := e.SID.Alias()
	if sid == "" {
		sid = e.SID.String()
	}
	return "(" + e.Type.String() + ";" + e.Flags.SDDL() + ";" + rights + ";;;" + sid + ")"
}

func (e ACE) String() string { return e.SDDL() }

// validate checks what every ACE must satisfy, whichever form it came from.
func (e ACE) validate(label bool) error {
	if e.SID.IsZero() {
		return fmt.Errorf("ACE has no SID")
	}
	if e.Flags&^knownFlags != 0 {
		return fmt.Errorf("ACE %s: unsupported flags 0x%02x (only OI, CI, NP, IO, ID)", e.SDDL(), uint8(e.Flags&^knownFlags))
	}
	switch {
	case label && e.Type != MandatoryLabel:
		return fmt.Errorf("ACE %s: a SACL here may hold only mandatory label (ML) ACEs", e.SDDL())
	case !label && e.Type == MandatoryLabel:
		return fmt.Errorf("ACE %s: a mandatory label ACE belongs in the SACL, not the DACL", e.SDDL())
	case e.Type == MandatoryLabel:
		if _, ok := e.SID.IntegrityLevel(); !ok {
			return fmt.Errorf("ACE %s: a mandatory label ACE needs an integrity SID (S-1-16-…)", e.SDDL())
		}
		if e.Mask&^(LabelNoWriteUp|LabelNoReadUp|LabelNoExecuteUp) != 0 {
			return fmt.Errorf("ACE %s: a mandatory label mask may hold only NR, NW, NX", e.SDDL())
		}
	}
	return nil
}

// marshal appends the binary form of [MS-DTYP] 2.4.4.2 (ACCESS_ALLOWED_ACE
// and the others share its layout).
func (e ACE) marshal(b []byte) []byte {
	size := 8 + e.SID.Len()
	b = append(b, byte(e.Type), byte(e.Flags), byte(size), byte(size>>8))
	b = binary.LittleEndian.AppendUint32(b, uint32(e.Mask))
	return append(b, e.SID.b...)
}

// unmarshalACE decodes one ACE at the start of b and returns its size.
func unmarshalACE(b []byte) (ACE, int, error) {
	if len(b) < 8 {
		return ACE{}, 0, fmt.Errorf("ACE header: %d bytes left, want at least 8", len(b))
	}
	typ, flags := b[0], b[1]
	size := int(binary.LittleEndian.Uint16(b[2:]))
	if size < 8 || size > len(b) {
		return ACE{}, 0, fmt.Errorf("ACE size %d does not fit the %d bytes left", size, len(b))
	}
	if size%4 != 0 {
		return ACE{}, 0, fmt.Errorf("ACE size %d is not a multiple of 4", size)
	}
	switch ACEType(typ) {
	case AccessAllowed, AccessDenied, MandatoryLabel:
	default:
		name := aceTypeNames[typ]
		if name == "" {
			name = "unknown"
		}
		return ACE{}, 0, fmt.Errorf("ACE type 0x%02x (%s) is not supported: only access allowed, access denied and mandatory label", typ, name)
	}
	sid, n, err := SIDFromBytes(b[8:size])
	if err != nil {
		return ACE{}, 0, fmt.Errorf("ACE SID: %w", err)
	}
	if 8+n != size {
		// Windows tolerates padding after the SID, but nothing it writes
		// has any; a mismatch is far more likely a corrupt ACE.
		return ACE{}, 0, fmt.Errorf("ACE size %d does not match its SID (%d bytes)", size, n)
	}
	return ACE{Type: ACEType(typ), Flags: ACEFlags(flags), Mask: AccessMask(binary.LittleEndian.Uint32(b[4:])), SID: sid}, size, nil
}

// parseACE parses the inside of an SDDL ACE string ("A;OICI;FA;;;SY") per
// [MS-DTYP] 2.5.1.1.
func parseACE(s string) (ACE, error) {
	f := strings.Split(s, ";")
	var e ACE
	switch strings.ToUpper(f[0]) {
	case "A":
		e.Type = AccessAllowed
	case "D":
		e.Type = AccessDenied
	case "ML":
		e.Type = MandatoryLabel
	default:
		if n, ok := sddlACETypes[strings.ToUpper(f[0])]; ok {
			return ACE{}, fmt.Errorf("ACE (%s): type %q (%s) is not supported: only A, D and ML", s, f[0], n)
		}
		return ACE{}, fmt.Errorf("ACE (%s): unknown type %q", s, f[0])
	}
	if len(f) != 6 {
		return ACE{}, fmt.Errorf("ACE (%s): want 6 fields type;flags;rights;object_guid;inherit_object_guid;sid, got %d", s, len(f))
	}
	flags := strings.ToUpper(f[1])
	if len(flags)%2 != 0 {
		return ACE{}, fmt.Errorf("ACE (%s): bad flags %q", s, f[1])
	}
next:
	for i := 0; i < len(flags); i += 2 {
		for _, x := range sddlFlags {
			if flags[i:i+2] == x.name {
				e.Flags |= x.flag
				continue next
			}
		}
		if flags[i:i+2] == "SA" || flags[i:i+2] == "FA" {
			return ACE{}, fmt.Errorf("ACE (%s): audit flag %q is not supported", s, f[1][i:i+2])
		}
		return ACE{}, fmt.Errorf("ACE (%s): unknown flag %q", s, f[1][i:i+2])
	}
	if f[2] == "" {
		return ACE{}, fmt.Errorf("ACE (%s): no access rights", s)
	}
	m, err := ParseRights(f[2])
	if err != nil {
		return ACE{}, fmt.Errorf("ACE (%s): %w", s, err)
	}
	e.Mask = m
	if f[3] != "" || f[4] != "" {
		return ACE{}, fmt.Errorf("ACE (%s): object GUIDs are not supported", s)
	}
	if e.SID, err = ParseSID(f[5]); err != nil {
		return ACE{}, fmt.Errorf("ACE (%s): %w", s, err)
	}
	return e, nil
}
