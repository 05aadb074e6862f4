//go:build !windows

package netfence

// Install returns ErrUnsupported: WFP exists only on Windows.
func Install(Config) error { return ErrUnsupported }

// Remove returns ErrUnsupported.
func Remove() error { return ErrUnsupported }

// Present returns ErrUnsupported.
func Present(Config) (Status, error) { return Status{}, ErrUnsupported }
