//go:build !windows

package testutil

func elevated() bool { return false }
