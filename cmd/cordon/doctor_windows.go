package main

import (
	"context"
	"path/filepath"

	"github.com/cordon-sandbox/cordon/internal/aclhelper"
	"github.com/cordon-sandbox/cordon/internal/capsid"
	"github.com/cordon-sandbox/cordon/internal/netfence"
	"github.com/cordon-sandbox/cordon/internal/sandboxusers"
	"github.com/cordon-sandbox/cordon/ntsec"
)

// hostDoctorEnv observes this machine: the SAM and LogonUserW
// (sandboxusers.SAM), the passwords under DPAPI and the marker in the
// state directory, the WFP filters (netfence.Present, which needs the
// filtering engine's enumerate and read rights: granted to
// Administrators and, by default, to interactive users), the capability
// SID store and the read-grant journal with the helper's named mutex.
func hostDoctorEnv(dir string) (doctorEnv, bool) {
	users := filepath.Join(dir, sandboxusers.SubDir)
	return doctorEnv{
		Users: sandboxusers.System{
			Accounts: sandboxusers.SAM{},
			Secrets:  sandboxusers.FileSecrets{Dir: users, P: sandboxusers.DPAPI{}},
			Markers:  sandboxusers.FileMarkers{Dir: users},
		},
		UserSID:   lookupUserSID,
		Fence:     netfence.Present,
		SIDStore:  func(ctx context.Context) error { _, err := capsid.Load(ctx, dir); return err },
		StorePath: filepath.Join(dir, capsid.FileName),
		ReadACL:   func() (aclhelper.State, []aclhelper.Item, error) { return readACLState(dir) },
	}, true
}

// lookupUserSID returns the SID of the local account name.
func lookupUserSID(_ context.Context, name string) (ntsec.SID, error) {
	return aclhelper.LookupLocal(name)
}
