package ntfs

// Decoding of the structures Windows returns, and path spelling. It is
// portable so that it is tested on every OS.

import (
	"encoding/binary"
	"fmt"
	"strings"
	"unicode/utf16"

	"github.com/cordon-sandbox/cordon/internal/winpath"
)

// Reparse tags ([MS-FSCC] 2.1.2.1).
const (
	tagMountPoint = 0xA0000003 // IO_REPARSE_TAG_MOUNT_POINT: a junction (or a volume mount point)
	tagSymlink    = 0xA000000C // IO_REPARSE_TAG_SYMLINK
	// tagNameSurrogate is the bit that says the reparse point stands for
	// another named object (IsReparseTagNameSurrogate).
	tagNameSurrogate = 0x20000000
	// symlinkRelative is SYMLINK_FLAG_RELATIVE in a symlink's buffer.
	symlinkRelative = 1
)

// volumeRoot is the verbatim name of p's volume root, with its backslash.
func volumeRoot(p winpath.Path) (string, error) {
	switch p.Kind {
	case winpath.KindDrive:
		return `\\?\` + p.Volume + `\`, nil
	case winpath.KindUNC:
		return `\\?\UNC\` + strings.TrimPrefix(p.Volume, `\\`) + `\`, nil
	}
	return "", fmt.Errorf("%s is a device, not a file or directory", p)
}

// resolve parses path and returns its object (a stream suffix names the
// object it belongs to, as in fsview.Memory) and the verbatim \\?\ spelling
// to open it with: Win32 then rewrites nothing, so the object opened is the
// one winpath parsed, and paths longer than MAX_PATH work.
func resolve(path string) (winpath.Path, string, error) {
	p, err := winpath.Parse(path)
	if err != nil {
		return winpath.Path{}, "", err
	}
	p = p.Object()
	root, err := volumeRoot(p)
	if err != nil {
		return winpath.Path{}, "", err
	}
	if len(p.Elems) == 0 {
		return p, root, nil
	}
	var b strings.Builder
	b.WriteString(strings.TrimSuffix(root, `\`))
	for _, e := range p.Elems {
		b.WriteByte('\\')
		b.WriteString(e)
	}
	return p, b.String(), nil
}

// reparseTarget decodes a REPARSE_DATA_BUFFER ([MS-FSCC] 2.1.2) read from
// the link at link, and returns its tag and, for a junction or symlink, the
// target: the substitute name with the NT prefix \??\ turned back into a
// Win32 path, a relative symlink's target resolved against the link's
// directory, and the result in winpath's canonical spelling when it parses.
func reparseTarget(buf []byte, link winpath.Path) (tag uint32, target string, err error) {
	if len(buf) < 8 {
		return 0, "", fmt.Errorf("reparse buffer of %d bytes", len(buf))
	}
	tag = binary.LittleEndian.Uint32(buf)
	size := int(binary.LittleEndian.Uint16(buf[4:]))
	if 8+size > len(buf) {
		return tag, "", fmt.Errorf("reparse data of %d bytes in a buffer of %d", size, len(buf))
	}
	data := buf[8 : 8+size]
	var pathAt int
	switch tag {
	case tagMountPoint:
		pathAt = 8
	case tagSymlink:
		pathAt = 12
	default:
		return tag, "", nil
	}
	if len(data) < pathAt {
		return tag, "", fmt.Errorf("reparse tag 0x%08x: %d bytes of data", tag, len(data))
	}
	off, n := int(binary.LittleEndian.Uint16(data)), int(binary.LittleEndian.Uint16(data[2:]))
	names := data[pathAt:]
	if off%2 != 0 || n%2 != 0 || off+n > len(names) {
		return tag, "", fmt.Errorf("reparse tag 0x%08x: substitute name at %d+%d outside %d bytes", tag, off, n, len(names))
	}
	sub := utf16Bytes(names[off : off+n])
	if sub == "" {
		return tag, "", fmt.Errorf("reparse tag 0x%08x: empty substitute name", tag)
	}
	if tag == tagSymlink && binary.LittleEndian.Uint32(data[8:])&symlinkRelative != 0 {
		dir, ok := link.Parent()
		if !ok {
			return tag, sub, nil
		}
		return tag, canonical(dir.String() + `\` + sub), nil
	}
	return tag, canonical(win32Path(sub)), nil
}

// win32Path turns an NT path from a reparse buffer into the Win32 path that
// names the same object: \??\C:\x is C:\x, \??\UNC\srv\share is
// \\srv\share, and any other \??\ name (\??\Volume{guid}\x) keeps its
// verbatim \\?\ form.
func win32Path(nt string) string {
	rest, ok := strings.CutPrefix(nt, `\??\`)
	if !ok {
		return nt
	}
	if unc, ok := strings.CutPrefix(rest, `UNC\`); ok {
		return `\\` + unc
	}
	if len(rest) >= 2 && rest[1] == ':' {
		return rest
	}
	return `\\?\` + rest
}

func canonical(p string) string {
	if wp, err := winpath.Parse(p); err == nil {
		return wp.String()
	}
	return p
}

func utf16Bytes(b []byte) string {
	u := make([]uint16, len(b)/2)
	for i := range u {
		u[i] = binary.LittleEndian.Uint16(b[2*i:])
	}
	return string(utf16.Decode(u))
}

// FILE_FULL_DIR_INFO layout ([MS-FSCC] 2.4.14).
const (
	fullDirNameLen = 60
	fullDirName    = 68
)

// dirNames appends the names in a buffer of FILE_FULL_DIR_INFO entries, as
// GetFileInformationByHandleEx(FileFullDirectoryInfo) fills it, leaving out
// "." and "..".
func dirNames(buf []byte, names []string) ([]string, error) {
	for at := 0; ; {
		if at+fullDirName > len(buf) {
			return names, fmt.Errorf("directory entry at %d overruns the %d-byte buffer", at, len(buf))
		}
		e := buf[at:]
		next := int(binary.LittleEndian.Uint32(e))
		n := int(binary.LittleEndian.Uint32(e[fullDirNameLen:]))
		if n%2 != 0 || fullDirName+n > len(e) {
			return names, fmt.Errorf("directory entry at %d: name of %d bytes overruns the buffer", at, n)
		}
		if name := utf16Bytes(e[fullDirName : fullDirName+n]); name != "." && name != ".." {
			names = append(names, name)
		}
		if next == 0 {
			return names, nil
		}
		if next < fullDirName {
			return names, fmt.Errorf("directory entry at %d: next entry offset %d", at, next)
		}
		at += next
	}
}

// trimVerbatim turns a final path as GetFinalPathNameByHandle spells it
// (\\?\C:\dir, \\?\UNC\server\share\dir) into its usual DOS form (C:\dir,
// \\server\share\dir), which winpath parses into the same object.
func trimVerbatim(s string) string {
	switch {
	case strings.HasPrefix(s, `\\?\UNC\`):
		return `\\` + s[len(`\\?\UNC\`):]
	case strings.HasPrefix(s, `\\?\`) && len(s) >= 6 && s[5] == ':':
		return s[len(`\\?\`):]
	}
	return s // a volume GUID path or other form: left for winpath to judge
}
