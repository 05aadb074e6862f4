package plan

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
	// WRITE_OWNER, which the anchor leaves out: the proof shows that a
	// directory granting Everyone full control otherwise stays open to a
	// sandbox that rewrites its DACL.
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

// User describes the user the sandbox runs as, for the tokens the proof
// checks. The zero Logon gets a fixed stand-in.
type User struct {
	SID   ntsec.SID
	Logon ntsec.SID
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
// restricting SIDs = caps + the logon SID + Everyone. The logon SID and
// Everyone are there because the anchor needs them for pipes and the
// console; they are also why world-writable directories need deny ACEs.
func SandboxToken(u User, caps ...ntsec.SID) *ntsec.Token {
	t := baseToken(u)
	logon := t.Groups[4].SID
	t.RestrictedSIDs = append(append([]ntsec.SID{}, caps...), logon, ntsec.Everyone)
	t.WriteRestricted = true
	return t
}

// worldToken holds only the SIDs through which every sandbox token may
// write, whatever its capability SIDs: Everyone and the logon SID, the
// restricting SIDs the backend adds to every token. A write-restricted
// token must pass the DACL with one of its restricting SIDs for every write
// (MS-DTYP 2.5.3.2, the restricted pass), so a directory that grants write
// only to Authenticated Users or Users is not writable from the sandbox,
// although the user belongs to both: flagging such directories, as the
// anchor does for its sandbox users, would have cordon write deny ACEs on
// C:\ and other system directories (with C:\'s inheritable grant, on every
// descriptor of the volume) to close a door that is not open. The user SID
// owns nothing, so owner rights play no part.
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
