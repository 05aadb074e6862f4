package aclplan

import "github.com/cordon-sandbox/cordon/ntsec"

// Masks of the ACEs cordon writes.
const (
	// AllowMask is granted to a capability SID on a writable root: read,
	// write, execute and DELETE, inherited by everything below. It leaves
	// out FILE_DELETE_CHILD, which would let the sandbox delete or rename
	// any child of the root whatever the child's own DACL says — a
	// protected .git included.
	AllowMask = ntsec.FileGenericRead | ntsec.FileGenericWrite | ntsec.FileGenericExecute | ntsec.Delete

	// DenyWriteMask is denied to capability SIDs on protected names and
	// world-writable directories: FILE_GENERIC_WRITE with each write right
	// spelled out, DELETE and FILE_DELETE_CHILD — and WRITE_DAC and
	// WRITE_OWNER: without them a directory granting Everyone full control
	// stays open to a sandbox that rewrites its DACL, as the proof shows.
	DenyWriteMask = ntsec.FileGenericWrite | ntsec.FileWriteData | ntsec.FileAppendData |
		ntsec.FileWriteEA | ntsec.FileWriteAttributes | ntsec.Delete | ntsec.FileDeleteChild |
		ntsec.WriteDAC | ntsec.WriteOwner

	// writeProbe are the rights whose grant makes an object "writable" in
	// the proof: changing its data, its names below it, its attributes, or
	// removing it.
	writeProbe = ntsec.FileWriteData | ntsec.FileAppendData | ntsec.FileWriteEA |
		ntsec.FileWriteAttributes | ntsec.Delete | ntsec.FileDeleteChild | ntsec.WriteDAC | ntsec.WriteOwner

	dirInherit = ntsec.ObjectInherit | ntsec.ContainerInherit
)

// WriteProbe are the rights whose grant makes an object writable in the
// proof (writeProbe), for proofs of other planners (internal/readacl)
// that must agree with this one on what "writable" means.
const WriteProbe = writeProbe

// userDenyDeleteChild is the ACE that takes FILE_DELETE_CHILD from the
// user's own SID on a writable root or guarded directory and, inherited
// (CI), on every directory below it.
//
// Under the H2 reading of the write-restricted pass (ntsec.MaskH2),
// FILE_DELETE_CHILD is checked against the user's groups alone, so the
// user's full control on a directory would let the sandbox delete or
// rename any child: a protected .git renamed away and re-created with a
// hook. Inside a Low-labelled root integrity no longer stops it either, and
// every Low sandbox — another workspace's, a read-only one — could delete
// the workspace's files through their directories: hence CI, not just the
// root. The user's own tools lose nothing that matters: they delete and
// rename through DELETE on the object itself, which the user's grants still
// give; NTFS asks the parent for FILE_DELETE_CHILD only when that is
// refused. What does fail is an open of the directory itself for
// GENERIC_ALL or FILE_ALL_ACCESS.
func userDenyDeleteChild(user ntsec.SID, flags ntsec.ACEFlags) ntsec.ACE {
	return ntsec.ACE{Type: ntsec.AccessDenied, Flags: flags, Mask: ntsec.FileDeleteChild, SID: user}
}

// LowLabel is the mandatory label the planner writes on each writable root
// when the sandbox runs at Low integrity: Low, no-write-up, inherited by
// everything below. Outside the roots every object keeps its label —
// Medium when it has none — and a Low token may write none of them by any
// right of the type's write set, FILE_DELETE_CHILD included
// (windows-access-check.md section 3): what keeps the command from deleting
// the user's files under every reading of the write-restricted pass.
var LowLabel = ntsec.ACE{Type: ntsec.MandatoryLabel, Flags: dirInherit, Mask: ntsec.LabelNoWriteUp, SID: ntsec.LowLabel}

// MediumLabel is the label the planner writes on protected objects inside
// a Low root (see mediumLabel): Medium, no-write-up, inherited below.
var MediumLabel = ntsec.ACE{Type: ntsec.MandatoryLabel, Flags: dirInherit, Mask: ntsec.LabelNoWriteUp, SID: ntsec.MediumLabel}

// SIDs are the capability SIDs of one run.
type SIDs struct {
	Workspace ntsec.SID // the cwd's own SID
	Generic   ntsec.SID // temp directories and extra roots
	ReadOnly  ntsec.SID // read-only runs
	// Others are the other workspaces' SIDs the store knows: their
	// sandboxes must not write this workspace either, and the proof checks
	// that they cannot.
	Others []ntsec.SID
}

// any returns one of s's capability SIDs, or none if s has none.
func (s SIDs) any() []ntsec.SID {
	for _, sid := range []ntsec.SID{s.Workspace, s.Generic, s.ReadOnly} {
		if !sid.IsZero() {
			return []ntsec.SID{sid}
		}
	}
	return nil
}

// User describes the user the sandbox runs as, for the tokens the proof
// checks. The zero Logon gets a fixed stand-in.
type User struct {
	SID   ntsec.SID
	Logon ntsec.SID
	// MediumIntegrity says the sandbox token keeps the caller's Medium
	// integrity instead of Low. The planner then writes no labels, and
	// nothing but the DACLs keeps the command from deleting what the user
	// may delete: under the H2 reading, everything outside the roots
	// (issue 10, finding 1).
	MediumIntegrity bool `json:"medium_integrity,omitempty"`
}

var standInLogon = ntsec.LogonSID(0, 0xC0D0)

// baseToken is a normal interactive user's token as UAC leaves it: the user,
// Everyone, Authenticated Users, Users, Interactive and the logon SID
// enabled, Administrators deny-only.
func baseToken(u User) *ntsec.Token {
	logon := u.Logon
	if logon.IsZero() {
		logon = standInLogon
	}
	en := ntsec.GroupEnabled | ntsec.GroupEnabledByDefault | ntsec.GroupMandatory
	return &ntsec.Token{
		User: u.SID,
		Groups: []ntsec.Group{
			{SID: ntsec.Everyone, Attributes: en},
			{SID: ntsec.AuthenticatedUsers, Attributes: en},
			{SID: ntsec.BuiltinUsers, Attributes: en},
			{SID: ntsec.Interactive, Attributes: en},
			{SID: logon, Attributes: en | ntsec.GroupLogonID},
			{SID: ntsec.BuiltinAdministrators, Attributes: ntsec.GroupDenyOnly},
		},
		Privileges: []string{"SeChangeNotifyPrivilege"},
	}
}

// SandboxToken describes the token the restricted-token backend builds for
// a run with capability SIDs caps: the user's token, write-restricted, with
// restricting SIDs = caps + the logon SID + Everyone, at Low integrity
// unless u.MediumIntegrity. The logon SID and Everyone keep the console,
// pipes and other per-session objects writable; they are also why
// world-writable directories need deny ACEs.
func SandboxToken(u User, caps ...ntsec.SID) *ntsec.Token {
	t := baseToken(u)
	logon := t.Groups[4].SID
	t.RestrictedSIDs = append(append([]ntsec.SID{}, caps...), logon, ntsec.Everyone)
	t.WriteRestricted = true
	if !u.MediumIntegrity {
		t.Integrity = ntsec.LowLabel
	}
	return t
}

// userToken is the user's own token as the normal pass of the sandbox
// token sees it: the live token's user and groups when the backend gave
// one (Input.Token), else the assumed one (baseToken). The planner asks it
// whether the user's own rights hand the sandbox FILE_DELETE_CHILD; a
// stand-in lacking one of the real user's groups would answer no where the
// proof, which uses the live token, then finds yes.
//
// in.Token describes a sandbox token, which needs at least one capability
// SID (restrictedtoken.Model refuses none), so it is asked with one of the
// run's; the restricting SIDs are then dropped, and with them whichever
// SID was passed.
func userToken(in *Input) *ntsec.Token {
	if in.Token != nil {
		if t, err := in.Token(in.SIDs.any()...); err == nil && t != nil {
			u := *t
			u.RestrictedSIDs, u.WriteRestricted, u.Integrity = nil, false, ntsec.SID{}
			return &u
		}
	}
	return baseToken(in.User)
}

// worldToken holds only the SIDs through which every sandbox token may
// write, whatever its capability SIDs: Everyone and the logon SID, the
// restricting SIDs the backend adds to every token. A write-restricted
// token must pass the DACL with one of its restricting SIDs for every write
// (MS-DTYP 2.5.3.2, the restricted pass), so a directory that grants write
// only to Authenticated Users or Users is not writable from the sandbox,
// although the user belongs to both: flagging such directories would have
// cordon write deny ACEs on C:\ and other system directories (with C:\'s
// inheritable grant, on every descriptor of the volume) to close a door
// that is not open. The user SID owns nothing, so owner rights play no
// part.
func worldToken(u User) *ntsec.Token {
	logon := u.Logon
	if logon.IsZero() {
		logon = standInLogon
	}
	nobody, _ := ntsec.NewSID(5, 21, 0, 0, 0, 0)
	return &ntsec.Token{
		User: nobody,
		Groups: []ntsec.Group{
			{SID: ntsec.Everyone, Attributes: ntsec.GroupEnabled},
			{SID: logon, Attributes: ntsec.GroupEnabled | ntsec.GroupLogonID},
		},
	}
}
