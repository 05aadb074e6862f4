package winpath

import (
	"errors"
	"fmt"
	"strings"
	"unicode/utf8"
)

// Kind says which namespace a parsed path lives in. Paths of different
// kinds are never "within" one another: even where they can reach the same
// file (\\localhost\C$\x and C:\x), proving it needs the live system.
type Kind int

const (
	// KindDrive is a path on a drive letter: C:\..., also reached as
	// \\.\C:\... and \\?\C:\....
	KindDrive Kind = iota
	// KindUNC is a network path \\server\share\..., also reached as
	// \\?\UNC\server\share\... and \\.\UNC\server\share\....
	KindUNC
	// KindDevice is anything that opens a device or an object-namespace
	// entry rather than a file below a drive or share: \\.\pipe\x,
	// \\.\PhysicalDrive0, \\.\C: (the raw volume), \\.\NUL, a DOS device
	// name such as C:\dir\NUL or C:\dir\nul.txt, \\?\GLOBALROOT\...,
	// \\?\Volume{guid}\....
	KindDevice
)

func (k Kind) String() string {
	switch k {
	case KindDrive:
		return "Drive"
	case KindUNC:
		return "UNC"
	case KindDevice:
		return "Device"
	}
	return fmt.Sprintf("Kind(%d)", int(k))
}

// Path is a parsed, normalised absolute Windows path.
//
// Values produced by Parse, Parent and Join are normalised: two Paths that
// Win32 would resolve to the same object have fields that differ at most in
// letter case, and Key folds that away.
type Path struct {
	Kind Kind
	// Volume is the root: "C:" (upper-case letter) for KindDrive;
	// `\\server\share` as written (case kept) for KindUNC; the upper-cased
	// device name for KindDevice ("NUL", "PHYSICALDRIVE0", "C:",
	// "GLOBALROOT"), with the pipe or mailslot name appended as written
	// ("PIPE\x") because the driver treats that name as one string.
	Volume string
	// Elems are the components below the volume. For normalised paths
	// "." and ".." are resolved and trailing dots and spaces are removed as
	// Win32 removes them (one trailing dot on a component followed by a
	// separator; all trailing dots and spaces on the last component). For
	// verbatim paths (\\?\, \??\) Win32 passes the components through
	// untouched, so they are kept exactly: \\?\C:\ws\.git. has the element
	// ".git." and names a different file than C:\ws\.git. (element ".git").
	Elems []string
	// Stream is the alternate data stream suffix of the last element,
	// without the leading colon: "evil" for x.txt:evil, "evil:$DATA",
	// ":$INDEX_ALLOCATION" for dir::$INDEX_ALLOCATION, "" if none. Devices
	// never have one.
	Stream string
}

// String returns the canonical spelling: `C:\a\b`, `C:\` for a root,
// `\\server\share\a`, `\\.\PIPE\x` or `\\.\NUL` for devices, with
// ":"+Stream appended when Stream is set.
//
// When the ordinary spelling would be rewritten by Win32 into a different
// path (an element with a trailing dot or space, a last element that is a
// DOS device name, a character Win32 rejects), String uses the verbatim
// \\?\ spelling instead, so that Parse(p.String()) always yields p again.
func (p Path) String() string {
	s := p.format(false)
	if q, err := parse(s); err == nil && sameFields(p, q) {
		return s
	}
	return p.format(true)
}

func (p Path) format(verbatim bool) string {
	var b strings.Builder
	switch {
	case p.Kind == KindUNC && verbatim:
		b.WriteString(`\\?\UNC\`)
		b.WriteString(strings.TrimPrefix(p.Volume, `\\`))
	case p.Kind == KindUNC:
		b.WriteString(p.Volume)
	case verbatim:
		b.WriteString(`\\?\`)
		b.WriteString(p.Volume)
	case p.Kind == KindDevice:
		b.WriteString(`\\.\`)
		b.WriteString(p.Volume)
	default:
		b.WriteString(p.Volume)
	}
	if p.Kind == KindDrive && len(p.Elems) == 0 {
		b.WriteByte('\\')
	}
	for _, e := range p.Elems {
		b.WriteByte('\\')
		b.WriteString(e)
	}
	if p.Stream != "" {
		b.WriteByte(':')
		b.WriteString(p.Stream)
	}
	return b.String()
}

func sameFields(a, b Path) bool {
	if a.Kind != b.Kind || a.Volume != b.Volume || a.Stream != b.Stream || len(a.Elems) != len(b.Elems) {
		return false
	}
	for i := range a.Elems {
		if a.Elems[i] != b.Elems[i] {
			return false
		}
	}
	return true
}

// Key returns a comparison key for the object p names (its stream is
// ignored): two paths have the same Key exactly when Win32 and NTFS would
// open the same file or directory by name. It is String() of Object(),
// case-folded per UTF-16 code unit the way NTFS compares names (see
// foldRune: NTFS uses its on-disk $UpCase table, approximated here with
// Unicode simple upper-casing). Directories marked case-sensitive with
// fsutil file setCaseSensitiveInfo are not modelled.
//
// Key says nothing about aliases the string cannot show: links, junctions,
// short names, subst drives, loopback UNC paths.
func (p Path) Key() string {
	return fold(p.Object().String())
}

// Object returns p without its stream: the file or directory the stream
// belongs to (for C:\ws\.git::$INDEX_ALLOCATION, the directory C:\ws\.git).
// Access checks apply to this object, so it is what a planner must judge.
func (p Path) Object() Path {
	return Path{Kind: p.Kind, Volume: p.Volume, Elems: cloneElems(p.Elems)}
}

// Parent returns the directory containing p's object, or false for a root
// (a drive or share root, or a device with no elements).
func (p Path) Parent() (Path, bool) {
	if len(p.Elems) == 0 {
		return Path{}, false
	}
	return Path{Kind: p.Kind, Volume: p.Volume, Elems: cloneElems(p.Elems[:len(p.Elems)-1])}, true
}

// Base returns the last element, or "" for a root.
func (p Path) Base() string {
	if len(p.Elems) == 0 {
		return ""
	}
	return p.Elems[len(p.Elems)-1]
}

// Join appends names below p, normalising them as Parse would if they were
// written after p in an ordinary (non-verbatim) path: one trailing dot is
// dropped from each name but the last, the last loses all trailing dots and
// spaces, the last may carry a stream suffix, and on a drive a last name
// that is a DOS device name (nul, con.txt) turns the result into that
// device. Each name must be a single component: no separators, not "." or
// "..", not made only of dots and spaces. Joining below a path that has a
// stream is an error.
func (p Path) Join(elems ...string) (Path, error) {
	if p.Stream != "" {
		return Path{}, fmt.Errorf("winpath: cannot join below stream %q of %s", p.Stream, p.Object())
	}
	if len(elems) == 0 {
		return Path{Kind: p.Kind, Volume: p.Volume, Elems: cloneElems(p.Elems)}, nil
	}
	for _, e := range elems {
		var err error
		switch {
		case e == "":
			err = errors.New("empty name")
		case strings.ContainsAny(e, `\/`):
			err = errors.New("name contains a separator")
		case e == "." || e == "..":
			err = errors.New("relative component, not a name")
		case strings.IndexByte(e, 0) >= 0:
			err = errors.New("NUL byte in name")
		case !utf8.ValidString(e):
			err = errors.New("name is not valid UTF-8")
		}
		if err != nil {
			return Path{}, fmt.Errorf("winpath: cannot join %q: %v", e, err)
		}
	}
	q, err := p.join(elems)
	if err != nil {
		return Path{}, fmt.Errorf("winpath: cannot join %q: %v", elems, err)
	}
	return q, nil
}

// Child returns the entry called exactly name in directory p, as a
// directory listing returns it. Unlike Join, which reads name as Win32
// reads text typed after a separator, Child keeps the name as the file
// system holds it: "x " and "x." are entries of their own, which NTFS
// allows (created through \\?\ or with a trailing separator) and which a
// plain path ending in them would trim to "x". String spells such a child
// verbatim. name must be one component: no separator, NUL, "." or "..";
// p must be a directory path without a stream.
func (p Path) Child(name string) (Path, error) {
	switch {
	case p.Kind == KindDevice || p.Stream != "":
		return Path{}, fmt.Errorf("winpath: %s is no directory to list", p)
	case name == "" || name == "." || name == "..":
		return Path{}, fmt.Errorf("winpath: child %q: not a name", name)
	case strings.ContainsAny(name, `\/`) || strings.IndexByte(name, 0) >= 0:
		return Path{}, fmt.Errorf("winpath: child %q: contains a separator or NUL", name)
	case !utf8.ValidString(name):
		return Path{}, fmt.Errorf("winpath: child %q: not valid UTF-8", name)
	}
	c := Path{Kind: p.Kind, Volume: p.Volume, Elems: append(cloneElems(p.Elems), name)}
	q, err := Parse(c.String())
	if err != nil || !sameFields(c, q) {
		return Path{}, fmt.Errorf("winpath: child %q of %s has no spelling that names it", name, p)
	}
	return c, nil
}

func (p Path) join(names []string) (Path, error) {
	if p.Kind == KindDevice {
		for _, c := range names {
			if err := checkChars(c); err != nil {
				return Path{}, err
			}
		}
	} else if err := checkRaw(names, false); err != nil {
		return Path{}, err
	}
	norm, _, err := collapse(names, false)
	if err != nil {
		return Path{}, err
	}
	all := append(cloneElems(p.Elems), norm...)
	switch p.Kind {
	case KindDevice:
		// Re-read the whole component list as the \\.\ namespace would:
		// a name below \\.\C: makes a drive path, a name below a pipe
		// extends the pipe name.
		return classify(append(strings.Split(p.Volume, `\`), all...), false)
	case KindDrive:
		if dev := deviceForName(all[len(all)-1]); dev != "" {
			return Path{Kind: KindDevice, Volume: dev}, nil
		}
	}
	// Existing elements are already valid; finishFS re-checks only the
	// stream and length rules, which they pass.
	return finishFS(Path{Kind: p.Kind, Volume: p.Volume}, all, false)
}

func cloneElems(e []string) []string {
	if len(e) == 0 {
		return nil
	}
	return append([]string(nil), e...)
}
