//go:build windows

package ntfs

import (
	"fmt"
	"unsafe"

	"golang.org/x/sys/windows"

	"github.com/cordon-sandbox/cordon/internal/fsview"
	"github.com/cordon-sandbox/cordon/internal/winpath"
	"github.com/cordon-sandbox/cordon/ntsec"
)

const supported = true

const (
	// openFlags open a directory as well as a file, and a reparse point
	// itself rather than what it points at.
	openFlags = windows.FILE_FLAG_BACKUP_SEMANTICS | windows.FILE_FLAG_OPEN_REPARSE_POINT
	// shareAll keeps cordon's handles out of everyone else's way.
	shareAll = windows.FILE_SHARE_READ | windows.FILE_SHARE_WRITE | windows.FILE_SHARE_DELETE
	// statInfo is what Stat reads: LABEL, not SACL (see the package doc).
	statInfo = windows.OWNER_SECURITY_INFORMATION | windows.GROUP_SECURITY_INFORMATION |
		windows.DACL_SECURITY_INFORMATION | windows.LABEL_SECURITY_INFORMATION

	fileFullDirectoryInfo        = 0xE // FILE_INFO_BY_HANDLE_CLASS FileFullDirectoryInfo
	fileFullDirectoryRestartInfo = 0xF // the same, from the first entry
	dirBufSize                   = 64 << 10
)

// open opens the object at the verbatim path name without following a
// reparse point there.
func open(name string, access uint32) (windows.Handle, error) {
	u, err := windows.UTF16PtrFromString(name)
	if err != nil {
		return windows.InvalidHandle, err
	}
	return windows.CreateFile(u, access, shareAll, nil, windows.OPEN_EXISTING, openFlags, 0)
}

// isNotExist reports whether err says that the path, or a directory on the
// way to it, does not exist.
func isNotExist(err error) bool {
	switch err {
	case windows.ERROR_FILE_NOT_FOUND, windows.ERROR_PATH_NOT_FOUND, windows.ERROR_INVALID_DRIVE,
		windows.ERROR_BAD_NETPATH, windows.ERROR_BAD_NET_NAME:
		return true
	}
	return false
}

// openErr wraps an error from open, in fsview.ErrNotExist when it says the
// path is missing.
func openErr(err error) error {
	if isNotExist(err) {
		return fmt.Errorf("%w (%w)", fsview.ErrNotExist, err)
	}
	return err
}

// attrTag is FILE_ATTRIBUTE_TAG_INFO.
type attrTag struct {
	Attributes uint32
	Tag        uint32 // meaningful only with FILE_ATTRIBUTE_REPARSE_POINT
}

func readAttrTag(h windows.Handle) (attrTag, error) {
	var info attrTag
	err := windows.GetFileInformationByHandleEx(h, windows.FileAttributeTagInfo, (*byte)(unsafe.Pointer(&info)), uint32(unsafe.Sizeof(info)))
	if err != nil {
		return info, fmt.Errorf("attributes: %w", err)
	}
	if info.Attributes&windows.FILE_ATTRIBUTE_REPARSE_POINT == 0 {
		info.Tag = 0
	}
	return info, nil
}

// isLink reports whether the object is a reparse point that stands for
// another object: a junction, a symlink or another name surrogate.
func (a attrTag) isLink() bool { return a.Tag&tagNameSurrogate != 0 }

func (a attrTag) isDir() bool { return a.Attributes&windows.FILE_ATTRIBUTE_DIRECTORY != 0 }

// fileStandardInfo is FILE_STANDARD_INFO, which x/sys/windows does not
// define.
type fileStandardInfo struct {
	AllocationSize, EndOfFile int64
	NumberOfLinks             uint32
	DeletePending, Directory  bool // BOOLEANs
}

// readLinks returns the number of names (hard links) of the file open as
// h: FILE_STANDARD_INFO's NumberOfLinks, the count GetFileInformationByHandle
// also reports, without the volume and name queries that call adds.
func readLinks(h windows.Handle) (uint32, error) {
	var fi fileStandardInfo
	if err := windows.GetFileInformationByHandleEx(h, windows.FileStandardInfo, (*byte)(unsafe.Pointer(&fi)), uint32(unsafe.Sizeof(fi))); err != nil {
		return 0, fmt.Errorf("number of links: %w", err)
	}
	return fi.NumberOfLinks, nil
}

// readReparse returns the object's REPARSE_DATA_BUFFER.
func readReparse(h windows.Handle) ([]byte, error) {
	buf := make([]byte, windows.MAXIMUM_REPARSE_DATA_BUFFER_SIZE)
	var n uint32
	if err := windows.DeviceIoControl(h, windows.FSCTL_GET_REPARSE_POINT, nil, 0, &buf[0], uint32(len(buf)), &n, nil); err != nil {
		return nil, fmt.Errorf("FSCTL_GET_REPARSE_POINT: %w", err)
	}
	return buf[:n], nil
}

// readSD reads the parts info of the object's security descriptor.
func readSD(h windows.Handle, info windows.SECURITY_INFORMATION) (*ntsec.SecurityDescriptor, error) {
	sd, err := windows.GetSecurityInfo(h, windows.SE_FILE_OBJECT, info)
	if err != nil {
		return nil, fmt.Errorf("GetSecurityInfo: %w", err)
	}
	out, err := ntsec.ParseBinary(unsafe.Slice((*byte)(unsafe.Pointer(sd)), sd.Length()))
	if err != nil {
		return nil, fmt.Errorf("security descriptor: %w", err)
	}
	return out, nil
}

// Stat implements fsview.View: the object at path itself, never what a
// reparse point there points at.
func (v *View) Stat(path string) (fsview.Node, error) {
	v.reads.Add(1)
	p, name, err := resolve(path)
	if err != nil {
		return fsview.Node{}, fmt.Errorf("stat %s: %w", path, err)
	}
	readable := true
	h, err := open(name, windows.READ_CONTROL|windows.FILE_READ_ATTRIBUTES)
	if err == windows.ERROR_ACCESS_DENIED {
		// FILE_READ_ATTRIBUTES is also granted by the parent's
		// FILE_LIST_DIRECTORY: the object is there, its descriptor is not
		// ours to read.
		readable = false
		h, err = open(name, windows.FILE_READ_ATTRIBUTES)
	}
	if err != nil {
		return fsview.Node{}, fmt.Errorf("stat %s: %w", p, openErr(err))
	}
	defer windows.CloseHandle(h)
	n, err := v.node(h, p)
	if err != nil {
		return fsview.Node{}, fmt.Errorf("stat %s: %w", p, err)
	}
	if n.Type == fsview.File {
		// From the same handle, so that the count is this object's.
		if n.Links, err = readLinks(h); err != nil {
			return fsview.Node{}, fmt.Errorf("stat %s: %w", p, err)
		}
	}
	if readable {
		if n.SD, err = readSD(h, statInfo); err != nil {
			return fsview.Node{}, fmt.Errorf("stat %s: %w", p, err)
		}
	}
	return n, nil
}

// node classifies the object open as h (see the package doc for reparse
// points).
func (v *View) node(h windows.Handle, p winpath.Path) (fsview.Node, error) {
	info, err := readAttrTag(h)
	if err != nil {
		return fsview.Node{}, err
	}
	n := fsview.Node{Path: p.String(), Type: fsview.File}
	if info.isDir() {
		n.Type = fsview.Directory
	}
	switch {
	case info.Tag == tagMountPoint || info.Tag == tagSymlink:
		buf, err := readReparse(h)
		if err != nil {
			return fsview.Node{}, err
		}
		tag, target, err := reparseTarget(buf, p)
		if err != nil {
			return fsview.Node{}, err
		}
		if tag != info.Tag {
			return fsview.Node{}, fmt.Errorf("reparse tag 0x%08x, attributes said 0x%08x", tag, info.Tag)
		}
		n.Type, n.Target = fsview.Junction, target
		if tag == tagSymlink {
			n.Type = fsview.Symlink
		}
	case info.isLink():
		n.Type = fsview.Symlink
		v.recordTag(n.Path, info.Tag)
	case info.Tag != 0:
		v.recordTag(n.Path, info.Tag)
	}
	return n, nil
}

// List implements fsview.View. It enumerates the directory on a handle
// opened without following a reparse point, and refuses one: the planner
// never looks inside a junction or symlink.
func (v *View) List(dir string) ([]string, error) {
	v.reads.Add(1)
	p, name, err := resolve(dir)
	if err != nil {
		return nil, fmt.Errorf("list %s: %w", dir, err)
	}
	h, err := open(name, windows.FILE_LIST_DIRECTORY|windows.FILE_READ_ATTRIBUTES|windows.SYNCHRONIZE)
	if err != nil {
		return nil, fmt.Errorf("list %s: %w", p, openErr(err))
	}
	defer windows.CloseHandle(h)
	info, err := readAttrTag(h)
	if err != nil {
		return nil, fmt.Errorf("list %s: %w", p, err)
	}
	switch {
	case info.Tag == tagMountPoint:
		return nil, fmt.Errorf("list %s: a junction, not a directory: cordon does not follow reparse points", p)
	case info.isLink():
		return nil, fmt.Errorf("list %s: a symlink, not a directory: cordon does not follow reparse points", p)
	case !info.isDir():
		return nil, fmt.Errorf("list %s: a file, not a directory", p)
	}
	names, err := listNames(h)
	if err != nil {
		return nil, fmt.Errorf("list %s: %w", p, err)
	}
	return names, nil
}

// listNames returns the sorted names in the directory open as h, which
// must be a synchronous handle with FILE_LIST_DIRECTORY.
func listNames(h windows.Handle) ([]string, error) {
	buf := make([]byte, dirBufSize)
	var names []string
	for class := uint32(fileFullDirectoryRestartInfo); ; class = fileFullDirectoryInfo {
		err := windows.GetFileInformationByHandleEx(h, class, &buf[0], uint32(len(buf)))
		if err == windows.ERROR_NO_MORE_FILES || err == windows.ERROR_FILE_NOT_FOUND && class == fileFullDirectoryRestartInfo {
			// The second: an empty root directory has no "." to return.
			break
		}
		if err != nil {
			return nil, err
		}
		if names, err = dirNames(buf, names); err != nil {
			return nil, err
		}
	}
	return sortNames(names), nil
}
