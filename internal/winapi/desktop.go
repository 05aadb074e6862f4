//go:build windows

package winapi

import (
	"fmt"
	"unsafe"

	"golang.org/x/sys/windows"
)

// HDESK and HWINSTA are USER object handles, closed with CloseDesktop and
// CloseWindowStation, never CloseHandle.

// HDESK CreateDesktopW(
//   [in]           LPCWSTR               lpszDesktop,
//                  LPCWSTR               lpszDevice,
//                  DEVMODEW              *pDevmode,
//   [in]           DWORD                 dwFlags,
//   [in]           ACCESS_MASK           dwDesiredAccess,
//   [in, optional] LPSECURITY_ATTRIBUTES lpsa
// );
//
// https://learn.microsoft.com/windows/win32/api/winuser/nf-winuser-createdesktopw
//
//sys	CreateDesktop(name *uint16, device *uint16, devmode unsafe.Pointer, flags uint32, access uint32, sa *windows.SecurityAttributes) (desk windows.Handle, err error) [failretval==0] = user32.CreateDesktopW

// BOOL CloseDesktop(
//   [in] HDESK hDesktop
// );
//
// https://learn.microsoft.com/windows/win32/api/winuser/nf-winuser-closedesktop
//
//sys	CloseDesktop(desk windows.Handle) (err error) = user32.CloseDesktop

// HWINSTA GetProcessWindowStation();
//
// The handle is the process's own and must not be closed.
// https://learn.microsoft.com/windows/win32/api/winuser/nf-winuser-getprocesswindowstation
//
//sys	GetProcessWindowStation() (winsta windows.Handle, err error) [failretval==0] = user32.GetProcessWindowStation

// HDESK GetThreadDesktop(
//   [in] DWORD dwThreadId
// );
//
// The handle is the thread's own and must not be closed.
// https://learn.microsoft.com/windows/win32/api/winuser/nf-winuser-getthreaddesktop
//
//sys	GetThreadDesktop(threadID uint32) (desk windows.Handle, err error) [failretval==0] = user32.GetThreadDesktop

// BOOL GetUserObjectInformationW(
//   [in]            HANDLE  hObj,
//   [in]            int     nIndex,
//   [out, optional] PVOID   pvInfo,
//   [in]            DWORD   nLength,
//   [out, optional] LPDWORD lpnLengthNeeded
// );
//
// https://learn.microsoft.com/windows/win32/api/winuser/nf-winuser-getuserobjectinformationw
//
//sys	getUserObjectInformation(obj windows.Handle, index int32, info unsafe.Pointer, length uint32, needed *uint32) (err error) = user32.GetUserObjectInformationW

// BOOL OpenClipboard(
//   [in, optional] HWND hWndNewOwner
// );
//
// https://learn.microsoft.com/windows/win32/api/winuser/nf-winuser-openclipboard
//
//sys	OpenClipboard(owner windows.HWND) (err error) = user32.OpenClipboard

// BOOL CloseClipboard();
//
//sys	CloseClipboard() (err error) = user32.CloseClipboard

// uoiName is UOI_NAME, the index of an object's name for
// GetUserObjectInformationW.
const uoiName = 2

// UserObjectName returns the name of a window station or desktop
// (GetUserObjectInformationW with UOI_NAME): "WinSta0", "Default".
func UserObjectName(obj windows.Handle) (string, error) {
	n := uint32(64)
	for {
		buf := make([]uint16, n/2+1)
		var needed uint32
		err := getUserObjectInformation(obj, uoiName, unsafe.Pointer(&buf[0]), uint32(len(buf)*2), &needed)
		if err == nil {
			return windows.UTF16ToString(buf), nil
		}
		if err != windows.ERROR_INSUFFICIENT_BUFFER || needed <= uint32(len(buf)*2) {
			return "", fmt.Errorf("GetUserObjectInformation(UOI_NAME): %w", err)
		}
		n = needed
	}
}
