package main

import "github.com/cordon-sandbox/cordon/internal/aclhelper"

// hostACLHelper applies grants with NTFS (check before write, cordon's
// own propagation) and plans over the live file system.
func hostACLHelper() (aclHelperHost, bool) {
	return aclHelperHost{Applier: aclhelper.NTFS{}, Input: aclhelper.LiveInput}, true
}
