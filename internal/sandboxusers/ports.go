package sandboxusers

import (
	"context"
	"errors"
	"io"
	"time"
)

// Accounts is the local account database as setup sees it: Windows' SAM
// through the NetApi32 and LogonUser calls, or a fake in tests. Methods
// that change something must be idempotent: creating what exists, adding a
// member twice or deleting what is gone succeeds, because a setup killed
// after a call took effect repeats it on the next run.
type Accounts interface {
	GroupExists(ctx context.Context, name string) (bool, error)
	CreateGroup(ctx context.Context, name, comment string) error
	DeleteGroup(ctx context.Context, name string) error

	// User returns what setup needs to know about the account name;
	// Exists is false, with a nil error, when there is none.
	User(ctx context.Context, name string) (UserInfo, error)
	// CreateUser creates a normal account with password and flags, and
	// fails if the account exists.
	CreateUser(ctx context.Context, name, password string, flags uint32) error
	SetPassword(ctx context.Context, name, password string) error
	SetFlags(ctx context.Context, name string, flags uint32) error
	// DeleteUser deletes the account and its profile directory, if any.
	DeleteUser(ctx context.Context, name string) error

	IsMember(ctx context.Context, g Group, user string) (bool, error)
	AddMember(ctx context.Context, g Group, user string) error
	RemoveMember(ctx context.Context, g Group, user string) error

	// Hidden reports whether the account is kept off the logon screen.
	Hidden(ctx context.Context, user string) (bool, error)
	SetHidden(ctx context.Context, user string, hidden bool) error

	// Logon tries password once, as an interactive logon, and says why it
	// failed. The error is for failures that say nothing about the
	// account (the call itself failed).
	Logon(ctx context.Context, user, password string) (LogonResult, error)
}

// UserInfo is one account's state.
type UserInfo struct {
	Exists          bool
	Flags           uint32
	PasswordExpired bool
}

// LogonResult is what one logon attempt showed.
type LogonResult int

const (
	LogonNotTried LogonResult = iota
	LogonOK
	LogonBadPassword // ERROR_LOGON_FAILURE (1326)
	LogonExpired     // ERROR_PASSWORD_EXPIRED (1330), ERROR_PASSWORD_MUST_CHANGE (1907)
	LogonLocked      // ERROR_ACCOUNT_LOCKED_OUT (1909)
	LogonDisabled    // ERROR_ACCOUNT_DISABLED (1331)
	LogonNotGranted  // ERROR_LOGON_TYPE_NOT_GRANTED (1385)
	LogonRestricted  // ERROR_ACCOUNT_RESTRICTION (1327), ERROR_INVALID_LOGON_HOURS, ...
)

func (r LogonResult) String() string {
	return [...]string{"not tried", "ok", "wrong password", "password expired",
		"account locked out", "account disabled", "logon type not granted",
		"account restriction"}[r]
}

// Secret is a sandbox user's password as cordon keeps it. Pending marks a
// password written before it was set on the account: the account may still
// have the previous one, so the next setup resets it without trying it
// (a failed try would count towards the lockout threshold).
type Secret struct {
	Password string
	Pending  bool
}

// Secrets keeps the passwords, protected so that only the real user can
// read them (DPAPI on Windows).
type Secrets interface {
	// Load fails with an error matching ErrSecretMissing when there is no
	// secret, and with a *SecretError when it cannot be trusted.
	Load(user string) (Secret, error)
	Store(user string, s Secret) error
	// Delete succeeds when the secret is already gone.
	Delete(user string) error
}

// ErrSecretMissing is matched (errors.Is) by Secrets.Load's error when the
// user has no stored secret.
var ErrSecretMissing = errors.New("no stored password")

// Markers keeps the setup marker.
type Markers interface {
	// Read fails with an error matching ErrMarkerMissing when there is none.
	Read() (Marker, error)
	Write(m Marker) error
	Delete() error
}

// ErrMarkerMissing is matched by Markers.Read's error when there is no marker.
var ErrMarkerMissing = errors.New("no setup marker")

// System is everything setup acts on.
type System struct {
	Accounts Accounts
	Secrets  Secrets
	Markers  Markers
	// Rand is the source of passwords: crypto/rand.Reader outside tests.
	Rand io.Reader
	Now  func() time.Time
}
