package sandboxusers

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"errors"
	"fmt"
	"github.com/cordon-sandbox/cordon/internal/testutil"
	"strings"
	"testing"
	"time"
)

// fakeAccounts is a SAM in memory, with the Windows behaviour setup relies
// on: NetUserAdd with USER_PRIV_USER joins Users, UF_LOCKOUT can be
// cleared but not set, a wrong password counts towards a lockout
// threshold, a right one resets the count, and logon fails for a disabled,
// locked-out or expired account and for one outside Users (no
// SeInteractiveLogonRight).
type fakeAccounts struct {
	groups  map[string]bool
	users   map[string]*fakeUser
	members map[Group]map[string]bool
	hidden  map[string]bool
	// logons counts logon attempts per user.
	logons map[string]int
	// badTries counts logons with a wrong password.
	badTries int
	// threshold is the lockout threshold (0: none).
	threshold int
	k         *killer
}

type fakeUser struct {
	flags    uint32
	password string
	expired  bool
	bad      int
}

func newFakeAccounts(k *killer) *fakeAccounts {
	return &fakeAccounts{
		groups: map[string]bool{}, users: map[string]*fakeUser{},
		members: map[Group]map[string]bool{BuiltinUsers: {}, BuiltinAdministrators: {}},
		hidden:  map[string]bool{}, logons: map[string]int{}, threshold: 3, k: k,
	}
}

var errKilled = errors.New("killed")

// killer injects a crash at the at-th mutating call: before its effect,
// or after it (the call took effect, the process died before knowing).
type killer struct {
	calls int
	at    int
	after bool
}

func (k *killer) do(effect func() error) error {
	if k == nil {
		return effect()
	}
	k.calls++
	if k.calls == k.at && !k.after {
		return errKilled
	}
	err := effect()
	if k.calls == k.at {
		return errKilled
	}
	return err
}

func (f *fakeAccounts) GroupExists(_ context.Context, name string) (bool, error) {
	return f.groups[name], nil
}

func (f *fakeAccounts) CreateGroup(_ context.Context, name, _ string) error {
	return f.k.do(func() error {
		f.groups[name] = true
		f.members[Group{Name: name}] = map[string]bool{}
		return nil
	})
}

func (f *fakeAccounts) DeleteGroup(_ context.Context, name string) error {
	return f.k.do(func() error {
		delete(f.groups, name)
		delete(f.members, Group{Name: name})
		return nil
	})
}

func (f *fakeAccounts) User(_ context.Context, name string) (UserInfo, error) {
	u, ok := f.users[name]
	if !ok {
		return UserInfo{}, nil
	}
	return UserInfo{Exists: true, Flags: u.flags, PasswordExpired: u.expired}, nil
}

func (f *fakeAccounts) CreateUser(_ context.Context, name, password string, flags uint32) error {
	return f.k.do(func() error {
		if _, ok := f.users[name]; ok {
			return fmt.Errorf("NetUserAdd %s: NERR_UserExists", name)
		}
		f.users[name] = &fakeUser{flags: flags | UF_NORMAL_ACCOUNT, password: password}
		f.members[BuiltinUsers][name] = true
		return nil
	})
}

func (f *fakeAccounts) user(name string) (*fakeUser, error) {
	u, ok := f.users[name]
	if !ok {
		return nil, fmt.Errorf("%s: NERR_UserNotFound", name)
	}
	return u, nil
}

func (f *fakeAccounts) SetPassword(_ context.Context, name, password string) error {
	return f.k.do(func() error {
		u, err := f.user(name)
		if err != nil {
			return err
		}
		u.password, u.expired = password, false
		return nil
	})
}

func (f *fakeAccounts) SetFlags(_ context.Context, name string, flags uint32) error {
	return f.k.do(func() error {
		u, err := f.user(name)
		if err != nil {
			return err
		}
		u.flags = flags&^UF_LOCKOUT | flags&u.flags&UF_LOCKOUT
		if u.flags&UF_LOCKOUT == 0 {
			u.bad = 0
		}
		return nil
	})
}

func (f *fakeAccounts) DeleteUser(_ context.Context, name string) error {
	return f.k.do(func() error {
		delete(f.users, name)
		for _, m := range f.members {
			delete(m, name)
		}
		return nil
	})
}

func (f *fakeAccounts) IsMember(_ context.Context, g Group, user string) (bool, error) {
	m, ok := f.members[g]
	if !ok {
		return false, fmt.Errorf("group %s: NERR_GroupNotFound", g)
	}
	return m[user], nil
}

func (f *fakeAccounts) AddMember(_ context.Context, g Group, user string) error {
	return f.k.do(func() error {
		m, ok := f.members[g]
		if !ok {
			return fmt.Errorf("group %s: NERR_GroupNotFound", g)
		}
		if _, err := f.user(user); err != nil {
			return err
		}
		m[user] = true
		return nil
	})
}

func (f *fakeAccounts) RemoveMember(_ context.Context, g Group, user string) error {
	return f.k.do(func() error {
		delete(f.members[g], user)
		return nil
	})
}

func (f *fakeAccounts) Hidden(_ context.Context, user string) (bool, error) {
	return f.hidden[user], nil
}

func (f *fakeAccounts) SetHidden(_ context.Context, user string, hidden bool) error {
	return f.k.do(func() error {
		if hidden {
			f.hidden[user] = true
		} else {
			delete(f.hidden, user)
		}
		return nil
	})
}

func (f *fakeAccounts) Logon(_ context.Context, name, password string) (LogonResult, error) {
	f.logons[name]++
	u, ok := f.users[name]
	switch {
	case !ok:
		return LogonBadPassword, nil
	case u.flags&UF_LOCKOUT != 0:
		return LogonLocked, nil
	case u.password != password:
		f.badTries++
		u.bad++
		if f.threshold > 0 && u.bad >= f.threshold {
			u.flags |= UF_LOCKOUT
		}
		return LogonBadPassword, nil
	case u.flags&UF_ACCOUNTDISABLE != 0:
		return LogonDisabled, nil
	case u.expired:
		return LogonExpired, nil
	case !f.members[BuiltinUsers][name]:
		return LogonNotGranted, nil
	}
	u.bad = 0
	return LogonOK, nil
}

// macProtector stands in for DPAPI: an HMAC tag over purpose and plaintext
// makes tampering and a wrong purpose fail, as DPAPI's do.
type macProtector struct{ key []byte }

func (p macProtector) tag(plain, purpose []byte) []byte {
	m := hmac.New(sha256.New, p.key)
	m.Write(purpose)
	m.Write([]byte{0})
	m.Write(plain)
	return m.Sum(nil)
}

func (p macProtector) Protect(plain, purpose []byte) ([]byte, error) {
	return append(p.tag(plain, purpose), plain...), nil
}

func (p macProtector) Unprotect(blob, purpose []byte) ([]byte, error) {
	if len(blob) < sha256.Size || !hmac.Equal(blob[:sha256.Size], p.tag(blob[sha256.Size:], purpose)) {
		return nil, errors.New("ERROR_INVALID_DATA")
	}
	return bytes.Clone(blob[sha256.Size:]), nil
}

// killSecrets and killMarkers route the writes through the killer.
type killSecrets struct {
	Secrets
	k *killer
}

func (s killSecrets) Store(user string, sec Secret) error {
	return s.k.do(func() error { return s.Secrets.Store(user, sec) })
}

func (s killSecrets) Delete(user string) error {
	return s.k.do(func() error { return s.Secrets.Delete(user) })
}

type killMarkers struct {
	Markers
	k *killer
}

func (m killMarkers) Write(mk Marker) error {
	return m.k.do(func() error { return m.Markers.Write(mk) })
}
func (m killMarkers) Delete() error { return m.k.do(m.Markers.Delete) }

// world is one fake machine: accounts, and a state directory on disk.
type world struct {
	acc     *fakeAccounts
	k       *killer
	secrets FileSecrets
	markers FileMarkers
	clock   time.Time
}

func newWorld(t *testing.T) *world {
	dir := testutil.TempDir(t)
	k := &killer{}
	return &world{
		acc: newFakeAccounts(k), k: k,
		secrets: FileSecrets{Dir: dir, P: macProtector{key: []byte("user key")}},
		markers: FileMarkers{Dir: dir},
		clock:   time.Date(2026, 12, 3, 4, 0, 0, 0, time.UTC),
	}
}

func (w *world) sys() System {
	return System{
		Accounts: w.acc,
		Secrets:  killSecrets{w.secrets, w.k},
		Markers:  killMarkers{w.markers, w.k},
		Rand:     rand.Reader,
		Now:      func() time.Time { w.clock = w.clock.Add(time.Minute); return w.clock },
	}
}

func (w *world) run(t *testing.T, opts Options) (Report, string, error) {
	t.Helper()
	var out strings.Builder
	r, err := Run(context.Background(), w.sys(), Default(), opts, &out)
	return r, out.String(), err
}

func (w *world) mustRun(t *testing.T, opts Options) Report {
	t.Helper()
	r, out, err := w.run(t, opts)
	if err != nil {
		t.Fatalf("Run(%+v): %v\noutput:\n%s", opts, err, out)
	}
	return r
}

func (w *world) plan(t *testing.T) []Action {
	t.Helper()
	o, err := Observe(context.Background(), w.sys(), Default())
	if err != nil {
		t.Fatalf("Observe: %v", err)
	}
	return Plan(Default(), o)
}

// checkSetUp fails t unless the fake machine is in the desired state and
// each stored password logs on.
func (w *world) checkSetUp(t *testing.T) {
	t.Helper()
	d := Default()
	if !w.acc.groups[d.Group] {
		t.Errorf("group %s missing", d.Group)
	}
	for _, name := range d.Users {
		u, ok := w.acc.users[name]
		if !ok {
			t.Errorf("user %s missing", name)
			continue
		}
		// Spelled out rather than RequiredFlags/ForbiddenFlags, so that a
		// wrong constant fails here.
		const must, mustNot = UF_DONT_EXPIRE_PASSWD | UF_PASSWD_CANT_CHANGE, UF_ACCOUNTDISABLE | UF_LOCKOUT | UF_PASSWD_NOTREQD
		if u.flags&must != must || u.flags&mustNot != 0 {
			t.Errorf("%s flags %s", name, FlagString(u.flags))
		}
		for g, want := range map[Group]bool{{Name: GroupName}: true, {SID: "S-1-5-32-545"}: true, {SID: "S-1-5-32-544"}: false} {
			if w.acc.members[g][name] != want {
				t.Errorf("%s member of %s = %v, want %v", name, g, !want, want)
			}
		}
		if !w.acc.hidden[name] {
			t.Errorf("%s not hidden", name)
		}
		s, err := w.secrets.Load(name)
		if err != nil || s.Pending {
			t.Errorf("secret of %s: %+v, %v", name, s, err)
			continue
		}
		if r, _ := w.acc.Logon(context.Background(), name, s.Password); r != LogonOK {
			t.Errorf("logon as %s with the stored password: %s", name, r)
		}
	}
	m, err := w.markers.Read()
	if err != nil || m.Version != Version || m.Group != d.Group {
		t.Errorf("marker %+v, %v", m, err)
	}
}

// checkRemoved fails t unless nothing of setup is left.
func (w *world) checkRemoved(t *testing.T) {
	t.Helper()
	if len(w.acc.groups) != 0 || len(w.acc.users) != 0 || len(w.acc.hidden) != 0 {
		t.Errorf("left: groups %v users %v hidden %v", w.acc.groups, w.acc.users, w.acc.hidden)
	}
	for _, name := range Default().Users {
		if _, err := w.secrets.Load(name); !errors.Is(err, ErrSecretMissing) {
			t.Errorf("secret of %s left: %v", name, err)
		}
	}
	if _, err := w.markers.Read(); !errors.Is(err, ErrMarkerMissing) {
		t.Errorf("marker left: %v", err)
	}
}

// skipUnderWine skips the long state-machine tests under Wine: they are
// pure Go, run natively on Linux, and Wine's slow file flushes would add
// half a minute to the Windows tier for nothing.
func skipUnderWine(t *testing.T) {
	t.Helper()
	if testutil.UnderWine() {
		t.Skip("pure state-machine test; it runs natively on Linux")
	}
}
