package cwdjunction

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"

	"github.com/Microsoft/go-winio"
	"golang.org/x/sys/windows"
)

// Ensure makes the junction for cwd under profile and returns its path.
// It runs as the sandbox user (the runner, before the command starts),
// who owns the profile.
//
// What it finds there is not trusted, since the sandbox user's earlier
// commands could write it: a junction already pointing at cwd is reused;
// anything else at that name (another junction, a directory, a file, a
// symbolic link) is removed without being followed and the junction made
// anew. The directories above it below profile are checked the same way,
// so a planted junction cannot make Ensure create the junction elsewhere.
// A command of the same sandbox user running at the same moment could
// still swap an entry between the check and its use; that changes only
// where the next command starts, never what it may access, which the ACLs
// on the real files decide.
func Ensure(profile, cwd string) (string, error) {
	target, err := Target(cwd)
	if err != nil {
		return "", err
	}
	path, err := Path(profile, cwd)
	if err != nil {
		return "", err
	}
	dir := filepath.Clean(profile)
	for _, name := range []string{".cordon", "cwd"} {
		dir = filepath.Join(dir, name)
		if err := plainDir(dir); err != nil {
			return "", err
		}
	}
	if got, err := readJunction(path); err == nil && SameTarget(got, target) {
		return path, nil
	}
	if err := Remove(path); err != nil && !errors.Is(err, os.ErrNotExist) {
		return "", err
	}
	if err := create(path, target.String()); err != nil {
		return "", err
	}
	return path, nil
}

// plainDir makes dir a real directory: created when missing, and anything
// else there (a reparse point, a file) removed unfollowed first.
func plainDir(dir string) error {
	attrs, err := attributes(dir)
	switch {
	case errors.Is(err, os.ErrNotExist):
	case err != nil:
		return fmt.Errorf("junction directory %s: %w", dir, err)
	case attrs&windows.FILE_ATTRIBUTE_REPARSE_POINT == 0 && attrs&windows.FILE_ATTRIBUTE_DIRECTORY != 0:
		return nil
	default:
		if err := Remove(dir); err != nil {
			return err
		}
	}
	if err := os.Mkdir(dir, 0o700); err != nil {
		return fmt.Errorf("junction directory %s: %w", dir, err)
	}
	return nil
}

// Remove removes the entry at path without following it: a junction or a
// directory symbolic link loses only its link (RemoveDirectory acts on the
// reparse point itself), a file or file link is deleted, and a real
// directory is removed only when empty.
func Remove(path string) error {
	attrs, err := attributes(path)
	if err != nil {
		return fmt.Errorf("remove junction %s: %w", path, err)
	}
	p, err := windows.UTF16PtrFromString(path)
	if err != nil {
		return fmt.Errorf("remove junction %s: %w", path, err)
	}
	if attrs&windows.FILE_ATTRIBUTE_DIRECTORY != 0 {
		err = windows.RemoveDirectory(p)
	} else {
		err = windows.DeleteFile(p)
	}
	if err != nil {
		return fmt.Errorf("remove junction %s: %w", path, err)
	}
	return nil
}

// attributes are path's own attributes; GetFileAttributes does not follow
// a final reparse point.
func attributes(path string) (uint32, error) {
	p, err := windows.UTF16PtrFromString(path)
	if err != nil {
		return 0, err
	}
	a, err := windows.GetFileAttributes(p)
	if errors.Is(err, windows.ERROR_FILE_NOT_FOUND) || errors.Is(err, windows.ERROR_PATH_NOT_FOUND) {
		return 0, os.ErrNotExist
	}
	return a, err
}

// openReparse opens path itself, not what it points at
// (FILE_FLAG_OPEN_REPARSE_POINT), as a directory handle
// (FILE_FLAG_BACKUP_SEMANTICS).
func openReparse(path string, access uint32) (windows.Handle, error) {
	p, err := windows.UTF16PtrFromString(path)
	if err != nil {
		return windows.InvalidHandle, err
	}
	return windows.CreateFile(p, access, windows.FILE_SHARE_READ|windows.FILE_SHARE_WRITE|windows.FILE_SHARE_DELETE, nil,
		windows.OPEN_EXISTING, windows.FILE_FLAG_BACKUP_SEMANTICS|windows.FILE_FLAG_OPEN_REPARSE_POINT, 0)
}

// readJunction returns the print name of the mount point at path; an
// error when path is missing or anything else.
func readJunction(path string) (string, error) {
	h, err := openReparse(path, windows.GENERIC_READ)
	if err != nil {
		return "", err
	}
	defer windows.CloseHandle(h)
	buf := make([]byte, windows.MAXIMUM_REPARSE_DATA_BUFFER_SIZE)
	var n uint32
	if err := windows.DeviceIoControl(h, windows.FSCTL_GET_REPARSE_POINT, nil, 0, &buf[0], uint32(len(buf)), &n, nil); err != nil {
		return "", fmt.Errorf("read reparse point %s: %w", path, err)
	}
	rp, err := winio.DecodeReparsePoint(buf[:n])
	if err != nil {
		return "", fmt.Errorf("read reparse point %s: %w", path, err)
	}
	if !rp.IsMountPoint {
		return "", fmt.Errorf("%s is a symbolic link, not a junction", path)
	}
	return rp.Target, nil
}

// create makes path a junction to target (an absolute drive path): an
// empty directory first, then its mount-point reparse data
// (FSCTL_SET_REPARSE_POINT; "Creating Symbolic Links" and "Reparse Points
// and File Operations" in the Win32 file-system docs). A failure removes
// the directory again.
func create(path, target string) (err error) {
	if err := os.Mkdir(path, 0o700); err != nil {
		return fmt.Errorf("create junction %s: %w", path, err)
	}
	defer func() {
		if err != nil {
			Remove(path)
		}
	}()
	h, err := openReparse(path, windows.GENERIC_WRITE)
	if err != nil {
		return fmt.Errorf("create junction %s: %w", path, err)
	}
	defer windows.CloseHandle(h)
	data := winio.EncodeReparsePoint(&winio.ReparsePoint{Target: target, IsMountPoint: true})
	var n uint32
	if err := windows.DeviceIoControl(h, windows.FSCTL_SET_REPARSE_POINT, &data[0], uint32(len(data)), nil, 0, &n, nil); err != nil {
		return fmt.Errorf("create junction %s -> %s: %w", path, target, err)
	}
	return nil
}
