package sandboxusers

import (
	"fmt"
	"strings"
)

// Kind is what an Action does.
type Kind int

const (
	CreateGroup Kind = iota + 1
	// CreateUser makes a new password, stores it pending, creates the
	// account with it, then stores it committed.
	CreateUser
	// ResetPassword does the same with an existing account.
	ResetPassword
	SetFlags
	AddMember
	RemoveMember
	Hide
	Unhide
	DeleteUser
	DeleteSecret
	DeleteGroup
	// Verify logs on with the stored password and fails setup if it does
	// not work: the marker is written only after it passes.
	Verify
	WriteMarker
	DeleteMarker
)

// Action is one step of a plan.
type Action struct {
	Kind  Kind
	User  string
	Group Group  // AddMember, RemoveMember, CreateGroup, DeleteGroup
	Flags uint32 // SetFlags: the new flags
	// Why says what was observed; empty for steps that follow from
	// another (the memberships of a user just created).
	Why string
}

// String renders the action for --dry-run and the report.
func (a Action) String() string {
	var s string
	switch a.Kind {
	case CreateGroup:
		s = "create group " + a.Group.Name
	case CreateUser:
		s = fmt.Sprintf("create user %s with a new random password (flags %s), stored DPAPI-protected", a.User, FlagString(RequiredFlags))
	case ResetPassword:
		s = "set a new random password on " + a.User + ", stored DPAPI-protected"
	case SetFlags:
		s = fmt.Sprintf("set the flags of %s to %s", a.User, FlagString(a.Flags))
	case AddMember:
		s = fmt.Sprintf("add %s to %s", a.User, a.Group)
	case RemoveMember:
		s = fmt.Sprintf("remove %s from %s", a.User, a.Group)
	case Hide:
		s = "hide " + a.User + " from the logon screen"
	case Unhide:
		s = "remove " + a.User + " from the logon screen's hidden list"
	case DeleteUser:
		s = "delete user " + a.User + " and its profile"
	case DeleteSecret:
		s = "delete the stored password of " + a.User
	case DeleteGroup:
		s = "delete group " + a.Group.Name
	case Verify:
		s = "log on as " + a.User + " with the stored password"
	case WriteMarker:
		s = fmt.Sprintf("write the setup marker (version %d)", Version)
	case DeleteMarker:
		s = "delete the setup marker"
	default:
		s = fmt.Sprintf("unknown action %d", a.Kind)
	}
	if a.Why != "" {
		s += " (" + a.Why + ")"
	}
	return s
}

// FlagString names the flags setup cares about, for people.
func FlagString(f uint32) string {
	names := []struct {
		bit  uint32
		name string
	}{
		{UF_SCRIPT, "UF_SCRIPT"}, {UF_ACCOUNTDISABLE, "UF_ACCOUNTDISABLE"},
		{UF_LOCKOUT, "UF_LOCKOUT"}, {UF_PASSWD_NOTREQD, "UF_PASSWD_NOTREQD"},
		{UF_PASSWD_CANT_CHANGE, "UF_PASSWD_CANT_CHANGE"}, {UF_NORMAL_ACCOUNT, "UF_NORMAL_ACCOUNT"},
		{UF_DONT_EXPIRE_PASSWD, "UF_DONT_EXPIRE_PASSWD"},
	}
	var parts []string
	rest := f
	for _, n := range names {
		if f&n.bit != 0 {
			parts = append(parts, n.name)
			rest &^= n.bit
		}
	}
	if rest != 0 {
		parts = append(parts, fmt.Sprintf("%#x", rest))
	}
	return strings.Join(parts, "|")
}

// Plan returns the steps that take the observed state to d, in an order
// where a setup killed after any step leaves a state the next Plan repairs:
//
//  1. the group, so that users can join it;
//  2. per user: create it (with its flags) or fix its flags, then its
//     password (stored pending before it is set, committed after), its
//     memberships and the logon-screen entry;
//  3. accounts left from another version, deleted;
//  4. a logon with each stored password;
//  5. the marker, last, so that a marker at this Version means every step
//     before it succeeded.
//
// A plan is empty exactly when nothing needs doing. Plan is pure: it reads
// only its arguments.
func Plan(d Desired, o Observed) []Action {
	var acts []Action
	if !o.GroupExists {
		acts = append(acts, Action{Kind: CreateGroup, Group: Group{Name: d.Group}, Why: "missing"})
	}
	for _, name := range d.Users {
		acts = append(acts, planUser(d, name, o.Users[name])...)
	}
	for _, name := range observedUsers(d, o.Marker)[len(d.Users):] {
		acts = append(acts, planRemoveUser(name, o.Users[name], "left by setup version "+fmt.Sprint(o.Marker.Marker.Version))...)
	}
	if len(acts) > 0 {
		for _, name := range d.Users {
			acts = append(acts, Action{Kind: Verify, User: name})
		}
	}
	if len(acts) > 0 || !o.Marker.Current(d) {
		acts = append(acts, Action{Kind: WriteMarker, Why: markerWhy(d, o.Marker, len(acts) > 0)})
	}
	return acts
}

func planUser(d Desired, name string, u UserState) []Action {
	if !u.Exists {
		acts := []Action{{Kind: CreateUser, User: name, Why: "missing"}}
		for _, m := range d.memberships() {
			if m.member {
				acts = append(acts, Action{Kind: AddMember, User: name, Group: m.group})
			}
		}
		return append(acts, Action{Kind: Hide, User: name})
	}
	var acts []Action
	if want := WantFlags(u.Flags); want != u.Flags {
		acts = append(acts, Action{Kind: SetFlags, User: name, Flags: want, Why: "were " + FlagString(u.Flags)})
	}
	if why := passwordWhy(u); why != "" {
		acts = append(acts, Action{Kind: ResetPassword, User: name, Why: why})
	}
	for _, m := range d.memberships() {
		switch have := u.Member[m.group]; {
		case m.member && !have:
			acts = append(acts, Action{Kind: AddMember, User: name, Group: m.group, Why: "not a member"})
		case !m.member && have:
			acts = append(acts, Action{Kind: RemoveMember, User: name, Group: m.group, Why: "a sandbox user must not be an administrator"})
		}
	}
	if !u.Hidden {
		acts = append(acts, Action{Kind: Hide, User: name, Why: "shown on the logon screen"})
	}
	return acts
}

// passwordWhy says why the password must be reset, or "" when the stored
// one is known to log on. Setup never tries to work around a failed logon:
// an administrator can always set a new password, so any doubt resets it.
func passwordWhy(u UserState) string {
	switch {
	case u.Secret == SecretMissing:
		return "no stored password"
	case u.Secret == SecretPending:
		return "a previous setup stopped while changing it"
	case u.Secret == SecretBad:
		return fmt.Sprintf("stored password unusable: %v", u.SecretErr)
	case u.Flags&UF_LOCKOUT != 0:
		return "account locked out"
	case u.PasswordExpired:
		return "password expired"
	case u.Logon != LogonOK:
		return "logon with the stored password: " + u.Logon.String()
	}
	return ""
}

func markerWhy(d Desired, m MarkerState, changed bool) string {
	switch {
	case !m.Present:
		return "missing"
	case m.Err != nil:
		return fmt.Sprintf("unreadable: %v", m.Err)
	case m.Marker.Version != Version:
		return fmt.Sprintf("stale version %d", m.Marker.Version)
	case !m.Current(d):
		return "records other accounts"
	case changed:
		return "state repaired"
	}
	return ""
}

// PlanRemove returns the steps that undo setup: the marker first, so that
// a removal killed halfway never leaves a marker claiming a working setup,
// then each user (logon-screen entry, account and profile, secret), then
// the group. Only managed names are touched. Empty when nothing is left.
func PlanRemove(d Desired, o Observed) []Action {
	var acts []Action
	if o.Marker.Present {
		acts = append(acts, Action{Kind: DeleteMarker})
	}
	for _, name := range observedUsers(d, o.Marker) {
		if Managed(name) {
			acts = append(acts, planRemoveUser(name, o.Users[name], "")...)
		}
	}
	if o.GroupExists && Managed(d.Group) {
		acts = append(acts, Action{Kind: DeleteGroup, Group: Group{Name: d.Group}})
	}
	return acts
}

func planRemoveUser(name string, u UserState, why string) []Action {
	var acts []Action
	if u.Hidden {
		acts = append(acts, Action{Kind: Unhide, User: name, Why: why})
	}
	if u.Exists {
		acts = append(acts, Action{Kind: DeleteUser, User: name, Why: why})
	}
	if u.Secret != SecretMissing {
		acts = append(acts, Action{Kind: DeleteSecret, User: name, Why: why})
	}
	return acts
}
