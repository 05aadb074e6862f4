package winpath

import (
	"net/netip"
	"strings"
)

// Within reports whether p's object equals root or lies below it.
//
// Both must be of the same kind and on the same volume: drive letters and
// UNC server and share names compare case-insensitively (Windows resolves
// them case-insensitively), elements compare as NTFS compares names (see
// foldRune). Different drives are never within each other, and neither are
// a drive path and a UNC or device path that may reach the same file
// (\\localhost\C$\ws, \\?\GLOBALROOT\Device\HarddiskVolume3\ws, a subst
// drive): those aliases need the live system to prove, so a planner must
// handle them separately (see IsLoopbackUNC) rather than rely on the prefix.
//
// A device is only within itself: a device path has no directory
// structure this package can vouch for. A root with a stream contains
// nothing but itself.
func (p Path) Within(root Path) bool {
	_, ok := p.Rel(root)
	return ok
}

// Rel returns the elements of p's object below root, and whether p is
// Within root. The elements are empty when p's object is root itself.
func (p Path) Rel(root Path) ([]string, bool) {
	if p.Kind != root.Kind || !foldEqual(p.Volume, root.Volume) || len(p.Elems) < len(root.Elems) {
		return nil, false
	}
	for i, e := range root.Elems {
		if !foldEqual(p.Elems[i], e) {
			return nil, false
		}
	}
	rest := p.Elems[len(root.Elems):]
	if len(rest) > 0 && (p.Kind == KindDevice || root.Stream != "") {
		return nil, false
	}
	if root.Stream != "" && !foldEqual(p.Stream, root.Stream) {
		return nil, false
	}
	return cloneElems(rest), true
}

// IsLoopbackUNC reports whether p is a UNC path whose server is
// recognisably the local machine: localhost (and names under .localhost),
// any 127.0.0.0/8 address in any notation Windows' address parser accepts
// (127.0.0.1, 127.1, 2130706433, 0x7f.1), ::1 and IPv4-mapped forms, the
// ipv6-literal.net spelling 0--1.ipv6-literal.net, the unspecified
// addresses, and WebDAV forms such as localhost@SSL@443.
//
// Such a path reaches the local file system through the SMB (or WebDAV)
// redirector: \\localhost\C$\Users\me\ws\x is the same file as
// C:\Users\me\ws\x, yet it is not Within C:\Users\me\ws by path rules. A
// planner must therefore refuse (or separately resolve) loopback UNC paths
// instead of trusting prefix checks. The machine's own host name, its
// non-loopback addresses and DNS aliases also loop back but cannot be
// recognised from the string; callers should compare the server against
// them too.
func IsLoopbackUNC(p Path) bool {
	if p.Kind != KindUNC || !strings.HasPrefix(p.Volume, `\\`) {
		return false
	}
	server := p.Volume[2:]
	if i := strings.IndexByte(server, '\\'); i >= 0 {
		server = server[:i]
	}
	return isLoopbackHost(server)
}

func isLoopbackHost(h string) bool {
	if i := strings.IndexByte(h, '@'); i >= 0 { // WebDAV: host@SSL@port
		h = h[:i]
	}
	h = strings.ToLower(strings.TrimSuffix(h, "."))
	h = strings.TrimSuffix(strings.TrimPrefix(h, "["), "]")
	if h == "localhost" || strings.HasSuffix(h, ".localhost") {
		return true
	}
	if lit, ok := strings.CutSuffix(h, ".ipv6-literal.net"); ok {
		h = strings.ReplaceAll(strings.ReplaceAll(lit, "-", ":"), "s", "%")
	}
	if a, err := netip.ParseAddr(h); err == nil {
		a = a.Unmap()
		return a.IsLoopback() || a.IsUnspecified()
	}
	if v, ok := parseLegacyIPv4(h); ok {
		return v>>24 == 127 || v == 0
	}
	return false
}

// parseLegacyIPv4 parses the classic inet_addr notations Windows still
// accepts for host names: one to four parts, each decimal, octal (leading
// 0) or hex (0x), the last part filling the remaining bytes.
func parseLegacyIPv4(s string) (uint32, bool) {
	parts := strings.Split(s, ".")
	if len(parts) > 4 {
		return 0, false
	}
	var addr uint64
	for i, part := range parts {
		v, ok := parseInetNumber(part)
		if !ok {
			return 0, false
		}
		if i < len(parts)-1 {
			if v > 0xFF {
				return 0, false
			}
			addr |= v << (24 - 8*uint(i))
			continue
		}
		if v >= 1<<(32-8*uint(len(parts)-1)) {
			return 0, false
		}
		addr |= v
	}
	return uint32(addr), true
}

func parseInetNumber(s string) (uint64, bool) {
	base := uint64(10)
	switch {
	case len(s) > 2 && (s[:2] == "0x" || s[:2] == "0X"):
		base, s = 16, s[2:]
	case len(s) > 1 && s[0] == '0':
		base, s = 8, s[1:]
	}
	if s == "" {
		return 0, false
	}
	var v uint64
	for i := 0; i < len(s); i++ {
		var d uint64
		switch c := s[i]; {
		case '0' <= c && c <= '9':
			d = uint64(c - '0')
		case 'a' <= c && c <= 'f':
			d = uint64(c-'a') + 10
		case 'A' <= c && c <= 'F':
			d = uint64(c-'A') + 10
		default:
			return 0, false
		}
		if d >= base {
			return 0, false
		}
		v = v*base + d
		if v > 0xFFFFFFFF {
			return 0, false
		}
	}
	return v, true
}
