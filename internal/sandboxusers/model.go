package sandboxusers

import "strings"

// Version is the version of the setup this code performs. A marker with
// another version is stale: setup runs again and rewrites it.
const Version = 1

// The accounts setup manages. Every name begins with [ManagedPrefix].
const (
	GroupName   = "CordonSandboxUsers"
	OfflineUser = "CordonSandboxOffline"
	OnlineUser  = "CordonSandboxOnline"
)

// ManagedPrefix begins the name of every account setup creates. Setup never
// deletes an account whose name lacks it, whatever a marker says: the marker
// lives in the real user's state directory, where a non-administrator may
// write, and must not steer an elevated setup into deleting other accounts.
const ManagedPrefix = "CordonSandbox"

// Managed reports whether name is one setup may create and delete.
func Managed(name string) bool {
	return len(name) > len(ManagedPrefix) && strings.EqualFold(name[:len(ManagedPrefix)], ManagedPrefix)
}

// Account flags (USER_INFO_1008 usri1008_flags), with Windows' values so that
// the Windows code passes them through unchanged.
// https://learn.microsoft.com/windows/win32/api/lmaccess/ns-lmaccess-user_info_1008
//
//nolint:revive,stylecheck // Windows names
const (
	UF_SCRIPT             = 0x0001
	UF_ACCOUNTDISABLE     = 0x0002
	UF_LOCKOUT            = 0x0010
	UF_PASSWD_NOTREQD     = 0x0020
	UF_PASSWD_CANT_CHANGE = 0x0040
	UF_NORMAL_ACCOUNT     = 0x0200
	UF_DONT_EXPIRE_PASSWD = 0x10000
)

// RequiredFlags are set on every sandbox user:
//   - UF_SCRIPT: NetUserAdd and NetUserSetInfo require it.
//   - UF_DONT_EXPIRE_PASSWD: an expiring password would lock cordon out
//     after the maximum password age (codex#44185, codex#18620).
//   - UF_PASSWD_CANT_CHANGE: the account runs untrusted commands; one of
//     them must not be able to change the password and lock cordon out.
//
// ForbiddenFlags are cleared: a disabled or locked-out account cannot log
// on, and UF_PASSWD_NOTREQD would allow an empty password.
const (
	RequiredFlags  = UF_SCRIPT | UF_DONT_EXPIRE_PASSWD | UF_PASSWD_CANT_CHANGE
	ForbiddenFlags = UF_ACCOUNTDISABLE | UF_LOCKOUT | UF_PASSWD_NOTREQD
)

// WantFlags returns the flags an account with flags have should get: the
// required ones set, the forbidden ones cleared, all others (the account
// type among them, which USER_INFO_1008 must carry) kept.
func WantFlags(have uint32) uint32 { return have&^ForbiddenFlags | RequiredFlags }

// Group names a local group: the cordon group by name, or a built-in group
// by its well-known SID, because built-in names are translated ("Users" is
// "Benutzer" on a German Windows; codex#27376 broke on such names).
type Group struct {
	Name string // set for a group setup creates
	SID  string // set for a built-in group
}

// The built-in groups setup looks at.
var (
	// BuiltinUsers grants "Allow log on locally" (SeInteractiveLogonRight)
	// by default, which LogonUser(LOGON32_LOGON_INTERACTIVE) and
	// CreateProcessWithLogonW need; it also grants read and execute on
	// C:\Windows and C:\Program Files, without which no tool runs. Sandbox
	// users must be members.
	BuiltinUsers = Group{SID: "S-1-5-32-545"}
	// BuiltinAdministrators must never contain a sandbox user: an
	// administrator can take ownership of anything, so the sandbox would
	// mean nothing. Setup removes the user if someone added it.
	BuiltinAdministrators = Group{SID: "S-1-5-32-544"}
)

func (g Group) String() string {
	switch g {
	case BuiltinUsers:
		return "Users (" + g.SID + ")"
	case BuiltinAdministrators:
		return "Administrators (" + g.SID + ")"
	}
	if g.Name != "" {
		return g.Name
	}
	return g.SID
}

// Desired is what setup makes true.
type Desired struct {
	Group string
	// Users are the sandbox accounts: each a member of Group and of
	// BuiltinUsers, not of BuiltinAdministrators, with RequiredFlags set and
	// ForbiddenFlags clear, hidden from the logon screen, and with a
	// password that cordon has stored and that logs on.
	Users []string
}

// Default is cordon's setup: the offline account (no network but the
// proxy's) and the online account.
func Default() Desired {
	return Desired{Group: GroupName, Users: []string{OfflineUser, OnlineUser}}
}

// memberships returns the groups user must (true) or must not (false)
// belong to.
func (d Desired) memberships() []membership {
	return []membership{
		{Group{Name: d.Group}, true},
		{BuiltinUsers, true},
		{BuiltinAdministrators, false},
	}
}

type membership struct {
	group  Group
	member bool
}
