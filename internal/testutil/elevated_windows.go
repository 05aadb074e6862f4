package testutil

import "golang.org/x/sys/windows"

// elevated asks CheckTokenMembership whether BUILTIN\Administrators is
// enabled in this process's token: in a UAC-filtered token it is
// deny-only, and the check says no.
func elevated() bool {
	admins, err := windows.CreateWellKnownSid(windows.WinBuiltinAdministratorsSid)
	if err != nil {
		return false
	}
	ok, err := windows.Token(0).IsMember(admins)
	return err == nil && ok
}
