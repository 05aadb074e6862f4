package aclplan

// Integrity: the labels the planner writes for a Low sandbox and the
// denial of the user's own FILE_DELETE_CHILD that goes with them (issue 10,
// finding 1; README, "Readings").

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/cordon-sandbox/cordon/internal/fsview"
	"github.com/cordon-sandbox/cordon/internal/winpath"
	"github.com/cordon-sandbox/cordon/ntsec"
)

// explicitLabel returns sd's explicit mandatory label, if it has one.
func explicitLabel(sd *ntsec.SecurityDescriptor) *ntsec.ACE {
	if sd == nil || sd.SACL == nil {
		return nil
	}
	for _, e := range sd.SACL.Entries {
		if e.Type == ntsec.MandatoryLabel && e.Flags&ntsec.Inherited == 0 {
			e := e
			return &e
		}
	}
	return nil
}

// lowEnough reports whether sd's label already lets a Low token write the
// object and passes that on to everything below it: a label at Low or
// lower, inherited by files and directories.
func lowEnough(sd *ntsec.SecurityDescriptor) bool {
	l, ok := sd.Label()
	if !ok {
		return false
	}
	rid, _ := l.SID.IntegrityLevel()
	return rid <= 0x1000 && l.Flags&dirInherit == dirInherit && l.Flags&ntsec.NoPropagateInherit == 0
}

// cutOffDirs walks the tree below root, never through a reparse point,
// and plans the user's FILE_DELETE_CHILD denial (userDenyDeleteChild)
// explicitly on every directory where the one the root passes on would not
// decide it: a protected DACL, or an allow that comes before the inherited
// deny (an explicit one, or one inherited from a nearer ancestor). Inside a
// Low-labelled root any Low sandbox could otherwise delete that
// directory's children under H2; the label reaches it all the same, since
// SACL and DACL inheritance are blocked separately. Each directory is
// checked as it will be after the plan: the access check runs on what it
// inherits from its parent as planned.
//
// It also returns the files with more than one name it met (Plan.Linked).
//
// In the elevated mode the denial is the sandbox group's
// (groupDenyDeleteChild) and the token whose FILE_DELETE_CHILD it must
// decide is the sandbox users' normal pass (sandboxNormalToken).
func cutOffDirs(ctx context.Context, in *Input, root fsview.Node) ([]Edit, []string, error) {
	user := userToken(in)
	deny := userDenyDeleteChild(in.User.SID, ntsec.ContainerInherit)
	reason := "inside a writable root, an allow the root's denial does not override: no deleting its contents through the user's own FILE_DELETE_CHILD"
	if in.Sandbox.enabled() {
		user, deny = sandboxNormalToken(in), groupDenyDeleteChild(in.Sandbox.Group)
		reason = "inside a writable root, an allow the root's denial does not override: no deleting its contents through the sandbox group's FILE_DELETE_CHILD"
	}
	var out []Edit
	var linked []string
	var walk func(dir string, after *ntsec.SecurityDescriptor) error
	walk = func(dir string, after *ntsec.SecurityDescriptor) error {
		if err := ctx.Err(); err != nil {
			return err
		}
		names, err := in.View.List(dir)
		if err != nil {
			return fmt.Errorf("reading %s: %w", dir, err)
		}
		dp, err := winpath.Parse(dir)
		if err != nil {
			return fmt.Errorf("reading %s: %w", dir, err)
		}
		for _, name := range names {
			cp, err := dp.Child(name)
			if err != nil {
				return fmt.Errorf("reading %s: %w", dir, err)
			}
			n, err := in.View.Stat(cp.String())
			if err != nil {
				if errors.Is(err, fsview.ErrNotExist) {
					continue
				}
				return fmt.Errorf("reading %s: %w", cp, err)
			}
			if n.MultiLinked() {
				linked = append(linked, n.Path)
			}
			if !n.IsDir() || n.IsReparse() || n.SD == nil {
				continue
			}
			sd := ntsec.Propagate(after, n.SD, ntsec.Directory)
			if ntsec.AccessCheck(sd, user, ntsec.FileDeleteChild, ntsec.Directory).Allowed {
				out = append(out, Edit{Op: AddACE, Path: n.Path, ACE: deny, Reason: reason})
				sd.DACL = WithACE(sd.DACL, deny)
			}
			if err := walk(n.Path, sd); err != nil {
				return err
			}
		}
		return nil
	}
	top := root.SD.Clone()
	top.DACL = WithACE(top.DACL, deny)
	if err := walk(strings.TrimSuffix(root.Path, `\`), top); err != nil {
		return nil, nil, fmt.Errorf("plan: walking root %s: %w", root.Path, err)
	}
	return out, linked, nil
}

// mediumLabel returns the edit that gives a protected object (a protected
// name, a resolved git directory entry, a placeholder: sd nil) an explicit
// Medium label, when the sandbox runs at Low. The root's Low label would
// otherwise reach it, and with it every Low process of the user — not only
// cordon's tokens, which its denies keep out — could write .git\hooks. With
// the label, integrity refuses every Low token every write right there,
// whatever the DACL and under every reading. None when the object already
// carries an explicit label at Medium or above with no-write-up.
func mediumLabel(in *Input, path string, sd *ntsec.SecurityDescriptor, dir bool) (Edit, bool) {
	if in.User.MediumIntegrity {
		return Edit{}, false
	}
	want := MediumLabel
	if !dir {
		want.Flags = 0
	}
	prev := explicitLabel(sd)
	if covers(prev, want) {
		return Edit{}, false
	}
	return Edit{Op: SetLabel, Path: path, ACE: want, Prev: prev, Reason: "Medium label on a protected object: no Low process may write it"}, true
}

// DenyReadLabel is the label that hides a deny-read directory from a Low
// sandbox: Medium, no-read-up and no-write-up, inherited below. The user's
// own Medium processes read it as before (windows-access-check.md section
// 3: no-read-up denies everything but FILE_EXECUTE and SYNCHRONIZE to a
// lower token). A file gets it without inheritance flags.
var DenyReadLabel = ntsec.ACE{Type: ntsec.MandatoryLabel, Flags: dirInherit, Mask: ntsec.LabelNoWriteUp | ntsec.LabelNoReadUp, SID: ntsec.MediumLabel}

// denyReadEdits labels each existing deny-read path of the policy with
// DenyReadLabel, when the sandbox runs at Low: a write-restricted token
// restricts no read, so integrity is the only thing that can. A path
// whose label the user may not set (no WRITE_OWNER) is returned in
// skipped, with why; a missing one is left out.
func denyReadEdits(in *Input) (edits []Edit, skipped []Skip, err error) {
	if in.User.MediumIntegrity || in.DenyReadUnenforced {
		return nil, nil, nil
	}
	user := userToken(in)
	for _, d := range in.Policy.DenyRead {
		n, err := in.View.Stat(d)
		if errors.Is(err, fsview.ErrNotExist) {
			continue
		}
		if err != nil {
			return nil, nil, fmt.Errorf("deny-read %s: %w", d, err)
		}
		if n.SD == nil {
			skipped = append(skipped, Skip{n.Path, "its security descriptor cannot be read, so its label cannot be set"})
			continue
		}
		if n.IsReparse() {
			skipped = append(skipped, Skip{n.Path, "a " + string(n.Type) + ": name its target instead"})
			continue
		}
		want := DenyReadLabel
		if !n.IsDir() {
			want.Flags = 0
		}
		prev := explicitLabel(n.SD)
		if covers(prev, want) {
			continue
		}
		if !ntsec.AccessCheck(n.SD, user, ntsec.WriteOwner, n.ObjectType()).Allowed {
			skipped = append(skipped, Skip{n.Path, "you may not set its label (no WRITE_OWNER)"})
			continue
		}
		edits = append(edits, Edit{Op: SetLabel, Path: n.Path, ACE: want, Prev: prev, Reason: "deny-read: no Low process may read it"})
	}
	return edits, skipped, nil
}

// covers reports whether the explicit label have already does what
// writing want would: a level at least want's, every policy bit of want,
// and want's inheritance.
func covers(have *ntsec.ACE, want ntsec.ACE) bool {
	if have == nil {
		return false
	}
	hr, _ := have.SID.IntegrityLevel()
	wr, _ := want.SID.IntegrityLevel()
	return hr >= wr && have.Mask&want.Mask == want.Mask && have.Flags&want.Flags == want.Flags
}
