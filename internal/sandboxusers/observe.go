package sandboxusers

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
)

// Observed is a snapshot of everything setup decides on.
type Observed struct {
	GroupExists bool
	// Users holds the desired users and the managed users the marker
	// lists, by name.
	Users  map[string]UserState
	Marker MarkerState
}

// UserState is one account as observed.
type UserState struct {
	UserInfo
	// Member holds, for each group of Desired.memberships, whether the
	// user belongs to it. Only filled when the account exists.
	Member map[Group]bool
	Hidden bool
	Secret SecretState
	// SecretErr says why Secret is not SecretOK.
	SecretErr error
	Logon     LogonResult
}

// SecretState is whether the stored password can be used.
type SecretState int

const (
	SecretOK SecretState = iota
	SecretMissing
	SecretPending
	SecretBad // unreadable, tampered with, or for another purpose
)

func (s SecretState) String() string {
	return [...]string{"ok", "missing", "pending", "unreadable"}[s]
}

// MarkerState is the setup marker as found.
type MarkerState struct {
	Present bool
	Marker  Marker
	// Err is set when a marker exists but cannot be read.
	Err error
}

// Current reports whether the marker records exactly the setup d at this
// code's Version.
func (m MarkerState) Current(d Desired) bool {
	return m.Present && m.Err == nil && m.Marker.Version == Version &&
		m.Marker.Group == d.Group && slices.Equal(m.Marker.Users, d.Users)
}

// Observe gathers the snapshot Plan and PlanRemove decide on. It tries a
// logon only with a stored, committed password and only on an account that
// is not locked out, so a run adds at most one failed attempt per account
// to the lockout counter, and the repair that follows resets it.
func Observe(ctx context.Context, sys System, d Desired) (Observed, error) {
	o := Observed{Marker: readMarker(sys.Markers)}
	var err error
	if o.GroupExists, err = sys.Accounts.GroupExists(ctx, d.Group); err != nil {
		return o, fail(CodeFailed, "looking up group "+d.Group, err)
	}
	o.Users = map[string]UserState{}
	for _, name := range observedUsers(d, o.Marker) {
		u, err := observeUser(ctx, sys, d, name, o.GroupExists, slices.Contains(d.Users, name))
		if err != nil {
			return o, err
		}
		o.Users[name] = u
	}
	return o, nil
}

// observedUsers is the desired users, then the managed users only the
// marker names (left over from another version, to delete).
func observedUsers(d Desired, m MarkerState) []string {
	names := slices.Clone(d.Users)
	for _, n := range m.Marker.Users {
		if Managed(n) && !containsFold(names, n) {
			names = append(names, n)
		}
	}
	return names
}

func observeUser(ctx context.Context, sys System, d Desired, name string, groupExists, desired bool) (UserState, error) {
	var u UserState
	info, err := sys.Accounts.User(ctx, name)
	if err != nil {
		return u, fail(CodeFailed, "looking up user "+name, err)
	}
	u.UserInfo = info
	sec, state, secErr := loadSecret(sys.Secrets, name)
	u.Secret, u.SecretErr = state, secErr
	// The logon-screen entry is a registry value that outlives the
	// account, so it is read either way, for removal to find it.
	if u.Hidden, err = sys.Accounts.Hidden(ctx, name); err != nil {
		return u, fail(CodeFailed, "checking whether "+name+" is hidden", err)
	}
	if !info.Exists {
		return u, nil
	}
	u.Member = map[Group]bool{}
	for _, m := range d.memberships() {
		if m.group.Name != "" && !groupExists {
			continue
		}
		if u.Member[m.group], err = sys.Accounts.IsMember(ctx, m.group, name); err != nil {
			return u, fail(CodeFailed, fmt.Sprintf("checking whether %s is in %s", name, m.group), err)
		}
	}
	if desired && u.Secret == SecretOK && info.Flags&UF_LOCKOUT == 0 {
		if u.Logon, err = sys.Accounts.Logon(ctx, name, sec.Password); err != nil {
			return u, fail(CodeFailed, "trying the stored password of "+name, err)
		}
	}
	return u, nil
}

func loadSecret(s Secrets, user string) (Secret, SecretState, error) {
	sec, err := s.Load(user)
	switch {
	case err == nil && sec.Pending:
		return sec, SecretPending, nil
	case err == nil && sec.Password == "":
		return sec, SecretBad, errors.New("empty password")
	case err == nil:
		return sec, SecretOK, nil
	case errors.Is(err, ErrSecretMissing):
		return sec, SecretMissing, err
	default:
		return sec, SecretBad, err
	}
}

func containsFold(names []string, n string) bool {
	return slices.ContainsFunc(names, func(s string) bool { return strings.EqualFold(s, n) })
}

func readMarker(ms Markers) MarkerState {
	m, err := ms.Read()
	switch {
	case err == nil:
		return MarkerState{Present: true, Marker: m}
	case errors.Is(err, ErrMarkerMissing):
		return MarkerState{}
	}
	return MarkerState{Present: true, Err: err}
}
