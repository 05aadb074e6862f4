package elevsandbox

// Enforcement on real Windows, after `cordon setup` (the workflow runs it
// as an administrator for the standard user that then runs these tests):
// CORDON_REAL_WINDOWS=1 and CORDON_ELEVATED_TESTS=1. The runner is this
// test binary in runner mode, started with CreateProcessWithLogonW as the
// sandbox account, so its directory must be readable by the group
// CordonSandboxUsers (the workflow grants it).
//
// The workspace is given nothing by the test: the plan's synchronous
// grants for the sandbox group are what let the command write there (and
// read, which the write grant includes, so the read-grant helper is not
// started: the runner is this test binary, not cordon).

import (
	"bytes"
	"context"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/cordon-sandbox/cordon/internal/netfence"
	"github.com/cordon-sandbox/cordon/internal/runner"
	"github.com/cordon-sandbox/cordon/internal/sandboxusers"
	"github.com/cordon-sandbox/cordon/internal/statedir"
	"github.com/cordon-sandbox/cordon/internal/testutil"
	"github.com/cordon-sandbox/cordon/policy"
)

// ElevatedTestsEnv must be "1" (with CORDON_REAL_WINDOWS=1) for the tests
// that need `cordon setup` to have run for this user.
const ElevatedTestsEnv = "CORDON_ELEVATED_TESTS"

// realBackend is the backend with the real setup, whose runner is this
// test binary, and a workspace the sandbox group may modify.
func realBackend(t *testing.T) (*Backend, string, account) {
	t.Helper()
	testutil.RealWindows(t)
	if os.Getenv(ElevatedTestsEnv) != "1" {
		t.Skipf("needs `cordon setup` for this user first: set %s=1", ElevatedTestsEnv)
	}
	testutil.SkipIfElevated(t)
	dir, err := statedir.Dir()
	if err != nil {
		t.Fatal(err)
	}
	b := New(Options{})
	b.ln = launch{exe: os.Args[0], args: []string{runnerArg}, start: func(a account) runner.StartFunc {
		return runner.LogonStart(a.Name, a.Password)
	}}
	acct, err := realSystem(dir).account(false)
	if err != nil {
		t.Fatal(err)
	}
	b.StartReadHelper = func(context.Context) error { return nil }
	ws := testutil.TempDir(t)
	return b, ws, acct
}

// grantGroup gives the sandbox group rights on dir (icacls).
func grantGroup(t *testing.T, dir, group, rights string) {
	t.Helper()
	out, err := exec.Command("icacls", dir, "/grant", "*"+group+":(OI)(CI)"+rights).CombinedOutput()
	if err != nil {
		t.Fatalf("icacls %s: %v\n%s", dir, err, out)
	}
}

func runIn(t *testing.T, b *Backend, ws string, pol policy.Policy, args ...string) (int, string, string) {
	t.Helper()
	penv, env, err := b.PolicyEnv(pol, ws, os.Environ(), "")
	if err != nil {
		t.Fatal(err)
	}
	r, err := pol.Resolve(penv)
	if err != nil {
		t.Fatal(err)
	}
	var stdout, stderr bytes.Buffer
	p, err := b.Start(context.Background(), sandboxSpec(args, r, env, &stdout, &stderr))
	if err != nil {
		t.Fatal(err)
	}
	code, err := p.Wait()
	if err != nil {
		t.Fatal(err)
	}
	return code, stdout.String(), stderr.String()
}

func TestRealWindowsElevatedRunsAsTheOfflineUser(t *testing.T) {
	b, ws, _ := realBackend(t)
	code, out, errOut := runIn(t, b, ws, policy.Policy{Mode: policy.WorkspaceWrite}, "whoami")
	if code != 0 || !strings.HasSuffix(strings.ToLower(strings.TrimSpace(out)), `\`+strings.ToLower(sandboxusers.OfflineUser)) {
		t.Errorf("whoami: exit %d, %q (stderr %q), want the offline account", code, out, errOut)
	}
}

func TestRealWindowsElevatedWritesOnlyInTheRoots(t *testing.T) {
	b, ws, acct := realBackend(t)
	outside := testutil.TempDir(t)
	// The group may modify outside too: only the restricted token (no
	// capability SID granted there) holds the write back.
	grantGroup(t, outside, acct.Group.String(), "M")
	in, out := filepath.Join(ws, "in.txt"), filepath.Join(outside, "out.txt")
	code, _, errOut := runIn(t, b, ws, policy.Policy{Mode: policy.WorkspaceWrite}, "cmd", "/c", "echo x> "+in)
	if _, err := os.Stat(in); err != nil || code != 0 {
		t.Errorf("writing in the workspace: exit %d, %v (stderr %q)", code, err, errOut)
	}
	runIn(t, b, ws, policy.Policy{Mode: policy.WorkspaceWrite}, "cmd", "/c", "echo x> "+out)
	if _, err := os.Stat(out); err == nil {
		t.Errorf("the sandbox wrote %s, outside its roots", out)
	}
}

func TestRealWindowsElevatedCannotReadYourSecrets(t *testing.T) {
	b, ws, _ := realBackend(t)
	// A folder of this user's (its temp directory's DACL: the user,
	// SYSTEM, Administrators), with nothing granted to the sandbox.
	secret := filepath.Join(testutil.TempDir(t), "secret.txt")
	if err := os.WriteFile(secret, []byte("hunter2"), 0o600); err != nil {
		t.Fatal(err)
	}
	mine := filepath.Join(ws, "mine.txt")
	if err := os.WriteFile(mine, []byte("visible"), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, out, _ := runIn(t, b, ws, policy.Policy{Mode: policy.WorkspaceWrite}, "cmd", "/c", "type "+mine); !strings.Contains(out, "visible") {
		t.Errorf("the sandbox cannot read its workspace: %q", out)
	}
	if _, out, _ := runIn(t, b, ws, policy.Policy{Mode: policy.WorkspaceWrite}, "cmd", "/c", "type "+secret); strings.Contains(out, "hunter2") {
		t.Errorf("the sandbox read %s: %q", secret, out)
	}
}

func TestRealWindowsElevatedOfflineHasNoNetwork(t *testing.T) {
	b, ws, acct := realBackend(t)
	st, err := netfence.Present(netfence.Config{OfflineUser: acct.SID, Proxy: []netip.AddrPort{}})
	if err != nil || !st.Provider || !st.Sublayer {
		t.Skipf("the network fence is not installed here (cordon setup does not install it yet): %+v, %v", st, err)
	}
	ps := "$c = New-Object Net.Sockets.TcpClient; try { $c.Connect('1.1.1.1', 443); 'connected' } catch { 'refused' }"
	_, out, _ := runIn(t, b, ws, policy.Policy{Mode: policy.WorkspaceWrite}, "powershell", "-NoProfile", "-Command", ps)
	if !strings.Contains(out, "refused") || strings.Contains(out, "connected") {
		t.Errorf("the offline user's connection: %q, want refused", out)
	}
}
