//go:build windows

package winapi

import "golang.org/x/sys/windows"

// BOOL LookupPrivilegeNameW(
//   [in, optional]  LPCWSTR lpSystemName,
//   [in]            PLUID   lpLuid,
//   [out, optional] LPWSTR  lpName,
//   [in, out]       LPDWORD cchName
// );
//
//sys	lookupPrivilegeName(systemName *uint16, luid *windows.LUID, name *uint16, nameLen *uint32) (err error) = advapi32.LookupPrivilegeNameW

// LookupPrivilegeName returns the programmatic name of the privilege luid
// stands for on the local system ("SeChangeNotifyPrivilege", …), the inverse
// of windows.LookupPrivilegeValue.
func LookupPrivilegeName(luid windows.LUID) (string, error) {
	n := uint32(64)
	for {
		buf := make([]uint16, n)
		size := n
		err := lookupPrivilegeName(nil, &luid, &buf[0], &size)
		if err == nil {
			return windows.UTF16ToString(buf[:size]), nil
		}
		// On ERROR_INSUFFICIENT_BUFFER, size holds the length needed,
		// including the terminating NUL.
		if err != windows.ERROR_INSUFFICIENT_BUFFER || size <= n {
			return "", err
		}
		n = size
	}
}
