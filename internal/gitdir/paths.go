package gitdir

import (
	"path"
	"strings"

	"github.com/cordon-sandbox/cordon/internal/winpath"
)

// Paths are the path rules of one platform, as far as the resolver needs
// them. All paths it returns are absolute and in the platform's canonical
// spelling.
type Paths interface {
	// Abs returns the absolute path that p names when read in directory
	// dir (p itself when it is absolute), as its volume root ("/",
	// `C:\`, `\\server\share\`) and the names below it. Where the platform
	// resolves ".." lexically (Windows) it is already applied; where the
	// kernel resolves it against the real directory (POSIX: "link/.." is
	// the parent of the link's target) it is kept for the resolver to
	// apply. ok is false when p names nothing the resolver can follow: an
	// empty path, a relative path with no dir, a Windows path relative to
	// a drive's current directory, a device or a stream.
	Abs(dir, p string) (root string, names []string, ok bool)
	// Join returns the path of name inside directory dir.
	Join(dir, name string) string
	// Dir returns the directory containing p, or p itself for a root.
	Dir(p string) string
	// Within reports whether p equals root or lies below it.
	Within(p, root string) bool
}

// POSIX are the path rules of Linux and other Unix systems: one root "/",
// '/' as the only separator, names compared byte for byte.
var POSIX Paths = posixPaths{}

// Windows are Win32's path rules, from package winpath: drive letter
// (`C:\x`) and UNC (`\\server\share\x`) paths, '\' and '/' both
// separators, ".." and trailing dots and spaces removed lexically as
// Win32 removes them before the file system sees the path, names compared
// case-insensitively.
var Windows Paths = windowsPaths{}

type posixPaths struct{}

func (posixPaths) Abs(dir, p string) (string, []string, bool) {
	if p == "" || strings.IndexByte(p, 0) >= 0 {
		return "", nil, false
	}
	if p[0] != '/' {
		if dir == "" || dir[0] != '/' {
			return "", nil, false
		}
		p = dir + "/" + p
	}
	var names []string
	for _, n := range strings.Split(p, "/") {
		if n != "" && n != "." {
			names = append(names, n)
		}
	}
	return "/", names, true
}

func (posixPaths) Join(dir, name string) string {
	if strings.HasSuffix(dir, "/") {
		return dir + name
	}
	return dir + "/" + name
}

func (posixPaths) Dir(p string) string { return path.Dir(p) }

func (posixPaths) Within(p, root string) bool {
	p, root = path.Clean(p), path.Clean(root)
	switch {
	case p == root:
		return true
	case root == "/":
		return strings.HasPrefix(p, "/")
	}
	return strings.HasPrefix(p, root+"/")
}

type windowsPaths struct{}

func isWinSep(c byte) bool { return c == '\\' || c == '/' }

func (w windowsPaths) Abs(dir, p string) (string, []string, bool) {
	switch {
	case p == "":
		return "", nil, false
	case strings.HasPrefix(p, `\??\`) || len(p) >= 2 && isWinSep(p[0]) && isWinSep(p[1]):
		// \??\C:\x (a junction's stored target), \\?\..., \\server\share.
	case len(p) >= 3 && p[1] == ':' && isWinSep(p[2]):
		// C:\x
	case len(p) >= 2 && p[1] == ':':
		// C:x is relative to drive C's current directory, a per-process
		// setting the resolver cannot see.
		return "", nil, false
	case isWinSep(p[0]):
		// \x is below the root of the current drive: dir's.
		root, _, ok := w.Abs("", dir)
		if !ok {
			return "", nil, false
		}
		p = root + p[1:]
	default:
		if dir == "" {
			return "", nil, false
		}
		p = dir + `\` + p
	}
	wp, err := winpath.Parse(p)
	if err != nil || wp.Kind == winpath.KindDevice || wp.Stream != "" {
		return "", nil, false
	}
	return wp.Volume + `\`, wp.Elems, true
}

// Join spells the result with winpath's canonical String, which falls
// back to the verbatim \\?\ form when Win32 would rewrite the plain one:
// a name ending in a dot or a space ("sub ") is a directory of its own
// when a separator follows it, but as the last component of a plain path
// Win32 trims it to "sub", a different directory.
func (windowsPaths) Join(dir, name string) string {
	wp, err := winpath.Parse(dir)
	if err != nil {
		return dir + `\` + name // not from Abs: Lstat will reject it
	}
	wp.Elems = append(wp.Elems, name)
	return wp.String()
}

func (windowsPaths) Dir(p string) string {
	wp, err := winpath.Parse(p)
	if err != nil {
		return p
	}
	parent, ok := wp.Parent()
	if !ok {
		return p
	}
	if len(parent.Elems) == 0 {
		return parent.Volume + `\` // a volume root, spelled as Abs spells it
	}
	return parent.String()
}

func (windowsPaths) Within(p, root string) bool {
	wp, err := winpath.Parse(p)
	if err != nil {
		return false
	}
	wr, err := winpath.Parse(root)
	if err != nil {
		return false
	}
	return wp.Within(wr)
}

// build joins names below root with the platform's rules.
func build(paths Paths, root string, names []string) string {
	p := root
	for _, n := range names {
		p = paths.Join(p, n)
	}
	return p
}

// clean returns p as an absolute path in canonical spelling, or false.
// POSIX ".." is applied lexically here, which is right only for paths
// whose components are real directories (canonical roots).
func clean(paths Paths, p string) (string, bool) {
	root, names, ok := paths.Abs("", p)
	if !ok {
		return "", false
	}
	var out []string
	for _, n := range names {
		if n == ".." {
			if len(out) > 0 {
				out = out[:len(out)-1]
			}
			continue
		}
		out = append(out, n)
	}
	return build(paths, root, out), true
}
