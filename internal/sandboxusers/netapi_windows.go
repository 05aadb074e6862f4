//go:build windows

package sandboxusers

import "golang.org/x/sys/windows"

// Bindings that golang.org/x/sys/windows lacks (it has NetUserGetInfo,
// NetApiBufferFree, CryptProtectData, CheckTokenMembership). The NetApi
// functions return a NET_API_STATUS: a Win32 error or an NERR_ code.

// NET_API_STATUS NetUserAdd(
//   [in]  LPCWSTR servername,
//   [in]  DWORD   level,
//   [in]  LPBYTE  buf,
//   [out] LPDWORD parm_err
// );
//
//sys	netUserAdd(serverName *uint16, level uint32, buf *byte, parmErr *uint32) (neterr error) = netapi32.NetUserAdd

// NET_API_STATUS NetUserSetInfo(
//   [in]  LPCWSTR servername,
//   [in]  LPCWSTR username,
//   [in]  DWORD   level,
//   [in]  LPBYTE  buf,
//   [out] LPDWORD parm_err
// );
//
//sys	netUserSetInfo(serverName *uint16, userName *uint16, level uint32, buf *byte, parmErr *uint32) (neterr error) = netapi32.NetUserSetInfo

// NET_API_STATUS NetUserDel(
//   [in] LPCWSTR servername,
//   [in] LPCWSTR username
// );
//
//sys	netUserDel(serverName *uint16, userName *uint16) (neterr error) = netapi32.NetUserDel

// NET_API_STATUS NetLocalGroupAdd(
//   [in]  LPCWSTR servername,
//   [in]  DWORD   level,
//   [in]  LPBYTE  buf,
//   [out] LPDWORD parm_err
// );
//
//sys	netLocalGroupAdd(serverName *uint16, level uint32, buf *byte, parmErr *uint32) (neterr error) = netapi32.NetLocalGroupAdd

// NET_API_STATUS NetLocalGroupDel(
//   [in] LPCWSTR servername,
//   [in] LPCWSTR groupname
// );
//
//sys	netLocalGroupDel(serverName *uint16, groupName *uint16) (neterr error) = netapi32.NetLocalGroupDel

// NET_API_STATUS NetLocalGroupGetInfo(
//   [in]  LPCWSTR servername,
//   [in]  LPCWSTR groupname,
//   [in]  DWORD   level,
//   [out] LPBYTE  *bufptr
// );
//
//sys	netLocalGroupGetInfo(serverName *uint16, groupName *uint16, level uint32, buf **byte) (neterr error) = netapi32.NetLocalGroupGetInfo

// NET_API_STATUS NetLocalGroupGetMembers(
//   [in]      LPCWSTR    servername,
//   [in]      LPCWSTR    localgroupname,
//   [in]      DWORD      level,
//   [out]     LPBYTE     *bufptr,
//   [in]      DWORD      prefmaxlen,
//   [out]     LPDWORD    entriesread,
//   [out]     LPDWORD    totalentries,
//   [in, out] PDWORD_PTR resumehandle
// );
//
//sys	netLocalGroupGetMembers(serverName *uint16, groupName *uint16, level uint32, buf **byte, prefMaxLen uint32, entriesRead *uint32, totalEntries *uint32, resumeHandle *uintptr) (neterr error) = netapi32.NetLocalGroupGetMembers

// NET_API_STATUS NetLocalGroupAddMembers(
//   [in] LPCWSTR servername,
//   [in] LPCWSTR groupname,
//   [in] DWORD   level,
//   [in] LPBYTE  buf,
//   [in] DWORD   totalentries
// );
//
//sys	netLocalGroupAddMembers(serverName *uint16, groupName *uint16, level uint32, buf *byte, totalEntries uint32) (neterr error) = netapi32.NetLocalGroupAddMembers

// NET_API_STATUS NetLocalGroupDelMembers(
//   [in] LPCWSTR servername,
//   [in] LPCWSTR groupname,
//   [in] DWORD   level,
//   [in] LPBYTE  buf,
//   [in] DWORD   totalentries
// );
//
//sys	netLocalGroupDelMembers(serverName *uint16, groupName *uint16, level uint32, buf *byte, totalEntries uint32) (neterr error) = netapi32.NetLocalGroupDelMembers

// BOOL LogonUserW(
//   [in]           LPCWSTR lpszUsername,
//   [in, optional] LPCWSTR lpszDomain,
//   [in, optional] LPCWSTR lpszPassword,
//   [in]           DWORD   dwLogonType,
//   [in]           DWORD   dwLogonProvider,
//   [out]          PHANDLE phToken
// );
//
//sys	logonUser(user *uint16, domain *uint16, password *uint16, logonType uint32, logonProvider uint32, token *windows.Token) (err error) = advapi32.LogonUserW

// BOOL ShellExecuteExW(
//   [in, out] SHELLEXECUTEINFOW *pExecInfo
// );
//
//sys	shellExecuteEx(info *shellExecuteInfo) (err error) = shell32.ShellExecuteExW

// BOOL DeleteProfileW(
//   [in]           LPCWSTR lpSidString,
//   [in, optional] LPCWSTR lpProfilePath,
//   [in, optional] LPCWSTR lpComputerName
// );
//
//sys	deleteProfile(sid *uint16, profilePath *uint16, computerName *uint16) (err error) = userenv.DeleteProfileW

// USER_INFO_1, for NetUserAdd.
type userInfo1 struct {
	name        *uint16
	password    *uint16
	passwordAge uint32
	priv        uint32
	homeDir     *uint16
	comment     *uint16
	flags       uint32
	scriptPath  *uint16
}

// USER_INFO_4, from NetUserGetInfo: the flags, the SID and whether the
// password has expired.
type userInfo4 struct {
	name            *uint16
	password        *uint16
	passwordAge     uint32
	priv            uint32
	homeDir         *uint16
	comment         *uint16
	flags           uint32
	scriptPath      *uint16
	authFlags       uint32
	fullName        *uint16
	usrComment      *uint16
	parms           *uint16
	workstations    *uint16
	lastLogon       uint32
	lastLogoff      uint32
	acctExpires     uint32
	maxStorage      uint32
	unitsPerWeek    uint32
	logonHours      *byte
	badPwCount      uint32
	numLogons       uint32
	logonServer     *uint16
	countryCode     uint32
	codePage        uint32
	userSID         *windows.SID
	primaryGroupID  uint32
	profile         *uint16
	homeDirDrive    *uint16
	passwordExpired uint32
}

// LOCALGROUP_INFO_1, for NetLocalGroupAdd.
type localGroupInfo1 struct {
	name    *uint16
	comment *uint16
}

// LOCALGROUP_MEMBERS_INFO_0: a member by SID.
type localGroupMembersInfo0 struct {
	sid *windows.SID
}

// SHELLEXECUTEINFOW.
type shellExecuteInfo struct {
	cbSize        uint32
	mask          uint32
	hwnd          windows.Handle
	verb          *uint16
	file          *uint16
	parameters    *uint16
	directory     *uint16
	show          int32
	instApp       windows.Handle
	idList        uintptr
	class         *uint16
	keyClass      windows.Handle
	hotKey        uint32
	iconOrMonitor windows.Handle
	process       windows.Handle
}

// Constants of lmaccess.h, lmerr.h, winbase.h and shellapi.h.
//
//nolint:revive,stylecheck // Windows names
const (
	USER_PRIV_USER       = 1
	MAX_PREFERRED_LENGTH = 0xFFFFFFFF

	NERR_InternalError    windows.Errno = 2140
	NERR_BadUsername      windows.Errno = 2202
	NERR_GroupNotFound    windows.Errno = 2220
	NERR_UserNotFound     windows.Errno = 2221
	NERR_GroupExists      windows.Errno = 2223
	NERR_UserExists       windows.Errno = 2224
	NERR_PasswordTooShort windows.Errno = 2245

	LOGON32_LOGON_INTERACTIVE = 2
	LOGON32_PROVIDER_DEFAULT  = 0

	SEE_MASK_NOCLOSEPROCESS = 0x40
	SEE_MASK_NOASYNC        = 0x100
	SEE_MASK_FLAG_NO_UI     = 0x400
	SW_HIDE                 = 0
)
