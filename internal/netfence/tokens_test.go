package netfence

import (
	"testing"

	"github.com/cordon-sandbox/cordon/internal/restrictedtoken"
	"github.com/cordon-sandbox/cordon/ntsec"
)

func sid(t testing.TB, s string) ntsec.SID {
	t.Helper()
	v, err := ntsec.ParseSID(s)
	if err != nil {
		t.Fatalf("ParseSID(%q): %v", s, err)
	}
	return v
}

const (
	offlineSID = "S-1-5-21-1111-2222-3333-1001"
	onlineSID  = "S-1-5-21-1111-2222-3333-1002"
	realSID    = "S-1-5-21-1111-2222-3333-1000"
)

var (
	enabled  = ntsec.GroupMandatory | ntsec.GroupEnabledByDefault | ntsec.GroupEnabled
	denyOnly = ntsec.GroupDenyOnly
)

// userToken is an interactive, UAC-filtered token of a local account.
func userToken(t testing.TB, user string, logonLo uint32) *ntsec.Token {
	return &ntsec.Token{
		User: sid(t, user),
		Groups: []ntsec.Group{
			{SID: ntsec.Everyone, Attributes: enabled},
			{SID: ntsec.BuiltinUsers, Attributes: enabled},
			{SID: ntsec.BuiltinAdministrators, Attributes: denyOnly},
			{SID: ntsec.Interactive, Attributes: enabled},
			{SID: ntsec.AuthenticatedUsers, Attributes: enabled},
			{SID: sid(t, "S-1-2-0"), Attributes: enabled},
			{SID: ntsec.LogonSID(0, logonLo), Attributes: enabled | ntsec.GroupLogonID},
		},
		Privileges: []string{"SeChangeNotifyPrivilege"},
	}
}

// sandboxToken is the write-restricted token cordon runs commands on,
// made from base by restrictedtoken.Model.
func sandboxToken(t testing.TB, base *ntsec.Token) *ntsec.Token {
	tok, err := restrictedtoken.Model(base, restrictedtoken.Spec{
		Caps: []ntsec.SID{sid(t, "S-1-5-21-9-9-9-1")},
		Run:  sid(t, "S-1-5-21-9-9-9-2"),
	})
	if err != nil {
		t.Fatalf("restrictedtoken.Model: %v", err)
	}
	return tok
}

func clone(tok *ntsec.Token) *ntsec.Token {
	c := *tok
	c.Groups = append([]ntsec.Group(nil), tok.Groups...)
	c.RestrictedSIDs = append([]ntsec.SID(nil), tok.RestrictedSIDs...)
	return &c
}

type namedToken struct {
	name string
	tok  *ntsec.Token
}

// offlineTokens are tokens the offline user has or can make for itself
// without any privilege: its logon token, cordon's sandbox token, and what
// CreateRestrictedToken on either gives (user SID deny-only, every group
// deny-only, restricting SIDs narrowed, write restriction dropped or kept).
func offlineTokens(t testing.TB) []namedToken {
	base := userToken(t, offlineSID, 7)
	sb := sandboxToken(t, base)

	userDeny := clone(base)
	userDeny.UserDenyOnly = true

	sbUserDeny := clone(sb)
	sbUserDeny.UserDenyOnly = true

	narrowed := clone(sb)
	narrowed.RestrictedSIDs = []ntsec.SID{ntsec.Everyone}

	narrowedFull := clone(narrowed)
	narrowedFull.WriteRestricted = false

	lockdown := clone(base)
	lockdown.UserDenyOnly = true
	for i := range lockdown.Groups {
		lockdown.Groups[i].Attributes = denyOnly
	}
	lockdown.RestrictedSIDs = []ntsec.SID{sid(t, "S-1-0-0")}

	low := clone(sb)
	low.Integrity = ntsec.LowLabel

	// ImpersonateAnonymousToken needs no privilege. Without the "Let
	// Everyone permissions apply to anonymous users" policy the anonymous
	// token holds no Everyone.
	anonymous := &ntsec.Token{
		User:   ntsec.AnonymousLogon,
		Groups: []ntsec.Group{{SID: ntsec.Network, Attributes: enabled}},
	}

	return []namedToken{
		{"offline logon token", base},
		{"anonymous, impersonated by the offline user", anonymous},
		{"offline sandbox token (write-restricted, caps)", sb},
		{"offline, user SID deny-only", userDeny},
		{"offline sandbox, user SID deny-only", sbUserDeny},
		{"offline sandbox, restricting SIDs narrowed to Everyone", narrowed},
		{"offline, fully restricted to Everyone", narrowedFull},
		{"offline lockdown (all deny-only, NULL SID restricting)", lockdown},
		{"offline sandbox at Low integrity", low},
	}
}

// otherTokens are ordinary tokens of other accounts: the fence must have
// no say over them.
func otherTokens(t testing.TB) []namedToken {
	online := userToken(t, onlineSID, 8)
	real := userToken(t, realSID, 9)
	system := &ntsec.Token{
		User: ntsec.LocalSystem,
		Groups: []ntsec.Group{
			{SID: ntsec.BuiltinAdministrators, Attributes: enabled | ntsec.GroupOwner},
			{SID: ntsec.Everyone, Attributes: enabled},
			{SID: ntsec.AuthenticatedUsers, Attributes: enabled},
		},
		Integrity: ntsec.SystemLabel,
	}
	netsvc := &ntsec.Token{
		User: ntsec.NetworkService,
		Groups: []ntsec.Group{
			{SID: ntsec.Everyone, Attributes: enabled},
			{SID: ntsec.Service, Attributes: enabled},
			{SID: ntsec.AuthenticatedUsers, Attributes: enabled},
		},
		Integrity: ntsec.SystemLabel,
	}
	// A service of SERVICE_SID_TYPE_RESTRICTED: write-restricted to its
	// service SID, Everyone, WRITE RESTRICTED and its logon SID.
	svcSID := sid(t, "S-1-5-80-1-2-3-4-5")
	restrictedSvc := clone(netsvc)
	restrictedSvc.Groups = append(restrictedSvc.Groups, ntsec.Group{SID: svcSID, Attributes: enabled})
	restrictedSvc.RestrictedSIDs = []ntsec.SID{svcSID, ntsec.Everyone, ntsec.WriteRestrictedCode}
	restrictedSvc.WriteRestricted = true
	return []namedToken{
		{"online user", online},
		{"online sandbox token", sandboxToken(t, online)},
		{"real user", real},
		{"real user's restricted-token sandbox", sandboxToken(t, real)},
		{"SYSTEM", system},
		{"NETWORK SERVICE", netsvc},
		{"restricted service", restrictedSvc},
	}
}
