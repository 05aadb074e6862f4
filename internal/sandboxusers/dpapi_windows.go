//go:build windows

package sandboxusers

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"unsafe"

	"golang.org/x/sys/windows"
)

// DPAPI is the Protector on Windows: CryptProtectData in user scope (no
// CRYPTPROTECT_LOCAL_MACHINE), so that only a process running as the same
// user, with that user's profile loaded, can decrypt, with
// CRYPTPROTECT_UI_FORBIDDEN because setup may run with no one to answer a
// prompt, and the purpose as the optional entropy, which CryptUnprotectData
// must be given again: a blob made for one purpose fails for any other
// with ERROR_INVALID_DATA, as does a blob with any byte changed.
// https://learn.microsoft.com/windows/win32/api/dpapi/nf-dpapi-cryptprotectdata
//
// User scope is why setup must run as the real user: a UAC prompt approved
// with another administrator's credentials runs setup as that account,
// whose keys the real user's cordon cannot use (see CodeOtherAdmin).
type DPAPI struct{}

var _ Protector = DPAPI{}

func dataBlob(b []byte) *windows.DataBlob {
	if len(b) == 0 {
		return &windows.DataBlob{}
	}
	return &windows.DataBlob{Size: uint32(len(b)), Data: &b[0]}
}

// takeBlob copies out a blob CryptProtectData or CryptUnprotectData
// allocated, then wipes and frees it.
func takeBlob(out windows.DataBlob) []byte {
	if out.Data == nil {
		return nil
	}
	b := unsafe.Slice(out.Data, out.Size)
	c := bytes.Clone(b)
	clear(b)
	windows.LocalFree(windows.Handle(unsafe.Pointer(out.Data)))
	return c
}

func (DPAPI) Protect(plain, purpose []byte) ([]byte, error) {
	var out windows.DataBlob
	desc, _ := windows.UTF16PtrFromString("cordon sandbox user password")
	err := windows.CryptProtectData(dataBlob(plain), desc, dataBlob(purpose), 0, nil, windows.CRYPTPROTECT_UI_FORBIDDEN, &out)
	if err != nil {
		return nil, fmt.Errorf("CryptProtectData: %w", err)
	}
	return takeBlob(out), nil
}

func (DPAPI) Unprotect(blob, purpose []byte) ([]byte, error) {
	if len(blob) == 0 {
		return nil, fmt.Errorf("CryptUnprotectData: empty blob: %w", windows.ERROR_INVALID_DATA)
	}
	var out windows.DataBlob
	err := windows.CryptUnprotectData(dataBlob(blob), nil, dataBlob(purpose), 0, nil, windows.CRYPTPROTECT_UI_FORBIDDEN, &out)
	if err != nil {
		return nil, fmt.Errorf("CryptUnprotectData: %w", err)
	}
	return takeBlob(out), nil
}

// makePrivateDir creates dir (and its parents) so that only the user this
// process runs as, and SYSTEM, have access, and the user owns it: the
// owner is set explicitly because an elevated administrator's files are
// otherwise owned by BUILTIN\Administrators (codex#31620). The DACL is
// protected and inheritable, so the files statedir.WriteFile creates in it,
// temporary ones included, get it from the start. An existing directory
// gets the same owner and DACL again, which repairs a loosened one.
func makePrivateDir(dir string) error {
	if err := os.MkdirAll(filepath.Dir(dir), 0o700); err != nil {
		return err
	}
	tu, err := windows.GetCurrentProcessToken().GetTokenUser()
	if err != nil {
		return fmt.Errorf("reading this process's user: %w", err)
	}
	user := tu.User.Sid.String()
	sd, err := windows.SecurityDescriptorFromString("O:" + user + "D:P(A;OICI;FA;;;" + user + ")(A;OICI;FA;;;SY)")
	if err != nil {
		return err
	}
	sa := &windows.SecurityAttributes{Length: uint32(unsafe.Sizeof(windows.SecurityAttributes{})), SecurityDescriptor: sd}
	switch err := windows.CreateDirectory(u16(dir), sa); {
	case err == nil:
		return nil
	case !errors.Is(err, windows.ERROR_ALREADY_EXISTS):
		return fmt.Errorf("creating %s: %w", dir, err)
	}
	owner, _, err := sd.Owner()
	if err != nil {
		return err
	}
	dacl, _, err := sd.DACL()
	if err != nil {
		return err
	}
	err = windows.SetNamedSecurityInfo(dir, windows.SE_FILE_OBJECT,
		windows.OWNER_SECURITY_INFORMATION|windows.DACL_SECURITY_INFORMATION|windows.PROTECTED_DACL_SECURITY_INFORMATION,
		owner, nil, dacl, nil)
	if err != nil {
		return fmt.Errorf("restricting %s to its user: %w", dir, err)
	}
	return nil
}
