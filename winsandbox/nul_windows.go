package winsandbox

import (
	"fmt"
	"unsafe"

	"golang.org/x/sys/windows"

	"github.com/cordon-sandbox/cordon/ntsec"
)

// nulDevice is the Win32 name of the null device, which winlaunch gives a
// command for every stream the caller left nil, and which commands open
// themselves (`> NUL`, /dev/null rewritten).
const nulDevice = `\\.\NUL`

// checkNUL checks, in the model, that tok may read and write the NUL device.
// Windows' default DACL on \Device\Null grants Everyone read, write and
// execute, and Everyone is one of the sandbox token's restricting SIDs, so
// this normally holds without any change. cordon does not rewrite the
// device's DACL as the anchor does: a standard user has no WRITE_DAC on it,
// and a change there would be one more thing left on the machine. If the
// check fails, the command still runs (writes to NUL fail, nothing leaks)
// and the reason is returned for Degraded.
func checkNUL(tok *ntsec.Token) error {
	u, err := windows.UTF16PtrFromString(nulDevice)
	if err != nil {
		return err
	}
	h, err := windows.CreateFile(u, windows.READ_CONTROL, windows.FILE_SHARE_READ|windows.FILE_SHARE_WRITE, nil, windows.OPEN_EXISTING, 0, 0)
	if err != nil {
		return fmt.Errorf("open %s: %w", nulDevice, err)
	}
	defer windows.CloseHandle(h)
	wsd, err := windows.GetSecurityInfo(h, windows.SE_FILE_OBJECT, windows.OWNER_SECURITY_INFORMATION|windows.GROUP_SECURITY_INFORMATION|windows.DACL_SECURITY_INFORMATION)
	if err != nil {
		return fmt.Errorf("read the DACL of %s: %w", nulDevice, err)
	}
	sd, err := ntsec.ParseBinary(unsafe.Slice((*byte)(unsafe.Pointer(wsd)), wsd.Length()))
	if err != nil {
		return fmt.Errorf("the DACL of %s: %w", nulDevice, err)
	}
	want := ntsec.FileReadData | ntsec.FileWriteData
	if got := ntsec.AccessCheck(sd, tok, want, ntsec.File); !got.Allowed {
		return fmt.Errorf("the sandbox token may not read and write %s (its DACL is %s): commands writing to NUL will fail", nulDevice, sd.SDDL())
	}
	return nil
}
