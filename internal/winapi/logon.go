//go:build windows

package winapi

// Logon flags of CreateProcessWithLogonW.
//
//nolint:revive,stylecheck // Windows names
const (
	// LOGON_WITH_PROFILE loads the user's profile (HKEY_USERS\<SID>)
	// before the process starts, and creates it at the first logon, so
	// that the process has a profile directory, registry and environment
	// of its own.
	LOGON_WITH_PROFILE = 0x1
)

// BOOL CreateProcessWithLogonW(
//   [in]                LPCWSTR               lpUsername,
//   [in, optional]      LPCWSTR               lpDomain,
//   [in]                LPCWSTR               lpPassword,
//   [in]                DWORD                 dwLogonFlags,
//   [in, optional]      LPCWSTR               lpApplicationName,
//   [in, out, optional] LPWSTR                lpCommandLine,
//   [in]                DWORD                 dwCreationFlags,
//   [in, optional]      LPVOID                lpEnvironment,
//   [in, optional]      LPCWSTR               lpCurrentDirectory,
//   [in]                LPSTARTUPINFOW        lpStartupInfo,
//   [out]               LPPROCESS_INFORMATION lpProcessInformation
// );
//
//sys	CreateProcessWithLogonW(username *uint16, domain *uint16, password *uint16, logonFlags uint32, appName *uint16, commandLine *uint16, creationFlags uint32, env *uint16, currentDir *uint16, startupInfo *windows.StartupInfo, outProcInfo *windows.ProcessInformation) (err error) = advapi32.CreateProcessWithLogonW

// CreateProcessWithLogonW (above) logs username on with password (the
// Secondary Logon service does it, so the caller needs no privilege) and
// starts the process as that user, in the caller's session, with a new
// logon session and logon SID. The new process inherits no handle of the
// caller's, whatever the attributes say, and with a NULL lpDesktop Windows
// grants the new logon SID access to the caller's window station and
// desktop
// (https://learn.microsoft.com/en-us/windows/win32/api/winbase/nf-winbase-createprocesswithlogonw).
