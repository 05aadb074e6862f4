//go:build !windows

package cwdjunction

import (
	"errors"
	"fmt"
)

// Ensure makes the junction for cwd under profile; junctions exist only on
// Windows.
func Ensure(profile, cwd string) (string, error) {
	return "", fmt.Errorf("junction for %s: %w", cwd, errors.ErrUnsupported)
}

// Remove removes a junction without following it; only on Windows.
func Remove(path string) error {
	return fmt.Errorf("remove junction %s: %w", path, errors.ErrUnsupported)
}
