package winsandbox

import (
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/cordon-sandbox/cordon/internal/capsid"
	"github.com/cordon-sandbox/cordon/ntsec"
	"github.com/cordon-sandbox/cordon/policy"
)

func resolve(t *testing.T, mode policy.Mode, network bool) *policy.Resolved {
	t.Helper()
	p := policy.Policy{Mode: mode, Cwd: `C:\Users\me\ws`, Network: network}
	r, err := p.Resolve(policy.Env{Rules: policy.Windows, TempDirs: []string{`C:\Users\me\AppData\Local\Temp`}})
	if err != nil {
		t.Fatal(err)
	}
	return r
}

func TestLaunchEnv(t *testing.T) {
	env := []string{`Path=C:\Windows\System32;C:\Git\cmd`, "PATHEXT=.COM;.EXE;.BAT;.CMD", `TEMP=C:\Users\me\AppData\Local\Temp`, "HTTP_PROXY=http://corp:8080"}
	off := LaunchEnv(env, resolve(t, policy.WorkspaceWrite, false), `C:\state\stubs`)
	for _, want := range []string{
		`Path=C:\state\stubs;C:\Windows\System32;C:\Git\cmd`,
		"PATHEXT=.BAT;.CMD;.COM;.EXE",
		"SBX_NONET_ACTIVE=1",
		"HTTPS_PROXY=http://127.0.0.1:9",
		"HTTP_PROXY=http://corp:8080", // the caller's own is kept: a caller's proxy stays in force
		"GIT_PAGER=more.com",
		`TEMP=C:\Users\me\AppData\Local\Temp`,
	} {
		if !slices.Contains(off, want) {
			t.Errorf("network off: missing %s in %q", want, off)
		}
	}
	on := LaunchEnv(env, resolve(t, policy.WorkspaceWrite, true), `C:\state\stubs`)
	for _, e := range on {
		if strings.HasPrefix(e, "SBX_NONET_ACTIVE=") || strings.Contains(e, `C:\state\stubs`) || strings.HasPrefix(e, "HTTPS_PROXY=") {
			t.Errorf("network on: lockdown entry %s", e)
		}
	}
	if !slices.Contains(on, "PAGER=more.com") || !slices.Contains(on, env[0]) {
		t.Errorf("network on: %q", on)
	}
	if !reflect.DeepEqual(env[0], `Path=C:\Windows\System32;C:\Git\cmd`) {
		t.Error("LaunchEnv changed its input")
	}
}

func TestAuditRoots(t *testing.T) {
	env := []string{
		`TEMP=C:\Users\me\AppData\Local\Temp`, `TMP=c:\users\ME\appdata\local\temp`,
		`USERPROFILE=C:\Users\me`, `PUBLIC=C:\Users\Public`,
		`PATH=C:\Windows\system32;bin;;"C:\Program Files\Git\cmd";C:\Users\me\ws`,
		`SystemDrive=C:`, `SystemRoot=C:\Windows`, `ProgramData=C:\ProgramData`,
	}
	got := AuditRoots(env, `C:\Users\me\ws`)
	want := []string{
		`C:\Users\me\ws`, `C:\Users\me\AppData\Local\Temp`, `C:\Users\me`, `C:\Users\Public`, `C:\Users\me\AppData\LocalLow`,
		`C:\Windows\system32`, `C:\Program Files\Git\cmd`, `C:\`, `C:\Windows`, `C:\ProgramData`,
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("AuditRoots =\n%q\nwant\n%q", got, want)
	}
}

func TestRunSIDs(t *testing.T) {
	st := capsid.New()
	other, _, err := st.EnsureWorkspace(`c:\users\me\other`, `C:\Users\me\other`, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	ws := resolve(t, policy.WorkspaceWrite, false)
	sids, caps, err := runSIDs(st, ws, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	if sids.Workspace.IsZero() || sids.Generic.IsZero() || sids.ReadOnly.IsZero() {
		t.Fatalf("missing SIDs: %+v", sids)
	}
	if !reflect.DeepEqual(caps, []ntsec.SID{sids.Workspace, sids.Generic}) {
		t.Errorf("workspace-write caps %v", caps)
	}
	if !reflect.DeepEqual(sids.Others, []ntsec.SID{other.SID}) {
		t.Errorf("others %v, want the other workspace's %s only", sids.Others, other.SID)
	}
	// A second run of the same workspace, spelt differently, gets the same
	// SID.
	ws2 := resolve(t, policy.WorkspaceWrite, false)
	ws2.Cwd = `c:\USERS\me\WS`
	again, _, err := runSIDs(st, ws2, time.Now())
	if err != nil || again.Workspace != sids.Workspace {
		t.Errorf("second run: %v, %v", again.Workspace, err)
	}
	ro, caps, err := runSIDs(st, resolve(t, policy.ReadOnly, false), time.Now())
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(caps, []ntsec.SID{sids.ReadOnly}) || !ro.Workspace.IsZero() {
		t.Errorf("read-only: caps %v, workspace %v", caps, ro.Workspace)
	}
	if len(st.Workspaces) != 2 {
		t.Errorf("store has %d workspaces, want 2 (a read-only run creates none)", len(st.Workspaces))
	}
}

// One temp directory per workspace, under state\tmp, the same for every
// spelling Windows treats as the same path, and different for another
// workspace; it is the one part of the state directory a root may be.
func TestWorkspaceTemp(t *testing.T) {
	a, err := WorkspaceTemp(`C:\Users\me\AppData\Local\cordon`, `C:\src\repo`)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(a, `C:\Users\me\AppData\Local\cordon\tmp\`) || len(a) != len(`C:\Users\me\AppData\Local\cordon\tmp\`)+16 {
		t.Errorf("WorkspaceTemp = %s", a)
	}
	same, _ := WorkspaceTemp(`C:\Users\me\AppData\Local\cordon\`, `c:\SRC\Repo`)
	other, _ := WorkspaceTemp(`C:\Users\me\AppData\Local\cordon`, `C:\src\repo2`)
	if same != a || other == a {
		t.Errorf("same workspace %s, other %s, first %s", same, other, a)
	}
	if _, err := WorkspaceTemp(`C:\state`, `relative\path`); err == nil {
		t.Error("a relative workspace was accepted")
	}
	for root, want := range map[string]bool{a: true, `C:\Users\me\AppData\Local\cordon\tmp`: false, `C:\Users\me\AppData\Local\cordon`: false, `C:\src\repo`: false} {
		if got := inTempBase(root, `C:\Users\me\AppData\Local\cordon`); got != want {
			t.Errorf("inTempBase(%s) = %v", root, got)
		}
	}
}
