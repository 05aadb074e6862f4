package winsandbox

import (
	"errors"
	"fmt"
	"unsafe"

	"golang.org/x/sys/windows"

	"github.com/cordon-sandbox/cordon/internal/aclplan"
	"github.com/cordon-sandbox/cordon/ntsec"
)

// nulDevice is the Win32 name of the null device, which winlaunch gives a
// command for every stream the caller left nil, and which commands open
// themselves (`> NUL`, /dev/null rewritten).
const nulDevice = `\\.\NUL`

// ensureNUL makes sure the sandbox token tok may read and write the NUL
// device. Windows' default DACL on \Device\Null grants Everyone read,
// write and execute, and Everyone is one of the token's restricting SIDs,
// so this normally holds as it is and nothing is written. Otherwise an
// allow ACE is added, for the logon SID only: it
// covers every sandbox of this logon session and dies with it, so there is
// nothing to record or clean up (device DACLs also do not survive a
// reboot). A standard user usually lacks WRITE_DAC on the device; if the
// grant fails, the command still runs (its writes to NUL fail, nothing
// leaks) and the error goes to Degraded.
func ensureNUL(tok *ntsec.Token, logon ntsec.SID) error {
	sd, err := readNUL(windows.READ_CONTROL)
	if err != nil {
		return err
	}
	if nulUsable(sd, tok) {
		return nil
	}
	grant := ntsec.ACE{Type: ntsec.AccessAllowed, Mask: ntsec.FileGenericRead | ntsec.FileGenericWrite, SID: logon}
	next := &ntsec.SecurityDescriptor{Control: sd.Control, DACL: aclplan.WithACE(sd.DACL, grant)}
	wsd, err := windows.SecurityDescriptorFromString(next.SDDL())
	if err != nil {
		return fmt.Errorf("the new DACL of %s: %w", nulDevice, err)
	}
	dacl, _, err := wsd.DACL()
	if err == nil && dacl == nil {
		err = errors.New("no DACL") // never set a null DACL, which grants everything
	}
	if err != nil {
		return fmt.Errorf("the new DACL of %s: %w", nulDevice, err)
	}
	h, err := openNUL(windows.READ_CONTROL | windows.WRITE_DAC)
	if err != nil {
		return fmt.Errorf("the sandbox token may not read and write %s (its DACL is %s) and cordon may not change that: %w", nulDevice, sd.SDDL(), err)
	}
	defer windows.CloseHandle(h)
	// SE_KERNEL_OBJECT: the device is no file, and
	// the file-object path would have MARTA work out inheritance for it.
	info := windows.SECURITY_INFORMATION(windows.DACL_SECURITY_INFORMATION)
	if sd.Control&ntsec.DACLProtected != 0 {
		info |= windows.PROTECTED_DACL_SECURITY_INFORMATION
	}
	if err := windows.SetSecurityInfo(h, windows.SE_KERNEL_OBJECT, info, nil, nil, dacl, nil); err != nil {
		return fmt.Errorf("grant the logon SID %s: %w", nulDevice, err)
	}
	if sd, err = readNUL(windows.READ_CONTROL); err != nil {
		return fmt.Errorf("after the grant: %w", err)
	}
	if !nulUsable(sd, tok) {
		return fmt.Errorf("%s is still not usable by the sandbox token after the grant (its DACL is %s)", nulDevice, sd.SDDL())
	}
	return nil
}

func nulUsable(sd *ntsec.SecurityDescriptor, tok *ntsec.Token) bool {
	return ntsec.AccessCheck(sd, tok, ntsec.FileReadData|ntsec.FileWriteData, ntsec.File).Allowed
}

func openNUL(access uint32) (windows.Handle, error) {
	u, err := windows.UTF16PtrFromString(nulDevice)
	if err != nil {
		return 0, err
	}
	return windows.CreateFile(u, access, windows.FILE_SHARE_READ|windows.FILE_SHARE_WRITE, nil, windows.OPEN_EXISTING, 0, 0)
}

// readNUL reads the owner, group, DACL and mandatory label of the NUL
// device (the label needs only READ_CONTROL): without the label the model
// would take the device for Medium, which a Low token may not write.
func readNUL(access uint32) (*ntsec.SecurityDescriptor, error) {
	h, err := openNUL(access)
	if err != nil {
		return nil, fmt.Errorf("open %s: %w", nulDevice, err)
	}
	defer windows.CloseHandle(h)
	wsd, err := windows.GetSecurityInfo(h, windows.SE_KERNEL_OBJECT, windows.OWNER_SECURITY_INFORMATION|windows.GROUP_SECURITY_INFORMATION|windows.DACL_SECURITY_INFORMATION|windows.LABEL_SECURITY_INFORMATION)
	if err != nil {
		return nil, fmt.Errorf("read the DACL of %s: %w", nulDevice, err)
	}
	sd, err := ntsec.ParseBinary(unsafe.Slice((*byte)(unsafe.Pointer(wsd)), wsd.Length()))
	if err != nil {
		return nil, fmt.Errorf("the DACL of %s: %w", nulDevice, err)
	}
	return sd, nil
}
