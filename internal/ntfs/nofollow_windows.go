//go:build windows

package ntfs

import (
	"fmt"

	"golang.org/x/sys/windows"

	"github.com/cordon-sandbox/cordon/internal/aclplan"
)

// setACENoFollow is setACE with the object opened by openNoFollow.
func setACENoFollow(e aclplan.Edit) (bool, error) {
	changed, err := setACEWith(e, openNoFollow)
	if err != nil {
		return changed, fmt.Errorf("%s %s on %s: %w", e.Op, e.ACE.SDDL(), e.Path, err)
	}
	return changed, nil
}

// openNoFollow opens the object at path from its volume's root, each
// component relative to its parent's handle (openAt, FILE_OPEN_REPARSE_POINT)
// and refuses a name-surrogate reparse point on the way or a file with
// more than one name (ErrReparseOnPath). A component renamed or replaced
// after it was opened does not matter: the next is opened relative to the
// handle, which names the object, not the path.
func openNoFollow(path string, access uint32) (windows.Handle, error) {
	p, _, err := resolve(path)
	if err != nil {
		return windows.InvalidHandle, err
	}
	root, err := volumeRoot(p)
	if err != nil {
		return windows.InvalidHandle, err
	}
	h, err := open(root, windows.FILE_TRAVERSE|windows.FILE_READ_ATTRIBUTES)
	if err != nil {
		return windows.InvalidHandle, err
	}
	for i, elem := range p.Elems {
		want := uint32(windows.FILE_TRAVERSE | windows.FILE_READ_ATTRIBUTES)
		if i == len(p.Elems)-1 {
			want = access | windows.FILE_READ_ATTRIBUTES
		}
		next, err := openAt(h, elem, want, 0)
		windows.CloseHandle(h)
		if err != nil {
			return windows.InvalidHandle, err
		}
		h = next
		tag, err := readAttrTag(h)
		if err != nil {
			windows.CloseHandle(h)
			return windows.InvalidHandle, err
		}
		if i < len(p.Elems)-1 && tag.isLink() {
			windows.CloseHandle(h)
			return windows.InvalidHandle, fmt.Errorf("%w: %s", ErrReparseOnPath, elem)
		}
		if i == len(p.Elems)-1 && !tag.isDir() {
			n, err := readLinks(h)
			if err != nil || n > 1 {
				windows.CloseHandle(h)
				if err == nil {
					err = fmt.Errorf("%w: %s has %d names", ErrReparseOnPath, path, n)
				}
				return windows.InvalidHandle, err
			}
		}
	}
	return h, nil
}
