package main

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/cordon-sandbox/cordon/internal/aclhelper"
	"github.com/cordon-sandbox/cordon/internal/netfence"
	"github.com/cordon-sandbox/cordon/internal/sandboxusers"
	"github.com/cordon-sandbox/cordon/ntsec"
)

// fakeMachine is a Windows machine as doctor sees it: the SAM, the
// stored passwords, the marker, the fence, the SID store and the
// read-grant journal. Every method that would change something fails the
// test: doctor only reads.
type fakeMachine struct {
	t        *testing.T
	group    bool
	users    map[string]*fakeUser
	secrets  map[string]sandboxusers.Secret
	badSec   map[string]error // Load fails with this
	marker   *sandboxusers.Marker
	markErr  error
	groupErr error
	fence    netfence.Status
	fenceErr error
	storeErr error
	acl      aclhelper.State
	failed   []aclhelper.Item
	aclErr   error
	sids     map[string]ntsec.SID
	fenceFor ntsec.SID // the OfflineUser doctor asked the fence about
	logons   int
}

type fakeUser struct {
	flags    uint32
	expired  bool
	password string
	member   map[sandboxusers.Group]bool
	hidden   bool
	logon    sandboxusers.LogonResult // forced result, LogonNotTried: by password
}

// healthyMachine is a machine `cordon setup` left as it should be.
func healthyMachine(t *testing.T) *fakeMachine {
	m := &fakeMachine{t: t, group: true, users: map[string]*fakeUser{}, secrets: map[string]sandboxusers.Secret{},
		badSec: map[string]error{}, sids: map[string]ntsec.SID{}}
	d := sandboxusers.Default()
	for i, name := range d.Users {
		pw := "pw-" + name
		m.users[name] = &fakeUser{flags: sandboxusers.UF_NORMAL_ACCOUNT | sandboxusers.RequiredFlags, password: pw, hidden: true,
			member: map[sandboxusers.Group]bool{{Name: d.Group}: true, sandboxusers.BuiltinUsers: true}}
		m.secrets[name] = sandboxusers.Secret{Password: pw}
		m.sids[name] = mustSID(fmt.Sprintf("S-1-5-21-1-2-3-%d", 1001+i))
	}
	now := time.Date(2026, 12, 1, 10, 0, 0, 0, time.UTC)
	m.marker = &sandboxusers.Marker{Version: sandboxusers.Version, Group: d.Group, Users: d.Users, Created: now, Updated: now}
	m.fence = netfence.Status{Provider: true, Sublayer: true, SublayerWeight: netfence.SublayerWeight, Filters: 20}
	m.acl = aclhelper.State{Done: 12}
	return m
}

func (m *fakeMachine) mutation(what string) error {
	m.t.Errorf("doctor changed something: %s", what)
	return errors.New("doctor must not change anything")
}

func (m *fakeMachine) GroupExists(_ context.Context, name string) (bool, error) {
	return m.group && name == sandboxusers.GroupName, m.groupErr
}
func (m *fakeMachine) CreateGroup(context.Context, string, string) error {
	return m.mutation("CreateGroup")
}
func (m *fakeMachine) DeleteGroup(context.Context, string) error { return m.mutation("DeleteGroup") }
func (m *fakeMachine) User(_ context.Context, name string) (sandboxusers.UserInfo, error) {
	u := m.users[name]
	if u == nil {
		return sandboxusers.UserInfo{}, nil
	}
	return sandboxusers.UserInfo{Exists: true, Flags: u.flags, PasswordExpired: u.expired}, nil
}
func (m *fakeMachine) CreateUser(context.Context, string, string, uint32) error {
	return m.mutation("CreateUser")
}
func (m *fakeMachine) SetPassword(context.Context, string, string) error {
	return m.mutation("SetPassword")
}
func (m *fakeMachine) SetFlags(context.Context, string, uint32) error { return m.mutation("SetFlags") }
func (m *fakeMachine) DeleteUser(context.Context, string) error       { return m.mutation("DeleteUser") }
func (m *fakeMachine) IsMember(_ context.Context, g sandboxusers.Group, user string) (bool, error) {
	return m.users[user] != nil && m.users[user].member[g], nil
}
func (m *fakeMachine) AddMember(context.Context, sandboxusers.Group, string) error {
	return m.mutation("AddMember")
}
func (m *fakeMachine) RemoveMember(context.Context, sandboxusers.Group, string) error {
	return m.mutation("RemoveMember")
}
func (m *fakeMachine) Hidden(_ context.Context, user string) (bool, error) {
	return m.users[user] != nil && m.users[user].hidden, nil
}
func (m *fakeMachine) SetHidden(context.Context, string, bool) error { return m.mutation("SetHidden") }
func (m *fakeMachine) Logon(_ context.Context, user, password string) (sandboxusers.LogonResult, error) {
	m.logons++
	u := m.users[user]
	switch {
	case u == nil:
		return sandboxusers.LogonBadPassword, nil
	case u.flags&sandboxusers.UF_LOCKOUT != 0:
		m.t.Errorf("doctor tried a logon on the locked-out account %s", user)
		return sandboxusers.LogonLocked, nil
	case u.logon != sandboxusers.LogonNotTried:
		return u.logon, nil
	case password != u.password:
		return sandboxusers.LogonBadPassword, nil
	}
	return sandboxusers.LogonOK, nil
}

// Secrets and Markers.
type fakeSecrets struct{ m *fakeMachine }

func (s fakeSecrets) Load(user string) (sandboxusers.Secret, error) {
	if err := s.m.badSec[user]; err != nil {
		return sandboxusers.Secret{}, err
	}
	sec, ok := s.m.secrets[user]
	if !ok {
		return sec, fmt.Errorf("%s.secret: %w", user, sandboxusers.ErrSecretMissing)
	}
	return sec, nil
}
func (s fakeSecrets) Store(string, sandboxusers.Secret) error { return s.m.mutation("Secrets.Store") }
func (s fakeSecrets) Delete(string) error                     { return s.m.mutation("Secrets.Delete") }

type fakeMarkers struct{ m *fakeMachine }

func (f fakeMarkers) Read() (sandboxusers.Marker, error) {
	if f.m.markErr != nil {
		return sandboxusers.Marker{}, f.m.markErr
	}
	if f.m.marker == nil {
		return sandboxusers.Marker{}, fmt.Errorf("setup.json: %w", sandboxusers.ErrMarkerMissing)
	}
	return *f.m.marker, nil
}
func (f fakeMarkers) Write(sandboxusers.Marker) error { return f.m.mutation("Markers.Write") }
func (f fakeMarkers) Delete() error                   { return f.m.mutation("Markers.Delete") }

// env is the doctorEnv over the fake machine.
func (m *fakeMachine) env() doctorEnv {
	return doctorEnv{
		Users: sandboxusers.System{Accounts: m, Secrets: fakeSecrets{m}, Markers: fakeMarkers{m},
			Rand: errReader{m}, Now: func() time.Time { m.t.Error("doctor read the clock: setup's Apply only does"); return time.Time{} }},
		UserSID: func(_ context.Context, name string) (ntsec.SID, error) {
			if m.users[name] == nil {
				return ntsec.SID{}, fmt.Errorf("no account %s", name)
			}
			return m.sids[name], nil
		},
		Fence: func(cfg netfence.Config) (netfence.Status, error) {
			m.fenceFor = cfg.OfflineUser
			return m.fence, m.fenceErr
		},
		SIDStore:  func(context.Context) error { return m.storeErr },
		StorePath: `C:\Users\me\AppData\Local\cordon\capsids.json`,
		ReadACL:   func() (aclhelper.State, []aclhelper.Item, error) { return m.acl, m.failed, m.aclErr },
	}
}

// errReader fails the test if doctor asks for randomness (a password).
type errReader struct{ m *fakeMachine }

func (r errReader) Read([]byte) (int, error) {
	return 0, r.m.mutation("read random bytes for a password")
}

// docCheck returns the check named name, failing the test if there is none.
func docCheck(t *testing.T, r doctorReport, name string) doctorCheck {
	t.Helper()
	for _, c := range r.Checks {
		if c.Name == name {
			return c
		}
	}
	t.Fatalf("no check %q in %+v", name, r.Checks)
	return doctorCheck{}
}

// failingChecks returns the names of the failing checks.
func failingChecks(r doctorReport) []string {
	var out []string
	for _, c := range r.Checks {
		if !c.OK {
			out = append(out, c.Name)
		}
	}
	return out
}

func mustSID(s string) ntsec.SID {
	sid, err := ntsec.ParseSID(s)
	if err != nil {
		panic(err)
	}
	return sid
}
