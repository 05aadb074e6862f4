package main

import (
	"github.com/cordon-sandbox/cordon/internal/aclhelper"
	"github.com/cordon-sandbox/cordon/internal/sandboxusers"
	"github.com/cordon-sandbox/cordon/internal/wine"
	"github.com/cordon-sandbox/cordon/ntsec"
)

// hostACLHelper applies grants with NTFS (check before write, cordon's
// own propagation) and plans over the live file system.
func hostACLHelper() (aclHelperHost, bool) {
	return aclHelperHost{Applier: aclhelper.NTFS{}, Input: aclhelper.LiveInput, Group: helperGroup}, true
}

// helperGroup is the SID every journal item must name: the local group
// CordonSandboxUsers. Wine has no local groups (and stores no DACL): there
// the zero SID has items checked for their shape alone.
func helperGroup() (ntsec.SID, error) {
	if wine.Detected() {
		return ntsec.SID{}, nil
	}
	return aclhelper.LookupLocal(sandboxusers.GroupName)
}
