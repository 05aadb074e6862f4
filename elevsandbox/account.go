package elevsandbox

import (
	"fmt"

	"github.com/cordon-sandbox/cordon/internal/sandboxusers"
	"github.com/cordon-sandbox/cordon/ntsec"
)

// system is what a run needs of the machine's setup: the marker, the
// stored passwords and the accounts' SIDs. sys_windows.go has the real
// one (the files of the state directory, DPAPI, LookupAccountName);
// tests put fakes in its place.
type system struct {
	markers sandboxusers.Markers
	secrets sandboxusers.Secrets
	// lookup returns the SID of the local account or group name.
	lookup func(name string) (ntsec.SID, error)
}

// account checks the setup (sandboxusers.Check: the marker is there and
// of this version) and returns the account a run with network (or
// without) uses, with its password and SID and the group's SID. Every
// failure wraps ErrNotSetUp: a missing marker, an unreadable or pending
// password, an account or group that is gone are what `cordon setup`
// repairs. A password that no longer logs on is found by the logon
// itself, whose error says the same.
func (s system) account(network bool) (account, error) {
	d := sandboxusers.Default()
	if err := sandboxusers.Check(s.markers, d); err != nil {
		return account{}, notSetUp(err)
	}
	a := account{Name: UserFor(network)}
	var err error
	if a.Password, err = sandboxusers.Password(s.secrets, a.Name); err != nil {
		return account{}, notSetUp(err)
	}
	if a.SID, err = s.lookup(a.Name); err != nil {
		return account{}, notSetUp(fmt.Errorf("looking up the account %s: %w", a.Name, err))
	}
	if a.Group, err = s.lookup(d.Group); err != nil {
		return account{}, notSetUp(fmt.Errorf("looking up the group %s: %w", d.Group, err))
	}
	if a.SID == a.Group {
		return account{}, notSetUp(fmt.Errorf("the account %s and the group %s have one SID, %s", a.Name, d.Group, a.SID))
	}
	return a, nil
}
