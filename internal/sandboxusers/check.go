package sandboxusers

import (
	"errors"
	"fmt"
)

// Check is what a run in elevated mode asks first, without administrator
// rights: is the setup marker there, readable and of this version? It
// does not look at the accounts (that needs the SAM and a logon); a run
// whose logon then fails should tell the user to run setup, which repairs.
func Check(m Markers, d Desired) error {
	if ms := readMarker(m); !ms.Current(d) {
		return &Error{Code: CodeNotSetUp, Op: "checking the setup marker", Err: errors.New(markerWhy(d, ms, false))}
	}
	return nil
}

// Password returns the stored password of user, for launching a command
// as that account. A pending or unreadable password means setup must run
// again.
func Password(s Secrets, user string) (string, error) {
	sec, state, err := loadSecret(s, user)
	if state != SecretOK {
		if err == nil {
			err = fmt.Errorf("%s", state)
		}
		return "", &Error{Code: CodeNotSetUp, Op: "reading the stored password of " + user, Err: err}
	}
	return sec.Password, nil
}
