//go:build !windows

package testutil

// Wine only runs Windows binaries.
func underWine() bool { return false }
