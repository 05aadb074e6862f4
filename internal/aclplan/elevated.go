package aclplan

// The elevated mode: the command runs as a local sandbox user
// (CordonSandboxOffline or CordonSandboxOnline, members of
// CordonSandboxUsers) under a write-restricted token built from that
// user's own token, restricting SIDs = the root's capability SID + the
// logon SID + Everyone. A write then needs both passes of the access check
// ([MS-DTYP] 2.5.3.2): the normal pass, over the sandbox user and its
// groups, and the restricted pass, over the restricting SIDs. The planner
// grants each writable root to the group (normal pass) as well as to the
// capability SID (restricted pass), denies the group on every protected
// object, and makes sure whatever the sandbox creates stays the real
// user's.

import (
	"fmt"

	"github.com/cordon-sandbox/cordon/ntsec"
)

// SandboxUsers describes the elevated mode's sandbox users. The zero value
// means the restricted-token backend: the command runs as the user
// (Input.User) and nothing here applies.
type SandboxUsers struct {
	// Group is the group both sandbox users belong to
	// (CordonSandboxUsers): the SID the plan grants the roots to for the
	// normal pass of the access check, and denies on protected objects.
	Group ntsec.SID
	// Users are the sandbox users (offline and online): the proof checks
	// a token of each, since either may run in the workspace.
	Users []ntsec.SID
	// Token, when set, builds the token a command run as user with
	// capability SIDs caps really gets (the runner's restricted token
	// over the sandbox user's live token); nil means ElevatedToken.
	Token func(user ntsec.SID, caps ...ntsec.SID) (*ntsec.Token, error)
}

// enabled says whether the plan is for the elevated mode.
func (s SandboxUsers) enabled() bool { return !s.Group.IsZero() }

// check refuses a description the plan could not be proven for.
func (s SandboxUsers) check(realUser ntsec.SID) error {
	if !s.enabled() {
		if len(s.Users) > 0 {
			return fmt.Errorf("plan: sandbox users given without their group")
		}
		return nil
	}
	if len(s.Users) == 0 {
		return fmt.Errorf("plan: the sandbox group %s is given without its users", s.Group)
	}
	for _, u := range s.Users {
		switch {
		case u.IsZero():
			return fmt.Errorf("plan: a sandbox user has no SID")
		case u == s.Group:
			return fmt.Errorf("plan: sandbox user %s is also the sandbox group", u)
		case !realUser.IsZero() && u == realUser:
			return fmt.Errorf("plan: sandbox user %s is the real user: the elevated mode runs as another account", u)
		}
	}
	return nil
}

// elevatedLogon is the logon SID of the assumed sandbox token: a sandbox
// user's logon session is new for every runner, so no descriptor on disk
// names it.
var elevatedLogon = ntsec.LogonSID(0, 0xC0D2)

// ElevatedToken describes the token the elevated mode's runner builds for
// a command run as user with capability SIDs caps: the sandbox user with
// Everyone, Authenticated Users, Users, Interactive, its logon SID and the
// sandbox group enabled, write-restricted to caps + the logon SID +
// Everyone (as SandboxToken), at Low integrity unless u.MediumIntegrity
// (u is the real user's description: only its MediumIntegrity is read).
// The sandbox user is a plain local account: no Administrators, no
// privileges but SeChangeNotifyPrivilege.
func ElevatedToken(u User, user, group ntsec.SID, caps ...ntsec.SID) *ntsec.Token {
	en := ntsec.GroupEnabled | ntsec.GroupEnabledByDefault | ntsec.GroupMandatory
	t := &ntsec.Token{
		User: user,
		Groups: []ntsec.Group{
			{SID: ntsec.Everyone, Attributes: en},
			{SID: ntsec.AuthenticatedUsers, Attributes: en},
			{SID: ntsec.BuiltinUsers, Attributes: en},
			{SID: ntsec.Interactive, Attributes: en},
			{SID: elevatedLogon, Attributes: en | ntsec.GroupLogonID},
			{SID: group, Attributes: en},
		},
		RestrictedSIDs:  append(append([]ntsec.SID{}, caps...), elevatedLogon, ntsec.Everyone),
		WriteRestricted: true,
		Privileges:      []string{"SeChangeNotifyPrivilege"},
	}
	if !u.MediumIntegrity {
		t.Integrity = ntsec.LowLabel
	}
	return t
}

// sandboxToken builds the token the command run as user with caps gets.
func (in *Input) sandboxToken(user ntsec.SID, caps ...ntsec.SID) (*ntsec.Token, error) {
	if in.Sandbox.Token != nil {
		return in.Sandbox.Token(user, caps...)
	}
	return ElevatedToken(in.User, user, in.Sandbox.Group, caps...), nil
}

// capFreeToken is user's sandbox token without any capability SID among
// its restricting SIDs: what every sandbox token of that user can do,
// whatever its roots. A token builder may refuse to build a token without
// one (restrictedtoken.Model does), so it is asked with one of the run's
// and that SID is dropped again.
func (in *Input) capFreeToken(user ntsec.SID) (*ntsec.Token, error) {
	caps := in.SIDs.any()
	tok, err := in.sandboxToken(user, caps...)
	if err != nil {
		return nil, err
	}
	if tok == nil {
		return nil, fmt.Errorf("no token for sandbox user %s", user)
	}
	t := *tok
	t.RestrictedSIDs = nil
	for _, r := range tok.RestrictedSIDs {
		if !containsSID(caps, r) {
			t.RestrictedSIDs = append(t.RestrictedSIDs, r)
		}
	}
	return &t, nil
}

// groupDenyDeleteChild takes FILE_DELETE_CHILD from the sandbox group on
// a writable root and, inherited (CI), on every directory below it. Under
// the H2 reading FILE_DELETE_CHILD is checked in the normal pass alone, so
// a root that grants Users or Authenticated Users full control (a folder
// under C:\ProgramData, say) would let the sandbox user delete or rename
// any child of it — a protected .git included — whatever the child's own
// DACL says. The deny comes first in the root's DACL, so it decides the
// right for the whole normal pass. The sandbox loses nothing: it deletes
// through DELETE on the object, which the root's grant gives; under H1 it
// never had FILE_DELETE_CHILD, which no capability SID is granted.
func groupDenyDeleteChild(group ntsec.SID) ntsec.ACE {
	return ntsec.ACE{Type: ntsec.AccessDenied, Flags: ntsec.ContainerInherit, Mask: ntsec.FileDeleteChild, SID: group}
}

// UserFullControl is the ACE that gives the real user full control of
// everything below a root (inherit-only is not set: the root too), so
// that what a sandbox user creates there — owned by that sandbox user,
// since a token cannot name another account as owner without
// SeRestorePrivilege — stays modifiable, deletable and re-ownable by the
// real user.
func UserFullControl(user ntsec.SID) ntsec.ACE {
	return ntsec.ACE{Type: ntsec.AccessAllowed, Flags: dirInherit, Mask: ntsec.FileAllAccess, SID: user}
}

// OwnerRightsACE is the inherit-only OWNER RIGHTS (S-1-3-4) ACE the plan
// puts on each root in the elevated mode. Microsoft documents that an ACE
// for OWNER RIGHTS makes the system ignore the owner's implicit
// READ_CONTROL and WRITE_DAC ("Well-known SIDs", Microsoft Learn): with it
// inherited, the sandbox user who owns what it creates gets READ_CONTROL on
// it and nothing implicit, whether or not the kernel lets the owner's
// implicit rights past the restricting SIDs (a question no public source
// settles for every case, windows-access-check.md section 2). So the
// sandbox cannot rewrite the DACL of a file it created to open it to
// others. Inherit-only: the root itself keeps its owner's (the real
// user's) rights as they are.
//
// It governs what an object inherits, not what its creator asks for: a
// command may create a file or directory with a DACL of its own choosing
// (CreateFile's security attributes need no right on the new object), one
// that shuts the real user out or lets others in. No ACE on the parent
// prevents that. What the plan keeps is the user's FILE_DELETE_CHILD on
// the roots and on what the sandbox creates the ordinary way, through
// which the topmost such object can be deleted or renamed out of the tree
// (TestElevatedHostileCreationCanBeMovedOut).
var OwnerRightsACE = ntsec.ACE{Type: ntsec.AccessAllowed, Flags: dirInherit | ntsec.InheritOnly, Mask: ntsec.ReadControl, SID: ntsec.OwnerRights}

// ownershipEdits plans, on a root, what keeps the real user the master of
// what the sandbox creates below it: the inherit-only OWNER RIGHTS ACE and,
// unless what a new object inherits already gives the real user full
// control, UserFullControl.
func ownershipEdits(in *Input, path string, sd *ntsec.SecurityDescriptor, kind string) []Edit {
	var out []Edit
	if !hasExplicit(sd, OwnerRightsACE) {
		out = append(out, Edit{Op: AddACE, Path: path, ACE: OwnerRightsACE, Reason: "no implicit WRITE_DAC for the sandbox user on what it creates (" + kind + " root)"})
	}
	full := UserFullControl(in.User.SID)
	if hasACE(sd, full) || userControlsCreated(in, sd) {
		return out
	}
	return append(out, Edit{Op: AddACE, Path: path, ACE: full, Reason: "the real user keeps full control of what the sandbox creates (" + kind + " root)"})
}

// userControlsCreated says whether everything a sandbox user could create
// directly below a directory with descriptor sd — a file and a directory,
// owned by that sandbox user — already gives the real user the access
// createdWant asks for, through what it inherits.
func userControlsCreated(in *Input, sd *ntsec.SecurityDescriptor) bool {
	user := userToken(in)
	owner := in.Sandbox.Users[0]
	for _, typ := range []ntsec.ObjectType{ntsec.File, ntsec.Directory} {
		child := ntsec.NewObject(sd, typ, owner, in.Sandbox.Group, nil)
		want := createdWant(in, sd, typ)
		if ntsec.AccessCheck(child, user, ntsec.MaximumAllowed, typ).Granted&want != want {
			return false
		}
	}
	return true
}

// createdWant is the access the real user must have on an object of type
// typ that a sandbox user creates below a root with descriptor rootSD:
// FILE_ALL_ACCESS (DELETE, READ_CONTROL, WRITE_DAC, WRITE_OWNER included).
// A directory lacks FILE_DELETE_CHILD where the restricted-token backend
// took it from the user (userDenyDeleteChild on the root): the user still
// deletes through DELETE on each object.
func createdWant(in *Input, rootSD *ntsec.SecurityDescriptor, typ ntsec.ObjectType) ntsec.AccessMask {
	want := ntsec.FileAllAccess
	if typ == ntsec.Directory && hasACE(rootSD, userDenyDeleteChild(in.User.SID, ntsec.ContainerInherit)) {
		want &^= ntsec.FileDeleteChild
	}
	return want
}

// groupDeny returns the deny for the sandbox group that goes with the
// capability SIDs' denies on a protected object, with the same flags and
// mask: it denies those rights in the normal pass, which decides
// FILE_DELETE_CHILD alone under the H2 reading.
func groupDeny(in *Input, flags ntsec.ACEFlags, mask ntsec.AccessMask) (ntsec.ACE, bool) {
	if !in.Sandbox.enabled() {
		return ntsec.ACE{}, false
	}
	return ntsec.ACE{Type: ntsec.AccessDenied, Flags: flags, Mask: mask, SID: in.Sandbox.Group}, true
}

// elevatedWritable says whether some sandbox user's token, holding no
// capability SID, may write an object with descriptor sd under some open
// reading: what every elevated sandbox can do there whatever its roots.
// Beside what Everyone and the logon SID may write (worldWritable), it
// catches FILE_DELETE_CHILD granted to Users, Authenticated Users or the
// sandbox group, which under H2 the normal pass alone decides. Always
// false outside the elevated mode.
func elevatedWritable(in *Input, sd *ntsec.SecurityDescriptor, typ ntsec.ObjectType) bool {
	if !in.Sandbox.enabled() {
		return false
	}
	probe := writeProbe
	if typ == ntsec.File {
		// FILE_DELETE_CHILD means nothing on a file (as in the proof).
		probe &^= ntsec.FileDeleteChild
	}
	for _, u := range in.Sandbox.Users {
		tok, err := in.capFreeToken(u)
		if err != nil {
			return true // an unknown token is held to the worst
		}
		for _, rd := range aloneReadings() {
			if ntsec.AccessCheckUnder(rd, sd, tok, ntsec.MaximumAllowed, typ).Granted&probe != 0 {
				return true
			}
		}
	}
	return false
}

// sandboxNormalSID returns a test for the SIDs whose inheritable write
// grant makes a flagged directory's deny inheritable in the elevated
// mode: the sandbox users and the broad groups every local account holds,
// which the normal pass of a sandbox user's token matches. The group is
// left out: its only write grants are the roots', which the plan itself
// writes, and counting them would change the deny's flags once the plan
// is applied.
func sandboxNormalSID(in *Input) func(ntsec.SID) bool {
	return func(s ntsec.SID) bool {
		switch s {
		case ntsec.Everyone, ntsec.AuthenticatedUsers, ntsec.BuiltinUsers, ntsec.Interactive:
			return true
		}
		for _, u := range in.Sandbox.Users {
			if s == u {
				return true
			}
		}
		return s.IsLogonSID()
	}
}

// hasExplicit reports whether sd's DACL holds want as an explicit ACE, with
// at least its rights and exactly its inheritance flags: hasACE for an
// inherit-only ACE, which is not effective on the object itself.
func hasExplicit(sd *ntsec.SecurityDescriptor, want ntsec.ACE) bool {
	if sd == nil || sd.DACL == nil {
		return false
	}
	for _, e := range sd.DACL.Entries {
		if e.SID == want.SID && e.Type == want.Type && e.Flags == want.Flags && e.Mask&want.Mask == want.Mask {
			return true
		}
	}
	return false
}

// sandboxNormalToken is what the normal pass of any sandbox user's token
// matches, as one unrestricted token with no integrity level: the first
// sandbox user, its groups (ElevatedToken's, or the live token's from
// Sandbox.Token) and the other sandbox users as enabled groups. Under H2
// that pass alone decides FILE_DELETE_CHILD, so a directory where it
// grants FILE_DELETE_CHILD is one where the group's denial must be
// explicit (cutOffDirs).
func sandboxNormalToken(in *Input) *ntsec.Token {
	t, err := in.capFreeToken(in.Sandbox.Users[0])
	if err != nil {
		t = ElevatedToken(in.User, in.Sandbox.Users[0], in.Sandbox.Group)
	}
	u := *t
	u.RestrictedSIDs, u.WriteRestricted, u.Integrity = nil, false, ntsec.SID{}
	u.Groups = append([]ntsec.Group{}, t.Groups...)
	for _, o := range in.Sandbox.Users[1:] {
		u.Groups = append(u.Groups, ntsec.Group{SID: o, Attributes: ntsec.GroupEnabled})
	}
	return &u
}

// aloneReadings are the distinct Alone forms of the open readings: one
// per write mask, since a request for one right ignores the trigger and
// the MAXIMUM_ALLOWED rule (ntsec.Reading.Alone).
func aloneReadings() []ntsec.Reading {
	var out []ntsec.Reading
	seen := map[ntsec.Reading]bool{}
	for _, rd := range ntsec.OpenReadings() {
		if a := rd.Alone(); !seen[a] {
			seen[a] = true
			out = append(out, a)
		}
	}
	return out
}
