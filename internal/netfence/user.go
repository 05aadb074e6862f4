package netfence

import (
	"fmt"

	"github.com/cordon-sandbox/cordon/ntsec"
)

// MatchFilter is FWP_ACTRL_MATCH_FILTER (fwpmu.h), the right WFP's filter
// engine asks of a security-descriptor condition: "When evaluating
// SECURITY_DESCRIPTOR conditions, the filter engine checks for
// FWP_ACTRL_MATCH_FILTER access. If the DACL grants access, … the
// condition evaluates to true" ("Permitting and Blocking Applications and
// Users", https://learn.microsoft.com/en-us/windows/win32/fwp/permitting-and-blocking-applications-and-users).
// In SDDL it is spelled CC (the same bit as ADS_RIGHT_DS_CREATE_CHILD).
const MatchFilter ntsec.AccessMask = 0x1

// Match is how a user condition compares: FWP_MATCH_EQUAL is true when the
// access check grants MatchFilter, FWP_MATCH_NOT_EQUAL when it does not.
type Match uint8

const (
	MatchEqual Match = iota
	MatchNotEqual
)

func (m Match) String() string {
	if m == MatchNotEqual {
		return "!="
	}
	return "=="
}

// UserCondition is an FWPM_CONDITION_ALE_USER_ID condition: the token the
// socket was created with is access-checked against SDDL.
type UserCondition struct {
	Match Match
	SDDL  string
}

// OfflineUserCondition returns the condition that picks out every token of
// the account sid, and (as far as the model shows) nothing of any other
// account's ordinary tokens:
//
//	ALE_USER_ID != O:LSD:(D;;CC;;;<sid>)(A;;CC;;;WD)(A;;CC;;;AC)(A;;CC;;;S-1-15-2-2)
//
// Codex uses "== O:LSD:(A;;CC;;;<sid>)", which matches only while the
// user SID is enabled. CreateRestrictedToken lets any process make its own
// user SID deny-only (SidsToDisable; Chromium's lockdown token does) and
// start a child with that token without any privilege; a deny-only SID
// never matches an allow ACE, so that child's sockets would match no
// filter and the fence would not apply. The same happens if WFP's check
// runs the restricting-SID pass of a restricted token (hypothesis below)
// and the process narrows its restricting SIDs to ones the descriptor does
// not list. Here the test is inverted: a deny ACE for the account comes
// first, and deny ACEs match deny-only SIDs too, so every token holding
// the account's SID, enabled or deny-only, restricted or not, is denied
// MatchFilter and so matches "!=". Every ordinary token of any other
// account holds Everyone (WD) enabled and is granted; AppContainer and
// less-privileged AppContainer tokens also need ALL APPLICATION PACKAGES
// (AC) or ALL RESTRICTED APPLICATION PACKAGES (S-1-15-2-2) granted in their
// second check, hence those ACEs. The owner is LocalService, as in the
// firewall's own descriptors; ownership grants only READ_CONTROL and
// WRITE_DAC, never MatchFilter.
//
// What this costs: a token of another account that Everyone does not
// grant also matches, so the fence blocks it too. That is an unusual token
// (Everyone deny-only, or restricted to SIDs without Everyone, such as
// Chromium's USER_LOCKDOWN renderers, which open no sockets; or the
// anonymous token, which holds Everyone only when the "Let Everyone
// permissions apply to anonymous users" policy is on). Such tokens lose
// the network, which fails closed. Anonymous impersonation is also why
// the descriptor does not grant ANONYMOUS LOGON: the offline user can
// impersonate the anonymous token without privilege.
//
// Hypotheses a real-Windows run must settle (Evaluate takes them as
// Hypotheses): which token WFP checks (the process token at socket
// creation, or the thread's impersonation token), and whether its access
// check runs a write-restricted token's restricting-SID pass for
// MatchFilter (it does if the generic mapping WFP passes counts 0x1 as a
// write right: FWPM_GENERIC_WRITE includes FWPM_ACTRL_ADD, also 0x1).
// Under every combination the tests check that the condition matches all
// of the offline user's tokens and none of the ordinary tokens of others.
// Whether BFE accepts FWP_MATCH_NOT_EQUAL on a security descriptor is
// checked by Install itself (FwpmFilterAdd0 refuses an unsupported match
// type): the real-Windows test fails loudly if it does not.
func OfflineUserCondition(sid ntsec.SID) UserCondition {
	return UserCondition{
		Match: MatchNotEqual,
		SDDL:  fmt.Sprintf("O:LSD:(D;;CC;;;%s)(A;;CC;;;WD)(A;;CC;;;AC)(A;;CC;;;S-1-15-2-2)", sid),
	}
}

// CodexUserCondition is Codex's condition for sid, kept so that the tests
// can show what it misses.
func CodexUserCondition(sid ntsec.SID) UserCondition {
	return UserCondition{Match: MatchEqual, SDDL: fmt.Sprintf("O:LSD:(A;;CC;;;%s)", sid)}
}

// Hypotheses are the open questions about how WFP tests a user condition.
type Hypotheses struct {
	// RestrictedPass says the access check constrains MatchFilter by a
	// write-restricted token's restricting SIDs too (as for a fully
	// restricted token). False: only the normal pass decides.
	RestrictedPass bool
	// MappedAtV4 says traffic of a dual-stack socket to a v4-mapped IPv6
	// address (::ffff:a.b.c.d) is classified at the IPv4 layers with the
	// IPv4 address. False: at the IPv6 layers with the mapped address.
	MappedAtV4 bool
}

// AllHypotheses lists every combination, for tests.
var AllHypotheses = []Hypotheses{{false, false}, {false, true}, {true, false}, {true, true}}

// Matches reports whether tok satisfies the condition under h, using
// ntsec's access check. The model has no AppContainer check, so a token
// is checked with its user, groups and restricting SIDs only.
func (u UserCondition) Matches(tok *ntsec.Token, h Hypotheses) (bool, error) {
	sd, err := ntsec.ParseSDDL(u.SDDL)
	if err != nil {
		return false, fmt.Errorf("user condition %q: %w", u.SDDL, err)
	}
	t := *tok
	if h.RestrictedPass {
		// The model runs the restricting-SID pass for every right of a
		// fully restricted token; MatchFilter (0x1, FILE_READ_DATA under
		// the file mapping the model uses) is otherwise read-only.
		t.WriteRestricted = false
	}
	granted := ntsec.AccessCheck(sd, &t, MatchFilter, ntsec.File).Allowed
	return granted == (u.Match == MatchEqual), nil
}
