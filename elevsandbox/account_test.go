package elevsandbox

import (
	"errors"
	"fmt"
	"testing"

	"github.com/cordon-sandbox/cordon/internal/sandboxusers"
	"github.com/cordon-sandbox/cordon/ntsec"
)

type fakeMarkers struct {
	m   sandboxusers.Marker
	err error
}

func (f fakeMarkers) Read() (sandboxusers.Marker, error) { return f.m, f.err }
func (fakeMarkers) Write(sandboxusers.Marker) error      { return errors.New("read only") }
func (fakeMarkers) Delete() error                        { return errors.New("read only") }

type fakeSecrets map[string]sandboxusers.Secret

func (f fakeSecrets) Load(user string) (sandboxusers.Secret, error) {
	s, ok := f[user]
	if !ok {
		return s, fmt.Errorf("%s: %w", user, sandboxusers.ErrSecretMissing)
	}
	return s, nil
}
func (fakeSecrets) Store(string, sandboxusers.Secret) error { return errors.New("read only") }
func (fakeSecrets) Delete(string) error                     { return errors.New("read only") }

// goodSystem is a setup that is complete: a current marker, both
// passwords, both accounts and the group.
func goodSystem(t *testing.T) (system, map[string]ntsec.SID) {
	d := sandboxusers.Default()
	sids := map[string]ntsec.SID{
		sandboxusers.OfflineUser: sid(t, 21, 9, 9, 9, 1001),
		sandboxusers.OnlineUser:  sid(t, 21, 9, 9, 9, 1002),
		sandboxusers.GroupName:   sid(t, 21, 9, 9, 9, 1003),
	}
	return system{
		markers: fakeMarkers{m: sandboxusers.Marker{Version: sandboxusers.Version, Group: d.Group, Users: d.Users}},
		secrets: fakeSecrets{sandboxusers.OfflineUser: {Password: "off-pw"}, sandboxusers.OnlineUser: {Password: "on-pw"}},
		lookup: func(name string) (ntsec.SID, error) {
			s, ok := sids[name]
			if !ok {
				return ntsec.SID{}, errors.New("no such account")
			}
			return s, nil
		},
	}, sids
}

func TestAccountPicksTheUserByNetwork(t *testing.T) {
	sys, sids := goodSystem(t)
	for network, want := range map[bool]string{false: sandboxusers.OfflineUser, true: sandboxusers.OnlineUser} {
		a, err := sys.account(network)
		if err != nil {
			t.Fatal(err)
		}
		pw := map[bool]string{false: "off-pw", true: "on-pw"}[network]
		if a.Name != want || a.Password != pw || a.SID != sids[want] || a.Group != sids[sandboxusers.GroupName] {
			t.Errorf("network %v: %+v", network, a)
		}
	}
}

func TestAccountNeedsACompleteSetup(t *testing.T) {
	d := sandboxusers.Default()
	for name, breakIt := range map[string]func(*system){
		"no marker": func(s *system) {
			s.markers = fakeMarkers{err: fmt.Errorf("x: %w", sandboxusers.ErrMarkerMissing)}
		},
		"old marker": func(s *system) {
			s.markers = fakeMarkers{m: sandboxusers.Marker{Version: sandboxusers.Version - 1, Group: d.Group, Users: d.Users}}
		},
		"no password": func(s *system) { delete(s.secrets.(fakeSecrets), sandboxusers.OfflineUser) },
		"pending password": func(s *system) {
			s.secrets.(fakeSecrets)[sandboxusers.OfflineUser] = sandboxusers.Secret{Password: "p", Pending: true}
		},
		"account gone": func(s *system) {
			inner := s.lookup
			s.lookup = func(n string) (ntsec.SID, error) {
				if n == sandboxusers.OfflineUser {
					return ntsec.SID{}, errors.New("gone")
				}
				return inner(n)
			}
		},
		"group gone": func(s *system) {
			inner := s.lookup
			s.lookup = func(n string) (ntsec.SID, error) {
				if n == sandboxusers.GroupName {
					return ntsec.SID{}, errors.New("gone")
				}
				return inner(n)
			}
		},
	} {
		sys, _ := goodSystem(t)
		breakIt(&sys)
		if _, err := sys.account(false); !errors.Is(err, ErrNotSetUp) {
			t.Errorf("%s: account = %v, want ErrNotSetUp", name, err)
		}
	}
}
