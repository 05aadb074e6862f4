package aclplan

import (
	"errors"
	"fmt"

	"github.com/cordon-sandbox/cordon/internal/fsview"
	"github.com/cordon-sandbox/cordon/internal/winpath"
	"github.com/cordon-sandbox/cordon/ntsec"
)

// GitDirs are the git directories the roots' git would use, as the
// resolver both backends share (internal/gitdir) found them: .git as a
// directory, a symbolic link or a gitfile, the directory a gitfile or a
// worktree's commondir names, a bare repository at a root. Every path is
// absolute and lies inside a root. The planner keeps them as the protected
// names are kept; the names alone would leave a gitfile's target, or a
// root that is no repository yet, open to the sandbox.
type GitDirs struct {
	// Protect are existing entries kept as they are: a directory with
	// everything below it, a file, a link's own object.
	Protect []string `json:"protect,omitempty"`
	// Pins are directories between a root and a protected entry: their
	// contents stay writable, but the sandbox must not rename or remove
	// them and build a fresh copy of the path below.
	Pins []string `json:"pins,omitempty"`
	// Guards are missing paths the sandbox must not create: each becomes
	// a placeholder directory, as a missing protected name does (for a
	// root that is no repository, <root>\HEAD: an empty directory named
	// HEAD is no valid HEAD, so the root never becomes a bare repository).
	Guards []string `json:"guards,omitempty"`
}

// gitEdits plans the denies that keep in.Git as it is, for the capability
// SID of every root that covers each path.
func gitEdits(in *Input) ([]Edit, error) {
	r := in.Policy
	var out []Edit
	deny := func(p string, flags ntsec.ACEFlags, mask ntsec.AccessMask) []ntsec.ACE {
		var aces []ntsec.ACE
		seen := map[ntsec.SID]bool{}
		for _, c := range r.RootsOf(p) {
			if s := in.SIDs.forRoot(c.Kind); !seen[s] {
				seen[s] = true
				aces = append(aces, ntsec.ACE{Type: ntsec.AccessDenied, Flags: flags, Mask: mask, SID: s})
			}
		}
		if g, ok := groupDeny(in, flags, mask); ok {
			aces = append(aces, g)
		}
		return aces
	}
	protect := func(p, reason string) error {
		n, err := in.View.Stat(p)
		if errors.Is(err, fsview.ErrNotExist) {
			return nil // gone since the resolver looked: nothing to keep
		}
		if err != nil {
			return fmt.Errorf("git directory entry %s: %w", p, err)
		}
		if n.SD == nil {
			return fmt.Errorf("git directory entry %s: its security descriptor could not be read", p)
		}
		flags := ntsec.ACEFlags(0)
		if n.IsDir() && !n.IsReparse() {
			flags = dirInherit
		}
		for _, d := range deny(n.Path, flags, DenyWriteMask) {
			if !hasACE(n.SD, d) {
				out = append(out, Edit{Op: AddACE, Path: n.Path, ACE: d, Reason: reason})
			}
		}
		if e, ok := mediumLabel(in, n.Path, n.SD, n.IsDir()); ok && !n.IsReparse() {
			out = append(out, e)
		}
		return nil
	}
	for _, p := range in.Git.Protect {
		if err := protect(p, "git directory (resolved)"); err != nil {
			return nil, err
		}
	}
	for _, p := range in.Git.Guards {
		n, err := in.View.Stat(p)
		if err == nil && n.SD != nil {
			// It exists now: keep it as it is.
			if err := protect(p, "git guard (exists)"); err != nil {
				return nil, err
			}
			continue
		}
		if !errors.Is(err, fsview.ErrNotExist) {
			return nil, fmt.Errorf("git guard %s: %w", p, err)
		}
		for i, d := range deny(p, dirInherit, DenyWriteMask) {
			if i == 0 {
				out = append(out, Edit{Op: CreateDir, Path: p, ACE: d, Owner: in.User.SID, Reason: "git guard (missing: placeholder)"})
			} else {
				out = append(out, Edit{Op: AddACE, Path: p, ACE: d, Reason: "git guard"})
			}
		}
		if e, ok := mediumLabel(in, p, nil, true); ok {
			out = append(out, e)
		}
	}
	for _, p := range in.Git.Pins {
		n, err := in.View.Stat(p)
		if errors.Is(err, fsview.ErrNotExist) {
			continue
		}
		if err != nil || n.SD == nil {
			return nil, fmt.Errorf("git pin %s: %v", p, err)
		}
		for _, d := range deny(n.Path, 0, ntsec.Delete) {
			if !hasACE(n.SD, d) {
				out = append(out, Edit{Op: AddACE, Path: n.Path, ACE: d, Reason: "git pin: not to be renamed or removed"})
			}
		}
	}
	return out, nil
}

// dedupe drops an edit equal to an earlier one (same op, object and ACE):
// a .git found by the resolver is also a protected name.
func dedupe(edits []Edit) []Edit {
	seen := map[string]bool{}
	out := edits[:0]
	for _, e := range edits {
		k := e.Path
		if p, err := winpath.Parse(e.Path); err == nil {
			k = p.Key()
		}
		k = string(e.Op) + "\x00" + k + "\x00" + e.ACE.SDDL()
		if seen[k] {
			continue
		}
		seen[k] = true
		out = append(out, e)
	}
	return out
}

// gitKeys are the comparison keys of the paths the proof treats as
// protected (Protect and Guards) and of the pins.
func gitKeys(g GitDirs) (protected, pins map[string]bool) {
	protected, pins = map[string]bool{}, map[string]bool{}
	for _, list := range [][]string{g.Protect, g.Guards} {
		for _, p := range list {
			if wp, err := winpath.Parse(p); err == nil {
				protected[wp.Key()] = true
			}
		}
	}
	for _, p := range g.Pins {
		if wp, err := winpath.Parse(p); err == nil {
			pins[wp.Key()] = true
		}
	}
	return protected, pins
}
