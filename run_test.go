package cordon_test

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/cordon-sandbox/cordon"
	"github.com/cordon-sandbox/cordon/policy"
)

func TestMain(m *testing.M) {
	cordon.Init()
	os.Exit(m.Run())
}

func shRequest(t *testing.T, backend, script string) cordon.Request {
	t.Helper()
	if runtime.GOOS == "windows" {
		t.Skip("these cases use /bin/sh")
	}
	t.Setenv("CORDON_STATE_DIR", t.TempDir())
	dir := t.TempDir()
	return cordon.Request{
		Policy:  policy.Policy{Mode: policy.WorkspaceWrite},
		Command: []string{"sh", "-c", script},
		Dir:     dir,
		Env:     []string{"PATH=/usr/bin:/bin", "TMPDIR=" + t.TempDir()},
		Backend: backend,
	}
}

func TestRunExitCodesAndCapture(t *testing.T) {
	for _, backend := range []string{"none", "linux"} {
		t.Run(backend, func(t *testing.T) {
			if backend == "linux" && runtime.GOOS != "linux" {
				t.Skip("Linux backend")
			}
			req := shRequest(t, backend, "echo out; echo err >&2; exit 7")
			var live bytes.Buffer
			req.Stdout = &live
			res, err := cordon.Run(context.Background(), req)
			if err != nil {
				t.Fatal(err)
			}
			if res.ExitCode != 7 || string(res.Stdout) != "out\n" || string(res.Stderr) != "err\n" || live.String() != "out\n" || res.Backend != backend {
				t.Errorf("result %+v, live %q", res, live.String())
			}
			req = shRequest(t, backend, "kill -9 $$")
			if res, err := cordon.Run(context.Background(), req); err != nil || res.ExitCode != 137 {
				t.Errorf("kill -9: %+v %v", res, err)
			}
			req = shRequest(t, backend, "head -c 100000 /dev/zero")
			req.CaptureLimit = 1000
			if res, err := cordon.Run(context.Background(), req); err != nil || len(res.Stdout) != 1000 || !res.Truncated {
				t.Errorf("capture limit: %d bytes, truncated %v, %v", len(res.Stdout), res.Truncated, err)
			}
			req = shRequest(t, backend, "cat")
			req.Stdin = strings.NewReader("fed")
			if res, err := cordon.Run(context.Background(), req); err != nil || string(res.Stdout) != "fed" {
				t.Errorf("stdin: %q %v", res.Stdout, err)
			}
		})
	}
}

// A timeout kills the whole tree: the grandchild that holds stdout open
// must die too, or Run would never return.
func TestRunTimeoutKillsTree(t *testing.T) {
	for _, backend := range []string{"none", "linux"} {
		t.Run(backend, func(t *testing.T) {
			if backend == "linux" && runtime.GOOS != "linux" {
				t.Skip("Linux backend")
			}
			// A fractional sleep makes the command line unique to this run.
			marker := fmt.Sprintf("300.%06d", time.Now().UnixNano()%1000000)
			req := shRequest(t, backend, "sleep "+marker+" & sleep "+marker)
			req.Timeout = 300 * time.Millisecond
			start := time.Now()
			res, err := cordon.Run(context.Background(), req)
			if err != nil {
				t.Fatal(err)
			}
			if !res.TimedOut || res.ExitCode != -1 || time.Since(start) > 10*time.Second {
				t.Errorf("timeout: %+v after %s", res, time.Since(start))
			}
			if pids := processesWith(marker); len(pids) > 0 {
				t.Errorf("sleep %s survived the timeout: pids %v", marker, pids)
			}
		})
	}
}

// processesWith lists the PIDs whose command line contains s.
func processesWith(s string) []string {
	var out []string
	ents, _ := os.ReadDir("/proc")
	for _, e := range ents {
		b, err := os.ReadFile(filepath.Join("/proc", e.Name(), "cmdline"))
		if err == nil && bytes.Contains(b, []byte(s)) && !bytes.Contains(b, []byte("go test")) {
			out = append(out, e.Name())
		}
	}
	return out
}

func TestRunCancel(t *testing.T) {
	req := shRequest(t, "none", "sleep 30")
	ctx, cancel := context.WithCancel(context.Background())
	time.AfterFunc(200*time.Millisecond, cancel)
	res, err := cordon.Run(ctx, req)
	if err != context.Canceled || res.TimedOut {
		t.Errorf("cancel: %+v %v", res, err)
	}
}

func TestRunBadRequests(t *testing.T) {
	base := func() cordon.Request { return shRequest(t, "none", "true") }
	cases := map[string]struct {
		mod  func(*cordon.Request)
		code string
		want string
	}{
		"empty command":    {func(r *cordon.Request) { r.Command = nil }, "bad_request", "empty command"},
		"missing dir":      {func(r *cordon.Request) { r.Dir = "/nonexistent/x" }, "bad_request", "/nonexistent/x"},
		"dir is a file":    {func(r *cordon.Request) { r.Dir = "/etc/hostname" }, "bad_request", "not a directory"},
		"no mode":          {func(r *cordon.Request) { r.Policy = policy.Policy{} }, "bad_policy", `"mode" is required`},
		"missing root":     {func(r *cordon.Request) { r.Policy.WritableRoots = []string{"nope"} }, "bad_policy", "extra root"},
		"unknown backend":  {func(r *cordon.Request) { r.Backend = "vm" }, "bad_request", `unknown sandbox backend "vm"`},
		"not found":        {func(r *cordon.Request) { r.Command = []string{"no-such-command-xyz"} }, "setup_failed", "no-such-command-xyz"},
		"windows backend":  {func(r *cordon.Request) { r.Backend = "restricted-token" }, "unavailable", "Windows only"},
		"temp":             {func(r *cordon.Request) { r.Temp = "/tmp" }, "bad_request", "the none backend takes no temp directory of yours"},
		"medium integrity": {func(r *cordon.Request) { r.MediumIntegrity = true }, "bad_request", "medium integrity is not an option of the none backend"},
	}
	for name, c := range cases {
		req := base()
		c.mod(&req)
		_, err := cordon.Run(context.Background(), req)
		if cordon.ErrorCode(err) != c.code || err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: %v (code %q), want %s containing %q", name, err, cordon.ErrorCode(err), c.code, c.want)
		}
	}
}

func TestRunLogs(t *testing.T) {
	req := shRequest(t, "none", "exit 3")
	state := os.Getenv("CORDON_STATE_DIR")
	if _, err := cordon.Run(context.Background(), req); err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(filepath.Join(state, "cordon.log"))
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSpace(string(b)), "\n")
	if len(lines) != 2 || !strings.Contains(lines[0], "START") || !strings.Contains(lines[1], "FAILURE") || !strings.Contains(lines[1], "exit=3") {
		t.Errorf("log:\n%s", b)
	}
}
