//go:build !windows

package main

// hostACLHelper: read grants exist on Windows only.
func hostACLHelper() (aclHelperHost, bool) { return aclHelperHost{}, false }
