//go:build windows

package sandboxusers

import (
	"context"
	"errors"
	"fmt"
	"unsafe"

	"golang.org/x/sys/windows"
)

// IsAdmin reports whether this process can change local accounts: whether
// BUILTIN\Administrators is enabled in its token (CheckTokenMembership with
// no token checks the thread's effective token; in a UAC-filtered token the
// group is deny-only and does not count).
// https://learn.microsoft.com/windows/win32/api/securitybaseapi/nf-securitybaseapi-checktokenmembership
func IsAdmin() (bool, error) {
	sid, err := windows.CreateWellKnownSid(windows.WinBuiltinAdministratorsSid)
	if err != nil {
		return false, err
	}
	return windows.Token(0).IsMember(sid)
}

// CurrentUserSID is the SID of the user this process runs as, for
// Options.ForUserSID of the elevated setup it starts.
func CurrentUserSID() (string, error) {
	tu, err := windows.GetCurrentProcessToken().GetTokenUser()
	if err != nil {
		return "", err
	}
	return tu.User.Sid.String(), nil
}

// Elevate runs exe with args as an administrator through the UAC prompt
// (ShellExecuteExW with the "runas" verb, hidden window) and waits for it
// to exit, returning its exit code. The child does not inherit this
// process's environment, console or handles: pass it what it needs
// (state directory, ForUserSID, a result file) on its command line. A
// declined prompt is CodeCancelled (ERROR_CANCELLED, 1223); ShellExecuteEx
// failing otherwise is CodeNeedsAdmin. When ctx ends first, Elevate stops
// waiting and leaves the child to finish: setup is safe to stop anywhere,
// but stopping it is no reason to leave a half-done run behind.
// https://learn.microsoft.com/windows/win32/api/shellapi/nf-shellapi-shellexecuteexw
func Elevate(ctx context.Context, exe string, args []string) (uint32, error) {
	info := shellExecuteInfo{
		mask:       SEE_MASK_NOCLOSEPROCESS | SEE_MASK_NOASYNC,
		verb:       u16("runas"),
		file:       u16(exe),
		parameters: u16(windows.ComposeCommandLine(args)),
		show:       SW_HIDE,
	}
	info.cbSize = uint32(unsafe.Sizeof(info))
	if err := shellExecuteEx(&info); err != nil {
		if errors.Is(err, windows.ERROR_CANCELLED) {
			return 0, &Error{Code: CodeCancelled, Op: "administrator prompt", Err: err}
		}
		return 0, &Error{Code: CodeNeedsAdmin, Op: "starting the elevated setup", Err: err}
	}
	if info.process == 0 {
		return 0, &Error{Code: CodeFailed, Op: "starting the elevated setup", Err: errors.New("no process handle")}
	}
	defer windows.CloseHandle(info.process)
	for {
		ev, err := windows.WaitForSingleObject(info.process, 200)
		if err != nil {
			return 0, &Error{Code: CodeFailed, Op: "waiting for the elevated setup", Err: err}
		}
		if ev == windows.WAIT_OBJECT_0 {
			break
		}
		if err := ctx.Err(); err != nil {
			return 0, &Error{Code: CodeFailed, Op: "waiting for the elevated setup", Err: err}
		}
	}
	var code uint32
	if err := windows.GetExitCodeProcess(info.process, &code); err != nil {
		return 0, &Error{Code: CodeFailed, Op: "reading the elevated setup's exit code", Err: err}
	}
	return code, nil
}

// checkUser refuses to run as another user than sid.
func checkUser(sid string) error {
	if sid == "" {
		return nil
	}
	me, err := CurrentUserSID()
	if err != nil {
		return &Error{Code: CodeFailed, Op: "reading this process's user", Err: err}
	}
	if me != sid {
		return &Error{Code: CodeOtherAdmin, Op: "checking who runs setup",
			Err: fmt.Errorf("setup runs as %s, but is for %s", me, sid)}
	}
	return nil
}
