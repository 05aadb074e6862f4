// Package cwdjunction gives a command run as a sandbox user a working
// directory it can open before the read grants on the real one's
// ancestors are in place: a junction under the sandbox user's own profile
// that points at the real working directory.
//
// Why: the elevated mode's read grants are written by a background helper
// (internal/readacl), and until it is done the sandbox user may be unable
// to read a component above the workspace (C:\Users\me). Traversal itself
// needs no right (the restricted token keeps SeChangeNotifyPrivilege, "bypass
// traverse checking"), but some programs — PowerShell among them — open
// every component of their current directory and fail at start. A junction
// in the sandbox user's profile has only components that user can read,
// and opening through it reaches the workspace, whose own grants are
// written synchronously before the command starts.
//
// The junction is an optimisation of start-up, never a grant: what the
// command may read and write is decided by the ACLs on the real files,
// which a junction does not change (NTFS checks access on the target).
// Its directory is writable by the sandbox user, so a command may re-point
// or replace it; Ensure therefore never trusts what it finds there, and
// Remove never follows it.
package cwdjunction

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"strings"

	"github.com/cordon-sandbox/cordon/internal/winpath"
)

// Dir is the directory below a sandbox user's profile that holds the
// junctions, one per working directory.
const Dir = `.cordon\cwd`

// ErrUnsupported is returned for a working directory a junction cannot
// point at: a junction (an NTFS mount point) reaches only local volumes,
// so a UNC or device path is run from its real path instead.
var ErrUnsupported = errors.New("a junction can point only at a directory on a local drive")

// Path is where the junction for cwd lives under profile: Dir, then the
// first 16 bytes of the SHA-256 of cwd's key (winpath.Path.Key, so two
// spellings NTFS treats as one directory share one junction), in hex.
// Both arguments are absolute Windows paths; the name carries no part of
// cwd, so no component of it (a reserved device name, a trailing dot, a
// stream) can reach the profile's namespace.
func Path(profile, cwd string) (string, error) {
	p, err := winpath.Parse(profile)
	if err != nil {
		return "", fmt.Errorf("sandbox profile %q: %w", profile, err)
	}
	target, err := Target(cwd)
	if err != nil {
		return "", err
	}
	sum := sha256.Sum256([]byte(target.Key()))
	j, err := p.Join(append(strings.Split(Dir, `\`), hex.EncodeToString(sum[:16]))...)
	if err != nil {
		return "", fmt.Errorf("junction below %q: %w", profile, err)
	}
	return j.String(), nil
}

// Target parses cwd as the target of a junction: an absolute path on a
// drive letter, with no alternate data stream.
func Target(cwd string) (winpath.Path, error) {
	t, err := winpath.Parse(cwd)
	if err != nil {
		return winpath.Path{}, fmt.Errorf("working directory %q: %w", cwd, err)
	}
	if t.Kind != winpath.KindDrive {
		return winpath.Path{}, fmt.Errorf("working directory %q: %w", cwd, ErrUnsupported)
	}
	if t.Stream != "" {
		return winpath.Path{}, fmt.Errorf("working directory %q names a stream, not a directory", cwd)
	}
	return t, nil
}

// SameTarget reports whether a junction whose print name is got points at
// want: the same directory by NTFS's name rules (letter case folded), with
// or without the \??\ or \\?\ prefix a writer may have used.
func SameTarget(got string, want winpath.Path) bool {
	for _, prefix := range []string{`\??\`, `\\?\`} {
		if rest, ok := strings.CutPrefix(got, prefix); ok {
			got = rest
			break
		}
	}
	g, err := winpath.Parse(got)
	if err != nil || g.Kind != winpath.KindDrive || g.Stream != "" {
		return false
	}
	return g.Key() == want.Key()
}
