package ntsec

import (
	"fmt"
	"strings"
)

// ParseSDDL parses a security descriptor in SDDL ([MS-DTYP] 2.5.1):
// "O:sid", "G:sid", "D:flags(ace)…" and "S:flags(ace)…", each at most once.
// ACL flags are P (protected), AI (auto-inherited), AR (auto-inherit
// required) and NO_ACCESS_CONTROL (a null ACL). Errors quote the part that
// does not parse.
func ParseSDDL(s string) (*SecurityDescriptor, error) {
	sd := &SecurityDescriptor{}
	seen := map[byte]bool{}
	i := 0
	for i < len(s) {
		if i+1 >= len(s) || s[i+1] != ':' || !isSection(s[i]) {
			return nil, fmt.Errorf("SDDL: expected O:, G:, D: or S: at %q", clip(s[i:]))
		}
		sec := upper(s[i])
		if seen[sec] {
			return nil, fmt.Errorf("SDDL: %c: appears twice", sec)
		}
		seen[sec] = true
		i += 2
		end := nextSection(s, i)
		body := s[i:end]
		i = end
		switch sec {
		case 'O', 'G':
			sid, err := ParseSID(body)
			if err != nil {
				return nil, fmt.Errorf("SDDL %c: %w", sec, err)
			}
			if sec == 'O' {
				sd.Owner = sid
			} else {
				sd.Group = sid
			}
		case 'D':
			acl, flags, err := parseACLString(body, false)
			if err != nil {
				return nil, fmt.Errorf("SDDL D: %w", err)
			}
			sd.DACL = acl
			sd.Control |= DACLPresent | flags.shift(0)
		case 'S':
			acl, flags, err := parseACLString(body, true)
			if err != nil {
				return nil, fmt.Errorf("SDDL S: %w", err)
			}
			sd.SACL = acl
			sd.Control |= SACLPresent | flags.shift(1)
		}
	}
	return sd, nil
}

func isSection(c byte) bool {
	switch upper(c) {
	case 'O', 'G', 'D', 'S':
		return true
	}
	return false
}

func upper(c byte) byte {
	if c >= 'a' && c <= 'z' {
		return c - 'a' + 'A'
	}
	return c
}

// nextSection finds where the section starting at i ends: at the next
// "X:" outside parentheses. SIDs, flags and ACE strings contain no ':'
// except inside a section marker, so the first one found is it.
func nextSection(s string, i int) int {
	depth := 0
	for j := i; j < len(s); j++ {
		switch s[j] {
		case '(':
			depth++
		case ')':
			depth--
		case ':':
			if depth == 0 && j > i && isSection(s[j-1]) {
				return j - 1
			}
		}
	}
	return len(s)
}

// clip shortens s for an error message.
func clip(s string) string {
	if len(s) > 40 {
		return s[:40] + "…"
	}
	return s
}

// aclFlags are the SDDL ACL flags, before they become DACL or SACL control
// bits.
type aclFlags uint8

const (
	aclProtected aclFlags = 1 << iota
	aclAutoInherited
	aclAutoInheritReq
)

// shift turns aclFlags into the DACL (which=0) or SACL (which=1) control bits.
func (f aclFlags) shift(which int) Control {
	var c Control
	if f&aclProtected != 0 {
		c |= DACLProtected
	}
	if f&aclAutoInherited != 0 {
		c |= DACLAutoInherited
	}
	if f&aclAutoInheritReq != 0 {
		c |= DACLAutoInheritReq
	}
	if which == 1 {
		// Each SACL bit sits one place above its DACL twin
		// (0x1000→0x2000, 0x0400→0x0800, 0x0100→0x0200).
		c <<= 1
	}
	return c
}

// parseACLString parses "PAI(A;;FA;;;SY)…". A NO_ACCESS_CONTROL flag gives
// a nil ACL (null); otherwise the ACL is non-nil even when empty.
func parseACLString(s string, label bool) (*ACL, aclFlags, error) {
	var flags aclFlags
	null := false
	i := 0
	for i < len(s) && s[i] != '(' {
		switch {
		case strings.HasPrefix(strings.ToUpper(s[i:]), "NO_ACCESS_CONTROL"):
			null = true
			i += len("NO_ACCESS_CONTROL")
		case upper(s[i]) == 'P':
			flags |= aclProtected
			i++
		case strings.HasPrefix(strings.ToUpper(s[i:]), "AI"):
			flags |= aclAutoInherited
			i += 2
		case strings.HasPrefix(strings.ToUpper(s[i:]), "AR"):
			flags |= aclAutoInheritReq
			i += 2
		default:
			return nil, 0, fmt.Errorf("unknown ACL flag at %q (want P, AI, AR or NO_ACCESS_CONTROL)", clip(s[i:]))
		}
	}
	acl := &ACL{Revision: ACLRevision, Entries: []ACE{}}
	for i < len(s) {
		if s[i] != '(' {
			return nil, 0, fmt.Errorf("expected ( at %q", clip(s[i:]))
		}
		end := strings.IndexByte(s[i:], ')')
		if end < 0 {
			return nil, 0, fmt.Errorf("unterminated ACE %q", clip(s[i:]))
		}
		if nested := strings.IndexByte(s[i+1:i+end], '('); nested >= 0 {
			return nil, 0, fmt.Errorf("ACE %q: conditional ACEs are not supported", clip(s[i:]))
		}
		e, err := parseACE(s[i+1 : i+end])
		if err != nil {
			return nil, 0, fmt.Errorf("ACE %d: %w", len(acl.Entries), err)
		}
		if err := e.validate(label); err != nil {
			return nil, 0, fmt.Errorf("ACE %d: %w", len(acl.Entries), err)
		}
		acl.Entries = append(acl.Entries, e)
		i += end + 1
	}
	if null {
		if len(acl.Entries) > 0 {
			return nil, 0, fmt.Errorf("NO_ACCESS_CONTROL (a null ACL) cannot be followed by ACEs")
		}
		return nil, flags, nil
	}
	return acl, flags, nil
}

// SDDL formats sd in SDDL. Absent parts are omitted; a present null DACL is
// "D:NO_ACCESS_CONTROL". SIDs with an SDDL alias use it.
func (sd *SecurityDescriptor) SDDL() string {
	var sb strings.Builder
	sid := func(s SID) string {
		if a := s.Alias(); a != "" {
			return a
		}
		return s.String()
	}
	if !sd.Owner.IsZero() {
		sb.WriteString("O:" + sid(sd.Owner))
	}
	if !sd.Group.IsZero() {
		sb.WriteString("G:" + sid(sd.Group))
	}
	acl := func(tag string, a *ACL, present, prot, ai, ar Control) {
		if a == nil && sd.Control&present == 0 {
			return
		}
		sb.WriteString(tag)
		if sd.Control&prot != 0 {
			sb.WriteString("P")
		}
		if sd.Control&ar != 0 {
			sb.WriteString("AR")
		}
		if sd.Control&ai != 0 {
			sb.WriteString("AI")
		}
		if a == nil {
			sb.WriteString("NO_ACCESS_CONTROL")
			return
		}
		sb.WriteString(a.SDDL())
	}
	acl("D:", sd.DACL, DACLPresent, DACLProtected, DACLAutoInherited, DACLAutoInheritReq)
	acl("S:", sd.SACL, SACLPresent, SACLProtected, SACLAutoInherited, SACLAutoInheritReq)
	return sb.String()
}

func (sd *SecurityDescriptor) String() string { return sd.SDDL() }
