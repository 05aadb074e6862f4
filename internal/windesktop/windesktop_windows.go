//go:build windows

package windesktop

import (
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"sync"
	"unsafe"

	"golang.org/x/sys/windows"

	"github.com/cordon-sandbox/cordon/internal/winapi"
)

// desktopAccess is what cordon's handle to the desktop holds. cordon only
// keeps the desktop alive and names it in STARTUPINFO, but asks for
// GENERIC_ALL so that the handle could also hand it out.
const desktopAccess = windows.GENERIC_ALL

// Desktop is a desktop Create made. Close releases it.
type Desktop struct {
	mu     sync.Mutex
	handle windows.Handle // 0 once closed
	name   string         // "WinSta0\cordon-…"
}

// Create makes a new desktop named cordon-<16 random hex digits> in the
// calling process's window station, protected by sd (nil: the default
// security of the caller's token, which cordon never uses). The handle is
// not inheritable.
func Create(sd *windows.SECURITY_DESCRIPTOR) (*Desktop, error) {
	var r [8]byte
	if _, err := rand.Read(r[:]); err != nil {
		return nil, fmt.Errorf("windesktop: random name: %w", err)
	}
	short := "cordon-" + hex.EncodeToString(r[:])
	ws, err := winapi.GetProcessWindowStation()
	if err != nil {
		return nil, fmt.Errorf("windesktop: GetProcessWindowStation: %w", err)
	}
	wsName, err := winapi.UserObjectName(ws)
	if err != nil {
		return nil, fmt.Errorf("windesktop: the window station's name: %w", err)
	}
	name16, err := windows.UTF16PtrFromString(short)
	if err != nil {
		return nil, err
	}
	var sa *windows.SecurityAttributes
	if sd != nil {
		sa = &windows.SecurityAttributes{SecurityDescriptor: sd}
		sa.Length = uint32(unsafe.Sizeof(*sa))
	}
	h, err := winapi.CreateDesktop(name16, nil, nil, 0, desktopAccess, sa)
	if err != nil {
		return nil, fmt.Errorf("windesktop: CreateDesktop(%s\\%s): %w", wsName, short, err)
	}
	return &Desktop{handle: h, name: wsName + `\` + short}, nil
}

// Name is the desktop's full name, "WindowStation\Desktop", as
// STARTUPINFO.lpDesktop wants it
// (https://learn.microsoft.com/windows/win32/api/processthreadsapi/ns-processthreadsapi-startupinfow).
func (d *Desktop) Name() string { return d.name }

// Close closes cordon's handle (CloseDesktop). The desktop itself goes
// once no thread runs on it either. Closing twice returns nil.
func (d *Desktop) Close() error {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.handle == 0 {
		return nil
	}
	err := winapi.CloseDesktop(d.handle)
	d.handle = 0
	if err != nil {
		return fmt.Errorf("windesktop: CloseDesktop(%s): %w", d.name, err)
	}
	return nil
}

// ThreadDesktopName returns the name (without the window station) of the
// desktop the calling thread runs on: GetThreadDesktop and
// GetUserObjectInformationW(UOI_NAME).
func ThreadDesktopName() (string, error) {
	h, err := winapi.GetThreadDesktop(windows.GetCurrentThreadId())
	if err != nil {
		return "", fmt.Errorf("windesktop: GetThreadDesktop: %w", err)
	}
	n, err := winapi.UserObjectName(h)
	if err != nil {
		return "", fmt.Errorf("windesktop: %w", err)
	}
	if n == "" {
		return "", errors.New("windesktop: the thread's desktop has no name")
	}
	return n, nil
}
