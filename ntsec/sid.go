package ntsec

import (
	"encoding/binary"
	"fmt"
	"strconv"
	"strings"
)

// MaxSubAuthorities is the most sub-authorities a SID may have
// ([MS-DTYP] 2.4.2.2: SubAuthorityCount "MUST NOT exceed 15").
const MaxSubAuthorities = 15

// SID is a security identifier ([MS-DTYP] 2.4.2). It is an immutable value:
// two SIDs are equal exactly when == says so, and a SID can key a map. The zero
// SID is "no SID" (an absent owner, for instance); IsZero reports it.
type SID struct {
	// b holds the binary form of [MS-DTYP] 2.4.2.2: revision, sub-authority
	// count, 6-byte big-endian authority, little-endian sub-authorities.
	b string
}

// NewSID builds a SID from its identifier authority (at most 48 bits) and its
// sub-authorities.
func NewSID(authority uint64, subs ...uint32) (SID, error) {
	if authority >= 1<<48 {
		return SID{}, fmt.Errorf("SID authority %d does not fit in 48 bits", authority)
	}
	if len(subs) > MaxSubAuthorities {
		return SID{}, fmt.Errorf("SID has %d sub-authorities, more than %d", len(subs), MaxSubAuthorities)
	}
	b := make([]byte, 8+4*len(subs))
	b[0] = 1
	b[1] = byte(len(subs))
	for i := 0; i < 6; i++ {
		b[2+i] = byte(authority >> (8 * (5 - i)))
	}
	for i, s := range subs {
		binary.LittleEndian.PutUint32(b[8+4*i:], s)
	}
	return SID{b: string(b)}, nil
}

// mustSID is NewSID for constants known to be valid.
func mustSID(authority uint64, subs ...uint32) SID {
	s, err := NewSID(authority, subs...)
	if err != nil {
		panic(err)
	}
	return s
}

// IsZero reports whether s is the zero SID (no SID at all).
func (s SID) IsZero() bool { return s.b == "" }

// Authority returns the 48-bit identifier authority.
func (s SID) Authority() uint64 {
	if s.IsZero() {
		return 0
	}
	var a uint64
	for i := 0; i < 6; i++ {
		a = a<<8 | uint64(s.b[2+i])
	}
	return a
}

// SubAuthorities returns a copy of the sub-authorities.
func (s SID) SubAuthorities() []uint32 {
	if s.IsZero() {
		return nil
	}
	n := int(s.b[1])
	out := make([]uint32, n)
	for i := range out {
		out[i] = binary.LittleEndian.Uint32([]byte(s.b[8+4*i : 12+4*i]))
	}
	return out
}

// Bytes returns the binary form of [MS-DTYP] 2.4.2.2.
func (s SID) Bytes() []byte { return []byte(s.b) }

// Len is the length of the binary form in bytes.
func (s SID) Len() int { return len(s.b) }

// String formats s as "S-1-5-32-544" ([MS-DTYP] 2.4.2.1): the authority in
// decimal below 2^32 and as 12 hexadecimal digits otherwise. The zero SID
// formats as "".
func (s SID) String() string {
	if s.IsZero() {
		return ""
	}
	var sb strings.Builder
	sb.WriteString("S-1-")
	if a := s.Authority(); a < 1<<32 {
		sb.WriteString(strconv.FormatUint(a, 10))
	} else {
		fmt.Fprintf(&sb, "0x%012X", a)
	}
	for _, sub := range s.SubAuthorities() {
		sb.WriteByte('-')
		sb.WriteString(strconv.FormatUint(uint64(sub), 10))
	}
	return sb.String()
}

// MarshalText formats s with String, so SIDs appear as strings in JSON.
func (s SID) MarshalText() ([]byte, error) { return []byte(s.String()), nil }

// UnmarshalText parses the string form or an SDDL alias, as ParseSID does.
func (s *SID) UnmarshalText(b []byte) error {
	v, err := ParseSID(string(b))
	if err != nil {
		return err
	}
	*s = v
	return nil
}

// ParseSID parses a SID in string form ("S-1-5-21-…", [MS-DTYP] 2.4.2.1) or
// one of the machine-independent SDDL aliases ("WD", "BA", …; [MS-DTYP]
// 2.5.1.1). Aliases that name domain-relative groups (DA, DU, …) are rejected
// because they need a domain SID the model does not have.
func ParseSID(str string) (SID, error) {
	if len(str) == 2 {
		if s, ok := aliasToSID[strings.ToUpper(str)]; ok {
			return s, nil
		}
		if domainAliases[strings.ToUpper(str)] {
			return SID{}, fmt.Errorf("SID alias %q names a domain group and needs a domain SID, which the model does not have; write the SID in S-1-… form", str)
		}
	}
	return parseSIDString(str)
}

func parseSIDString(str string) (SID, error) {
	if len(str) < 2 || (str[0] != 'S' && str[0] != 's') || str[1] != '-' {
		return SID{}, fmt.Errorf("SID %q: want S-1-<authority>-<sub-authority>… or a two-letter SDDL alias", str)
	}
	parts := strings.Split(str[2:], "-")
	if len(parts) < 2 {
		return SID{}, fmt.Errorf("SID %q: want S-1-<authority>[-<sub-authority>…]", str)
	}
	if parts[0] != "1" {
		return SID{}, fmt.Errorf("SID %q: revision %q is not 1", str, parts[0])
	}
	var auth uint64
	var err error
	if a := parts[1]; len(a) > 2 && (a[:2] == "0x" || a[:2] == "0X") {
		// [MS-DTYP] 2.4.2.1: an authority of 2^32 or more is written as
		// "0x" followed by 12 hexadecimal digits.
		auth, err = strconv.ParseUint(a[2:], 16, 48)
	} else {
		auth, err = parseDecimal(a, 32)
	}
	if err != nil {
		return SID{}, fmt.Errorf("SID %q: bad identifier authority %q", str, parts[1])
	}
	subs := make([]uint32, 0, len(parts)-2)
	for _, p := range parts[2:] {
		v, err := parseDecimal(p, 32)
		if err != nil {
			return SID{}, fmt.Errorf("SID %q: bad sub-authority %q (want a decimal number below 2^32)", str, p)
		}
		subs = append(subs, uint32(v))
	}
	s, err := NewSID(auth, subs...)
	if err != nil {
		return SID{}, fmt.Errorf("SID %q: %w", str, err)
	}
	return s, nil
}

// parseDecimal accepts only plain digits: strconv would also take "+1" or
// "1_0", which no SID string contains.
func parseDecimal(s string, bits int) (uint64, error) {
	if s == "" || len(s) > 20 {
		return 0, fmt.Errorf("bad number %q", s)
	}
	for _, c := range s {
		if c < '0' || c > '9' {
			return 0, fmt.Errorf("bad number %q", s)
		}
	}
	return strconv.ParseUint(s, 10, bits)
}

// SIDFromBytes decodes the binary form of [MS-DTYP] 2.4.2.2 at the start of
// b and returns the SID and the number of bytes it used.
func SIDFromBytes(b []byte) (SID, int, error) {
	if len(b) < 8 {
		return SID{}, 0, fmt.Errorf("SID: %d bytes, want at least 8", len(b))
	}
	if b[0] != 1 {
		return SID{}, 0, fmt.Errorf("SID: revision %d, want 1", b[0])
	}
	n := int(b[1])
	if n > MaxSubAuthorities {
		return SID{}, 0, fmt.Errorf("SID: %d sub-authorities, more than %d", n, MaxSubAuthorities)
	}
	size := 8 + 4*n
	if len(b) < size {
		return SID{}, 0, fmt.Errorf("SID: %d sub-authorities need %d bytes, have %d", n, size, len(b))
	}
	return SID{b: string(b[:size])}, size, nil
}

// IntegrityLevel returns the RID of a mandatory label SID (S-1-16-RID) and
// whether s is one.
func (s SID) IntegrityLevel() (uint32, bool) {
	if s.Authority() != 16 || len(s.b) != 12 {
		return 0, false
	}
	return s.SubAuthorities()[0], true
}

// IsLogonSID reports whether s is a logon session SID (S-1-5-5-X-Y).
func (s SID) IsLogonSID() bool {
	subs := s.SubAuthorities()
	return s.Authority() == 5 && len(subs) == 3 && subs[0] == 5
}

// LogonSID returns the logon session SID S-1-5-5-hi-lo.
func LogonSID(hi, lo uint32) SID { return mustSID(5, 5, hi, lo) }
