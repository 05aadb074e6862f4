package elevsandbox

// Attacks by the sandboxed command on real Windows, after `cordon setup`
// (CORDON_REAL_WINDOWS=1, CORDON_ELEVATED_TESTS=1). Each fails while the
// attack works.

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"golang.org/x/sys/windows"
	"golang.org/x/sys/windows/registry"

	"github.com/cordon-sandbox/cordon/policy"
)

// profileOf is the profile directory Windows keeps for sid (ProfileList),
// or "" before the account's first logon with its profile.
func profileOf(t *testing.T, sid string) string {
	t.Helper()
	k, err := registry.OpenKey(registry.LOCAL_MACHINE, `SOFTWARE\Microsoft\Windows NT\CurrentVersion\ProfileList\`+sid, registry.QUERY_VALUE)
	if err != nil {
		return ""
	}
	defer k.Close()
	p, _, err := k.GetStringValue("ProfileImagePath")
	if err != nil {
		return ""
	}
	return p
}

// The command must leave nothing in its account's profile for a later
// run to find: its write-restricted token's restricting SIDs (capability,
// run, logon SID, Everyone) are granted nothing there, not in the profile
// root, not where the runner keeps the cwd junctions, not in LocalLow.
// (The profile is the same account's for every later offline run, and the
// runner trusts nothing it finds in .cordon\cwd; but a PowerShell profile
// or a planted tool there would run in every later command.)
func TestRealWindowsAttackCommandCannotWriteItsProfile(t *testing.T) {
	b, ws, acct := realBackend(t)
	runIn(t, b, ws, policy.Policy{Mode: policy.WorkspaceWrite}, "cmd", "/c", "ver") // the profile exists after one run
	prof := profileOf(t, acct.SID.String())
	if prof == "" {
		t.Fatalf("no profile for %s after a run", acct.Name)
	}
	for _, dir := range []string{prof, filepath.Join(prof, `.cordon\cwd`), filepath.Join(prof, `AppData\LocalLow`), filepath.Join(prof, `Documents`)} {
		target := filepath.Join(dir, "cordon-planted.txt")
		runIn(t, b, ws, policy.Policy{Mode: policy.WorkspaceWrite}, "cmd", "/c", "echo x> "+target)
		if _, err := os.Stat(target); err == nil {
			t.Errorf("the command wrote %s, in its own profile", target)
		}
	}
}

// The runner is started with CreateProcessWithLogonW, and the secondary
// logon service may give the new token the caller's logon SID (so that it
// can use the caller's window station and desktop). If it does, the
// command holds your logon SID as a group and as a restricting SID:
// whatever your session grants it (WinSta0\Default, and your processes,
// whose default DACL grants it GENERIC_READ) the command may use. At
// Medium integrity nothing else stops a read of your processes' memory:
// the read isolation the elevated mode claims would be gone.
func TestRealWindowsAttackCommandCannotReadYourProcesses(t *testing.T) {
	b, ws, _ := realBackend(t)
	ps := fmt.Sprintf("$p = [Diagnostics.Process]::GetProcessById(%d); try { $null = $p.Modules; 'opened' } catch { 'denied' }", os.Getpid())
	for _, medium := range []bool{false, true} {
		out, errOut := runAt(t, b, ws, medium, "powershell", "-NoProfile", "-Command", ps)
		if strings.Contains(out, "opened") || !strings.Contains(out, "denied") {
			t.Errorf("medium=%v: the command opened this test's process (yours) for reading its memory: %q (stderr %q)", medium, out, errOut)
		}
	}
}

// runAt is runIn with the integrity level chosen: Medium when medium
// (--medium-integrity), else Low.
func runAt(t *testing.T, b *Backend, ws string, medium bool, args ...string) (string, string) {
	t.Helper()
	pol := policy.Policy{Mode: policy.WorkspaceWrite}
	penv, env, err := b.PolicyEnv(pol, ws, os.Environ(), "")
	if err != nil {
		t.Fatal(err)
	}
	r, err := pol.Resolve(penv)
	if err != nil {
		t.Fatal(err)
	}
	var stdout, stderr bytes.Buffer
	spec := sandboxSpec(args, r, env, &stdout, &stderr)
	spec.MediumIntegrity = medium
	p, err := b.Start(context.Background(), spec)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := p.Wait(); err != nil {
		t.Fatal(err)
	}
	return stdout.String(), stderr.String()
}

// The same, at its root: the command's logon SID is not yours.
func TestRealWindowsAttackCommandDoesNotHoldYourLogonSID(t *testing.T) {
	b, ws, _ := realBackend(t)
	groups, err := windows.GetCurrentProcessToken().GetTokenGroups()
	if err != nil {
		t.Fatal(err)
	}
	var mine string
	for _, g := range groups.AllGroups() {
		if g.Attributes&windows.SE_GROUP_LOGON_ID == windows.SE_GROUP_LOGON_ID {
			mine = g.Sid.String()
		}
	}
	if mine == "" {
		t.Fatal("this process has no logon SID")
	}
	_, out, errOut := runIn(t, b, ws, policy.Policy{Mode: policy.WorkspaceWrite}, "whoami", "/groups", "/fo", "csv", "/nh")
	if !strings.Contains(out, "S-1-5-5-") {
		t.Fatalf("whoami /groups shows no logon SID: %q (stderr %q)", out, errOut)
	}
	if strings.Contains(out, mine) {
		t.Errorf("the command holds your logon SID %s: %s", mine, out)
	}
}
