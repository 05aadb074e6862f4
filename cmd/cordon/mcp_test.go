package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/cordon-sandbox/cordon/internal/testutil"
	"github.com/modelcontextprotocol/go-sdk/mcp"
)

// Bad flags or a bad policy stop cordon mcp at start with 125 and one line
// "cordon: CODE: message", and nothing on stdout, the protocol's channel.
func TestMCPBadStart(t *testing.T) {
	t.Setenv("CORDON_STATE_DIR", testutil.TempDir(t))
	ws := testutil.TempDir(t)
	cases := []struct {
		flags []string
		code  string
		want  string
	}{
		{[]string{"--bogus"}, "bad_request", "flag provided but not defined: -bogus"},
		{[]string{"--json"}, "bad_request", "flag provided but not defined: -json"},
		{[]string{"--policy", "bogus"}, "bad_policy", `--policy: policy "bogus"`},
		{[]string{"--policy", `{"mode":"read-only","nope":1}`}, "bad_policy", `unknown field "nope"`},
		{[]string{"--policy", "read-only", "--writable-root", ws}, "bad_policy", "read-only policy has no writable roots"},
		{[]string{"--cwd", filepath.Join(ws, "missing")}, "bad_request", "missing"},
		{[]string{"--writable-root", filepath.Join(ws, "missing")}, "bad_policy", "missing"},
		{[]string{"--timeout", "-1s"}, "bad_request", "--timeout -1s is negative"},
		{[]string{"--timeout", "soon"}, "bad_request", "invalid value"},
		{[]string{"--sandbox", "chroot"}, "bad_request", `unknown sandbox backend "chroot"`},
		{[]string{"--env", "NOEQUALS"}, "bad_request", "--env: want NAME=VALUE"},
		{[]string{"--memory-limit", "lots"}, "bad_request", "--memory-limit"},
		{[]string{"--", "ls"}, "bad_request", "cordon mcp takes no command"},
	}
	for _, c := range cases {
		args := append([]string{"mcp"}, c.flags...)
		if !slices.Contains(c.flags, "--cwd") {
			args = append([]string{"mcp", "--cwd", ws}, c.flags...)
		}
		code, out, errOut := runCLI(t, "", args...)
		if code != exitSetup || out != "" || !strings.HasPrefix(errOut, "cordon: "+c.code+": ") || !strings.Contains(errOut, c.want) || strings.Count(errOut, "\n") != 1 {
			t.Errorf("%v: exit %d, stdout %q, stderr %q; want 125 and %s naming %q", c.flags, code, out, errOut, c.code, c.want)
		}
	}
	code, out, _ := runCLI(t, "", "mcp", "-h")
	if code != exitOK || !strings.Contains(out, "usage: cordon mcp") {
		t.Errorf("-h: exit %d\n%s", code, out)
	}
}

// With good flags and a stdin that ends at once, the server starts, says
// nothing and exits 0.
func TestMCPStdinClosed(t *testing.T) {
	t.Setenv("CORDON_STATE_DIR", testutil.TempDir(t))
	code, out, errOut := runCLI(t, "", "mcp", "--cwd", testutil.TempDir(t), "--timeout", "5s")
	if code != exitOK || out != "" || errOut != "" {
		t.Errorf("exit %d, stdout %q, stderr %q", code, out, errOut)
	}
}

// buildCordon builds this cordon into a test directory: the stdio tests
// run it as a client would.
func buildCordon(t *testing.T) string {
	t.Helper()
	bin := filepath.Join(t.TempDir(), "cordon")
	cmd := exec.Command("go", "build", "-buildvcs=false", "-o", bin, ".")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	return bin
}

// stdioServer is cordon mcp running as a subprocess, its stdout recorded.
type stdioServer struct {
	cmd    *exec.Cmd
	stdin  io.WriteCloser
	stdout bytes.Buffer // every byte the server wrote there
	stderr bytes.Buffer
	mu     sync.Mutex
}

func (s *stdioServer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.stdout.Write(p)
}

// startStdio starts bin mcp args and connects the Go SDK's client to its
// stdin and stdout.
func startStdio(t *testing.T, bin string, env []string, opts *mcp.ClientOptions, args ...string) (*stdioServer, *mcp.ClientSession) {
	t.Helper()
	s := &stdioServer{cmd: exec.Command(bin, append([]string{"mcp"}, args...)...)}
	s.cmd.Env = env
	s.cmd.Stderr = &s.stderr
	var err error
	if s.stdin, err = s.cmd.StdinPipe(); err != nil {
		t.Fatal(err)
	}
	stdout, err := s.cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := s.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.cmd.Process.Kill(); s.cmd.Wait() })
	tr := &mcp.IOTransport{Reader: io.NopCloser(io.TeeReader(stdout, s)), Writer: s.stdin}
	cs, err := mcp.NewClient(&mcp.Implementation{Name: "cordon-stdio-test", Version: "1"}, opts).Connect(context.Background(), tr, nil)
	if err != nil {
		t.Fatalf("connect: %v\nstderr: %s", err, s.stderr.String())
	}
	return s, cs
}

func structured(t *testing.T, res *mcp.CallToolResult) map[string]any {
	t.Helper()
	b, _ := json.Marshal(res.StructuredContent)
	var m map[string]any
	json.Unmarshal(b, &m)
	return m
}

func text(res *mcp.CallToolResult) string {
	var s string
	for _, c := range res.Content {
		if tc, ok := c.(*mcp.TextContent); ok {
			s += tc.Text
		}
	}
	return s
}

// cordon mcp over real stdio, driven by the Go SDK's client: runs, a
// refusal, streamed progress, cancellation of a tree, logging to
// cordon.log, a clean exit when stdin closes, and nothing on stdout but
// protocol messages.
func TestMCPStdio(t *testing.T) {
	if runtime.GOOS != "linux" {
		t.Skip("runs commands with /bin/sh in the Linux sandbox")
	}
	bin := buildCordon(t)
	ws, state := testutil.CanonicalTempDir(t), testutil.CanonicalTempDir(t)
	env := append(os.Environ(), "CORDON_STATE_DIR="+state)
	var mu sync.Mutex
	var streamed strings.Builder
	opts := &mcp.ClientOptions{ProgressNotificationHandler: func(_ context.Context, req *mcp.ProgressNotificationClientRequest) {
		mu.Lock()
		defer mu.Unlock()
		streamed.WriteString(req.Params.Message)
		if strings.Contains(req.Params.Message, "tick-1") {
			os.WriteFile(filepath.Join(ws, "go-on"), nil, 0o644)
		}
	}}
	srv, cs := startStdio(t, bin, env, opts, "--cwd", ws, "--timeout", "2m")
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()

	tools, err := cs.ListTools(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, tl := range tools.Tools {
		names = append(names, tl.Name)
	}
	if slices.Sort(names); !slices.Equal(names, []string{"run", "sandbox_info"}) {
		t.Errorf("tools %v", names)
	}

	res, err := cs.CallTool(ctx, &mcp.CallToolParams{Name: "run", Arguments: map[string]any{"command": "echo hi-from-stdio; echo oops >&2; exit 3"}})
	if err != nil {
		t.Fatal(err)
	}
	if m := structured(t, res); res.IsError || m["exit_code"] != 3.0 || m["stdout"] != "hi-from-stdio\n" || m["stderr"] != "oops\n" || m["sandbox"] != "linux" {
		t.Errorf("run: isError %v, %v", res.IsError, m)
	}

	res, err = cs.CallTool(ctx, &mcp.CallToolParams{Name: "run", Arguments: map[string]any{"command": "pwd", "cwd": "/"}})
	if err != nil || !res.IsError || !strings.Contains(text(res), "outside the workspace "+ws) {
		t.Errorf("cwd /: err %v, isError %v, %q", err, res.IsError, text(res))
	}

	params := &mcp.CallToolParams{Name: "run", Arguments: map[string]any{"command": "echo tick-1; while [ ! -e go-on ]; do sleep 0.02; done; echo tick-2", "timeout_ms": 60000}}
	params.SetProgressToken(7)
	res, err = cs.CallTool(ctx, params)
	if err != nil {
		t.Fatal(err)
	}
	if m := structured(t, res); res.IsError || m["timed_out"] != false || m["stdout"] != "tick-1\ntick-2\n" {
		t.Errorf("streamed run did not see the client's file: %v", m)
	}
	mu.Lock()
	if !strings.Contains(streamed.String(), "tick-1") {
		t.Errorf("streamed %q", streamed.String())
	}
	mu.Unlock()

	// Cancellation travels as notifications/cancelled and kills the tree.
	arg := fmt.Sprintf("3600.%d", time.Now().UnixNano()%1e9)
	cctx, ccancel := context.WithCancel(ctx)
	errc := make(chan error, 1)
	go func() {
		_, err := cs.CallTool(cctx, &mcp.CallToolParams{Name: "run", Arguments: map[string]any{"command": "sleep " + arg + " & wait"}})
		errc <- err
	}()
	pid := 0
	testutil.WaitFor(t, "the background sleep to start", func() bool { pid = testutil.ProcessWithArgs("sleep", arg); return pid != 0 })
	ccancel()
	if err := <-errc; !errors.Is(err, context.Canceled) {
		t.Errorf("cancelled call: %v", err)
	}
	testutil.WaitFor(t, "the cancelled tree to be killed", func() bool { return !testutil.ProcessAlive(pid, "sleep", arg) })

	// stdin closing ends the server, with status 0.
	cs.Close()
	exited := make(chan error, 1)
	go func() { exited <- srv.cmd.Wait() }()
	select {
	case err := <-exited:
		if err != nil {
			t.Errorf("cordon mcp exited with %v\nstderr: %s", err, srv.stderr.String())
		}
	case <-time.After(30 * time.Second):
		t.Fatalf("cordon mcp did not exit after stdin closed")
	}
	srv.mu.Lock()
	out := srv.stdout.String()
	srv.mu.Unlock()
	sc := bufio.NewScanner(strings.NewReader(out))
	sc.Buffer(nil, 1<<24)
	lines := 0
	for sc.Scan() {
		lines++
		var msg struct {
			JSONRPC string `json:"jsonrpc"`
		}
		if err := json.Unmarshal(sc.Bytes(), &msg); err != nil || msg.JSONRPC != "2.0" {
			t.Errorf("stdout line %d is not a JSON-RPC message: %.200q", lines, sc.Text())
		}
	}
	if lines < 5 {
		t.Errorf("only %d protocol lines on stdout", lines)
	}
	log, err := os.ReadFile(filepath.Join(state, "cordon.log"))
	if err != nil || !strings.Contains(string(log), "START") || !strings.Contains(string(log), "hi-from-stdio") || !strings.Contains(string(log), "exit=3") {
		t.Errorf("cordon.log (%v):\n%s", err, log)
	}
}
