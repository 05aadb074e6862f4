//go:build windows

package ntfs

import "golang.org/x/sys/windows"

// Flags of GetFinalPathNameByHandleW (fileapi.h), which x/sys/windows
// does not define; both are the zero default.
const (
	fileNameNormalized = 0x0 // FILE_NAME_NORMALIZED
	volumeNameDOS      = 0x0 // VOLUME_NAME_DOS
)

// FinalPath returns the path Windows resolves p to: the final path of
// the object p opens (GetFinalPathNameByHandle with FILE_NAME_NORMALIZED
// and VOLUME_NAME_DOS), with junctions, symbolic links, 8.3 short names and
// subst drives resolved, in its DOS spelling without the \\?\ prefix
// (https://learn.microsoft.com/en-us/windows/win32/api/fileapi/nf-fileapi-getfinalpathnamebyhandlew).
// A path that cannot be opened is returned unchanged: whether it exists is
// checked, and reported, after the policy is resolved.
func FinalPath(p string) string {
	u, err := windows.UTF16PtrFromString(p)
	if err != nil {
		return p
	}
	// No access at all is needed to ask for the name; BACKUP_SEMANTICS
	// lets a directory open.
	h, err := windows.CreateFile(u, 0, windows.FILE_SHARE_READ|windows.FILE_SHARE_WRITE|windows.FILE_SHARE_DELETE,
		nil, windows.OPEN_EXISTING, windows.FILE_FLAG_BACKUP_SEMANTICS, 0)
	if err != nil {
		return p
	}
	defer windows.CloseHandle(h)
	buf := make([]uint16, windows.MAX_PATH)
	for {
		n, err := windows.GetFinalPathNameByHandle(h, &buf[0], uint32(len(buf)), fileNameNormalized|volumeNameDOS)
		if err != nil || n == 0 {
			return p
		}
		if int(n) < len(buf) {
			buf = buf[:n]
			break
		}
		buf = make([]uint16, n+1) // n is the size needed, with the NUL
	}
	return trimVerbatim(windows.UTF16ToString(buf))
}
