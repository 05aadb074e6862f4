package winsandbox_test

// Real Windows only: what Low integrity closes (issue 10, finding 1) and
// what it costs common programs. Wine enforces no integrity level, so none
// of this runs there.

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"golang.org/x/sys/windows"

	"github.com/cordon-sandbox/cordon"
	"github.com/cordon-sandbox/cordon/internal/ntfs"
	"github.com/cordon-sandbox/cordon/internal/testutil"
	"github.com/cordon-sandbox/cordon/ntsec"
	"github.com/cordon-sandbox/cordon/policy"
	"github.com/cordon-sandbox/cordon/winsandbox"
)

func (f fixture) runAt(t *testing.T, medium bool, args ...string) cordon.Result {
	t.Helper()
	res, err := cordon.Run(context.Background(), cordon.Request{
		Policy: policy.Policy{Mode: policy.WorkspaceWrite}, Command: args, Dir: f.ws, Env: f.env,
		Backend: winsandbox.Name, Timeout: 2 * time.Minute, MediumIntegrity: medium,
	})
	if err != nil {
		t.Fatalf("%v: %v", args, err)
	}
	return res
}

// The deletions the H2 reading would allow a Medium sandbox through the
// user's own FILE_DELETE_CHILD: a file in a directory of the user's outside
// the roots, and the protected .git renamed away through the workspace. At
// Low integrity both fail under every reading. At Medium the outcome of the
// first says which reading this machine matches, and is logged.
func TestDeleteViaParentClosedAtLow(t *testing.T) {
	testutil.RealWindows(t)
	f := newFixture(t)
	outside := testutil.TempDir(t)
	victim := filepath.Join(outside, "victim.txt")
	for _, medium := range []bool{false, true} {
		if err := os.WriteFile(victim, []byte("keep"), 0o644); err != nil {
			t.Fatal(err)
		}
		if err := os.MkdirAll(filepath.Join(f.ws, ".git"), 0o755); err != nil {
			t.Fatal(err)
		}
		f.runAt(t, medium, "cmd", "/c", "del /f /q "+victim)
		_, err := os.Stat(victim)
		deleted := os.IsNotExist(err)
		f.runAt(t, medium, "cmd", "/c", "move "+filepath.Join(f.ws, ".git")+" "+filepath.Join(f.ws, "git-moved"))
		_, err = os.Stat(filepath.Join(f.ws, ".git"))
		moved := os.IsNotExist(err)
		switch {
		case !medium && (deleted || moved):
			t.Errorf("Low: deleted a file outside the roots: %v; renamed .git: %v", deleted, moved)
		case medium && moved:
			t.Errorf("Medium: renamed .git through the workspace's FILE_DELETE_CHILD")
		case medium:
			t.Logf("Medium: a file outside the roots deleted through its parent: %v (true means this machine matches H2)", deleted)
		}
	}
}

// The roots carry the Low label while cordon's ACEs are in place, and
// cleanup takes it away again.
func TestRootLabelAppliedAndRemoved(t *testing.T) {
	testutil.RealWindows(t)
	f := newFixture(t)
	if res := f.runAt(t, false, "cmd", "/c", "echo x> ok.txt"); res.ExitCode != 0 {
		t.Fatalf("exit %d: %s", res.ExitCode, res.Stderr)
	}
	n, err := ntfs.NewView().Stat(f.ws)
	if err != nil {
		t.Fatal(err)
	}
	if l, ok := n.SD.Label(); !ok || l.SID != ntsec.LowLabel || l.Flags&ntsec.Inherited != 0 {
		t.Errorf("workspace label %s, want an explicit Low label", n.SD.SDDL())
	}
	c, err := ntfs.NewView().Stat(filepath.Join(f.ws, "ok.txt"))
	if err != nil {
		t.Fatal(err)
	}
	if l, ok := c.SD.Label(); !ok || l.SID != ntsec.LowLabel {
		t.Errorf("a file the command made: %s, want Low", c.SD.SDDL())
	}
}

// What Low integrity costs: common programs writing in the workspace. A
// program missing here is skipped, not failed; one that fails at Low is
// the trade-off the README must name.
func TestCommonProgramsAtLow(t *testing.T) {
	testutil.RealWindows(t)
	f := newFixture(t)
	progs := []struct {
		name string
		args []string
		file string
	}{
		{"cmd", []string{"cmd", "/c", "echo hi> cmd.txt && type cmd.txt"}, "cmd.txt"},
		{"powershell", []string{"powershell", "-NoProfile", "-NonInteractive", "-Command", "Set-Content -Path ps.txt -Value hi; Get-Content ps.txt"}, "ps.txt"},
		{"python", []string{"python", "-c", "open('py.txt','w').write('hi'); print(open('py.txt').read())"}, "py.txt"},
		{"git", []string{"git", "init", "-q", "sub"}, filepath.Join("sub", ".git", "HEAD")},
		{"node", []string{"node", "-e", "require('fs').writeFileSync('node.txt','hi')"}, "node.txt"},
	}
	for _, p := range progs {
		if _, err := exec.LookPath(p.args[0]); err != nil {
			t.Logf("%s: not installed here, skipped", p.name)
			continue
		}
		res := f.runAt(t, false, p.args...)
		if _, err := os.Stat(filepath.Join(f.ws, p.file)); res.ExitCode != 0 || err != nil {
			t.Errorf("%s at Low: exit %d, %s: %v; stderr %q", p.name, res.ExitCode, p.file, err, res.Stderr)
		}
	}
}

// A cold run — one that changes ACLs, whose propagation rewrites whole
// trees — waits for the sandboxed commands already running to end before
// it applies (issue 10 part 7); a warm run does not wait. The lock files
// work under Wine, so this runs there too.
func TestColdRunWaitsForRunningCommands(t *testing.T) {
	a := newFixture(t)
	wsB := testutil.TempDir(t)
	runIn := func(dir string, args ...string) (cordon.Result, error) {
		return cordon.Run(context.Background(), cordon.Request{
			Policy: policy.Policy{Mode: policy.WorkspaceWrite}, Command: args, Dir: dir, Env: a.env,
			Backend: winsandbox.Name, Timeout: time.Minute,
		})
	}
	if res, err := runIn(a.ws, "cmd", "/c", "exit 0"); err != nil || res.ExitCode != 0 {
		t.Fatalf("warming A: %v, %d", err, res.ExitCode)
	}
	ended := make(chan time.Time, 1)
	go func() {
		res, err := runIn(a.ws, "cmd", "/c", "echo x> started.txt & ping -n 4 127.0.0.1 >nul")
		if err != nil || res.ExitCode != 0 {
			t.Errorf("A: %v, exit %d, %s", err, res.ExitCode, res.Stderr)
		}
		ended <- time.Now()
	}()
	for deadline := time.Now().Add(time.Minute); ; time.Sleep(20 * time.Millisecond) {
		if _, err := os.Stat(filepath.Join(a.ws, "started.txt")); err == nil {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("A never started")
		}
	}
	res, err := runIn(wsB, "cmd", "/c", "exit 0")
	done := time.Now()
	if err != nil || res.ExitCode != 0 {
		t.Fatalf("B: %v, exit %d, %s", err, res.ExitCode, res.Stderr)
	}
	aEnded := <-ended
	if done.Before(aEnded) {
		t.Errorf("the cold run in B ended %s before A's command did: it did not wait", aEnded.Sub(done))
	}
	if testutil.UnderWine() {
		// Wine stores no DACL, so every run there plans as if cold and
		// waits: the warm half needs real Windows.
		return
	}
	// Warm now, B runs while A runs.
	go func() {
		runIn(a.ws, "cmd", "/c", "ping -n 4 127.0.0.1 >nul")
		ended <- time.Now()
	}()
	time.Sleep(500 * time.Millisecond)
	if res, err := runIn(wsB, "cmd", "/c", "exit 0"); err != nil || res.ExitCode != 0 {
		t.Fatalf("warm B: %v", err)
	}
	if warmDone, aEnded := time.Now(), <-ended; !warmDone.Before(aEnded) {
		t.Errorf("the warm run in B waited for A's command")
	}
}

// A deny-read directory outside the roots cannot be read by the command —
// by its path, through a junction in the workspace, or by its 8.3 short
// name — while the user still reads it.
func TestDenyReadAtLow(t *testing.T) {
	testutil.RealWindows(t)
	f := newFixture(t)
	secret := filepath.Join(testutil.TempDir(t), "credentials-dir")
	if err := os.MkdirAll(secret, 0o755); err != nil {
		t.Fatal(err)
	}
	key := filepath.Join(secret, "id_long_name_key.txt")
	if err := os.WriteFile(key, []byte("SECRET-KEY"), 0o644); err != nil {
		t.Fatal(err)
	}
	junction := filepath.Join(f.ws, "j")
	if out, err := exec.Command("cmd", "/c", "mklink", "/J", junction, secret).CombinedOutput(); err != nil {
		t.Fatalf("mklink: %v %s", err, out)
	}
	paths := []string{key, filepath.Join(junction, "id_long_name_key.txt")}
	if p, err := windows.UTF16PtrFromString(key); err == nil {
		buf := make([]uint16, windows.MAX_LONG_PATH)
		if n, err := windows.GetShortPathName(p, &buf[0], uint32(len(buf))); err == nil && n > 0 {
			paths = append(paths, windows.UTF16ToString(buf[:n]))
		}
	}
	for _, p := range paths {
		res, err := cordon.Run(context.Background(), cordon.Request{
			Policy:  policy.Policy{Mode: policy.WorkspaceWrite, DenyRead: []string{secret}},
			Command: []string{"cmd", "/c", "type " + p}, Dir: f.ws, Env: f.env,
			Backend: winsandbox.Name, Timeout: time.Minute,
		})
		if err != nil {
			t.Fatal(err)
		}
		if strings.Contains(string(res.Stdout), "SECRET") {
			t.Errorf("the command read %s", p)
		}
	}
	if b, err := os.ReadFile(key); err != nil || string(b) != "SECRET-KEY" {
		t.Errorf("the user no longer reads %s: %q %v", key, b, err)
	}
}
