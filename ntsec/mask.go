package ntsec

import (
	"fmt"
	"math/bits"
	"strconv"
	"strings"
)

// AccessMask is a set of access rights ([MS-DTYP] 2.4.3).
type AccessMask uint32

// Standard, generic and special rights ([MS-DTYP] 2.4.3).
const (
	Delete               AccessMask = 0x00010000
	ReadControl          AccessMask = 0x00020000
	WriteDAC             AccessMask = 0x00040000
	WriteOwner           AccessMask = 0x00080000
	Synchronize          AccessMask = 0x00100000
	AccessSystemSecurity AccessMask = 0x01000000
	MaximumAllowed       AccessMask = 0x02000000
	GenericAll           AccessMask = 0x10000000
	GenericExecute       AccessMask = 0x20000000
	GenericWrite         AccessMask = 0x40000000
	GenericRead          AccessMask = 0x80000000

	genericBits = GenericAll | GenericExecute | GenericWrite | GenericRead
)

// File and directory specific rights (winnt.h). Directories reuse the same
// bits under other names: LIST_DIRECTORY = READ_DATA, ADD_FILE = WRITE_DATA,
// ADD_SUBDIRECTORY = APPEND_DATA, TRAVERSE = EXECUTE.
const (
	FileReadData        AccessMask = 0x0001
	FileWriteData       AccessMask = 0x0002
	FileAppendData      AccessMask = 0x0004
	FileReadEA          AccessMask = 0x0008
	FileWriteEA         AccessMask = 0x0010
	FileExecute         AccessMask = 0x0020
	FileDeleteChild     AccessMask = 0x0040
	FileReadAttributes  AccessMask = 0x0080
	FileWriteAttributes AccessMask = 0x0100

	FileGenericRead    AccessMask = 0x120089
	FileGenericWrite   AccessMask = 0x120116
	FileGenericExecute AccessMask = 0x1200A0
	FileAllAccess      AccessMask = 0x1F01FF
)

// Mandatory label policy bits, held in the mask of a mandatory label ACE
// ([MS-DTYP] 2.4.4.13).
const (
	LabelNoWriteUp   AccessMask = 0x1
	LabelNoReadUp    AccessMask = 0x2
	LabelNoExecuteUp AccessMask = 0x4
)

// GenericMapping says which specific rights each generic right stands for
// ([MS-DTYP] 2.4.3, "GENERIC_MAPPING").
type GenericMapping struct {
	Read, Write, Execute, All AccessMask
}

// FileMapping is the generic mapping of NTFS files and directories.
var FileMapping = GenericMapping{
	Read:    FileGenericRead,
	Write:   FileGenericWrite,
	Execute: FileGenericExecute,
	All:     FileAllAccess,
}

// Map replaces the generic bits of m by the rights they stand for, as
// MapGenericMask does.
func (g GenericMapping) Map(m AccessMask) AccessMask {
	out := m &^ genericBits
	if m&GenericRead != 0 {
		out |= g.Read
	}
	if m&GenericWrite != 0 {
		out |= g.Write
	}
	if m&GenericExecute != 0 {
		out |= g.Execute
	}
	if m&GenericAll != 0 {
		out |= g.All
	}
	return out
}

// WriteRights are the rights that modify an object: every right of the
// mapping's All set that neither Read nor Execute grants. For files that is
// WRITE_DATA, APPEND_DATA, WRITE_EA, DELETE_CHILD, WRITE_ATTRIBUTES, DELETE,
// WRITE_DAC and WRITE_OWNER (0xD0156), but not READ_CONTROL or SYNCHRONIZE,
// which FILE_GENERIC_WRITE also contains.
//
// The model uses this set for the no-write-up rule of mandatory integrity
// and, under reading MaskH1, for the restricting-SID pass of a
// WRITE_RESTRICTED token (MaskH2 is the other open reading of that pass;
// see Reading). It cannot include READ_CONTROL or SYNCHRONIZE: a
// write-restricted or Low-integrity process could then not open a system
// DLL for reading, and such processes do. TestRealWindowsWriteRestricted
// compares it with Windows bit by bit.
func (g GenericMapping) WriteRights() AccessMask { return g.All &^ (g.Read | g.Execute) }

// ReadRights are the rights of Read that are not shared with Write or
// Execute: what a no-read-up label denies.
func (g GenericMapping) ReadRights() AccessMask { return g.Read &^ (ReadControl | Synchronize) }

// ExecuteRights are the rights of Execute that Read does not also grant,
// other than READ_CONTROL and SYNCHRONIZE: what a no-execute-up label
// denies. For files that is FILE_EXECUTE alone: FILE_READ_ATTRIBUTES, in
// both FILE_GENERIC_READ and FILE_GENERIC_EXECUTE, stays open
// (windows-access-check.md, section 3).
func (g GenericMapping) ExecuteRights() AccessMask {
	return g.Execute &^ (g.Read | ReadControl | Synchronize)
}

// sddlRights are the SDDL right strings of [MS-DTYP] 2.5.1.1 ("ace_rights").
// The composite file and registry rights come first so that formatting uses
// them when a mask equals one exactly.
var sddlRights = []struct {
	name string
	mask AccessMask
}{
	{"FA", FileAllAccess}, {"FR", FileGenericRead}, {"FW", FileGenericWrite}, {"FX", FileGenericExecute},
	{"KA", 0xF003F}, {"KR", 0x20019}, {"KW", 0x20006}, {"KX", 0x20019},
	{"GA", GenericAll}, {"GR", GenericRead}, {"GW", GenericWrite}, {"GX", GenericExecute},
	{"RC", ReadControl}, {"SD", Delete}, {"WD", WriteDAC}, {"WO", WriteOwner},
	{"RP", 0x10}, {"WP", 0x20}, {"CC", 0x1}, {"DC", 0x2}, {"LC", 0x4},
	{"SW", 0x8}, {"LO", 0x80}, {"DT", 0x40}, {"CR", 0x100},
	{"NR", LabelNoReadUp}, {"NW", LabelNoWriteUp}, {"NX", LabelNoExecuteUp},
}

// ParseRights parses SDDL right strings ("FA", "GRGW", "RCWD", …) or a
// number in hex or decimal ("0x1F01FF", "2032127"). Unknown two-letter codes are
// rejected, naming the code.
func ParseRights(s string) (AccessMask, error) {
	if s == "" {
		return 0, fmt.Errorf("access rights: empty")
	}
	if s[0] >= '0' && s[0] <= '9' {
		// SDDL writes masks in hex ("0x1f01ff") or decimal; Go's other
		// forms (0o17, 0b101, 1_000) are not SDDL.
		digits, base := s, 10
		if len(s) > 2 && (s[:2] == "0x" || s[:2] == "0X") {
			digits, base = s[2:], 16
		}
		if strings.ContainsRune(digits, '_') {
			return 0, fmt.Errorf("access rights %q: not a hex or decimal mask", s)
		}
		v, err := strconv.ParseUint(digits, base, 32)
		if err != nil {
			return 0, fmt.Errorf("access rights %q: not a 32-bit hex or decimal mask", s)
		}
		return AccessMask(v), nil
	}
	if len(s)%2 != 0 {
		return 0, fmt.Errorf("access rights %q: want two-letter codes (FA, GR, RC, …) or a hex mask", s)
	}
	var m AccessMask
next:
	for i := 0; i < len(s); i += 2 {
		code := strings.ToUpper(s[i : i+2])
		for _, r := range sddlRights {
			if r.name == code {
				m |= r.mask
				continue next
			}
		}
		return 0, fmt.Errorf("access rights %q: unknown right %q", s, s[i:i+2])
	}
	return m, nil
}

// SDDL formats m as SDDL rights: a composite name when m equals one
// ("FA"), two-letter codes when m holds only standard and generic rights
// ("SDGWGR", as Windows writes them for files), a hex mask otherwise. The
// directory-service codes (RP, WP, CC…) share their bits with file rights,
// so a file mask spelled with them would be valid but unreadable.
func (m AccessMask) SDDL() string {
	for _, r := range sddlRights[:4] {
		if m == r.mask {
			return r.name
		}
	}
	if m&0xFFFF != 0 {
		return fmt.Sprintf("0x%x", uint32(m))
	}
	var sb strings.Builder
	rest := m
	for _, r := range sddlRights[8:16] {
		if rest&r.mask == r.mask {
			sb.WriteString(r.name)
			rest &^= r.mask
		}
	}
	if rest != 0 || m == 0 {
		return fmt.Sprintf("0x%x", uint32(m))
	}
	return sb.String()
}

// labelSDDL formats the mask of a mandatory label ACE.
func labelSDDL(m AccessMask) string {
	var sb strings.Builder
	rest := m
	for _, r := range sddlRights[25:] {
		if rest&r.mask != 0 {
			sb.WriteString(r.name)
			rest &^= r.mask
		}
	}
	if rest != 0 || m == 0 {
		return fmt.Sprintf("0x%x", uint32(m))
	}
	return sb.String()
}

// String formats m as "0x001f01ff".
func (m AccessMask) String() string { return fmt.Sprintf("0x%08x", uint32(m)) }

// rightNames name single bits for people reading a trace.
var fileRightNames = map[AccessMask][2]string{
	FileReadData:         {"READ_DATA", "LIST_DIRECTORY"},
	FileWriteData:        {"WRITE_DATA", "ADD_FILE"},
	FileAppendData:       {"APPEND_DATA", "ADD_SUBDIRECTORY"},
	FileReadEA:           {"READ_EA", "READ_EA"},
	FileWriteEA:          {"WRITE_EA", "WRITE_EA"},
	FileExecute:          {"EXECUTE", "TRAVERSE"},
	FileDeleteChild:      {"DELETE_CHILD", "DELETE_CHILD"},
	FileReadAttributes:   {"READ_ATTRIBUTES", "READ_ATTRIBUTES"},
	FileWriteAttributes:  {"WRITE_ATTRIBUTES", "WRITE_ATTRIBUTES"},
	Delete:               {"DELETE", "DELETE"},
	ReadControl:          {"READ_CONTROL", "READ_CONTROL"},
	WriteDAC:             {"WRITE_DAC", "WRITE_DAC"},
	WriteOwner:           {"WRITE_OWNER", "WRITE_OWNER"},
	Synchronize:          {"SYNCHRONIZE", "SYNCHRONIZE"},
	AccessSystemSecurity: {"ACCESS_SYSTEM_SECURITY", "ACCESS_SYSTEM_SECURITY"},
}

// RightName names the single right bit for a file (or, when dir is true, a
// directory): "WRITE_DATA" or "ADD_FILE".
func RightName(bit AccessMask, dir bool) string {
	if n, ok := fileRightNames[bit]; ok {
		if dir {
			return n[1]
		}
		return n[0]
	}
	return fmt.Sprintf("bit%d", bits.TrailingZeros32(uint32(bit)))
}

// eachBit calls f for each set bit of m, lowest first.
func eachBit(m AccessMask, f func(AccessMask)) {
	for m != 0 {
		b := m & -m
		f(b)
		m &^= b
	}
}
