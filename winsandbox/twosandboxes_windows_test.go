package winsandbox_test

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"golang.org/x/sys/windows"

	"github.com/cordon-sandbox/cordon"
	"github.com/cordon-sandbox/cordon/internal/testutil"
	"github.com/cordon-sandbox/cordon/internal/winapi"
	"github.com/cordon-sandbox/cordon/internal/windesktop"
	"github.com/cordon-sandbox/cordon/policy"
	"github.com/cordon-sandbox/cordon/winsandbox"
)

// Environment of the helpers.
const (
	victimPidEnv  = "CORDON_TEST_VICTIM_PID"  // attack: the pid to open
	victimFileEnv = "CORDON_TEST_VICTIM_FILE" // attack: a file in the victim's workspace
)

// report is what the attack helper prints: for each attempt, the error
// ("" when it succeeded).
type report struct {
	Attempts map[string]string `json:"attempts"`
	Desktop  string            `json:"desktop"`
}

// helper runs inside a sandbox as the test binary. "victim" writes its pid
// to pid.txt in its working directory and waits (at most a minute) for
// done.txt to appear there; "attack" tries to open the victim's process and
// to write into its workspace, and prints a report.
func helper(role string) int {
	switch role {
	case "desktop":
		n, err := windesktop.ThreadDesktopName()
		if err != nil {
			fmt.Fprintln(os.Stderr, err)
			return 3
		}
		fmt.Print(n)
		return 0
	case "victim":
		desk, err := windesktop.ThreadDesktopName()
		if err != nil {
			desk = "error: " + err.Error()
		}
		if err := os.WriteFile("desktop.txt", []byte(desk), 0o644); err != nil {
			fmt.Fprintln(os.Stderr, err)
			return 3
		}
		if err := os.WriteFile("pid.txt", []byte(strconv.Itoa(os.Getpid())), 0o644); err != nil {
			fmt.Fprintln(os.Stderr, err)
			return 3
		}
		for deadline := time.Now().Add(time.Minute); time.Now().Before(deadline); time.Sleep(50 * time.Millisecond) {
			if _, err := os.Stat("done.txt"); err == nil {
				return 0
			}
		}
		return 4
	case "attack":
		pid, err := strconv.Atoi(os.Getenv(victimPidEnv))
		if err != nil {
			fmt.Fprintln(os.Stderr, err)
			return 3
		}
		r := report{Attempts: map[string]string{}}
		if r.Desktop, err = windesktop.ThreadDesktopName(); err != nil {
			r.Desktop = "error: " + err.Error()
		}
		for name, access := range map[string]uint32{
			"PROCESS_ALL_ACCESS":    windows.PROCESS_ALL_ACCESS,
			"PROCESS_VM_WRITE":      windows.PROCESS_VM_WRITE | windows.PROCESS_VM_OPERATION,
			"PROCESS_CREATE_THREAD": windows.PROCESS_CREATE_THREAD,
			"PROCESS_DUP_HANDLE":    windows.PROCESS_DUP_HANDLE,
			"WRITE_DAC":             windows.WRITE_DAC,
		} {
			h, err := windows.OpenProcess(access, false, uint32(pid))
			r.Attempts[name] = errText(err)
			if err == nil {
				windows.CloseHandle(h)
			}
		}
		r.Attempts["write victim workspace"] = errText(os.WriteFile(os.Getenv(victimFileEnv), []byte("x"), 0o644))
		if err := winapi.OpenClipboard(0); err == nil {
			winapi.CloseClipboard()
			r.Attempts["open clipboard"] = ""
		} else {
			r.Attempts["open clipboard"] = err.Error()
		}
		json.NewEncoder(os.Stdout).Encode(r)
		return 0
	}
	return 2
}

func errText(err error) string {
	if err == nil {
		return ""
	}
	return err.Error()
}

// TestRunOnPrivateDesktop: the command runs on a desktop of its own, made
// for the run, not on the caller's. Wine implements desktops, so this runs
// there as plumbing.
func TestRunOnPrivateDesktop(t *testing.T) {
	f := newFixture(t)
	self, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	own, err := windesktop.ThreadDesktopName()
	if err != nil {
		t.Fatal(err)
	}
	f.env = append(f.env, helperEnv+"=desktop")
	var seen []string
	for range 2 {
		res := f.run(t, policy.WorkspaceWrite, time.Minute, self)
		d := string(res.Stdout)
		if res.ExitCode != 0 || !strings.HasPrefix(d, "cordon-") || d == own {
			t.Errorf("command's desktop %q (exit %d, stderr %q), want a private cordon-… one, not %q", d, res.ExitCode, res.Stderr, own)
		}
		seen = append(seen, d)
	}
	if seen[0] == seen[1] {
		t.Errorf("two runs shared the desktop %q", seen[0])
	}
}

// TestRealWindowsTwoSandboxes is issue 10's findings 2 and 3 on a real
// machine: two sandboxes of different workspaces run at once; B can neither
// open A's process for writing nor write A's workspace nor open the
// clipboard, and each runs on a private desktop of its own.
func TestRealWindowsTwoSandboxes(t *testing.T) {
	testutil.RealWindows(t)
	a := newFixture(t)
	wsB := testutil.TempDir(t)
	self, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	// B's first run is cold: its propagation waits for every running
	// sandboxed command to end (applyAlone), the victim included. Warm B
	// up first, so the attack below plans nothing and starts at once.
	warm, err := cordon.Run(context.Background(), cordon.Request{
		Policy: policy.Policy{Mode: policy.WorkspaceWrite}, Command: []string{"cmd", "/c", "exit 0"},
		Dir: wsB, Env: a.env, Backend: winsandbox.Name, Timeout: time.Minute,
	})
	if err != nil || warm.ExitCode != 0 {
		t.Fatalf("warming B: %v, exit %d", err, warm.ExitCode)
	}
	victimDone := make(chan cordon.Result, 1)
	go func() {
		res, err := cordon.Run(context.Background(), cordon.Request{
			Policy: policy.Policy{Mode: policy.WorkspaceWrite}, Command: []string{self},
			Dir: a.ws, Env: append(a.env[:len(a.env):len(a.env)], helperEnv+"=victim"),
			Backend: winsandbox.Name, Timeout: 2 * time.Minute,
		})
		if err != nil {
			t.Errorf("victim: %v", err)
		}
		victimDone <- res
	}()
	defer func() {
		os.WriteFile(filepath.Join(a.ws, "done.txt"), nil, 0o644)
		res := <-victimDone
		if res.ExitCode != 0 {
			t.Errorf("victim: exit %d, stderr %q", res.ExitCode, res.Stderr)
		}
	}()
	var pid string
	for deadline := time.Now().Add(time.Minute); pid == "" && time.Now().Before(deadline); time.Sleep(50 * time.Millisecond) {
		b, _ := os.ReadFile(filepath.Join(a.ws, "pid.txt"))
		pid = strings.TrimSpace(string(b))
	}
	if pid == "" {
		t.Fatal("the victim never wrote its pid")
	}
	target := filepath.Join(a.ws, "from-b.txt")
	res, err := cordon.Run(context.Background(), cordon.Request{
		Policy: policy.Policy{Mode: policy.WorkspaceWrite}, Command: []string{self},
		Dir: wsB, Env: append(a.env[:len(a.env):len(a.env)], helperEnv+"=attack", victimPidEnv+"="+pid, victimFileEnv+"="+target),
		Backend: winsandbox.Name, Timeout: time.Minute,
	})
	if err != nil {
		t.Fatal(err)
	}
	var r report
	if err := json.Unmarshal(res.Stdout, &r); err != nil || res.ExitCode != 0 {
		t.Fatalf("attack: exit %d, stdout %q, stderr %q, %v", res.ExitCode, res.Stdout, res.Stderr, err)
	}
	for what, e := range r.Attempts {
		if e == "" {
			t.Errorf("sandbox B succeeded: %s (victim pid %s)", what, pid)
		} else {
			t.Logf("%s: refused: %s", what, e)
		}
	}
	if _, err := os.Stat(target); err == nil {
		t.Errorf("sandbox B wrote %s", target)
	}
	// Each runs on a private desktop of its own.
	own, err := windesktop.ThreadDesktopName()
	if err != nil {
		t.Fatal(err)
	}
	deskA, _ := os.ReadFile(filepath.Join(a.ws, "desktop.txt"))
	if !strings.HasPrefix(r.Desktop, "cordon-") || !strings.HasPrefix(string(deskA), "cordon-") || r.Desktop == string(deskA) {
		t.Errorf("desktops: A %q, B %q, the caller %q: want two different private desktops", deskA, r.Desktop, own)
	}
}
