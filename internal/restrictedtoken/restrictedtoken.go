// Package restrictedtoken builds the token cordon's Windows backend runs
// commands under, and describes it in ntsec's model so that the planner's
// proof and the real token can be checked to be the same thing.
//
// The token is the caller's own, made write-restricted with
// CreateRestrictedToken
// (https://learn.microsoft.com/en-us/windows/win32/api/securitybaseapi/nf-securitybaseapi-createrestrictedtoken):
//
//   - DISABLE_MAX_PRIVILEGE (0x1) "disables all privileges in the new token
//     except the SeChangeNotifyPrivilege privilege"; cordon then enables
//     SeChangeNotifyPrivilege (bypass traverse checking, which most programs
//     need to open paths below directories they cannot list) and removes any
//     other privilege still held;
//   - LUA_TOKEN (0x4) marks the token as a limited-user (UAC) token;
//   - WRITE_RESTRICTED (0x8): "the new token contains restricting SIDs that
//     are considered only when evaluating write access". Reads are decided by
//     the user's normal SIDs; a write must also be granted to one of the
//     restricting SIDs ("Restricted Tokens",
//     https://learn.microsoft.com/en-us/windows/win32/secauthz/restricted-tokens).
//
// The restricting SIDs are the run's capability SIDs (which cordon grants on
// the writable roots), a random SID of this run alone (Spec.Run), the logon
// SID and Everyone. The logon SID and Everyone keep the console, pipes and
// other per-session objects writable, and are why world-writable directories
// need deny ACEs for the capability SIDs. Every other sandbox holds them
// too, so nothing the sandbox creates may grant them a write right: the
// token's default DACL and the process and thread descriptors
// (DefaultDACL, ProcessSD, ThreadSD in security.go) grant only the user,
// SYSTEM and the run SID.
//
// Model describes that token for a given base token. On Windows, OpenCaller
// reads the current process token once (Query); the backend proves its plan
// against Caller.Sandbox, the model over that read, and Caller.Create makes
// the token from the same handle and the same read, then reads the new
// token back and refuses it unless it equals the model proven (Diff). So
// the proof is about the token that runs, not about a second read of the
// caller's token that might differ.
package restrictedtoken

import (
	"errors"
	"fmt"
	"slices"

	"github.com/cordon-sandbox/cordon/ntsec"
)

// Spec says what the sandbox token holds beyond the user's own token.
type Spec struct {
	// Caps are the capability SIDs of the run, S-1-5-21-… SIDs that cordon
	// mints and grants on the writable roots. At least one is required.
	Caps []ntsec.SID
	// Run is the SID of this run alone (NewRunSID): a restricting SID that
	// the default DACL, ProcessSD and ThreadSD grant, so that the run can
	// write what it creates and no other sandbox can. Required.
	Run ntsec.SID
	// LowIntegrity lowers the token to Low integrity
	// (https://learn.microsoft.com/en-us/windows/win32/secauthz/mandatory-integrity-control).
	// A Low token cannot write objects without a label either (they count
	// as Medium, no-write-up), so writable roots then need a Low label.
	LowIntegrity bool
}

// ErrElevated is returned, wrapped, for a base token whose Administrators
// group is enabled: an elevated (UAC "full") token.
//
// cordon's proofs assume the UAC-filtered token a normal shell has, with
// Administrators deny-only (plan.SandboxToken). A write-restricted token
// constrains only writes: with Administrators enabled every read would be an
// administrator's (other users' profiles, protected system files), the token
// would run at High integrity and could write High-labelled objects, and
// objects it creates would be owned by Administrators. None of that is in
// the proof, so rather than sandbox an elevated shell, cordon refuses it.
var ErrElevated = errors.New("restrictedtoken: the token is elevated (Administrators enabled): run cordon from a non-elevated shell")

// ErrIncomplete is returned, wrapped, by Query when Windows would not say
// whether the token is restricted or write-restricted, or what its
// mandatory policy is (Wine implements none of those information classes).
// Query then returns the rest of the token alongside the error; it must not
// be used to prove anything, since a restricted token would look
// unrestricted.
var ErrIncomplete = errors.New("restrictedtoken: the token could be read only in part")

// changeNotify is the one privilege the sandbox token keeps, enabled.
const changeNotify = "SeChangeNotifyPrivilege"

// Model returns the ntsec description of the token Create makes from base
// with spec:
//
//   - base's user and groups, unchanged (no SID is disabled);
//   - privileges: only SeChangeNotifyPrivilege, enabled. DISABLE_MAX_PRIVILEGE
//     strips the rest, so a base holding SeBackupPrivilege, SeRestorePrivilege
//     or SeTakeOwnershipPrivilege is not refused: those privileges are not in
//     the sandbox token (Create also removes any left over, and checks);
//   - RestrictedSIDs: spec.Caps, then spec.Run, then base's logon SID (the
//     group with the SE_GROUP_LOGON_ID attribute), then Everyone;
//     WriteRestricted;
//   - integrity Low when spec.LowIntegrity, else base's; base's mandatory
//     policy.
//
// Model refuses (with an error naming the cause) a spec without caps, with a
// duplicate cap, with a cap that is not S-1-5-21-… or that base already holds
// as its user or a group, without a run SID or with one that is not
// S-1-5-21-…, equals a cap or is held by base (a restricting SID the user already has would let
// the sandbox write wherever the user may); and a base token that is
// elevated (ErrElevated), already restricted (the new restricting SIDs would
// then combine with the old ones, which the model does not describe) or has
// no logon SID or more than one.
func Model(base *ntsec.Token, spec Spec) (*ntsec.Token, error) {
	if base == nil {
		return nil, errors.New("restrictedtoken: no base token")
	}
	if err := checkCaps(base, spec.Caps); err != nil {
		return nil, err
	}
	if err := checkRun(base, spec); err != nil {
		return nil, err
	}
	if err := checkBase(base); err != nil {
		return nil, err
	}
	logon, err := LogonSID(base)
	if err != nil {
		return nil, err
	}
	t := &ntsec.Token{
		User:            base.User,
		UserDenyOnly:    base.UserDenyOnly,
		Groups:          append([]ntsec.Group(nil), base.Groups...),
		RestrictedSIDs:  RestrictingSIDs(logon, spec.Run, spec.Caps),
		WriteRestricted: true,
		Privileges:      []string{changeNotify},
		Integrity:       base.Integrity,
		IgnoreNoWriteUp: base.IgnoreNoWriteUp,
	}
	if spec.LowIntegrity {
		t.Integrity = ntsec.LowLabel
	}
	return t, nil
}

// RestrictingSIDs returns the restricting SIDs of the sandbox token, in the
// order Create passes them: caps, then the run SID, the logon SID and
// Everyone.
func RestrictingSIDs(logon, run ntsec.SID, caps []ntsec.SID) []ntsec.SID {
	out := make([]ntsec.SID, 0, len(caps)+3)
	out = append(out, caps...)
	return append(out, run, logon, ntsec.Everyone)
}

// checkRun validates the run SID against base and the caps.
func checkRun(base *ntsec.Token, spec Spec) error {
	r := spec.Run
	subs := r.SubAuthorities()
	if r.IsZero() || r.Authority() != 5 || len(subs) < 2 || subs[0] != 21 {
		return fmt.Errorf("restrictedtoken: run SID (%s) is not an S-1-5-21-… SID: use NewRunSID", sidText(r))
	}
	if slices.Contains(spec.Caps, r) {
		return fmt.Errorf("restrictedtoken: run SID %s is also a capability SID", r)
	}
	if r == base.User || slices.ContainsFunc(base.Groups, func(g ntsec.Group) bool { return g.SID == r }) {
		return fmt.Errorf("restrictedtoken: run SID %s is already held by the token", r)
	}
	return nil
}

// checkCaps validates the capability SIDs against base.
func checkCaps(base *ntsec.Token, caps []ntsec.SID) error {
	if len(caps) == 0 {
		return errors.New("restrictedtoken: no capability SIDs: the sandbox token needs at least one to write anything")
	}
	seen := make(map[ntsec.SID]bool, len(caps))
	for i, c := range caps {
		subs := c.SubAuthorities()
		if c.Authority() != 5 || len(subs) < 2 || subs[0] != 21 {
			return fmt.Errorf("restrictedtoken: capability SID %d (%s) is not an S-1-5-21-… SID", i, sidText(c))
		}
		if seen[c] {
			return fmt.Errorf("restrictedtoken: capability SID %s is given twice", c)
		}
		seen[c] = true
		if c == base.User {
			return fmt.Errorf("restrictedtoken: capability SID %s is the token's user", c)
		}
		for _, g := range base.Groups {
			if g.SID == c {
				return fmt.Errorf("restrictedtoken: capability SID %s is already a group of the token", c)
			}
		}
	}
	return nil
}

func sidText(s ntsec.SID) string {
	if s.IsZero() {
		return "empty"
	}
	return s.String()
}

// checkBase refuses base tokens the model does not describe.
func checkBase(base *ntsec.Token) error {
	if base.User.IsZero() {
		return errors.New("restrictedtoken: the base token has no user SID")
	}
	for _, g := range base.Groups {
		if g.SID == ntsec.BuiltinAdministrators && g.Attributes&ntsec.GroupEnabled != 0 && g.Attributes&ntsec.GroupDenyOnly == 0 {
			return ErrElevated
		}
	}
	if len(base.RestrictedSIDs) > 0 || base.WriteRestricted {
		return errors.New("restrictedtoken: the base token is already restricted (cordon running inside another sandbox?): a restricted token made from it would not be the one the proofs describe")
	}
	return nil
}

// LogonSID returns the logon SID of t: the group with the SE_GROUP_LOGON_ID
// attribute. It is an error if t has none or more than one.
func LogonSID(t *ntsec.Token) (ntsec.SID, error) {
	var logon ntsec.SID
	for _, g := range t.Groups {
		if g.Attributes&ntsec.GroupLogonID != ntsec.GroupLogonID {
			continue
		}
		if !logon.IsZero() && logon != g.SID {
			return ntsec.SID{}, fmt.Errorf("restrictedtoken: the token has two logon SIDs, %s and %s", logon, g.SID)
		}
		logon = g.SID
	}
	if logon.IsZero() {
		return ntsec.SID{}, errors.New("restrictedtoken: the token has no logon SID (no group with SE_GROUP_LOGON_ID): it is needed as a restricting SID for the console and pipes")
	}
	return logon, nil
}

// Diff lists, by field name, where got differs from want: the check that a
// token read back from Windows is the one the model described. Restricting
// SIDs compare as sets (their order does not change the access check);
// groups and privileges compare in order, as Query reads them in the order
// Windows keeps and Model copies the base's.
func Diff(want, got *ntsec.Token) map[string]string {
	d := map[string]string{}
	if got.User != want.User || got.UserDenyOnly != want.UserDenyOnly {
		d["User"] = fmt.Sprintf("%v (deny-only %v), want %v (deny-only %v)", got.User, got.UserDenyOnly, want.User, want.UserDenyOnly)
	}
	if !slices.Equal(got.Groups, want.Groups) {
		d["Groups"] = fmt.Sprintf("%v, want %v", got.Groups, want.Groups)
	}
	sorted := func(s []ntsec.SID) []string {
		out := make([]string, len(s))
		for i, x := range s {
			out[i] = x.String()
		}
		slices.Sort(out)
		return out
	}
	if !slices.Equal(sorted(got.RestrictedSIDs), sorted(want.RestrictedSIDs)) {
		d["RestrictedSIDs"] = fmt.Sprintf("%v, want %v", got.RestrictedSIDs, want.RestrictedSIDs)
	}
	if got.WriteRestricted != want.WriteRestricted {
		d["WriteRestricted"] = fmt.Sprintf("%v, want %v", got.WriteRestricted, want.WriteRestricted)
	}
	if !slices.Equal(got.Privileges, want.Privileges) {
		d["Privileges"] = fmt.Sprintf("%v, want %v", got.Privileges, want.Privileges)
	}
	if got.Integrity != want.Integrity {
		d["Integrity"] = fmt.Sprintf("%v, want %v", got.Integrity, want.Integrity)
	}
	if got.IgnoreNoWriteUp != want.IgnoreNoWriteUp {
		d["IgnoreNoWriteUp"] = fmt.Sprintf("%v, want %v", got.IgnoreNoWriteUp, want.IgnoreNoWriteUp)
	}
	return d
}
