package main

import (
	"bytes"
	"encoding/json"
	"slices"
	"testing"

	"github.com/cordon-sandbox/cordon/internal/testutil"
)

// doctorJSON runs `cordon doctor --json` and decodes its report.
func doctorJSON(t *testing.T) (int, doctorReport) {
	t.Helper()
	var out, errb bytes.Buffer
	code := run([]string{"doctor", "--json"}, nil, &out, &errb)
	var r doctorReport
	if err := json.Unmarshal(out.Bytes(), &r); err != nil {
		t.Fatalf("doctor --json: exit %d, %v\nstdout:\n%s\nstderr:\n%s", code, err, out.String(), errb.String())
	}
	return code, r
}

// Under Wine (no CordonSandbox* accounts: Wine's SAM is a stub) doctor
// runs every check against the machine, changes nothing, says the
// accounts are missing and names cordon setup for each; exit 1.
func TestDoctorUnderWine(t *testing.T) {
	if !testutil.UnderWine() {
		t.Skip("Wine's SAM has no sandbox users; real Windows is TestRealWindowsDoctorAfterSetup")
	}
	t.Setenv("CORDON_STATE_DIR", testutil.TempDir(t))
	code, r := doctorJSON(t)
	if code != exitNo || r.OK || !r.Supported {
		t.Errorf("exit %d, ok %v, supported %v", code, r.OK, r.Supported)
	}
	var names []string
	for _, c := range r.Checks {
		names = append(names, c.Name)
	}
	for _, want := range []string{"setup_marker", "user_offline", "logon_online", "network_fence", "sid_store", "read_acl"} {
		if !slices.Contains(names, want) {
			t.Errorf("no check %s in %v", want, names)
		}
	}
	for _, c := range r.Checks {
		switch c.Name {
		case "setup_marker", "user_offline", "user_online":
			if c.OK || c.Fix != fixSetup {
				t.Errorf("%+v: want a failure fixed by cordon setup", c)
			}
		case "sid_store", "read_acl":
			if !c.OK {
				t.Errorf("%+v: an empty state directory is a readable store and an empty journal", c)
			}
		}
	}
	if len(r.SetupWould) == 0 {
		t.Error("setup_would is empty")
	}
}

// Real Windows, as an administrator: after cordon setup every account
// check passes; after cordon setup --remove they fail, each fixed by
// cordon setup.
func TestRealWindowsDoctorAfterSetup(t *testing.T) {
	testutil.RealWindows(t)
	if !testutil.Elevated() {
		t.Skip("cordon setup needs an administrator here (no UAC prompt in a test)")
	}
	t.Setenv("CORDON_STATE_DIR", testutil.TempDir(t))
	accounts := []string{"setup_marker", "group", "user_offline", "user_online", "secret_offline", "secret_online", "logon_offline", "logon_online"}
	var out, errb bytes.Buffer
	if code := run([]string{"setup"}, nil, &out, &errb); code != exitOK {
		t.Fatalf("setup: exit %d: %s", code, errb.String())
	}
	t.Cleanup(func() { run([]string{"setup", "--remove"}, nil, &bytes.Buffer{}, &bytes.Buffer{}) })
	_, r := doctorJSON(t)
	for _, c := range r.Checks {
		if slices.Contains(accounts, c.Name) && !c.OK {
			t.Errorf("after setup: %+v", c)
		}
	}
	if len(r.SetupWould) != 0 {
		t.Errorf("after setup, setup would still %v", r.SetupWould)
	}
	if code := run([]string{"setup", "--remove"}, nil, &out, &errb); code != exitOK {
		t.Fatalf("setup --remove: exit %d: %s", code, errb.String())
	}
	code, r := doctorJSON(t)
	if code != exitNo || r.OK {
		t.Errorf("after removal: exit %d, ok %v", code, r.OK)
	}
	for _, c := range r.Checks {
		if slices.Contains(accounts, c.Name) && (c.OK || c.Fix != fixSetup) {
			t.Errorf("after removal: %+v", c)
		}
	}
}
