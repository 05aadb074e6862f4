package main

import (
	"context"
	"fmt"
	"path/filepath"

	"golang.org/x/sys/windows"

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

// lookupUserSID returns the SID of the local account name
// (LookupAccountNameW on this machine; a domain account of the same name
// is not the sandbox user, so the machine name qualifies it).
func lookupUserSID(_ context.Context, name string) (ntsec.SID, error) {
	host, err := windows.ComputerName()
	if err != nil {
		return ntsec.SID{}, fmt.Errorf("computer name: %w", err)
	}
	sid, _, _, err := windows.LookupSID("", host+`\`+name)
	if err != nil {
		return ntsec.SID{}, fmt.Errorf("look up %s: %w", name, err)
	}
	return ntsec.ParseSID(sid.String())
}
