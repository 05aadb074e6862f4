package gitdir

import (
	"fmt"
	"io"
	"io/fs"
	"os"
	"syscall"
)

// FS is the file system the resolver reads. Paths are absolute, in the
// syntax of the Paths value Resolve is given.
type FS interface {
	// Lstat describes the entry at path without following a final
	// symbolic link (symbolic links in earlier components are followed, as
	// the operating system does).
	Lstat(path string) (fs.FileInfo, error)
	// Readlink returns the target of the symbolic link at path, as stored.
	Readlink(path string) (string, error)
	// ReadFile returns the content of the regular file at path. It may stop
	// after ReadLimit+1 bytes: the resolver treats a longer file as
	// over-long and reads no further.
	ReadFile(path string) ([]byte, error)
}

// ReadLimit is the most the resolver reads of a gitfile, a commondir file or
// a HEAD. It is above the longest path either platform accepts (4095 bytes
// on Linux, 32767 UTF-16 code units on Windows, at most 3 bytes each in
// UTF-8) plus the "gitdir: " prefix, so no file that names a usable path is
// cut short; git itself reads gitfiles up to 1 MiB (read_gitfile_gently).
const ReadLimit = 100 << 10

// OS returns an FS over the running system's files.
func OS() FS { return osFS{} }

type osFS struct{}

func (osFS) Lstat(path string) (fs.FileInfo, error) { return os.Lstat(path) }

func (osFS) Readlink(path string) (string, error) { return os.Readlink(path) }

// ReadFile opens path without blocking (a FIFO planted where a gitfile is
// expected must not hang the run), refuses anything but a regular file and
// reads at most ReadLimit+1 bytes.
func (osFS) ReadFile(path string) ([]byte, error) {
	f, err := os.OpenFile(path, os.O_RDONLY|syscall.O_NONBLOCK, 0)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return nil, err
	}
	if !fi.Mode().IsRegular() {
		return nil, fmt.Errorf("failed to read %s: not a regular file (%s)", path, fi.Mode().Type())
	}
	return io.ReadAll(io.LimitReader(f, ReadLimit+1))
}
