// Package windesktop creates the private desktop each command of cordon's
// Windows backend runs on.
//
// # Why a desktop of its own
//
// A process started without STARTUPINFO.lpDesktop joins its parent's
// desktop, normally WinSta0\Default, the one the user sees. Windows
// isolates window messages, hooks and input by desktop, not by token
// ("Desktops",
// https://learn.microsoft.com/windows/win32/winstation/desktops): on a
// shared desktop a sandboxed command at the user's integrity level could
// install a global hook whose DLL then loads into the user's explorer and
// terminal (SetWindowsHookEx loads the DLL into every GUI process on the
// same desktop), or type into the user's windows with SendInput, or read
// their title bars. A thread can hook and send input only to windows on
// its own desktop, so a command on a desktop of its own reaches none of the
// user's windows ("SetWindowsHookEx", "SendInput" remarks).
//
// Create makes that desktop in the caller's window station (normally
// WinSta0; CreateDesktopW always creates in the calling process's window
// station, https://learn.microsoft.com/windows/win32/api/winuser/nf-winuser-createdesktopw)
// with a security descriptor the caller gives: cordon's grants the user,
// SYSTEM and the run's SID (restrictedtoken.DesktopSD), so other sandboxes,
// which hold neither the user's unrestricted token nor this run SID, cannot
// open it for writing. The window station stays shared: its atom table and
// clipboard are closed by the job's UI restrictions instead
// (internal/jobobject, Options.RestrictUI).
//
// The desktop lives while a handle to it is open or a thread runs on it:
// the backend closes its handle once the command's job is closed, so the
// desktop goes with the last process of the tree.
//
// # Testing
//
// Wine implements window stations and desktops in wineserver: the tests
// create a desktop and start a child on it, which reports its desktop's
// name. Whether hooks and input are really confined, and whether another
// sandbox is refused, only real Windows can tell (testutil.RealWindows).
package windesktop
