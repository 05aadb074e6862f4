//go:build !windows

package ntfs

import (
	"context"
	"fmt"

	"github.com/cordon-sandbox/cordon/internal/aclplan"
	"github.com/cordon-sandbox/cordon/internal/fsview"
)

const supported = false

// Stat fails: NTFS views exist only on Windows.
func (v *View) Stat(path string) (fsview.Node, error) {
	v.reads.Add(1)
	return fsview.Node{}, fmt.Errorf("stat %s: %w", path, ErrNotWindows)
}

// List fails: NTFS views exist only on Windows.
func (v *View) List(dir string) ([]string, error) {
	v.reads.Add(1)
	return nil, fmt.Errorf("list %s: %w", dir, ErrNotWindows)
}

func applyEdit(e aclplan.Edit) (bool, error) {
	return false, fmt.Errorf("%s %s: %w", e.Op, e.Path, ErrNotWindows)
}

func propagate(context.Context, []string, map[string]bool) (propResult, error) {
	return propResult{}, ErrNotWindows
}

// FinalPath returns p: resolving aliases is Windows' business.
func FinalPath(p string) string { return p }

func setACENoFollow(e aclplan.Edit) (bool, error) { return applyEdit(e) }
