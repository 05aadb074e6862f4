// Package fsview is the planner's view of a Windows file system: what lies
// where, which objects are files, directories or reparse points, and the
// owner and security descriptor of each. The real implementation reads
// NTFS through handles opened without following reparse points (Windows
// only); Memory holds a tree in memory and is what tests, benchmarks and
// `cordon plan --tree` use, loaded from a JSON snapshot.
//
// Paths are Windows paths, compared by winpath's rules (case-insensitive,
// trailing dots and spaces ignored), whatever OS the view runs on.
package fsview

import (
	"errors"

	"github.com/cordon-sandbox/cordon/internal/winpath"
	"github.com/cordon-sandbox/cordon/ntsec"
)

// Type is the kind of a file-system object.
type Type string

const (
	File      Type = "file"
	Directory Type = "directory"
	// Symlink and Junction are reparse points. The planner never follows
	// them when deciding what lies inside a root: a junction inside the
	// workspace that points at C:\Windows does not make C:\Windows part of
	// the workspace.
	Symlink  Type = "symlink"
	Junction Type = "junction"
)

// Node is one object.
type Node struct {
	Path   string // canonical winpath form
	Type   Type
	SD     *ntsec.SecurityDescriptor // owner, group and DACL as stored
	Target string                    // reparse target, for Symlink and Junction
	// Links is a file's number of names (hard links); 0 means unknown, as
	// for a directory. A file with more than one may have a name outside
	// every root: cordon never rewrites its descriptor.
	Links uint32
}

// MultiLinked reports whether the node is a file with more than one name.
func (n Node) MultiLinked() bool { return n.Type == File && n.Links > 1 }

// IsDir reports whether the node is a directory. A junction or directory
// symlink is not: its own DACL guards the reparse point, not what it points
// at.
func (n Node) IsDir() bool { return n.Type == Directory }

// IsReparse reports whether the node is a reparse point.
func (n Node) IsReparse() bool { return n.Type == Symlink || n.Type == Junction }

// ObjectType is the ntsec object type of the node, for the access check and
// inheritance.
func (n Node) ObjectType() ntsec.ObjectType {
	if n.Type == File {
		return ntsec.File
	}
	// Junctions and directory symlinks are directories to NTFS; a file
	// symlink is a file, but the snapshot cannot tell them apart, and
	// treating it as a directory only adds container inheritance to it.
	return ntsec.Directory
}

// IsGitfile reports whether the node is a gitfile: a regular file named
// .git, which points git at a repository elsewhere (worktrees, submodules).
// It is as much a protected name as a .git directory.
func (n Node) IsGitfile() bool {
	if n.Type != File {
		return false
	}
	p, err := winpath.Parse(n.Path)
	return err == nil && winpath.EqualName(p.Base(), ".git")
}

// ErrNotExist is returned, wrapped, for paths that do not exist.
var ErrNotExist = errors.New("does not exist")

// ErrUnreadable is returned, wrapped, for an object whose security
// descriptor the caller may not read.
var ErrUnreadable = errors.New("its security descriptor could not be read")

// View is read access to a file system.
type View interface {
	// Stat returns the node at path, without following a reparse point
	// there. A missing path gives an error wrapping ErrNotExist.
	Stat(path string) (Node, error)
	// List returns the names in a directory, sorted.
	List(dir string) ([]string, error)
}

// Key is the comparison key of a path: two paths name the same object
// exactly when their keys are equal.
func Key(p string) (string, error) {
	wp, err := winpath.Parse(p)
	if err != nil {
		return "", err
	}
	return wp.Key(), nil
}
