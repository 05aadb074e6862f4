//go:build !windows

package wine

// Wine only runs Windows binaries.
func detected() bool { return false }
