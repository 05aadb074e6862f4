//go:build windows

package sandboxusers

import (
	"context"
	"errors"
	"fmt"
	"unsafe"

	"golang.org/x/sys/windows"
	"golang.org/x/sys/windows/registry"
)

// SAM is Accounts on the local machine's account database, through
// NetApi32 (https://learn.microsoft.com/windows/win32/api/lmaccess/), the
// registry and LogonUserW. Every change needs administrator rights.
// Members are added and compared by SID, never by name, so that a domain
// account of the same name, or a translated built-in group name, cannot
// be confused with the local account (codex#27376).
type SAM struct{}

var _ Accounts = SAM{}

// hiddenKey is where Winlogon looks for accounts to leave off the logon
// screen: a DWORD value named after the account, 0 meaning hidden.
const hiddenKey = `SOFTWARE\Microsoft\Windows NT\CurrentVersion\Winlogon\SpecialAccounts\UserList`

// netErr gives NetApi failures a setup code where one fits.
type netErr struct {
	op  string
	err error
}

func (e *netErr) Error() string { return fmt.Sprintf("%s: %v", e.op, describe(e.err)) }
func (e *netErr) Unwrap() error { return e.err }

func (e *netErr) SetupCode() Code {
	switch {
	case errors.Is(e.err, windows.ERROR_ACCESS_DENIED), errors.Is(e.err, windows.ERROR_PRIVILEGE_NOT_HELD):
		return CodeNeedsAdmin
	case errors.Is(e.err, NERR_PasswordTooShort):
		return CodePasswordPolicy
	}
	return CodeFailed
}

// describe names the NERR_ codes, whose text FormatMessage does not find
// without netmsg.dll.
func describe(err error) string {
	names := map[windows.Errno]string{
		NERR_InternalError: "NERR_InternalError (2140)",
		NERR_BadUsername:   "NERR_BadUsername (2202)",
		NERR_GroupNotFound: "NERR_GroupNotFound (2220)", NERR_UserNotFound: "NERR_UserNotFound (2221)",
		NERR_GroupExists: "NERR_GroupExists (2223)", NERR_UserExists: "NERR_UserExists (2224)",
		NERR_PasswordTooShort: "NERR_PasswordTooShort (2245): the password does not meet the password policy",
	}
	var errno windows.Errno
	if errors.As(err, &errno) {
		if n, ok := names[errno]; ok {
			return n
		}
	}
	return err.Error()
}

func wrap(op string, err error) error {
	if err == nil {
		return nil
	}
	return &netErr{op: op, err: err}
}

func u16(s string) *uint16 {
	p, err := windows.UTF16PtrFromString(s)
	if err != nil {
		// Names and passwords here never hold NUL; an empty string
		// makes the call fail visibly rather than act on a truncation.
		p, _ = windows.UTF16PtrFromString("")
	}
	return p
}

func (SAM) GroupExists(_ context.Context, name string) (bool, error) {
	var buf *byte
	err := netLocalGroupGetInfo(nil, u16(name), 0, &buf)
	if buf != nil {
		windows.NetApiBufferFree(buf)
	}
	switch {
	case err == nil:
		return true, nil
	case errors.Is(err, NERR_GroupNotFound), errors.Is(err, windows.ERROR_NO_SUCH_ALIAS):
		return false, nil
	}
	return false, wrap("NetLocalGroupGetInfo "+name, err)
}

func (SAM) CreateGroup(_ context.Context, name, comment string) error {
	info := localGroupInfo1{name: u16(name), comment: u16(comment)}
	err := netLocalGroupAdd(nil, 1, (*byte)(unsafe.Pointer(&info)), nil)
	if errors.Is(err, windows.ERROR_ALIAS_EXISTS) || errors.Is(err, NERR_GroupExists) {
		return nil
	}
	return wrap("NetLocalGroupAdd "+name, err)
}

func (SAM) DeleteGroup(_ context.Context, name string) error {
	err := netLocalGroupDel(nil, u16(name))
	if errors.Is(err, NERR_GroupNotFound) || errors.Is(err, windows.ERROR_NO_SUCH_ALIAS) {
		return nil
	}
	return wrap("NetLocalGroupDel "+name, err)
}

// userInfo calls NetUserGetInfo level 4 and hands the record to f while
// the buffer lives.
func userInfo(name string, f func(*userInfo4)) (bool, error) {
	var buf *byte
	err := windows.NetUserGetInfo(nil, u16(name), 4, &buf)
	if buf != nil {
		defer windows.NetApiBufferFree(buf)
	}
	switch {
	case errors.Is(err, NERR_UserNotFound):
		return false, nil
	case err != nil:
		return false, wrap("NetUserGetInfo "+name, err)
	}
	f((*userInfo4)(unsafe.Pointer(buf)))
	return true, nil
}

func (SAM) User(_ context.Context, name string) (UserInfo, error) {
	var u UserInfo
	ok, err := userInfo(name, func(i *userInfo4) {
		u = UserInfo{Exists: true, Flags: i.flags, PasswordExpired: i.passwordExpired != 0}
	})
	u.Exists = ok
	return u, err
}

// userSID returns the account's SID (a copy), or nil if there is none.
func userSID(name string) (*windows.SID, error) {
	var sid *windows.SID
	var cerr error
	_, err := userInfo(name, func(i *userInfo4) {
		if i.userSID == nil {
			cerr = fmt.Errorf("NetUserGetInfo %s: no SID", name)
			return
		}
		sid, cerr = i.userSID.Copy()
	})
	if err != nil {
		return nil, err
	}
	return sid, cerr
}

// CreateUser calls NetUserAdd level 1 with USER_PRIV_USER, which also
// makes the account a member of Users.
func (SAM) CreateUser(_ context.Context, name, password string, flags uint32) error {
	info := userInfo1{name: u16(name), password: u16(password), priv: USER_PRIV_USER,
		comment: u16("cordon sandbox account; managed by `cordon setup`"), flags: flags}
	return wrap("NetUserAdd "+name, netUserAdd(nil, 1, (*byte)(unsafe.Pointer(&info)), nil))
}

// SetPassword calls NetUserSetInfo level 1003, an administrator's reset:
// it needs no old password and does not count as a failed logon. If the
// account still reports its password expired afterwards ("must change
// password at next logon"), it clears that through level 4: USER_INFO_4
// documents usri4_password_expired = 0 as the way to turn it off, and
// NetUserGetInfo's own record (password NULL, left unchanged) is the
// input, so no other field changes.
// https://learn.microsoft.com/windows/win32/api/lmaccess/ns-lmaccess-user_info_4
func (SAM) SetPassword(_ context.Context, name, password string) error {
	p := u16(password)
	if err := netUserSetInfo(nil, u16(name), 1003, (*byte)(unsafe.Pointer(&p)), nil); err != nil {
		return wrap("NetUserSetInfo(1003) "+name, err)
	}
	var serr error
	_, err := userInfo(name, func(i *userInfo4) {
		if i.passwordExpired != 0 {
			i.passwordExpired = 0
			i.password = nil
			serr = wrap("NetUserSetInfo(4) "+name+" clearing password_expired", netUserSetInfo(nil, u16(name), 4, (*byte)(unsafe.Pointer(i)), nil))
		}
	})
	if err != nil {
		return err
	}
	return serr
}

// SetFlags calls NetUserSetInfo level 1008; UF_LOCKOUT can be cleared
// this way, not set.
func (SAM) SetFlags(_ context.Context, name string, flags uint32) error {
	return wrap("NetUserSetInfo(1008) "+name, netUserSetInfo(nil, u16(name), 1008, (*byte)(unsafe.Pointer(&flags)), nil))
}

// DeleteUser deletes the profile first, while the account's SID can still
// be found, then the account.
func (SAM) DeleteUser(_ context.Context, name string) error {
	sid, err := userSID(name)
	if err != nil || sid == nil {
		return err
	}
	err = deleteProfile(u16(sid.String()), nil, nil)
	if err != nil && !errors.Is(err, windows.ERROR_FILE_NOT_FOUND) && !errors.Is(err, windows.ERROR_PATH_NOT_FOUND) && !errors.Is(err, windows.ERROR_NOT_FOUND) {
		// Not a netErr: access denied here means a profile in use, not
		// missing rights.
		return fmt.Errorf("DeleteProfileW %s (a command may still run as it; end it, then run setup again): %w", name, err)
	}
	err = netUserDel(nil, u16(name))
	if errors.Is(err, NERR_UserNotFound) {
		return nil
	}
	return wrap("NetUserDel "+name, err)
}

// groupName is g's local name: a built-in's translated name comes from
// its SID.
func groupName(g Group) (string, error) {
	if g.Name != "" {
		return g.Name, nil
	}
	sid, err := windows.StringToSid(g.SID)
	if err != nil {
		return "", err
	}
	name, _, _, err := sid.LookupAccount("")
	if err != nil {
		return "", fmt.Errorf("looking up %s: %w", g.SID, err)
	}
	return name, nil
}

func (SAM) IsMember(_ context.Context, g Group, user string) (bool, error) {
	sid, err := userSID(user)
	if err != nil || sid == nil {
		return false, err
	}
	gname, err := groupName(g)
	if err != nil {
		return false, err
	}
	var (
		buf          *byte
		read, total  uint32
		resumeHandle uintptr
	)
	err = netLocalGroupGetMembers(nil, u16(gname), 0, &buf, MAX_PREFERRED_LENGTH, &read, &total, &resumeHandle)
	if buf != nil {
		defer windows.NetApiBufferFree(buf)
	}
	if err != nil {
		return false, wrap("NetLocalGroupGetMembers "+gname, err)
	}
	for _, m := range unsafe.Slice((*localGroupMembersInfo0)(unsafe.Pointer(buf)), read) {
		if m.sid != nil && m.sid.Equals(sid) {
			return true, nil
		}
	}
	return false, nil
}

func (SAM) AddMember(_ context.Context, g Group, user string) error {
	return changeMember(g, user, true)
}

func (SAM) RemoveMember(_ context.Context, g Group, user string) error {
	return changeMember(g, user, false)
}

func changeMember(g Group, user string, add bool) error {
	sid, err := userSID(user)
	if err != nil {
		return err
	}
	if sid == nil {
		if add {
			return wrap("adding "+user+" to "+g.String(), NERR_UserNotFound)
		}
		return nil
	}
	gname, err := groupName(g)
	if err != nil {
		return err
	}
	m := localGroupMembersInfo0{sid: sid}
	if add {
		err = netLocalGroupAddMembers(nil, u16(gname), 0, (*byte)(unsafe.Pointer(&m)), 1)
		if errors.Is(err, windows.ERROR_MEMBER_IN_ALIAS) {
			return nil
		}
		return wrap("NetLocalGroupAddMembers "+gname, err)
	}
	err = netLocalGroupDelMembers(nil, u16(gname), 0, (*byte)(unsafe.Pointer(&m)), 1)
	if errors.Is(err, windows.ERROR_MEMBER_NOT_IN_ALIAS) || errors.Is(err, windows.ERROR_NO_SUCH_MEMBER) {
		return nil
	}
	return wrap("NetLocalGroupDelMembers "+gname, err)
}

func (SAM) Hidden(_ context.Context, user string) (bool, error) {
	k, err := registry.OpenKey(registry.LOCAL_MACHINE, hiddenKey, registry.QUERY_VALUE|registry.WOW64_64KEY)
	if errors.Is(err, windows.ERROR_FILE_NOT_FOUND) {
		return false, nil
	}
	if err != nil {
		return false, wrap(`opening HKLM\`+hiddenKey, err)
	}
	defer k.Close()
	// A missing value, or one of another type, does not hide the
	// account; SetHidden replaces either.
	v, _, err := k.GetIntegerValue(user)
	return err == nil && v == 0, nil
}

func (SAM) SetHidden(_ context.Context, user string, hidden bool) error {
	if !hidden {
		k, err := registry.OpenKey(registry.LOCAL_MACHINE, hiddenKey, registry.SET_VALUE|registry.WOW64_64KEY)
		if errors.Is(err, windows.ERROR_FILE_NOT_FOUND) {
			return nil
		}
		if err != nil {
			return wrap(`opening HKLM\`+hiddenKey, err)
		}
		defer k.Close()
		if err := k.DeleteValue(user); err != nil && !errors.Is(err, windows.ERROR_FILE_NOT_FOUND) {
			return wrap(`deleting HKLM\`+hiddenKey+`\`+user, err)
		}
		return nil
	}
	k, _, err := registry.CreateKey(registry.LOCAL_MACHINE, hiddenKey, registry.SET_VALUE|registry.WOW64_64KEY)
	if err != nil {
		return wrap(`creating HKLM\`+hiddenKey, err)
	}
	defer k.Close()
	return wrap(`setting HKLM\`+hiddenKey+`\`+user, k.SetDWordValue(user, 0))
}

// Logon calls LogonUserW for the local account (domain ".") with an
// interactive logon, the kind CreateProcessWithLogonW performs, and
// closes the token at once.
func (SAM) Logon(_ context.Context, user, password string) (LogonResult, error) {
	var tok windows.Token
	err := logonUser(u16(user), u16("."), u16(password), LOGON32_LOGON_INTERACTIVE, LOGON32_PROVIDER_DEFAULT, &tok)
	if err == nil {
		tok.Close()
		return LogonOK, nil
	}
	switch {
	case errors.Is(err, windows.ERROR_LOGON_FAILURE):
		return LogonBadPassword, nil
	case errors.Is(err, windows.ERROR_PASSWORD_EXPIRED), errors.Is(err, windows.ERROR_PASSWORD_MUST_CHANGE):
		return LogonExpired, nil
	case errors.Is(err, windows.ERROR_ACCOUNT_LOCKED_OUT):
		return LogonLocked, nil
	case errors.Is(err, windows.ERROR_ACCOUNT_DISABLED):
		return LogonDisabled, nil
	case errors.Is(err, windows.ERROR_LOGON_TYPE_NOT_GRANTED):
		return LogonNotGranted, nil
	case errors.Is(err, windows.ERROR_ACCOUNT_RESTRICTION), errors.Is(err, windows.ERROR_INVALID_LOGON_HOURS),
		errors.Is(err, windows.ERROR_INVALID_WORKSTATION), errors.Is(err, windows.ERROR_ACCOUNT_EXPIRED):
		return LogonRestricted, nil
	}
	return LogonNotTried, wrap("LogonUserW "+user, err)
}
