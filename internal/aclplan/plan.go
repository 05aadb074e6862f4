// Package aclplan computes the ACL edits that make a Windows file system match
// a sandbox policy, and proves them with the ntsec access-check model before
// anything touches a disk.
//
// A plan is a function of (policy, capability SIDs, the current state of
// the file system): the smallest list of edits, in the order to apply them.
// It reads only the writable roots, the protected names inside them and the
// directories the world-writable audit visits — O(roots), never O(files) —
// and it leaves out every ACE that is already in place, so planning an
// unchanged tree a second time gives no edits at all. Inheritance does the
// rest: an OI|CI ACE on a root reaches every file below it, as ntfs.Apply
// propagates it once when the edit is applied (Apply here models that).
package aclplan

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"

	"github.com/cordon-sandbox/cordon/internal/fsview"
	"github.com/cordon-sandbox/cordon/internal/winpath"
	"github.com/cordon-sandbox/cordon/ntsec"
	"github.com/cordon-sandbox/cordon/policy"
)

// Op is what an edit does.
type Op string

const (
	// AddACE adds ACE to the explicit part of the object's DACL, in
	// canonical position (denies first, then allows).
	AddACE Op = "add"
	// RemoveACE removes the explicit ACEs of the object equal to ACE.
	RemoveACE Op = "remove"
	// CreateDir creates a missing protected name as an empty directory,
	// owned by the user, carrying ACE (a deny): NTFS has no way to deny the
	// creation of one name, so a placeholder that the sandbox may neither
	// write, delete nor rename is what keeps, say, a fresh .git with a
	// planted hook or core.fsmonitor from appearing in the workspace.
	CreateDir Op = "create-dir"
	// SetLabel makes ACE (a mandatory label) the object's explicit label
	// when its explicit label is still Prev (nil: none), and leaves the
	// object alone otherwise: a compare-and-swap, so that undoing it never
	// overwrites a label someone set since.
	SetLabel Op = "label"
	// RemoveLabel removes the object's explicit label if it is still ACE.
	RemoveLabel Op = "remove-label"
)

// Edit is one change to one object.
type Edit struct {
	Op    Op
	Path  string
	ACE   ntsec.ACE
	Owner ntsec.SID // CreateDir only
	// Prev is the explicit label SetLabel replaces (nil: none).
	Prev   *ntsec.ACE
	Reason string
}

// MarshalJSON writes {"op","path","sid","type","mask","flags","ace","reason"}.
func (e Edit) MarshalJSON() ([]byte, error) {
	typ := "allow"
	switch e.ACE.Type {
	case ntsec.AccessDenied:
		typ = "deny"
	case ntsec.MandatoryLabel:
		typ = "label"
	}
	prev := ""
	if e.Op == SetLabel {
		prev = "none"
		if e.Prev != nil {
			prev = e.Prev.SDDL()
		}
	}
	return json.Marshal(struct {
		Op     Op     `json:"op"`
		Path   string `json:"path"`
		SID    string `json:"sid"`
		Type   string `json:"type"`
		Mask   string `json:"mask"`
		Flags  string `json:"flags"`
		ACE    string `json:"ace"`
		Prev   string `json:"prev,omitempty"`
		Reason string `json:"reason"`
	}{e.Op, e.Path, e.ACE.SID.String(), typ, e.ACE.Mask.String(), e.ACE.Flags.SDDL(), e.ACE.SDDL(), prev, e.Reason})
}

func (e Edit) String() string {
	if e.Op == RemoveDir {
		return fmt.Sprintf("%s %s (%s)", e.Op, e.Path, e.Reason)
	}
	return fmt.Sprintf("%s %s %s (%s)", e.Op, e.Path, e.ACE.SDDL(), e.Reason)
}

// Input is what a plan is computed from.
type Input struct {
	Policy *policy.Resolved // resolved with policy.Windows rules
	SIDs   SIDs
	// User is the user the sandbox runs as; a zero SID means the owner of
	// the cwd.
	User  User
	View  fsview.View
	Audit AuditConfig
	// Unproven lets Make return a plan for a view that is not in memory,
	// which it cannot prove. Only a backend that proves the plan itself,
	// against the descriptors it applied, may set it.
	Unproven bool
	// Token, when set, builds the sandbox token the proof checks for a set
	// of capability SIDs, in place of SandboxToken's assumed one. The
	// Windows backend sets it to restrictedtoken.Model over the caller's
	// live token, so the proof is about the token that will really run.
	Token func(caps ...ntsec.SID) (*ntsec.Token, error)
	// Readings are the readings of the kernel's access check the proof
	// must hold under (ntsec.Reading): a node writable under any one of
	// them is a violation. Nil means every reading still open
	// (ntsec.OpenReadings). A plan for a Medium-integrity sandbox
	// (User.MediumIntegrity) holds under H1 only: outside the roots, the
	// user's own FILE_DELETE_CHILD is the sandbox's under H2.
	Readings []ntsec.Reading
	// Git are the git directories the roots' git would use (GitDirs): kept
	// as the protected names are.
	Git GitDirs
	// DenyReadUnenforced says the backend runs without the deny-read
	// labels (a Medium-integrity run, best effort): the planner writes
	// none and the proof does not ask for them.
	DenyReadUnenforced bool
	// DenyReadExempt are deny-read paths the proof does not hold to
	// deny-read: those the plan could not hide (Plan.DenyReadSkipped),
	// which Make exempts in its own proof and a backend on best effort
	// passes back for its proof of the applied plan.
	DenyReadExempt []string
	// Guards are directories outside the roots that must stay undeletable
	// even for a Medium-integrity sandbox under H2 — cordon's state
	// directory: each existing one gets the user's FILE_DELETE_CHILD
	// denied, inherited by the directories below it.
	Guards []string
	// Sandbox, when its Group is set, plans for the elevated mode: the
	// command runs as one of Sandbox.Users, not as User, who is then the
	// real user the workspace belongs to. Each root is granted to the
	// group as well as to its capability SID, every protected object's
	// deny names the group too, each root gets the ownership ACEs
	// (ownershipEdits) and the group's FILE_DELETE_CHILD denied in place
	// of the user's, and the proof checks the sandbox users' tokens
	// (Sandbox.Token, else ElevatedToken; Token is not used for them) and
	// what they would create. The zero value plans for the
	// restricted-token backend, exactly as before.
	Sandbox SandboxUsers
}

// Plan is the result: edits in order, what the audit saw, and the proof.
type Plan struct {
	Edits []Edit `json:"edits"`
	// Linked are the files with more than one name that a cold root's
	// walk found: their descriptors are left as they are, since another
	// name may lie outside every root, and the proof holds them to what it
	// holds objects outside the roots to.
	Linked []string `json:"linked,omitempty"`
	// DenyReadSkipped are deny-read paths the plan could not hide, and
	// why: a backend runs without them only on best effort.
	DenyReadSkipped []Skip      `json:"deny_read_skipped,omitempty"`
	Audit           AuditReport `json:"audit"`
	Proof           Proof       `json:"proof"`
	User            User        `json:"-"`
}

// ErrProof is returned, wrapped, when a plan fails its proof: such a plan is
// never returned for application.
var ErrProof = errors.New("plan fails its proof")

// Make computes the plan. Errors name the path or field at fault; a plan
// whose proof fails is an error wrapping ErrProof (the failed plan is
// returned alongside for diagnosis, never for application).
func Make(ctx context.Context, in Input) (*Plan, error) {
	pl, err := compute(ctx, &in)
	if err != nil {
		return nil, err
	}
	mem, ok := in.View.(*fsview.Memory)
	if !ok {
		if !in.Unproven {
			return nil, fmt.Errorf("plan: the view is not in memory, so the plan cannot be proven here (Input.Unproven is for backends that prove it themselves)")
		}
		pl.Proof = Proof{Skipped: "the view is not in memory: the backend proves the plan against what it applied"}
		return pl, nil
	}
	pl.Proof, err = Prove(mem, in, pl.Edits)
	if err != nil {
		return nil, err
	}
	if !pl.Proof.OK {
		return pl, fmt.Errorf("%w: %s", ErrProof, pl.Proof.Summary())
	}
	return pl, nil
}

func compute(ctx context.Context, in *Input) (*Plan, error) {
	r := in.Policy
	if r == nil {
		return nil, fmt.Errorf("plan: no policy")
	}
	if in.View == nil {
		return nil, fmt.Errorf("plan: no file-system view")
	}
	switch r.Mode {
	case policy.WorkspaceWrite:
		if in.SIDs.Workspace.IsZero() || in.SIDs.Generic.IsZero() {
			return nil, fmt.Errorf("plan: workspace-write needs the workspace and generic capability SIDs")
		}
	case policy.ReadOnly:
		if in.SIDs.ReadOnly.IsZero() {
			return nil, fmt.Errorf("plan: read-only needs the read-only capability SID")
		}
	}
	cwd, err := statDir(in.View, r.Cwd, "cwd")
	if err != nil {
		return nil, err
	}
	if in.User.SID.IsZero() {
		in.User.SID = cwd.SD.Owner
	}
	if err := in.Sandbox.check(in.User.SID); err != nil {
		return nil, err
	}
	elevated := in.Sandbox.enabled()
	// On Windows a workspace inside a temp directory cannot be kept from
	// other sandboxes: the generic SID's grant on the temp directory, held
	// by every workspace-write token, reaches it through inheritance, and
	// a deny for that SID would lock out the workspace's own token too.
	for _, a := range r.Roots {
		for _, b := range r.Roots {
			if a.Kind == policy.RootTemp && b.Kind != policy.RootTemp && policy.Windows.Within(b.Path, a.Path) {
				return nil, fmt.Errorf("%s root %s lies inside temp root %s, where every other sandbox could write it: move it, point TEMP/TMP elsewhere, or exclude the temp directories", b.Kind, b.Path, a.Path)
			}
		}
	}
	pl := &Plan{User: in.User}
	var denies, allows []Edit
	for _, root := range r.Roots {
		node := cwd
		if root.Kind != policy.RootCwd {
			if node, err = statDir(in.View, root.Path, string(root.Kind)+" root"); err != nil {
				return nil, err
			}
		}
		sid := in.SIDs.forRoot(root.Kind)
		d, reason := userDenyDeleteChild(in.User.SID, ntsec.ContainerInherit), "no deleting or renaming through the user's own FILE_DELETE_CHILD in the "+string(root.Kind)+" root"
		if elevated {
			// The sandbox is not the user: the user's own
			// FILE_DELETE_CHILD is none of its business, its group's is.
			d, reason = groupDenyDeleteChild(in.Sandbox.Group), "no deleting or renaming through the sandbox group's FILE_DELETE_CHILD in the "+string(root.Kind)+" root"
		}
		if !hasACE(node.SD, d) {
			denies = append(denies, Edit{Op: AddACE, Path: node.Path, ACE: d, Reason: reason})
			// A cold root: inheritance is about to rewrite its whole
			// tree anyway, so reading the tree costs no more.
			es, linked, err := cutOffDirs(ctx, in, node)
			if err != nil {
				return nil, err
			}
			denies = append(denies, es...)
			pl.Linked = append(pl.Linked, linked...)
		}
		for _, name := range r.Protected {
			es, err := protectEdits(in, root, name)
			if err != nil {
				return nil, err
			}
			denies = append(denies, es...)
		}
		want := ntsec.ACE{Type: ntsec.AccessAllowed, Flags: dirInherit, Mask: AllowMask, SID: sid}
		if !hasACE(node.SD, want) {
			allows = append(allows, Edit{Op: AddACE, Path: node.Path, ACE: want, Reason: "writable root (" + string(root.Kind) + ")"})
		}
		if elevated {
			// The normal pass of the sandbox user's token needs a grant
			// too: the group's, with the same rights.
			g := ntsec.ACE{Type: ntsec.AccessAllowed, Flags: dirInherit, Mask: AllowMask, SID: in.Sandbox.Group}
			if !hasACE(node.SD, g) {
				allows = append(allows, Edit{Op: AddACE, Path: node.Path, ACE: g, Reason: "writable root for the sandbox group (" + string(root.Kind) + ")"})
			}
			allows = append(allows, ownershipEdits(in, node.Path, node.SD, string(root.Kind))...)
		}
		if !in.User.MediumIntegrity && !lowEnough(node.SD) {
			allows = append(allows, Edit{Op: SetLabel, Path: node.Path, ACE: LowLabel, Prev: explicitLabel(node.SD), Reason: "Low integrity label: writable by the Low sandbox token (" + string(root.Kind) + " root)"})
		}
	}
	for _, g := range in.Guards {
		n, err := in.View.Stat(g)
		if errors.Is(err, fsview.ErrNotExist) {
			continue
		}
		if err != nil {
			return nil, fmt.Errorf("guarded directory %s: %w", g, err)
		}
		if !n.IsDir() || n.IsReparse() || n.SD == nil {
			return nil, fmt.Errorf("guarded directory %s is a %s or unreadable: refusing to plan around it", g, n.Type)
		}
		if d := userDenyDeleteChild(in.User.SID, ntsec.ContainerInherit); !hasACE(n.SD, d) {
			denies = append(denies, Edit{Op: AddACE, Path: n.Path, ACE: d, Reason: "guarded directory: no deleting its contents through the user's own FILE_DELETE_CHILD"})
		}
	}
	git, err := gitEdits(in)
	if err != nil {
		return nil, err
	}
	denies = append(denies, git...)
	hide, skipped, err := denyReadEdits(in)
	if err != nil {
		return nil, err
	}
	denies = append(denies, hide...)
	pl.DenyReadSkipped = skipped
	for _, s := range skipped {
		in.DenyReadExempt = append(in.DenyReadExempt, s.Path)
	}
	audit, err := runAudit(ctx, in)
	if err != nil {
		return nil, err
	}
	pl.Audit = audit.report
	pl.Edits = dedupe(append(append(append(pl.Edits, denies...), audit.edits...), allows...))
	return pl, nil
}

func (s SIDs) forRoot(k policy.RootKind) ntsec.SID {
	if k == policy.RootCwd || k == policy.RootOwnTemp {
		return s.Workspace
	}
	return s.Generic
}

// statDir returns the directory at path, refusing a missing path, a file
// and a reparse point: a root that is a junction would make the plan grant
// its target, which the policy never named.
func statDir(v fsview.View, path, what string) (fsview.Node, error) {
	n, err := v.Stat(path)
	if err != nil {
		if errors.Is(err, fsview.ErrNotExist) {
			return n, fmt.Errorf("%s %s does not exist", what, path)
		}
		return n, fmt.Errorf("%s %s: %w", what, path, err)
	}
	if n.IsReparse() {
		return n, fmt.Errorf("%s %s is a %s to %s: cordon does not follow reparse points; use the target's own path", what, path, n.Type, n.Target)
	}
	if !n.IsDir() {
		return n, fmt.Errorf("%s %s is a %s, not a directory", what, path, n.Type)
	}
	if n.SD == nil {
		return n, fmt.Errorf("%s %s: its security descriptor could not be read", what, path)
	}
	return n, nil
}

// protectEdits returns the edits that keep root\name unwritable for the SID
// of every root that covers it (a workspace inside the temp directory is
// covered by both), or none when the denies are already in place.
func protectEdits(in *Input, root policy.Root, name string) ([]Edit, error) {
	v, r, sids, owner := in.View, in.Policy, in.SIDs, in.User.SID
	rp, err := winpath.Parse(root.Path)
	if err != nil {
		return nil, fmt.Errorf("root %s: %w", root.Path, err)
	}
	p, err := rp.Join(name)
	if err != nil {
		return nil, fmt.Errorf("protected name %q: %w", name, err)
	}
	reason := "protected name " + name + " in " + string(root.Kind) + " root"
	var covering []ntsec.SID
	for _, c := range r.RootsOf(p.String()) {
		s := sids.forRoot(c.Kind)
		if !containsSID(covering, s) {
			covering = append(covering, s)
		}
	}
	n, err := v.Stat(p.String())
	missing := errors.Is(err, fsview.ErrNotExist)
	if err != nil && !missing {
		return nil, fmt.Errorf("protected name %s: %w", p, err)
	}
	if !missing && n.SD == nil {
		return nil, fmt.Errorf("protected name %s: its security descriptor could not be read", p)
	}
	if !missing && n.IsReparse() {
		// git follows a .git junction or symlink: a target inside a
		// writable root would leave the repository writable under another
		// name.
		if _, inRoot := r.RootOf(n.Target); inRoot {
			return nil, fmt.Errorf("protected name %s is a %s to %s, inside a writable root: the repository would stay writable through its target", p, n.Type, n.Target)
		}
	}
	if in.Sandbox.enabled() {
		covering = append(covering, in.Sandbox.Group)
	}
	var out []Edit
	for i, sid := range covering {
		deny := ntsec.ACE{Type: ntsec.AccessDenied, Flags: dirInherit, Mask: DenyWriteMask, SID: sid}
		switch {
		case missing && i == 0:
			out = append(out, Edit{Op: CreateDir, Path: p.String(), ACE: deny, Owner: owner, Reason: reason + " (missing: placeholder)"})
		case missing:
			out = append(out, Edit{Op: AddACE, Path: p.String(), ACE: deny, Reason: reason})
		default:
			if n.Type == fsview.File {
				deny.Flags = 0 // a gitfile or other file has nothing to pass ACEs on to
			}
			if !hasACE(n.SD, deny) {
				out = append(out, Edit{Op: AddACE, Path: n.Path, ACE: deny, Reason: reason})
			}
		}
	}
	if missing {
		if e, ok := mediumLabel(in, p.String(), nil, true); ok {
			out = append(out, e)
		}
	} else if e, ok := mediumLabel(in, n.Path, n.SD, n.IsDir()); ok && !n.IsReparse() {
		out = append(out, e)
	}
	return out, nil
}

func containsSID(list []ntsec.SID, s ntsec.SID) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

// hasACE reports whether sd's DACL already does what adding want would: an
// explicit ACE of the same type and SID with at least want's rights and
// inheritance flags, effective on the object, and — for a deny — not
// preceded by an allow for the same SID, which would win over it.
func hasACE(sd *ntsec.SecurityDescriptor, want ntsec.ACE) bool {
	if sd == nil || sd.DACL == nil {
		return false
	}
	for _, e := range sd.DACL.Entries {
		if e.SID != want.SID {
			continue
		}
		if e.Flags&ntsec.Inherited == 0 && e.Type == want.Type && e.Effective() &&
			e.Mask&want.Mask == want.Mask && e.Flags&want.Flags == want.Flags {
			return true
		}
		if want.Type == ntsec.AccessDenied && e.Type == ntsec.AccessAllowed && e.Effective() {
			return false
		}
	}
	return false
}
