package winsandbox_test

// The backend end to end through cordon.Run. Under Wine (CI) only the
// plumbing runs, with CORDON_WINE_PLUMBING=1: planning on the real view,
// the record, placeholders, the job, launch, capture, exit codes, timeouts,
// the lockdown environment and cleanup. Wine stores no DACL and restricts
// no token, so nothing here claims isolation under Wine; the enforcement
// test at the end runs on real Windows only (CORDON_REAL_WINDOWS=1).

import (
	"bytes"
	"context"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/cordon-sandbox/cordon"
	"github.com/cordon-sandbox/cordon/internal/acelog"
	"github.com/cordon-sandbox/cordon/internal/aclplan"
	"github.com/cordon-sandbox/cordon/internal/ntfs"
	"github.com/cordon-sandbox/cordon/internal/testutil"
	"github.com/cordon-sandbox/cordon/policy"
	"github.com/cordon-sandbox/cordon/winsandbox"
)

const helperEnv = "CORDON_WINSANDBOX_HELPER"

func TestMain(m *testing.M) {
	switch os.Getenv(helperEnv) {
	case "sleep": // a command that never ends by itself
		time.Sleep(2 * time.Minute)
		os.Exit(0)
	case "victim", "attack", "desktop": // see twosandboxes_windows_test.go
		os.Exit(helper(os.Getenv(helperEnv)))
	case "cache": // see caches_windows_test.go
		os.Exit(cacheHelper())
	}
	os.Exit(m.Run())
}

// fixture is one workspace with its own state and temp directories.
type fixture struct {
	ws, state, temp string
	env             []string
}

func newFixture(t *testing.T) fixture {
	t.Helper()
	if testutil.UnderWine() {
		t.Setenv(winsandbox.WinePlumbingEnv, "1")
	} else if os.Getenv(testutil.RealWindowsEnv) != "1" {
		t.Skip("the backend changes DACLs: on Windows it runs with CORDON_REAL_WINDOWS=1 only")
	}
	testutil.SkipIfElevated(t)
	f := fixture{ws: testutil.TempDir(t), state: testutil.TempDir(t), temp: testutil.TempDir(t)}
	t.Setenv("CORDON_STATE_DIR", f.state)
	for _, e := range os.Environ() {
		if k, _, _ := strings.Cut(e, "="); !strings.EqualFold(k, "TEMP") && !strings.EqualFold(k, "TMP") {
			f.env = append(f.env, e)
		}
	}
	f.env = append(f.env, "TEMP="+f.temp, "TMP="+f.temp)
	t.Cleanup(func() {
		// Undo what the runs recorded, so the temp directories can go.
		if _, err := acelog.Cleanup(context.Background(), f.state, ntfs.ApplyAll); err != nil {
			t.Errorf("cleanup: %v", err)
		}
	})
	return f
}

func (f fixture) run(t *testing.T, mode policy.Mode, timeout time.Duration, args ...string) cordon.Result {
	t.Helper()
	res, err := cordon.Run(context.Background(), cordon.Request{
		Policy: policy.Policy{Mode: mode}, Command: args, Dir: f.ws, Env: f.env,
		Backend: winsandbox.Name, Timeout: timeout,
	})
	if err != nil {
		t.Fatalf("Run %q: %v", args, err)
	}
	if res.Backend != winsandbox.Name {
		t.Errorf("backend %q", res.Backend)
	}
	return res
}

func TestWineNeedsTheExplicitSwitch(t *testing.T) {
	if !testutil.UnderWine() {
		t.Skip("Wine only")
	}
	t.Setenv(winsandbox.WinePlumbingEnv, "")
	t.Setenv("CORDON_STATE_DIR", testutil.TempDir(t))
	_, err := cordon.Run(context.Background(), cordon.Request{
		Policy: policy.Policy{Mode: policy.WorkspaceWrite}, Command: []string{"cmd", "/c", "echo", "x"},
		Dir: testutil.TempDir(t), Backend: winsandbox.Name,
	})
	if cordon.ErrorCode(err) != "unavailable" || !strings.Contains(err.Error(), winsandbox.WinePlumbingEnv) {
		t.Errorf("Run under Wine without %s = %v, want unavailable naming it", winsandbox.WinePlumbingEnv, err)
	}
}

func TestRunCaptureExitAndEnvironment(t *testing.T) {
	f := newFixture(t)
	res := f.run(t, policy.WorkspaceWrite, time.Minute, "cmd", "/c", "echo hello& echo oops 1>&2& exit 7")
	if res.ExitCode != 7 || strings.TrimSpace(string(res.Stdout)) != "hello" || strings.TrimSpace(string(res.Stderr)) != "oops" {
		t.Errorf("exit %d, stdout %q, stderr %q", res.ExitCode, res.Stdout, res.Stderr)
	}
	if testutil.UnderWine() != slices.ContainsFunc(res.Degraded, func(d string) bool { return strings.Contains(d, "Wine") }) {
		t.Errorf("Degraded = %q (under Wine: %v)", res.Degraded, testutil.UnderWine())
	}
	res = f.run(t, policy.WorkspaceWrite, time.Minute, "cmd", "/c", "echo %SBX_NONET_ACTIVE%,%HTTPS_PROXY%,%GIT_PAGER%,%TEMP%")
	// TEMP is the workspace's own temp directory under the state
	// directory, which exists; the caller's TEMP is not the command's.
	own, err := winsandbox.WorkspaceTemp(ntfs.FinalPath(f.state), ntfs.FinalPath(f.ws))
	if err != nil {
		t.Fatal(err)
	}
	got := strings.TrimSpace(string(res.Stdout))
	if want := "1,http://127.0.0.1:9,more.com,"; !strings.HasPrefix(got, want) || !strings.EqualFold(ntfs.FinalPath(strings.TrimPrefix(got, want)), own) {
		t.Errorf("environment %q, want %q then %s", got, want, own)
	}
	if fi, err := os.Stat(own); err != nil || !fi.IsDir() {
		t.Errorf("workspace temp %s: %v", own, err)
	}
	// ssh resolves to the failing stub, first on PATH.
	res = f.run(t, policy.WorkspaceWrite, time.Minute, "ssh", "example.com")
	if res.ExitCode != 1 {
		t.Errorf("ssh stub: exit %d, stdout %q, stderr %q", res.ExitCode, res.Stdout, res.Stderr)
	}
	stub := filepath.Join(f.state, "stubs", "ssh.bat")
	if b, err := os.ReadFile(stub); err != nil || !bytes.Contains(b, []byte("\r\n")) {
		t.Errorf("stub %s: %q, %v", stub, b, err)
	}
}

func TestRunRecordsAndCleansUp(t *testing.T) {
	f := newFixture(t)
	f.run(t, policy.WorkspaceWrite, time.Minute, "cmd", "/c", "echo x")
	recorded, err := acelog.Load(context.Background(), f.state)
	if err != nil {
		t.Fatal(err)
	}
	var placeholders []string
	for _, e := range recorded {
		if e.Op == aclplan.CreateDir {
			placeholders = append(placeholders, e.Path)
		}
	}
	// The workspace had none of the protected names: each is a placeholder
	// now, recorded so that cleanup removes it.
	for _, name := range policy.DefaultProtectedNames {
		p := filepath.Join(f.ws, name)
		if fi, err := os.Stat(p); err != nil || !fi.IsDir() {
			t.Errorf("placeholder %s: %v", p, err)
		}
		if !slices.ContainsFunc(placeholders, func(r string) bool { return strings.EqualFold(r, p) }) {
			t.Errorf("placeholder %s not recorded in %q", p, placeholders)
		}
	}
	// A second run of the same workspace creates nothing new.
	f.run(t, policy.WorkspaceWrite, time.Minute, "cmd", "/c", "echo x")
	again, _ := acelog.Load(context.Background(), f.state)
	if !testutil.UnderWine() && len(again) != len(recorded) {
		t.Errorf("warm run recorded %d edits, the cold one %d", len(again), len(recorded))
	}
	if _, err := acelog.Cleanup(context.Background(), f.state, ntfs.ApplyAll); err != nil {
		t.Fatal(err)
	}
	for _, name := range policy.DefaultProtectedNames {
		if _, err := os.Stat(filepath.Join(f.ws, name)); !errors.Is(err, os.ErrNotExist) {
			t.Errorf("cleanup left %s: %v", name, err)
		}
	}
	if left, _ := acelog.Load(context.Background(), f.state); len(left) != 0 {
		t.Errorf("record after cleanup: %d entries", len(left))
	}
}

func TestTimeoutKillsTheTree(t *testing.T) {
	f := newFixture(t)
	self, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	f.env = append(f.env, helperEnv+"=sleep")
	start := time.Now()
	// cmd starts the sleeper as a grandchild; the job must end both.
	res := f.run(t, policy.WorkspaceWrite, 2*time.Second, "cmd", "/c", self)
	if !res.TimedOut || res.ExitCode != -1 {
		t.Errorf("timed out %v, exit %d", res.TimedOut, res.ExitCode)
	}
	if d := time.Since(start); d > time.Minute {
		t.Errorf("Run returned after %s: the grandchild kept it waiting", d)
	}
}

// Real Windows only: the token and the applied plan are enforced.
func TestEnforcement(t *testing.T) {
	testutil.RealWindows(t)
	f := newFixture(t)
	outside := testutil.TempDir(t)
	own, err := winsandbox.WorkspaceTemp(ntfs.FinalPath(f.state), ntfs.FinalPath(f.ws))
	if err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		mode   policy.Mode
		target string
		allow  bool
	}{
		{policy.WorkspaceWrite, filepath.Join(f.ws, "ok.txt"), true},
		{policy.WorkspaceWrite, filepath.Join(own, "ok.txt"), true},
		// The caller's TEMP is no longer a root: cordon's own is.
		{policy.WorkspaceWrite, filepath.Join(f.temp, "no.txt"), false},
		{policy.WorkspaceWrite, filepath.Join(outside, "no.txt"), false},
		{policy.WorkspaceWrite, filepath.Join(f.ws, ".git", "no.txt"), false},
		{policy.ReadOnly, filepath.Join(f.ws, "no-ro.txt"), false},
	}
	for _, c := range cases {
		res := f.run(t, c.mode, time.Minute, "cmd", "/c", "echo x> "+c.target)
		_, err := os.Stat(c.target)
		if wrote := err == nil; wrote != c.allow {
			t.Errorf("%s: writing %s: wrote=%v, want %v (exit %d, stderr %q)", c.mode, c.target, wrote, c.allow, res.ExitCode, res.Stderr)
		}
	}
}

// BenchmarkRun compares, in one run, a command started unsandboxed
// (--sandbox none) with the same command under the restricted-token backend
// on a warm workspace (the second and later runs): the backend's cost per
// command, which users of per-command ACL refreshes measure in tens of seconds.
// Under Wine it measures the plumbing only (no DACL is stored there, so
// every run plans and writes as if cold).
func BenchmarkRun(b *testing.B) {
	if testutil.UnderWine() {
		b.Setenv(winsandbox.WinePlumbingEnv, "1")
	} else if os.Getenv(testutil.RealWindowsEnv) != "1" {
		b.Skip("the backend changes DACLs: on Windows it runs with CORDON_REAL_WINDOWS=1 only")
	}
	testutil.SkipIfElevated(b)
	ws, state, temp := testutil.TempDir(b), testutil.TempDir(b), testutil.TempDir(b)
	b.Setenv("CORDON_STATE_DIR", state)
	env := append(os.Environ(), "TEMP="+temp, "TMP="+temp)
	b.Cleanup(func() { acelog.Cleanup(context.Background(), state, ntfs.ApplyAll) })
	for _, backend := range []string{"none", winsandbox.Name} {
		b.Run(backend, func(b *testing.B) {
			req := cordon.Request{
				Policy: policy.Policy{Mode: policy.WorkspaceWrite}, Command: []string{"cmd", "/c", "exit 0"},
				Dir: ws, Env: env, Backend: backend,
			}
			if _, err := cordon.Run(context.Background(), req); err != nil { // warm up
				b.Fatal(err)
			}
			for b.Loop() {
				if res, err := cordon.Run(context.Background(), req); err != nil || res.ExitCode != 0 {
					b.Fatalf("%v, exit %d", err, res.ExitCode)
				}
			}
		})
	}
}

// A state directory inside a writable root is refused before anything is
// written: the sandbox could rewrite the SID store and the record.
func TestStateDirInsideRootRefused(t *testing.T) {
	f := newFixture(t)
	inside := filepath.Join(f.ws, "state")
	t.Setenv("CORDON_STATE_DIR", inside)
	_, err := cordon.Run(context.Background(), cordon.Request{
		Policy: policy.Policy{Mode: policy.WorkspaceWrite}, Command: []string{"cmd", "/c", "echo x"},
		Dir: f.ws, Env: f.env, Backend: winsandbox.Name,
	})
	if cordon.ErrorCode(err) != "setup_failed" || !strings.Contains(err.Error(), "CORDON_STATE_DIR") {
		t.Fatalf("Run = %v, want setup_failed naming CORDON_STATE_DIR", err)
	}
	// Nothing was planned, recorded or applied (the run's log may have
	// created the directory itself).
	for _, p := range []string{filepath.Join(f.ws, ".codex"), filepath.Join(inside, acelog.FileName), filepath.Join(inside, "capsids.json")} {
		if _, err := os.Stat(p); !errors.Is(err, os.ErrNotExist) {
			t.Errorf("%s was created: %v", p, err)
		}
	}
}
