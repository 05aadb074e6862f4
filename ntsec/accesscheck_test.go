package ntsec

import (
	"strings"
	"testing"
)

var (
	tUser   = mustSID(5, 21, 1, 2, 3, 1001)
	tOther  = mustSID(5, 21, 1, 2, 3, 1002)
	tGroup  = mustSID(5, 21, 1, 2, 3, 513)
	tCap    = mustSID(5, 21, 7, 7, 7, 7)
	tCap2   = mustSID(5, 21, 8, 8, 8, 8)
	tLogon  = LogonSID(0, 0x1234)
	tDenied = mustSID(5, 21, 1, 2, 3, 1100)
)

// userToken is a normal Medium user: enabled user, Users, Everyone,
// Authenticated Users, a logon SID, a disabled group and a deny-only group.
func userToken() *Token {
	return &Token{
		User: tUser,
		Groups: []Group{
			{SID: Everyone, Attributes: GroupEnabled | GroupMandatory},
			{SID: BuiltinUsers, Attributes: GroupEnabled | GroupMandatory},
			{SID: AuthenticatedUsers, Attributes: GroupEnabled | GroupMandatory},
			{SID: tLogon, Attributes: GroupEnabled | GroupLogonID},
			{SID: tGroup}, // present but disabled
			{SID: BuiltinAdministrators, Attributes: GroupDenyOnly}, // UAC-filtered admin
		},
		Privileges: []string{"SeChangeNotifyPrivilege"},
	}
}

// sandboxToken is the token cordon's restricted-token backend builds: the
// user's token with restricting SIDs = capability SID + logon SID + Everyone.
func sandboxToken(writeRestricted bool, caps ...SID) *Token {
	t := userToken()
	t.RestrictedSIDs = append(append([]SID{}, caps...), tLogon, Everyone)
	t.WriteRestricted = writeRestricted
	return t
}

func check(t *testing.T, sddl string, tok *Token, desired AccessMask) Result {
	t.Helper()
	sd, err := ParseSDDL(sddl)
	if err != nil {
		t.Fatalf("ParseSDDL(%q): %v", sddl, err)
	}
	return AccessCheck(sd, tok, desired, File)
}

func expect(t *testing.T, name, sddl string, tok *Token, desired AccessMask, allowed bool, granted AccessMask) {
	t.Helper()
	r := check(t, sddl, tok, desired)
	if r.Allowed != allowed || r.Granted != granted {
		t.Errorf("%s: AccessCheck(%s, %s) = allowed %v granted %s; want %v %s\n%s",
			name, sddl, desired, r.Allowed, r.Granted, allowed, granted, r.Explain())
	}
}

// [MS-DTYP] 2.5.3.2: "No DACL in the security descriptor implies that there
// is no policy in place to govern access to the object; any access check
// will succeed. An empty DACL ... means that no principal can gain access to
// the object, except through the implied access of the owner."
func TestNullAndEmptyDACL(t *testing.T) {
	tok := userToken()
	expect(t, "null DACL", "O:S-1-5-21-1-2-3-1002D:NO_ACCESS_CONTROL", tok, FileAllAccess, true, FileAllAccess)
	expect(t, "absent DACL", "O:S-1-5-21-1-2-3-1002", tok, FileGenericWrite, true, FileGenericWrite)
	expect(t, "empty DACL, not owner", "O:S-1-5-21-1-2-3-1002D:", tok, FileGenericRead, false, 0)
	expect(t, "empty DACL, owner gets RC", "O:S-1-5-21-1-2-3-1001D:", tok, ReadControl|WriteDAC, true, ReadControl|WriteDAC)
	expect(t, "empty DACL, owner gets no data", "O:S-1-5-21-1-2-3-1001D:", tok, FileReadData|ReadControl, false, ReadControl)
}

// [MS-DTYP] 2.5.3.2: the owner is implicitly granted READ_CONTROL and
// WRITE_DAC unless the DACL has an OWNER RIGHTS (S-1-3-4) ACE, whose rights
// then apply to the owner instead ([MS-DTYP] 2.4.2.4).
func TestOwnerRights(t *testing.T) {
	tok := userToken()
	expect(t, "implicit despite deny", "O:S-1-5-21-1-2-3-1001D:(D;;WD;;;S-1-5-21-1-2-3-1001)", tok, WriteDAC, true, WriteDAC)
	expect(t, "OWNER RIGHTS replaces implicit", "O:S-1-5-21-1-2-3-1001D:(A;;FR;;;OW)", tok, WriteDAC|ReadControl, false, ReadControl)
	expect(t, "OWNER RIGHTS grants to owner", "O:S-1-5-21-1-2-3-1001D:(A;;FW;;;OW)", tok, FileWriteData, true, FileWriteData)
	expect(t, "OWNER RIGHTS not for non-owner", "O:S-1-5-21-1-2-3-1002D:(A;;FA;;;OW)", tok, FileReadData, false, 0)
	expect(t, "inherit-only OWNER RIGHTS leaves implicit", "O:S-1-5-21-1-2-3-1001D:(A;OICIIO;FR;;;OW)", tok, WriteDAC, true, WriteDAC)
	// A deny-only owner is no owner: the implicit rights need an enabled SID.
	expect(t, "deny-only owner", "O:BAD:", tok, ReadControl, false, 0)
}

// [MS-DTYP] 2.5.3.2: ACEs are evaluated in order; for each right the first
// matching ACE that names it decides; inherit-only ACEs are skipped.
func TestOrderedEvaluation(t *testing.T) {
	tok := userToken()
	expect(t, "deny first", "D:(D;;FW;;;WD)(A;;FA;;;BU)", tok, FileWriteData, false, 0)
	expect(t, "allow first (non-canonical)", "D:(A;;FA;;;BU)(D;;FW;;;WD)", tok, FileWriteData, true, FileWriteData)
	expect(t, "deny of other rights", "D:(D;;FW;;;WD)(A;;FA;;;BU)", tok, FileReadData, true, FileReadData)
	expect(t, "partial grant", "D:(A;;FR;;;BU)", tok, FileReadData|FileWriteData, false, FileReadData)
	expect(t, "rights add up across ACEs", "D:(A;;0x1;;;BU)(A;;0x2;;;AU)", tok, 0x3, true, 0x3)
	expect(t, "inherit-only skipped", "D:(A;OICIIO;FA;;;BU)", tok, FileReadData, false, 0)
	expect(t, "inherit-only deny skipped", "D:(D;OICIIO;FA;;;WD)(A;;FA;;;BU)", tok, FileReadData, true, FileReadData)
	expect(t, "foreign SID", "D:(A;;FA;;;S-1-5-21-1-2-3-1002)", tok, FileReadData, false, 0)
	r := check(t, "D:(D;;FW;;;WD)(A;;FA;;;BU)", tok, FileWriteData|FileReadData)
	if len(r.Trace) != 2 || r.Trace[1].Steps[0].ACE != 0 || r.Trace[0].Steps[0].ACE != 1 {
		t.Errorf("trace does not name the deciding ACEs:\n%s", r.Explain())
	}
}

// Token SID attributes ("SID Attributes in an Access Token", Microsoft
// Learn; [MS-DTYP] 2.5.2): enabled SIDs match allow and deny ACEs,
// deny-only SIDs deny ACEs only, other SIDs nothing.
func TestGroupAttributes(t *testing.T) {
	tok := userToken()
	expect(t, "deny-only matches deny", "D:(D;;FW;;;BA)(A;;FA;;;BU)", tok, FileWriteData, false, 0)
	expect(t, "deny-only ignores allow", "D:(A;;FA;;;BA)", tok, FileReadData, false, 0)
	expect(t, "disabled ignores allow", "D:(A;;FA;;;S-1-5-21-1-2-3-513)", tok, FileReadData, false, 0)
	expect(t, "disabled ignores deny", "D:(D;;FA;;;S-1-5-21-1-2-3-513)(A;;FA;;;BU)", tok, FileReadData, true, FileReadData)
	expect(t, "logon SID enabled", "D:(A;;FA;;;S-1-5-5-0-4660)", tok, FileReadData, true, FileReadData)
	u := userToken()
	u.UserDenyOnly = true
	expect(t, "deny-only user ignores allow", "D:(A;;FA;;;S-1-5-21-1-2-3-1001)", u, FileReadData, false, 0)
	expect(t, "deny-only user matches deny", "D:(D;;FR;;;S-1-5-21-1-2-3-1001)(A;;FA;;;BU)", u, FileReadData, false, 0)
}

// Generic rights, in the request and in ACEs, are mapped with the file
// generic mapping ([MS-DTYP] 2.4.3; MapGenericMask).
func TestGenericMapping(t *testing.T) {
	tok := userToken()
	expect(t, "GR in ACE", "D:(A;;GR;;;WD)", tok, FileGenericRead, true, FileGenericRead)
	expect(t, "GW requested", "D:(A;;FA;;;WD)", tok, GenericWrite, true, FileGenericWrite)
	expect(t, "GA in deny", "D:(D;;GA;;;WD)(A;;FA;;;WD)", tok, FileReadData, false, 0)
}

// MAXIMUM_ALLOWED ([MS-DTYP] 2.5.3.2): every ACE is examined, the rights
// granted before any deny are the result.
func TestMaximumAllowed(t *testing.T) {
	tok := userToken()
	expect(t, "max", "D:(D;;FW;;;WD)(A;;FA;;;BU)", tok, MaximumAllowed, true, FileAllAccess&^FileGenericWrite)
	expect(t, "max with owner", "O:S-1-5-21-1-2-3-1001D:(A;;FR;;;BU)", tok, MaximumAllowed, true, FileGenericRead|WriteDAC)
	expect(t, "max nothing", "O:BAD:", tok, MaximumAllowed, false, 0)
	expect(t, "max plus a denied right", "D:(A;;FR;;;BU)", tok, MaximumAllowed|FileWriteData, false, FileGenericRead)
}

// Restricted tokens ("Restricted Tokens", Microsoft Learn): a second check
// with only the restricting SIDs; a right must pass both.
func TestRestrictedToken(t *testing.T) {
	full := sandboxToken(false, tCap)
	expect(t, "intersection", "D:(A;;FA;;;BU)(A;;FR;;;S-1-5-21-7-7-7-7)", full, FileGenericRead|FileWriteData, false, FileGenericRead)
	expect(t, "read needs restricting SID too", "D:(A;;FA;;;BU)", full, FileReadData, false, 0)
	expect(t, "Everyone restricting SID", "D:(A;;FA;;;WD)", full, FileAllAccess, true, FileAllAccess)
	expect(t, "deny to cap in second pass", "D:(D;;FW;;;S-1-5-21-7-7-7-7)(A;;FA;;;WD)", full, FileWriteData, false, 0)
	// Restricting SIDs are always enabled: the deny-only attribute of a
	// normal group does not carry over.
	expect(t, "cap not in normal pass", "D:(A;;FA;;;S-1-5-21-7-7-7-7)", full, FileReadData, false, 0)
	// Owner rights in the second pass need the owner among restricting SIDs.
	expect(t, "owner, not restricting", "O:S-1-5-21-1-2-3-1001D:", full, ReadControl, false, 0)
	expect(t, "owner restricting", "O:WDD:", full, ReadControl, true, ReadControl)
}

// Write-restricted tokens: the restricting SIDs are checked only for write
// access (CreateRestrictedToken, WRITE_RESTRICTED). The model's write set is
// FileMapping.WriteRights().
func TestWriteRestrictedToken(t *testing.T) {
	wr := sandboxToken(true, tCap)
	repo := "O:S-1-5-21-1-2-3-1001D:(A;OICI;FA;;;S-1-5-21-1-2-3-1001)(A;OICI;FA;;;SY)"
	expect(t, "reads from first pass alone", repo, wr, FileGenericRead|FileGenericExecute, true, FileGenericRead|FileGenericExecute)
	expect(t, "write needs a restricting SID", repo, wr, FileWriteData, false, 0)
	expect(t, "delete is a write", repo, wr, Delete, false, 0)
	expect(t, "WRITE_DAC is a write even for the owner", repo, wr, WriteDAC, false, 0)
	expect(t, "READ_CONTROL is not a write", repo, wr, ReadControl, true, ReadControl)
	ws := "D:(A;OICI;FA;;;S-1-5-21-7-7-7-7)(A;OICI;FA;;;S-1-5-21-1-2-3-1001)"
	expect(t, "workspace write", ws, wr, FileGenericWrite|Delete, true, FileGenericWrite|Delete)
	other := sandboxToken(true, tCap2)
	expect(t, "other workspace's token", ws, other, FileWriteData, false, 0)
	git := "D:(D;OICI;0xd0156;;;S-1-5-21-7-7-7-7)(A;OICI;FA;;;S-1-5-21-7-7-7-7)(A;OICI;FA;;;S-1-5-21-1-2-3-1001)"
	expect(t, "protected .git", git, wr, FileAppendData, false, 0)
	expect(t, "protected .git readable", git, wr, FileGenericRead, true, FileGenericRead)
	expect(t, "Everyone-writable dir", "D:(A;OICI;FA;;;WD)", wr, FileWriteData, true, FileWriteData)
	expect(t, "Users-writable dir", "D:(A;OICI;FA;;;BU)", wr, FileWriteData, false, 0)
	expect(t, "logon-writable object", "D:(A;;FA;;;S-1-5-5-0-4660)", wr, FileWriteData, true, FileWriteData)
	r := check(t, git, wr, FileAppendData)
	last := r.Trace[0].Steps[len(r.Trace[0].Steps)-1]
	if last.Pass != PassRestricted || last.Effect != EffectDeny || last.ACE != 0 {
		t.Errorf("trace should blame ACE 0 in the restricted pass:\n%s", r.Explain())
	}
}

// Mandatory integrity ([MS-DTYP] 2.4.4.13 SYSTEM_MANDATORY_LABEL_ACE;
// "Mandatory Integrity Control", Microsoft Learn): an object without a label
// is Medium with no-write-up; a lower token may not write up.
func TestMandatoryIntegrity(t *testing.T) {
	low := userToken()
	low.Integrity = LowLabel
	open := "D:(A;;FA;;;WD)"
	expect(t, "low cannot write medium", open, low, FileWriteData, false, 0)
	expect(t, "low can read medium", open, low, FileGenericRead, true, FileGenericRead)
	expect(t, "low writes low", open+"S:(ML;;NW;;;LW)", low, FileWriteData, true, FileWriteData)
	expect(t, "no-read-up", open+"S:(ML;;NWNR;;;ME)", low, FileReadData, false, 0)
	expect(t, "no-read-up keeps READ_CONTROL", open+"S:(ML;;NWNR;;;ME)", low, ReadControl, true, ReadControl)
	expect(t, "no-execute-up", open+"S:(ML;;NX;;;ME)", low, FileExecute, false, 0)
	expect(t, "inherit-only label ignored", open+"S:(ML;OIIO;NW;;;HI)", userToken(), FileWriteData, true, FileWriteData)
	med := userToken()
	expect(t, "medium cannot write high", open+"S:(ML;;NW;;;HI)", med, FileWriteData, false, 0)
	expect(t, "high writes medium", open, &Token{User: tUser, Groups: []Group{{SID: Everyone, Attributes: GroupEnabled}}, Integrity: HighLabel}, FileWriteData, true, FileWriteData)
	off := userToken()
	off.Integrity = LowLabel
	off.IgnoreNoWriteUp = true
	expect(t, "policy off", open, off, FileWriteData, true, FileWriteData)
	untrusted := userToken()
	untrusted.Integrity = UntrustedLabel
	expect(t, "untrusted vs low", open+"S:(ML;;NW;;;LW)", untrusted, Delete, false, 0)
	r := check(t, open, low, FileWriteData)
	if s := r.Trace[0].Steps[0]; s.Pass != PassIntegrity || !strings.Contains(s.Why, "below") {
		t.Errorf("integrity step missing: %+v", s)
	}
}

// Privileges: ACCESS_SYSTEM_SECURITY needs SeSecurityPrivilege ([MS-DTYP]
// 2.5.3.2); SeTakeOwnershipPrivilege grants WRITE_OWNER whatever the DACL.
func TestPrivileges(t *testing.T) {
	tok := userToken()
	expect(t, "no SeSecurity", "D:NO_ACCESS_CONTROL", tok, AccessSystemSecurity, false, 0)
	tok.Privileges = append(tok.Privileges, "SeSecurityPrivilege", "SeTakeOwnershipPrivilege")
	expect(t, "SeSecurity", "D:", tok, AccessSystemSecurity, true, AccessSystemSecurity)
	expect(t, "take ownership", "D:(D;;WO;;;WD)", tok, WriteOwner, true, WriteOwner)
	wr := sandboxToken(true, tCap)
	wr.Privileges = append(wr.Privileges, "SeTakeOwnershipPrivilege")
	expect(t, "privilege skips restricted pass", "D:(A;;FA;;;BU)", wr, WriteOwner, true, WriteOwner)
}

func TestZeroDesired(t *testing.T) {
	r := check(t, "D:NO_ACCESS_CONTROL", userToken(), 0)
	if r.Allowed || r.Granted != 0 || len(r.Trace) != 0 {
		t.Errorf("zero desired: %+v", r)
	}
}

func expectUnder(t *testing.T, rd Reading, name, sddl string, tok *Token, desired AccessMask, allowed bool, granted AccessMask) {
	t.Helper()
	sd, err := ParseSDDL(sddl)
	if err != nil {
		t.Fatalf("ParseSDDL(%q): %v", sddl, err)
	}
	r := AccessCheckUnder(rd, sd, tok, desired, File)
	if r.Allowed != allowed || r.Granted != granted {
		t.Errorf("%s under %s: AccessCheckUnder(%s, %s) = allowed %v granted %s; want %v %s\n%s",
			name, rd, sddl, desired, r.Allowed, r.Granted, allowed, granted, r.Explain())
	}
}

// The readings of windows-access-check.md section 1, on the three probes
// TestRealWindowsReadings runs against the kernel.
func TestReadings(t *testing.T) {
	h1 := DefaultReading
	h2 := Reading{Mask: MaskH2, Trigger: PerRight, MaxAllowed: MaxSplit}
	whole := Reading{Mask: MaskH1, Trigger: WholeRequest, MaxAllowed: MaxSplit}
	maWhole := Reading{Mask: MaskH1, Trigger: WholeRequest, MaxAllowed: MaxWhole}
	if got := MaskH1.Rights(FileMapping); got != 0xD0156 {
		t.Errorf("H1 file mask %s, want 0x000d0156", got)
	}
	if got := MaskH2.Rights(FileMapping); got != 0x10D0116 {
		t.Errorf("H2 file mask %s, want 0x010d0116", got)
	}
	wr := sandboxToken(true, tCap)
	// The user's own directory; the restricting SIDs are granted nothing.
	userDir := "O:S-1-5-21-1-2-3-1001D:(A;OICI;FA;;;S-1-5-21-1-2-3-1001)"
	expectUnder(t, h1, "DELETE_CHILD alone", userDir, wr, FileDeleteChild, false, 0)
	expectUnder(t, h2, "DELETE_CHILD alone", userDir, wr, FileDeleteChild, true, FileDeleteChild)
	// The restricting SIDs hold WRITE_DATA only.
	capWrite := "D:(A;;FA;;;S-1-5-21-1-2-3-1001)(A;;WD;;;S-1-5-21-7-7-7-7)(A;;0x2;;;S-1-5-21-7-7-7-7)"
	expectUnder(t, h1, "READ_DATA|WRITE_DATA", capWrite, wr, FileReadData|FileWriteData, true, FileReadData|FileWriteData)
	expectUnder(t, whole, "READ_DATA|WRITE_DATA", capWrite, wr, FileReadData|FileWriteData, false, FileWriteData)
	expectUnder(t, whole, "READ_DATA alone", capWrite, wr, FileReadData, true, FileReadData)
	expectUnder(t, maWhole, "MAXIMUM_ALLOWED", capWrite, wr, MaximumAllowed, true, FileWriteData|WriteDAC)
	expectUnder(t, whole, "MAXIMUM_ALLOWED", capWrite, wr, MaximumAllowed, true, FileAllAccess&^(FileAppendData|FileWriteEA|FileDeleteChild|FileWriteAttributes|Delete|WriteOwner))
	// A fully restricted token: every reading agrees.
	for _, rd := range OpenReadings() {
		expectUnder(t, rd, "fully restricted", userDir, sandboxToken(false, tCap), FileDeleteChild, false, 0)
	}
	if r, err := ParseReading("h2/whole/ma-whole"); err != nil || r != (Reading{MaskH2, WholeRequest, MaxWhole}) {
		t.Errorf("ParseReading: %v, %v", r, err)
	}
	if _, err := ParseReading("H3"); err == nil || !strings.Contains(err.Error(), "H1/per-right/MA-split") {
		t.Errorf("ParseReading(H3) = %v, want an error listing the readings", err)
	}
	if OpenReadings()[0] != DefaultReading {
		t.Errorf("OpenReadings()[0] = %s, want the default %s", OpenReadings()[0], DefaultReading)
	}
}

// The owner's implicit READ_CONTROL|WRITE_DAC need the owner enabled in the
// token and, for a restricted token, among its restricting SIDs, even when
// the token is only write-restricted (windows-access-check.md, section 2).
func TestOwnerImplicitRights(t *testing.T) {
	owned := "O:S-1-5-21-1-2-3-1001D:"
	expect(t, "owner", owned, userToken(), ReadControl|WriteDAC, true, ReadControl|WriteDAC)
	expect(t, "owner, write-restricted, not restricting", owned, sandboxToken(true, tCap), ReadControl, false, 0)
	expect(t, "owner, write-restricted, restricting", owned, sandboxToken(true, tUser), ReadControl|WriteDAC, true, ReadControl|WriteDAC)
	deny := userToken()
	deny.UserDenyOnly = true
	deny.RestrictedSIDs = []SID{tUser}
	expect(t, "deny-only owner, restricting", owned, deny, ReadControl, false, 0)
}

// No-execute-up denies FILE_EXECUTE only: FILE_READ_ATTRIBUTES, in generic
// execute too, stays open (windows-access-check.md, section 3).
func TestNoExecuteUp(t *testing.T) {
	low := userToken()
	low.Integrity = LowLabel
	nx := "D:(A;;FA;;;WD)S:(ML;;NX;;;ME)"
	expect(t, "no-execute-up, execute", nx, low, FileExecute, false, 0)
	expect(t, "no-execute-up, read attributes", nx, low, FileReadAttributes, true, FileReadAttributes)
	if got := FileMapping.ExecuteRights(); got != FileExecute {
		t.Errorf("FileMapping.ExecuteRights() = %s, want FILE_EXECUTE", got)
	}
}
