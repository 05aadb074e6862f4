package elevsandbox

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"golang.org/x/sys/windows"

	"github.com/cordon-sandbox/cordon/internal/runner"
	"github.com/cordon-sandbox/cordon/internal/sandboxusers"
	"github.com/cordon-sandbox/cordon/ntsec"
)

// realSystem is the setup as `cordon setup` left it in the state
// directory dir: the marker, the DPAPI-protected passwords, and the local
// accounts.
func realSystem(dir string) system {
	d := filepath.Join(dir, sandboxusers.SubDir)
	return system{
		markers: sandboxusers.FileMarkers{Dir: d},
		secrets: sandboxusers.FileSecrets{Dir: d, P: sandboxusers.DPAPI{}},
		lookup:  lookupLocal,
	}
}

// lookupLocal returns the SID of the local account or group name,
// qualified with the computer's name so that a domain account of the same
// name is never taken for it
// (https://learn.microsoft.com/en-us/windows/win32/api/winbase/nf-winbase-lookupaccountnamew).
func lookupLocal(name string) (ntsec.SID, error) {
	host, err := windows.ComputerName()
	if err != nil {
		return ntsec.SID{}, fmt.Errorf("the computer's name: %w", err)
	}
	sid, domain, typ, err := windows.LookupSID("", host+`\`+name)
	if err != nil {
		return ntsec.SID{}, fmt.Errorf("LookupAccountName %s\\%s: %w", host, name, err)
	}
	if !strings.EqualFold(domain, host) || (typ != windows.SidTypeUser && typ != windows.SidTypeAlias) {
		return ntsec.SID{}, fmt.Errorf("%s is %s\\%s of type %d, not a local account or group", name, domain, name, typ)
	}
	return ntsec.ParseSID(sid.String())
}

// launch is how the backend starts the runner; tests replace it.
type launch struct {
	// exe and args are the runner's program and its arguments before the
	// runner's own (cordon itself and "runner").
	exe  string
	args []string
	// start starts the runner as a.
	start func(a account) runner.StartFunc
}

func realLaunch() (launch, error) {
	exe, err := os.Executable()
	if err != nil {
		return launch{}, fmt.Errorf("elevated: cordon's executable: %w", err)
	}
	return launch{exe: exe, args: []string{"runner"}, start: func(a account) runner.StartFunc {
		return runner.LogonStart(a.Name, a.Password)
	}}, nil
}
