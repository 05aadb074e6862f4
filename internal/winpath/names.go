package winpath

import (
	"fmt"
	"strings"
	"unicode"
)

// maxNameUnits is the NTFS limit on one file name or stream name, counted in
// UTF-16 code units (what NTFS stores), not bytes or runes.
const maxNameUnits = 255

// foldRune upper-cases r for name comparison.
//
// NTFS compares names by mapping every UTF-16 code unit through the volume's
// $UpCase table, a flat 64K-entry table. Consequences modelled here:
//   - characters outside the Basic Multilingual Plane are stored as surrogate
//     pairs, which the table leaves alone, so they are never case-folded;
//   - the table is a simple one-to-one mapping (ß stays ß, never "SS").
//
// Inside the BMP we approximate the table with Unicode simple upper-casing
// (unicode.ToUpper, what strings.ToUpper applies per rune). The default
// table does not map dotless ı (U+0131) or long ſ (U+017F) to ASCII I and S,
// while Unicode does; we keep such characters as they are so that a
// non-ASCII name can never fold onto an ASCII one (".gıt" is not ".git" on
// NTFS, and treating it as equal would let C:\wſ pass for C:\ws). ASCII is
// exact; other non-ASCII differences between Unicode versions and the
// volume's table remain, which is why callers must confirm lookalike
// non-ASCII names through the file system when it matters.
//
// Per-directory case sensitivity (fsutil file setCaseSensitiveInfo, used by
// WSL) is not modelled: such a directory distinguishes names we fold
// together, which makes this package more conservative, never less, for
// protected-name checks, and can only make Within report "not within".
func foldRune(r rune) rune {
	if r < 0x80 {
		if 'a' <= r && r <= 'z' {
			return r - ('a' - 'A')
		}
		return r
	}
	if r > 0xFFFF {
		return r
	}
	if u := unicode.ToUpper(r); u >= 0x80 && u <= 0xFFFF {
		return u
	}
	return r
}

// fold returns s case-folded with foldRune. s must be valid UTF-8.
func fold(s string) string { return strings.Map(foldRune, s) }

// foldEqual reports whether a and b are the same name under NTFS case
// folding (as approximated by foldRune).
func foldEqual(a, b string) bool {
	if a == b {
		return true
	}
	return fold(a) == fold(b)
}

// EqualName reports whether two single names should be treated as the same
// entry: case-insensitively, and ignoring trailing dots and spaces.
//
// Win32 strips trailing dots and spaces from the last component, so
// "C:\ws\.GiT " opens ".git". On intermediate components only one dot is
// stripped and spaces survive, so ".git \x" reaches a different directory;
// EqualName still treats ".git " as ".git" because a planner protecting
// .git must refuse every spelling that might reach it, and refusing a path
// into a look-alike directory costs nothing.
func EqualName(a, b string) bool {
	return foldEqual(strings.TrimRight(a, ". "), strings.TrimRight(b, ". "))
}

// IsReservedName reports whether name, used as the last component of a
// drive path, makes Win32 open a legacy DOS device instead of a file.
//
// The names are CON, PRN, AUX, NUL, COM1-COM9, LPT1-LPT9 and the
// superscript variants COM¹ COM² COM³ LPT¹ LPT² LPT³ (Windows counts the
// Latin-1 superscript digits as digits), compared case-insensitively. Up to
// Windows 10 they also match with an extension ("nul.txt", "con.tar.gz"),
// with trailing spaces before the extension ("nul .txt"), with trailing dots
// or spaces, and with a colon suffix ("nul:", "nul:x"). Windows 11 narrowed
// the rule (extensions no longer match, and only NUL is special as the last
// component of a longer path), but a planner cannot know which rule the
// target machine applies, so this function answers with the broad, older
// rule and callers treat every match as a device.
//
// Intermediate components are never device names to Win32
// (C:\ws\con\x is an ordinary path), so IsReservedName is only meaningful
// for the last one.
func IsReservedName(name string) bool {
	return deviceForName(name) != ""
}

// reservedDevice returns the canonical device name for a bare base name
// (no extension, no trailing spaces), or "" if it is not one.
func reservedDevice(base string) string {
	if len(base) < 3 || len(base) > 5 { // "COM¹" is 5 bytes in UTF-8
		return ""
	}
	up := fold(base)
	switch up {
	case "CON", "PRN", "AUX", "NUL":
		return up
	}
	if !strings.HasPrefix(up, "COM") && !strings.HasPrefix(up, "LPT") {
		return ""
	}
	switch up[3:] {
	case "1", "2", "3", "4", "5", "6", "7", "8", "9", "¹", "²", "³":
		return up
	}
	return ""
}

// deviceForName returns the device a reserved last component opens.
func deviceForName(name string) string {
	base := name
	if i := strings.IndexByte(base, ':'); i >= 0 {
		base = base[:i]
	}
	if i := strings.IndexByte(base, '.'); i >= 0 {
		base = base[:i]
	}
	return reservedDevice(strings.TrimRight(base, " "))
}

// MayBeShortName reports whether name could be an 8.3 short name, that is,
// it contains '~' followed by an ASCII digit ("GIT~1", "AGENTS~1",
// "GI5F2D~1.TXT").
//
// NTFS (when 8.3 generation is enabled on the volume) gives every long name
// a second, short name, and both open the same file: C:\ws\GIT~1\config can
// be C:\ws\.git\config. The alias is chosen by the file system at creation
// time, so no string rule can resolve it; a caller that sees true must ask
// the file system for the long name (GetLongPathNameW, or open the path and
// query its final name) before deciding anything about it.
func MayBeShortName(name string) bool {
	for i := 0; i+1 < len(name); i++ {
		if name[i] == '~' && '0' <= name[i+1] && name[i+1] <= '9' {
			return true
		}
	}
	return false
}

// checkChars rejects characters that Win32 refuses in file names: the
// wildcard and redirection characters < > " | ? * and the control
// characters 1-31. They are not path syntax, but a string containing them
// cannot name a file through the normalised Win32 path, so accepting it
// would only let the planner reason about a path that cannot exist.
func checkChars(comp string) error {
	for i := 0; i < len(comp); i++ {
		c := comp[i]
		if c < 0x20 || strings.IndexByte(`<>"|?*`, c) >= 0 {
			return fmt.Errorf("invalid character %q in component %q", c, comp)
		}
	}
	return nil
}

// utf16Len counts the UTF-16 code units of s, the unit NTFS limits.
func utf16Len(s string) int {
	n := 0
	for _, r := range s {
		if r > 0xFFFF {
			n += 2
		} else {
			n++
		}
	}
	return n
}

// onlyDotsSpaces reports whether s is non-empty and consists of '.' and ' '
// only.
func onlyDotsSpaces(s string) bool {
	return s != "" && strings.Trim(s, ". ") == ""
}

// splitStream splits the last component into the file name and the
// alternate data stream suffix after the first colon.
//
// NTFS parses "name:stream:type" itself: "file.txt:evil" is the stream
// "evil" of file.txt, "file.txt:evil:$DATA" the same stream with its type
// spelled out, and "dir::$INDEX_ALLOCATION" (or "dir:$I30:$INDEX_ALLOCATION")
// the directory's index, which opens or even creates the directory itself.
// A write through any of these lands in the object before the colon, so
// that object is what a planner must check.
func splitStream(comp string) (name, stream string, err error) {
	i := strings.IndexByte(comp, ':')
	if i < 0 {
		return comp, "", nil
	}
	name, stream = comp[:i], comp[i+1:]
	if name == "" {
		return "", "", fmt.Errorf("component %q has a stream suffix but no name", comp)
	}
	sname, stype, typed := strings.Cut(stream, ":")
	switch {
	case typed && strings.IndexByte(stype, ':') >= 0:
		return "", "", fmt.Errorf("component %q has too many colons for name:stream:type", comp)
	case typed && (len(stype) < 2 || stype[0] != '$'):
		return "", "", fmt.Errorf("component %q: stream type %q is not an attribute type such as $DATA", comp, stype)
	case !typed && sname == "":
		return "", "", fmt.Errorf("component %q has an empty stream name", comp)
	case utf16Len(sname) > maxNameUnits:
		return "", "", fmt.Errorf("stream name in component %q is longer than %d UTF-16 code units", abbrev(comp), maxNameUnits)
	}
	return name, stream, nil
}

// abbrev shortens long strings for error messages.
func abbrev(s string) string {
	const max = 40
	if len(s) <= max {
		return s
	}
	for i := range s {
		if i >= max {
			return s[:i] + "..."
		}
	}
	return s
}
