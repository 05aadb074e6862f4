// Package readacl plans the read grants of cordon's Windows elevated mode,
// and proves them. There the command runs as a local sandbox user
// (CordonSandboxOffline or CordonSandboxOnline, both members of the group
// CordonSandboxUsers), which reads only what is granted: the system
// directories and toolchains (through Users, as a rule: then nothing is
// written), the cwd, the writable roots, and the real user's profile
// children except the secret folders, the policy's deny-read paths
// (policy.DefaultDenyReadWindows plus the policy's own deny_read).
//
// A grant is one inheritable (OI|CI) ACE allowing the group read and
// execute, on a directory whose whole subtree may be read. A directory with
// a secret path below it is never granted inheritably: the planner grants
// its children instead, each but the ones on the way to the secret, down to
// the secret's parent (a split). A secret folder that the group can read
// already, through an ACE nobody at cordon wrote, gets an inheritable deny
// for the group. Every decision is made with the ntsec model, never by
// name: a directory the sandbox token reads already, and a new child of it
// would too, is left alone, so a warm plan has no edits.
//
// The planner reads the targets, the directories it splits and the secret
// paths, never a granted subtree: O(profile children + depth of the secret
// paths), whatever the size of the trees.
package readacl

import (
	"errors"
	"fmt"
	"sort"
	"strings"

	"github.com/cordon-sandbox/cordon/internal/aclplan"
	"github.com/cordon-sandbox/cordon/internal/fsview"
	"github.com/cordon-sandbox/cordon/internal/winpath"
	"github.com/cordon-sandbox/cordon/ntsec"
	"github.com/cordon-sandbox/cordon/policy"
)

// ReadMask is what a grant allows the group: FILE_GENERIC_READ and
// FILE_GENERIC_EXECUTE, as Users has on system directories.
const ReadMask = ntsec.FileGenericRead | ntsec.FileGenericExecute

// DenyMask is what the planner denies the group on a secret folder it can
// read: every read right but SYNCHRONIZE and READ_CONTROL, which show no
// content, and execute.
const DenyMask = ntsec.FileReadData | ntsec.FileReadEA | ntsec.FileReadAttributes | ntsec.FileExecute

const inherit = ntsec.ObjectInherit | ntsec.ContainerInherit

// Input is what a read-grant plan is computed from.
type Input struct {
	// Policy gives the cwd, the writable roots and the deny-read paths
	// (resolved with policy.Windows rules).
	Policy *policy.Resolved
	// Profile is the real user's profile directory (%USERPROFILE%):
	// its children are granted, but for the secret ones.
	Profile string
	// System are the system directories and toolchains the command needs
	// (SystemDirs gives the usual ones): granted only where the sandbox
	// token cannot read them already.
	System []string
	// Group is the SID of CordonSandboxUsers, which the grants name.
	Group ntsec.SID
	// Users are the sandbox users' SIDs: the proof checks a token of each.
	Users []ntsec.SID
	// Caps are the capability SIDs the sandbox tokens are restricted
	// with, for the proof's write check.
	Caps []ntsec.SID
	// Token builds the token the sandbox user runs with; nil means
	// SandboxToken, the assumed one.
	Token func(user ntsec.SID) *ntsec.Token
	View  fsview.View
	// Private are cordon's own directories (its state directory): never
	// granted, and a directory above one is split as for a secret, so no
	// inheritable grant reaches them. The state directory holds your
	// other runs' command lines (cordon.log), the ACE record, the journal
	// and every other workspace's temp directory; the one workspace temp
	// directory of a run lies there too and is read through the write
	// plan's grant (aclplan), not this one. Unlike a secret, a private
	// path gets no deny: it is kept out of reach of the grants only.
	Private []string
}

// Skip is a target the plan leaves alone, and why.
type Skip struct {
	Path string `json:"path"`
	Why  string `json:"why"`
}

// Plan is the edits (deny edits first, then grants) and the targets left
// alone.
type Plan struct {
	Edits   []aclplan.Edit `json:"edits"`
	Skipped []Skip         `json:"skipped,omitempty"`
	// Proof is Prove's verdict when the view is in memory; on a live view
	// it is left empty (Proof.Nodes 0) and the caller proves a snapshot.
	Proof Proof `json:"proof"`
}

// ErrProof is returned, wrapped, with a plan that fails its proof: such a
// plan is for diagnosis, never for application.
var ErrProof = errors.New("read plan fails its proof")

// Make computes the plan. It fails when a secret path cannot be matched
// against what the view lists (an 8.3 short name), since a grant might
// then reach it. On an fsview.Memory view it also proves the plan (Prove)
// and returns a failing plan only with an error wrapping ErrProof; on a
// live view (ntfs.View) the plan is returned unproven, as aclplan's is
// for a backend that proves what it applied, since proving needs every
// node of the tree.
func Make(in Input) (*Plan, error) {
	if in.Policy == nil || in.View == nil || in.Group.IsZero() {
		return nil, fmt.Errorf("read plan: policy, view and group SID are required")
	}
	secrets, err := Secrets(in.View, in.Policy.DenyRead)
	if err != nil {
		return nil, err
	}
	for _, s := range in.Private {
		if _, err := winpath.Parse(s); err != nil {
			return nil, fmt.Errorf("private path %s: %w", s, err)
		}
	}
	pl := &Plan{}
	p := planner{in: in, secrets: secrets, pl: pl, done: map[string]bool{}, hidden: map[string]bool{}}
	for _, s := range secrets.existing {
		if err := p.hide(s); err != nil {
			return nil, err
		}
	}
	var targets []target
	for _, s := range in.System {
		targets = append(targets, target{s, "system directory"})
	}
	targets = append(targets, target{in.Policy.Cwd, "cwd"})
	for _, r := range in.Policy.Roots {
		targets = append(targets, target{r.Path, "writable root (" + string(r.Kind) + ")"})
	}
	if in.Profile != "" {
		prof, err := winpath.Parse(in.Profile)
		if err != nil {
			return nil, fmt.Errorf("profile %s: %w", in.Profile, err)
		}
		if err := p.split(prof, "profile child"); err != nil {
			return nil, err
		}
	}
	for _, t := range targets {
		wp, err := winpath.Parse(t.path)
		if err != nil {
			return nil, fmt.Errorf("%s %s: %w", t.why, t.path, err)
		}
		if err := p.grant(wp, t.why); err != nil {
			return nil, err
		}
	}
	if m, ok := in.View.(*fsview.Memory); ok {
		if pl.Proof, err = Prove(m, in, pl.Edits); err != nil {
			return nil, err
		}
		if !pl.Proof.OK {
			return pl, fmt.Errorf("%w: %s", ErrProof, pl.Proof.Summary())
		}
	}
	return pl, nil
}

type target struct{ path, why string }

type planner struct {
	in      Input
	secrets *SecretSet
	pl      *Plan
	done    map[string]bool // keys of the directories granted or skipped
	grants  []winpath.Path  // inheritable grants planned so far

	secretNodes int             // objects hide has read
	hidden      map[string]bool // keys of the objects hide has checked
}

func (p *planner) skip(path, why string) { p.pl.Skipped = append(p.pl.Skipped, Skip{path, why}) }

// grant plans the read grant on dir, or splits it when a secret lies
// below it.
func (p *planner) grant(dir winpath.Path, why string) error {
	if p.done[dir.Key()] {
		return nil
	}
	p.done[dir.Key()] = true
	if s, ok := p.secrets.Covering(dir); ok {
		p.skip(dir.String(), "at or below the secret path "+s+": never granted")
		return nil
	}
	if s, ok := p.private(dir, false); ok {
		p.skip(dir.String(), "at or below cordon's own "+s+": never granted")
		return nil
	}
	n, err := p.in.View.Stat(dir.String())
	switch {
	case errors.Is(err, fsview.ErrNotExist):
		p.skip(dir.String(), why+": does not exist")
		return nil
	case err != nil:
		return fmt.Errorf("%s %s: %w", why, dir, err)
	case n.IsReparse():
		// The grant would land on the reparse point itself, and its target
		// is not something the policy named.
		p.skip(dir.String(), why+": a "+string(n.Type)+" to "+n.Target+", not followed")
		return nil
	case n.SD == nil:
		return fmt.Errorf("%s %s: its security descriptor could not be read", why, dir)
	}
	if _, below := p.private(dir, true); below || p.secrets.Below(dir) {
		return p.split(dir, why)
	}
	for _, g := range p.grants {
		if dir.Within(g) {
			inherits, err := p.inheritsFrom(dir, n, g)
			if err != nil {
				return err
			}
			if inherits {
				p.skip(dir.String(), why+": inherits the grant on "+g.String())
				return nil
			}
		}
	}
	if p.readable(n, true) {
		p.skip(dir.String(), why+": the sandbox token reads it and what is created in it already")
		return nil
	}
	if n.Type == fsview.File && isHive(dir.Base()) {
		p.skip(dir.String(), why+": a registry hive (HKCU holds saved credentials): never granted")
		return nil
	}
	if n.Type == fsview.File {
		// A file in the profile: nothing to inherit.
		p.pl.Edits = append(p.pl.Edits, aclplan.Edit{Op: aclplan.AddACE, Path: n.Path, ACE: ntsec.ACE{Type: ntsec.AccessAllowed, Mask: ReadMask, SID: p.in.Group}, Reason: "read grant: " + why})
		return nil
	}
	p.grants = append(p.grants, dir)
	p.pl.Edits = append(p.pl.Edits, aclplan.Edit{Op: aclplan.AddACE, Path: n.Path, ACE: GrantACE(p.in.Group), Reason: "read grant: " + why})
	return nil
}

// private returns the Input.Private path at or above dir or, when below
// is set, strictly below it.
func (p *planner) private(dir winpath.Path, below bool) (string, bool) {
	for _, s := range p.in.Private {
		x, err := winpath.Parse(s)
		if err != nil {
			continue // Make checked them
		}
		if !below && within(dir, x) || below && len(x.Elems) > len(dir.Elems) && within(x, dir) {
			return x.String(), true
		}
	}
	return "", false
}

// inheritsFrom says whether dir (node n), below the granted directory g,
// will inherit g's grant: no directory from dir up to g's child blocks
// inheritance with a protected DACL, and none is a reparse point.
func (p *planner) inheritsFrom(dir winpath.Path, n fsview.Node, g winpath.Path) (bool, error) {
	for cur := dir; len(cur.Elems) > len(g.Elems); {
		if n.SD.Control&ntsec.DACLProtected != 0 || n.IsReparse() {
			return false, nil
		}
		parent, ok := cur.Parent()
		if !ok || len(parent.Elems) == len(g.Elems) {
			return true, nil
		}
		var err error
		if n, err = p.in.View.Stat(parent.String()); err != nil {
			return false, fmt.Errorf("%s: %w", parent, err)
		}
		cur = parent
	}
	return true, nil
}

// split grants dir's children but not dir: a secret lies below it. A
// secret path component that matches no listed child, and may be an 8.3
// short name, is an error: which child it names is unknown.
func (p *planner) split(dir winpath.Path, why string) error {
	names, err := p.in.View.List(dir.String())
	if err != nil {
		return fmt.Errorf("%s %s: %w", why, dir, err)
	}
	for _, c := range p.secrets.ChildNames(dir) {
		found := false
		for _, name := range names {
			if winpath.EqualName(name, c) {
				found = true
				break
			}
		}
		if !found && winpath.MayBeShortName(c) {
			return fmt.Errorf("secret path below %s names %q, which may be an 8.3 short name of another child: give the secret's long name", dir, c)
		}
	}
	sort.Strings(names)
	for _, name := range names {
		child, err := dir.Child(name)
		if err != nil {
			return fmt.Errorf("%s %s: %w", why, dir, err)
		}
		if err := p.grant(child, why); err != nil {
			return err
		}
	}
	return nil
}

// MaxSecretNodes bounds how many objects below the secret paths one plan
// reads. Past it the plan is refused: a secret the planner could not
// check is not one it may call hidden.
const MaxSecretNodes = 50000

// hide plans a deny for the group on every object at or below an existing
// secret path that a sandbox token could read, or whose new children it
// could: the deny is inherited, but an explicit allow below comes before
// an inherited deny, so each object is checked as it will stand once the
// denies above it have propagated. A secret behind a reparse point below
// is not followed: Secrets resolved the ones the policy names.
func (p *planner) hide(path string) error {
	n, err := p.in.View.Stat(path)
	if errors.Is(err, fsview.ErrNotExist) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("secret path %s: %w", path, err)
	}
	if n.IsReparse() {
		return nil
	}
	return p.hideTree(n, nil)
}

func (p *planner) hideTree(n fsview.Node, parentNew *ntsec.SecurityDescriptor) error {
	if k, err := fsview.Key(n.Path); err == nil {
		if p.hidden[k] {
			return nil // reached again through another spelling of a secret
		}
		p.hidden[k] = true
	}
	if p.secretNodes++; p.secretNodes > MaxSecretNodes {
		return fmt.Errorf("more than %d objects below the secret paths: the plan cannot check them all", MaxSecretNodes)
	}
	if n.SD == nil {
		return fmt.Errorf("secret path %s: its security descriptor could not be read", n.Path)
	}
	sd := n.SD
	if parentNew != nil && !n.MultiLinked() {
		sd = ntsec.Propagate(parentNew, sd, n.ObjectType())
	}
	cur := n
	cur.SD = sd
	var next *ntsec.SecurityDescriptor
	if p.readableAny(cur) {
		deny := ntsec.ACE{Type: ntsec.AccessDenied, Flags: inherit, Mask: DenyMask, SID: p.in.Group}
		if n.Type == fsview.File {
			deny.Flags = 0
		}
		p.pl.Edits = append(p.pl.Edits, aclplan.Edit{Op: aclplan.AddACE, Path: n.Path, ACE: deny, Reason: "secret path readable by the sandbox users: denied"})
		next = sd.Clone()
		next.DACL = aclplan.WithACE(next.DACL, deny)
	} else if parentNew != nil {
		next = sd
	}
	if !n.IsDir() {
		return nil
	}
	names, err := p.in.View.List(n.Path)
	if err != nil {
		return fmt.Errorf("secret path %s: %w", n.Path, err)
	}
	dir, err := winpath.Parse(n.Path)
	if err != nil {
		return fmt.Errorf("secret path %s: %w", n.Path, err)
	}
	for _, name := range names {
		cp, err := dir.Child(name)
		if err != nil {
			return fmt.Errorf("secret path %s: %w", n.Path, err)
		}
		c, err := p.in.View.Stat(cp.String())
		if err != nil {
			return fmt.Errorf("secret path %s: %w", cp, err)
		}
		if c.IsReparse() {
			continue
		}
		if err := p.hideTree(c, next); err != nil {
			return err
		}
	}
	return nil
}

// isHive says whether name is one of the profile's registry hive files
// (NTUSER.DAT, its logs and NTUSER.INI): the user's HKCU, where programs
// keep saved sessions and passwords, is not the sandbox's to read.
func isHive(name string) bool {
	return len(name) >= 7 && strings.EqualFold(name[:7], "ntuser.")
}

// GrantACE is the read grant for group.
func GrantACE(group ntsec.SID) ntsec.ACE {
	return ntsec.ACE{Type: ntsec.AccessAllowed, Flags: inherit, Mask: ReadMask, SID: group}
}

// readable says whether every sandbox token reads n (ReadMask, whole)
// and, when kids, a new file and a new directory created in it.
func (p *planner) readable(n fsview.Node, kids bool) bool {
	for _, u := range p.users() {
		tok := p.token(u)
		for _, o := range objects(n, kids) {
			if !ntsec.AccessCheck(o.sd, tok, ReadMask, o.typ).Allowed {
				return false
			}
		}
	}
	return true
}

// readableAny says whether some sandbox token may read data from n or
// from a new child of it.
func (p *planner) readableAny(n fsview.Node) bool {
	for _, u := range p.users() {
		tok := p.token(u)
		for _, o := range objects(n, n.IsDir()) {
			if ntsec.AccessCheck(o.sd, tok, ntsec.MaximumAllowed, o.typ).Granted&(ntsec.FileReadData|ntsec.FileExecute) != 0 {
				return true
			}
		}
	}
	return false
}

type object struct {
	sd  *ntsec.SecurityDescriptor
	typ ntsec.ObjectType
}

// objects are n and, when kids, the descriptors a new file and a new
// directory in it would get from inheritance alone.
func objects(n fsview.Node, kids bool) []object {
	out := []object{{n.SD, n.ObjectType()}}
	if kids && n.IsDir() {
		out = append(out,
			object{newChild(n.SD, ntsec.File), ntsec.File},
			object{newChild(n.SD, ntsec.Directory), ntsec.Directory})
	}
	return out
}

// newChild is the descriptor a child created in a directory of descriptor
// parent by its owner gets: what it inherits or, when nothing applies,
// the owner's default DACL, assumed to be the usual one of a user's
// token (the user and SYSTEM, full control).
func newChild(parent *ntsec.SecurityDescriptor, typ ntsec.ObjectType) *ntsec.SecurityDescriptor {
	def := &ntsec.ACL{Revision: ntsec.ACLRevision, Entries: []ntsec.ACE{
		{Type: ntsec.AccessAllowed, Mask: ntsec.FileAllAccess, SID: parent.Owner},
		{Type: ntsec.AccessAllowed, Mask: ntsec.FileAllAccess, SID: ntsec.LocalSystem},
	}}
	return ntsec.NewObject(parent, typ, parent.Owner, ntsec.SID{}, def)
}

func (p *planner) users() []ntsec.SID {
	if len(p.in.Users) > 0 {
		return p.in.Users
	}
	return []ntsec.SID{standInUser}
}

func (p *planner) token(u ntsec.SID) *ntsec.Token {
	if p.in.Token != nil {
		return p.in.Token(u)
	}
	return SandboxToken(u, p.in.Group, p.in.Caps...)
}
