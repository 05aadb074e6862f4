//go:build windows

package aclhelper

import (
	"fmt"
	"os"

	"golang.org/x/sys/windows"

	"github.com/cordon-sandbox/cordon/internal/ntfs"
	"github.com/cordon-sandbox/cordon/internal/readacl"
	"github.com/cordon-sandbox/cordon/internal/sandboxusers"
	"github.com/cordon-sandbox/cordon/ntsec"
	"github.com/cordon-sandbox/cordon/policy"
)

// LookupLocal returns the SID of the local account or group name
// (LookupAccountNameW). The name is qualified with the computer name: a
// domain account of the same name is not cordon's.
func LookupLocal(name string) (ntsec.SID, error) {
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

// LiveInput returns the read plan's input for res on this machine, for
// ReadPlan: the sandbox group's and users' SIDs (setup must have created
// them), the real user's profile (from this process's token,
// GetUserProfileDirectoryW, not from a variable the caller could have
// changed), the system directories, and the live NTFS view. The plan it
// gives is unproven (readacl.Make proves in-memory views only) and
// assumes readacl.SandboxToken's shape.
func LiveInput(res *policy.Resolved) (readacl.Input, error) {
	in := readacl.Input{Policy: res, System: readacl.SystemDirs(os.Getenv), View: ntfs.NewView()}
	var err error
	if in.Group, err = LookupLocal(sandboxusers.GroupName); err != nil {
		return in, err
	}
	for _, u := range sandboxusers.Default().Users {
		sid, err := LookupLocal(u)
		if err != nil {
			return in, err
		}
		in.Users = append(in.Users, sid)
	}
	if in.Profile, err = windows.GetCurrentProcessToken().GetUserProfileDirectory(); err != nil {
		return in, fmt.Errorf("your profile directory: %w", err)
	}
	return in, nil
}
