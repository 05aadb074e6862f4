//go:build windows

package ntfs

// The propagation walk on NTFS (the walk itself is propagate.go's).
//
// Each top (an edited object) is opened by its path as every edit is, with
// FILE_FLAG_OPEN_REPARSE_POINT. Everything below it is opened with
// NtCreateFile relative to its parent's handle (OBJECT_ATTRIBUTES
// RootDirectory = the parent, ObjectName = the one name the parent's
// listing gave, which holds no separator) with FILE_OPEN_REPARSE_POINT: the
// name is looked up in the directory the parent handle is open on, whatever
// has happened to the paths above it since, and a reparse point found there
// is opened itself, never followed. A handle of the walk holds only
// READ_CONTROL and FILE_READ_ATTRIBUTES, what Stat asks for; listing a
// directory and writing a descriptor each go through a second handle that
// reopens the same object (an empty name relative to the first handle, as
// ReOpenFile does) with FILE_LIST_DIRECTORY, or with WRITE_DAC and
// WRITE_OWNER as the write needs: an object the walk leaves alone, a file
// with several names above all, is never opened for writing, and an object
// whose label does not change does not need WRITE_OWNER. The reopened handle
// is the same file object's, so nothing can be swapped in between.
// FILE_OPEN_FOR_BACKUP_INTENT is what FILE_FLAG_BACKUP_SEMANTICS stands for
// in CreateFile: backup and restore privileges count, when enabled.
//
// Writes go through writeSD (SetKernelObjectSecurity, this object only; see
// apply_windows.go for what that relies on). A file's number of names is
// BY_HANDLE_FILE_INFORMATION.NumberOfLinks, read from the walk's handle.

import (
	"context"
	"fmt"
	"unsafe"

	"golang.org/x/sys/windows"

	"github.com/cordon-sandbox/cordon/ntsec"
)

// walkAccess is all a handle of the walk holds.
const walkAccess = windows.READ_CONTROL | windows.FILE_READ_ATTRIBUTES

// propagate propagates inheritance below tops (see propagate.go); each
// top is opened by its path, as its edit opened it.
func propagate(ctx context.Context, tops []string, written map[string]bool) (propResult, error) {
	return propagateTops(ctx, tops, written, func(top string) (objHandle, string, error) {
		p, name, err := resolve(top)
		if err != nil {
			return nil, "", err
		}
		h, err := open(name, walkAccess)
		if err != nil {
			return nil, "", openErr(err)
		}
		return winObj{h}, p.String(), nil
	})
}

// winObj is an object held open by the walk.
type winObj struct{ h windows.Handle }

func (o winObj) examine() (object, error) {
	info, err := readAttrTag(o.h)
	if err != nil {
		return object{}, err
	}
	x := object{dir: info.isDir(), link: info.isLink()}
	if !x.dir && !x.link {
		if x.links, err = readLinks(o.h); err != nil {
			return object{}, err
		}
	}
	if x.sd, err = readSD(o.h, statInfo); err != nil {
		return object{}, err
	}
	return x, nil
}

func (o winObj) names() ([]string, error) {
	h, err := openAt(o.h, "", windows.FILE_LIST_DIRECTORY, windows.FILE_DIRECTORY_FILE)
	if err != nil {
		return nil, fmt.Errorf("open for listing: %w", err)
	}
	defer windows.CloseHandle(h)
	return listNames(h)
}

func (o winObj) open(name string) (objHandle, error) {
	h, err := openAt(o.h, name, walkAccess, 0)
	if err != nil {
		return nil, openErr(err)
	}
	return winObj{h}, nil
}

func (o winObj) write(sd *ntsec.SecurityDescriptor, ps parts) error {
	var access uint32
	if ps&daclPart != 0 {
		access |= windows.WRITE_DAC
	}
	if ps&labelPart != 0 {
		access |= windows.WRITE_OWNER
	}
	h, err := openAt(o.h, "", access, 0)
	if err != nil {
		err = fmt.Errorf("open for writing: %w", err)
		if ps&labelPart != 0 {
			err = labelErr(err)
		}
		return err
	}
	defer windows.CloseHandle(h)
	if err := writeSD(h, sd, ps); err != nil {
		if ps&labelPart != 0 {
			err = labelErr(err)
		}
		return err
	}
	return nil
}

func (o winObj) close() error { return windows.CloseHandle(o.h) }

// openAt opens name in the directory open as dir, or dir's own object
// again when name is "", with access (and SYNCHRONIZE, for synchronous
// I/O) and the NtCreateFile options opts, never following a reparse point.
// Errors are Win32 errors, so that isNotExist and openErr apply.
func openAt(dir windows.Handle, name string, access, opts uint32) (windows.Handle, error) {
	u, err := windows.NewNTUnicodeString(name)
	if err != nil {
		return windows.InvalidHandle, err
	}
	oa := windows.OBJECT_ATTRIBUTES{RootDirectory: dir, ObjectName: u}
	oa.Length = uint32(unsafe.Sizeof(oa))
	var iosb windows.IO_STATUS_BLOCK
	h := windows.InvalidHandle
	opts |= windows.FILE_OPEN_REPARSE_POINT | windows.FILE_OPEN_FOR_BACKUP_INTENT | windows.FILE_SYNCHRONOUS_IO_NONALERT
	err = windows.NtCreateFile(&h, access|windows.SYNCHRONIZE, &oa, &iosb, nil, 0, shareAll, windows.FILE_OPEN, opts, 0, 0)
	if st, ok := err.(windows.NTStatus); ok {
		return windows.InvalidHandle, st.Errno()
	}
	if err != nil {
		return windows.InvalidHandle, err
	}
	return h, nil
}
