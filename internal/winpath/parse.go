package winpath

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
	"unicode/utf8"
)

// ParseError reports why a string is not an acceptable absolute Windows
// path.
type ParseError struct {
	Path   string // the string given to Parse
	Reason string // what is wrong with it
}

func (e *ParseError) Error() string {
	return "winpath: " + e.Reason + ": " + strconv.Quote(abbrev(e.Path))
}

// Parse parses an absolute Windows path and normalises it the way Win32
// does before the kernel sees it (see the package documentation).
//
// Only fully qualified paths are accepted, because anything else depends on
// per-process state the planner cannot see: "a\b" (current directory),
// "C:x" (the current directory of drive C, a separate per-drive setting),
// "\x" (the current drive). ".." never climbs above the root (C:\..\x is
// C:\x), exactly as Win32 clamps it.
//
// Parse fails for: an empty string; invalid UTF-8 (which cannot come from a
// valid UTF-16 name); a NUL anywhere (Win32 would silently truncate there);
// the characters < > " | ? * and control characters in a component outside
// verbatim (\\?\) paths; a colon anywhere but after the drive letter or in
// the last component's stream suffix (C:\a:b\c); a UNC path without a
// share; a drive letter outside A-Z; a name or stream name longer than 255
// UTF-16 code units, or a whole path longer than 32767; components made only of dots and spaces (other than
// "." and ".." outside verbatim paths); and "." or ".." components in
// verbatim paths, which NTFS would refuse rather than resolve.
func Parse(p string) (Path, error) {
	out, err := parse(p)
	if err != nil {
		return Path{}, &ParseError{Path: p, Reason: err.Error()}
	}
	return out, nil
}

// maxPathUnits is the longest path the NT kernel accepts: its counted
// strings hold at most 65535 bytes of UTF-16.
const maxPathUnits = 32767

func isSep(c byte) bool { return c == '\\' || c == '/' }

func parse(s string) (Path, error) {
	switch {
	case s == "":
		return Path{}, errors.New("empty path")
	case strings.IndexByte(s, 0) >= 0:
		return Path{}, errors.New("NUL byte in path")
	case !utf8.ValidString(s):
		return Path{}, errors.New("path is not valid UTF-8")
	case utf16Len(s) > maxPathUnits:
		return Path{}, fmt.Errorf("path is longer than %d UTF-16 code units", maxPathUnits)
	}
	// Only the exact four characters \\?\ (or the NT prefix \??\) skip
	// normalisation; //?/ and \\?/ are normalised like \\.\.
	if strings.HasPrefix(s, `\\?\`) || strings.HasPrefix(s, `\??\`) {
		return parseVerbatim(s[4:])
	}
	if len(s) >= 2 && isSep(s[0]) && isSep(s[1]) {
		if len(s) >= 3 && (s[2] == '.' || s[2] == '?') && (len(s) == 3 || isSep(s[3])) {
			if len(s) <= 4 {
				return Path{}, errors.New("device path names no device")
			}
			return parseLocalDevice(s[4:])
		}
		return parseUNC(s[2:])
	}
	if isSep(s[0]) {
		return Path{}, errors.New(`root-relative path (starts with a single separator, so it depends on the current drive)`)
	}
	r, size := utf8.DecodeRuneInString(s)
	if len(s) > size && s[size] == ':' {
		if !('A' <= r && r <= 'Z' || 'a' <= r && r <= 'z') {
			return Path{}, fmt.Errorf("invalid drive letter %q", r)
		}
		if len(s) == 2 || !isSep(s[2]) {
			return Path{}, errors.New("drive-relative path (no separator after the drive, so it depends on that drive's current directory)")
		}
		return parseDrive(byte(foldRune(r)), s[3:])
	}
	return Path{}, errors.New("relative path (no drive or UNC prefix)")
}

// splitSeps splits a normalised-namespace path on both separators, dropping
// the empty components that runs of separators produce, and reports whether
// s ends in a separator (which changes how the last component is trimmed).
func splitSeps(s string) (comps []string, trailing bool) {
	trailing = s != "" && isSep(s[len(s)-1])
	comps = strings.FieldsFunc(s, func(r rune) bool { return r == '\\' || r == '/' })
	return comps, trailing
}

// checkRaw validates components of a normalised drive or UNC path before
// relative components are resolved: invalid characters anywhere, and a
// colon only in the final component. Checking before resolution keeps
// C:\a:b\..\c an error, as a colon in the middle of a path is never a
// legitimate spelling.
func checkRaw(comps []string, trailing bool) error {
	for i, c := range comps {
		if err := checkChars(c); err != nil {
			return err
		}
		if strings.IndexByte(c, ':') >= 0 && (i != len(comps)-1 || trailing) {
			return fmt.Errorf("colon in component %q (only the last component may carry a stream suffix)", c)
		}
	}
	return nil
}

// collapse applies the Win32 rewrite to the components after the root:
// "." is dropped, ".." pops (never above the root), a component followed by
// a separator loses one trailing dot, and, unless the path ends in a
// separator, the last surviving component loses all trailing dots and
// spaces. endSep reports whether the rewritten path ends in a separator,
// which matters only for \\.\C: (volume) versus \\.\C:\ (root directory).
func collapse(comps []string, trailing bool) (elems []string, endSep bool, err error) {
	endSep = trailing
	for i, c := range comps {
		last := i == len(comps)-1
		switch c {
		case ".", "..":
			if c == ".." && len(elems) > 0 {
				elems = elems[:len(elems)-1]
			}
			if last && !trailing {
				// ntdll removes the separator before a final "." or "..".
				endSep = false
			}
			continue
		}
		if onlyDotsSpaces(c) {
			return nil, false, fmt.Errorf("ambiguous component %q (only dots and spaces)", c)
		}
		if !last || trailing {
			c = strings.TrimSuffix(c, ".")
		}
		elems = append(elems, c)
	}
	if !endSep && len(elems) > 0 {
		// Cannot become empty: the component has a character that is
		// neither a dot nor a space.
		elems[len(elems)-1] = strings.TrimRight(elems[len(elems)-1], ". ")
	}
	return elems, endSep, nil
}

// parseDrive handles C:\rest. letter is already upper case.
func parseDrive(letter byte, rest string) (Path, error) {
	comps, trailing := splitSeps(rest)
	if err := checkRaw(comps, trailing); err != nil {
		return Path{}, err
	}
	elems, endSep, err := collapse(comps, trailing)
	if err != nil {
		return Path{}, err
	}
	// A DOS device name as the last component opens the device. Win32 only
	// looks at the last component of the string it was given; we also treat
	// a device name that becomes last after ".." resolution or before a
	// trailing separator as a device, the conservative reading.
	if n := len(elems); n > 0 {
		if dev := deviceForName(elems[n-1]); dev != "" {
			return Path{Kind: KindDevice, Volume: dev}, nil
		}
	}
	return finishFS(Path{Kind: KindDrive, Volume: string([]byte{letter, ':'})}, elems, endSep)
}

// parseUNC handles \\server\share\rest (rest is after the two leading
// separators). The server and share are the root: ".." cannot remove them
// and they are never trimmed.
func parseUNC(s string) (Path, error) {
	i := strings.IndexAny(s, `\/`)
	if i == 0 {
		return Path{}, errors.New("UNC path without server")
	}
	if i < 0 {
		return Path{}, errors.New("UNC path without share")
	}
	server, s := s[:i], strings.TrimLeft(s[i:], `\/`)
	j := strings.IndexAny(s, `\/`)
	if j < 0 {
		j = len(s)
	}
	share, rest := s[:j], s[j:]
	if share == "" {
		return Path{}, errors.New("UNC path without share")
	}
	for _, c := range []string{server, share} {
		if err := checkChars(c); err != nil {
			return Path{}, err
		}
	}
	vol, err := uncVolume(server, share)
	if err != nil {
		return Path{}, err
	}
	comps, trailing := splitSeps(rest)
	if err := checkRaw(comps, trailing); err != nil {
		return Path{}, err
	}
	elems, endSep, err := collapse(comps, trailing)
	if err != nil {
		return Path{}, err
	}
	return finishFS(Path{Kind: KindUNC, Volume: vol}, elems, endSep)
}

// uncVolume validates a server and share and builds the volume string.
// Server names may contain colons (IPv6 literals); share names may not.
func uncVolume(server, share string) (string, error) {
	switch {
	case server == "." || server == "..":
		return "", fmt.Errorf("invalid UNC server name %q", server)
	case share == "." || share == "..":
		return "", fmt.Errorf("invalid UNC share name %q", share)
	case strings.IndexByte(share, ':') >= 0:
		return "", fmt.Errorf("colon in UNC share name %q", share)
	}
	return `\\` + server + `\` + share, nil
}

// parseLocalDevice handles \\.\rest (and //?/rest and other non-verbatim
// spellings). Win32 normalises the whole remainder with the \\.\ prefix as
// the root, then the first component picks the namespace entry.
func parseLocalDevice(rest string) (Path, error) {
	comps, trailing := splitSeps(rest)
	for _, c := range comps {
		if err := checkChars(c); err != nil {
			return Path{}, err
		}
	}
	elems, endSep, err := collapse(comps, trailing)
	if err != nil {
		return Path{}, err
	}
	if len(elems) == 0 {
		return Path{}, errors.New("device path names no device")
	}
	return classify(elems, endSep)
}

// parseVerbatim handles the part after \\?\ or \??\. Only '\' separates;
// nothing is rewritten.
func parseVerbatim(rest string) (Path, error) {
	if rest == "" {
		return Path{}, errors.New("verbatim path names nothing")
	}
	trailing := strings.HasSuffix(rest, `\`)
	if trailing {
		rest = rest[:len(rest)-1]
	}
	comps := strings.Split(rest, `\`)
	for _, c := range comps {
		switch c {
		case "":
			return Path{}, errors.New(`empty component (repeated separator) in verbatim path`)
		case ".", "..":
			return Path{}, fmt.Errorf("component %q in verbatim path: the kernel does not resolve it and NTFS rejects it as a name", c)
		}
	}
	return classify(comps, trailing)
}

// isDriveSpec reports whether c is a drive designator such as "C:".
func isDriveSpec(c string) bool {
	return len(c) == 2 && c[1] == ':' && ('A' <= c[0] && c[0] <= 'Z' || 'a' <= c[0] && c[0] <= 'z')
}

// classify interprets the components after a \\.\ or \\?\ prefix: a drive
// designator, the UNC link, or any other object-namespace entry (a device).
func classify(elems []string, endSep bool) (Path, error) {
	first := elems[0]
	switch {
	case isDriveSpec(first):
		vol := fold(first)
		if len(elems) == 1 && !endSep {
			// \\.\C: and \\?\C: open the volume itself (raw sectors), not
			// its root directory.
			return Path{Kind: KindDevice, Volume: vol}, nil
		}
		return finishFS(Path{Kind: KindDrive, Volume: vol}, elems[1:], endSep)
	case foldEqual(first, "UNC"):
		if len(elems) < 3 {
			return Path{}, errors.New("UNC path without share")
		}
		vol, err := uncVolume(elems[1], elems[2])
		if err != nil {
			return Path{}, err
		}
		return finishFS(Path{Kind: KindUNC, Volume: vol}, elems[3:], endSep)
	}
	dev := fold(first)
	if isNameDevice(dev) {
		// A pipe or mailslot name may itself contain backslashes; it is
		// one name to the driver, so it stays part of the volume.
		if len(elems) > 1 {
			dev += `\` + strings.Join(elems[1:], `\`)
		}
		return Path{Kind: KindDevice, Volume: dev}, nil
	}
	p := Path{Kind: KindDevice, Volume: dev}
	if len(elems) > 1 {
		p.Elems = append([]string(nil), elems[1:]...)
	}
	return p, nil
}

// isNameDevice reports whether a device takes the rest of the path as one
// flat name rather than as a directory hierarchy.
func isNameDevice(dev string) bool { return dev == "PIPE" || dev == "MAILSLOT" }

// finishFS completes a drive or UNC path: splits the stream suffix off the
// last component and enforces the NTFS name length.
func finishFS(p Path, elems []string, endSep bool) (Path, error) {
	if len(elems) == 0 {
		return p, nil
	}
	out := make([]string, len(elems))
	for i, e := range elems {
		name := e
		if strings.IndexByte(e, ':') >= 0 {
			if i != len(elems)-1 || endSep {
				return Path{}, fmt.Errorf("colon in component %q (only the last component may carry a stream suffix)", e)
			}
			var err error
			if name, p.Stream, err = splitStream(e); err != nil {
				return Path{}, err
			}
		}
		if utf16Len(name) > maxNameUnits {
			return Path{}, fmt.Errorf("component %q is longer than %d UTF-16 code units", abbrev(name), maxNameUnits)
		}
		out[i] = name
	}
	p.Elems = out
	return p, nil
}
