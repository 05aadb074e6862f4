package mcpserver_test

import (
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

	"github.com/cordon-sandbox/cordon"
	"github.com/cordon-sandbox/cordon/internal/mcpserver"
	"github.com/cordon-sandbox/cordon/internal/testutil"
	"github.com/cordon-sandbox/cordon/policy"
	"github.com/modelcontextprotocol/go-sdk/mcp"
)

// The Linux backend re-executes this test binary to set each sandbox up.
func TestMain(m *testing.M) {
	cordon.Init()
	os.Exit(m.Run())
}

// needLinux skips tests that run commands: they use /bin/sh and the real
// Linux sandbox.
func needLinux(t *testing.T) {
	t.Helper()
	if runtime.GOOS != "linux" {
		t.Skip("runs commands with /bin/sh in the Linux sandbox")
	}
}

// linuxConfig is a workspace-write server on ws with the real Linux
// sandbox and the network off.
func linuxConfig(t *testing.T, ws string) mcpserver.Config {
	t.Helper()
	needLinux(t)
	t.Setenv("CORDON_STATE_DIR", testutil.CanonicalTempDir(t))
	return mcpserver.Config{Sandbox: cordon.Request{
		Policy:  policy.Policy{Mode: policy.WorkspaceWrite},
		Dir:     ws,
		Backend: "linux",
		Timeout: 2 * time.Minute,
	}}
}

// serve starts a server on cfg and connects a client over the in-memory
// transport. The server's Run must return once the client has gone.
func serve(t *testing.T, cfg mcpserver.Config, opts *mcp.ClientOptions) *mcp.ClientSession {
	t.Helper()
	ct, st := mcp.NewInMemoryTransports()
	cs, done := start(t, context.Background(), cfg, st, ct, opts)
	t.Cleanup(func() {
		cs.Close()
		runEnds(t, done)
	})
	return cs
}

// start runs a server on cfg over st until ctx ends, its Run's error sent
// to done, and connects a client to it over ct.
func start(t *testing.T, ctx context.Context, cfg mcpserver.Config, st, ct mcp.Transport, opts *mcp.ClientOptions) (cs *mcp.ClientSession, done <-chan error) {
	t.Helper()
	srv, err := mcpserver.New(cfg)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	runErr := make(chan error, 1)
	go func() { runErr <- srv.Run(ctx, st) }()
	cs, err = mcp.NewClient(&mcp.Implementation{Name: "cordon-test", Version: "1"}, opts).Connect(context.Background(), ct, nil)
	if err != nil {
		t.Fatalf("Connect: %v", err)
	}
	return cs, runErr
}

// runEnds waits for a server's Run, sending to done, to return nil.
func runEnds(t *testing.T, done <-chan error) {
	t.Helper()
	select {
	case err := <-done:
		if err != nil {
			t.Errorf("server Run: %v", err)
		}
	case <-time.After(testutil.WaitDeadline):
		t.Errorf("the server's Run did not return within %s", testutil.WaitDeadline)
	}
}

// result is a run call's outcome as the client sees it.
type result struct {
	isError bool
	text    string
	out     mcpserver.RunOutput
	hasOut  bool
}

func callTool(ctx context.Context, cs *mcp.ClientSession, name string, args any) (result, error) {
	res, err := cs.CallTool(ctx, &mcp.CallToolParams{Name: name, Arguments: args})
	if err != nil {
		return result{}, err
	}
	r := result{isError: res.IsError}
	for _, c := range res.Content {
		if tc, ok := c.(*mcp.TextContent); ok {
			r.text += tc.Text
		}
	}
	if res.StructuredContent != nil {
		b, err := json.Marshal(res.StructuredContent)
		if err != nil {
			return r, err
		}
		if err := json.Unmarshal(b, &r.out); err != nil {
			return r, fmt.Errorf("structured content %s: %w", b, err)
		}
		r.hasOut = true
	}
	return r, nil
}

// run calls the run tool and fails the test on a protocol error.
func run(t *testing.T, cs *mcp.ClientSession, args map[string]any) result {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	r, err := callTool(ctx, cs, "run", args)
	if err != nil {
		t.Fatalf("run %v: protocol error %v", args, err)
	}
	return r
}

// ok fails the test unless r is a normal result with the exit code want.
func ok(t *testing.T, what string, r result, want int) {
	t.Helper()
	if r.isError || !r.hasOut || r.out.ExitCode != want || r.out.TimedOut {
		t.Fatalf("%s: want exit %d; got isError=%v exit=%d timed_out=%v\n%s", what, want, r.isError, r.out.ExitCode, r.out.TimedOut, r.text)
	}
}

// refused fails the test unless r is a tool error whose text has every
// one of want.
func refused(t *testing.T, what string, r result, want ...string) {
	t.Helper()
	if !r.isError {
		t.Errorf("%s: not refused: exit %d\n%s", what, r.out.ExitCode, r.text)
		return
	}
	for _, w := range want {
		if !strings.Contains(r.text, w) {
			t.Errorf("%s: the refusal does not say %q: %s", what, w, r.text)
		}
	}
}

func schemaOf(t *testing.T, s any) map[string]any {
	t.Helper()
	b, err := json.Marshal(s)
	if err != nil {
		t.Fatal(err)
	}
	var m map[string]any
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatal(err)
	}
	return m
}

func keys(m any) []string {
	mm, _ := m.(map[string]any)
	var out []string
	for k := range mm {
		out = append(out, k)
	}
	slices.Sort(out)
	return out
}

func strList(v any) []string {
	var out []string
	l, _ := v.([]any)
	for _, x := range l {
		s, _ := x.(string)
		out = append(out, s)
	}
	slices.Sort(out)
	return out
}

// The tools and their schemas are what the README documents: a client
// and a model rely on the names.
func TestToolsAndSchemas(t *testing.T) {
	ws := testutil.CanonicalTempDir(t)
	t.Setenv("CORDON_STATE_DIR", testutil.CanonicalTempDir(t))
	cs := serve(t, mcpserver.Config{Sandbox: cordon.Request{Policy: policy.Policy{Mode: policy.WorkspaceWrite}, Dir: ws, Timeout: 90 * time.Second}}, nil)
	res, err := cs.ListTools(context.Background(), nil)
	if err != nil {
		t.Fatal(err)
	}
	tools := map[string]*mcp.Tool{}
	var names []string
	for _, tl := range res.Tools {
		tools[tl.Name] = tl
		names = append(names, tl.Name)
		if len(tl.Description) < 80 {
			t.Errorf("%s: description too thin for a model: %q", tl.Name, tl.Description)
		}
	}
	slices.Sort(names)
	want := []string{"run", "sandbox_info"}
	if runtime.GOOS == "windows" {
		want = []string{"explain", "run", "sandbox_info"}
	}
	if !slices.Equal(names, want) {
		t.Fatalf("tools %v, want %v", names, want)
	}

	in := schemaOf(t, tools["run"].InputSchema)
	if got := keys(in["properties"]); !slices.Equal(got, []string{"argv", "command", "cwd", "stdin", "timeout_ms"}) {
		t.Errorf("run input properties %v", got)
	}
	if in["additionalProperties"] != false {
		t.Errorf("run input: additionalProperties %v, want false (no network or policy argument may slip through)", in["additionalProperties"])
	}
	props := in["properties"].(map[string]any)
	for field, typ := range map[string]string{"command": "string", "argv": "array", "cwd": "string", "timeout_ms": "integer", "stdin": "string"} {
		if got := props[field].(map[string]any)["type"]; got != typ {
			t.Errorf("run input %s: type %v, want %s", field, got, typ)
		}
	}
	if d, _ := props["timeout_ms"].(map[string]any)["description"].(string); !strings.Contains(d, "90000") {
		t.Errorf("timeout_ms does not name the server's maximum, 90000: %q", d)
	}
	out := schemaOf(t, tools["run"].OutputSchema)
	wantOut := []string{"cwd", "degraded", "duration_ms", "exit_code", "sandbox", "stderr", "stdout", "timed_out", "timeout_ms", "truncated"}
	if got := keys(out["properties"]); !slices.Equal(got, wantOut) {
		t.Errorf("run output properties %v, want %v", got, wantOut)
	}
	if got := strList(out["required"]); !slices.Equal(got, wantOut) {
		t.Errorf("run output required %v", got)
	}

	in = schemaOf(t, tools["sandbox_info"].InputSchema)
	if len(keys(in["properties"])) != 0 || in["additionalProperties"] != false {
		t.Errorf("sandbox_info takes no arguments; schema %v", in)
	}
	out = schemaOf(t, tools["sandbox_info"].OutputSchema)
	wantInfo := []string{"best_effort", "default_cwd", "deny_read", "env", "limits", "mode", "network", "os", "probe", "protected_names", "sandbox", "shell", "temp", "timeout_ms", "workspace", "writable_roots"}
	if got := keys(out["properties"]); !slices.Equal(got, wantInfo) {
		t.Errorf("sandbox_info output properties %v, want %v", got, wantInfo)
	}
}

// sandbox_info says what the flags fixed and what the probe found.
func TestSandboxInfo(t *testing.T) {
	ws, extra := testutil.CanonicalTempDir(t), testutil.CanonicalTempDir(t)
	t.Setenv("CORDON_STATE_DIR", testutil.CanonicalTempDir(t))
	cfg := mcpserver.Config{Sandbox: cordon.Request{
		Policy: policy.Policy{Mode: policy.WorkspaceWrite, WritableRoots: []string{extra}, ProtectedNames: []string{".env"},
			DenyRead: []string{filepath.Join(ws, "secrets")}, Env: policy.EnvPolicy{Set: map[string]string{"CI": "s3cret-value"}, Keep: []string{"NPM_*"}}},
		Dir: ws, Timeout: 42 * time.Second,
	}}
	cs := serve(t, cfg, nil)
	res, err := cs.CallTool(context.Background(), &mcp.CallToolParams{Name: "sandbox_info"})
	if err != nil || res.IsError {
		t.Fatalf("sandbox_info: %v %+v", err, res)
	}
	b, _ := json.Marshal(res.StructuredContent)
	var info mcpserver.InfoOutput
	if err := json.Unmarshal(b, &info); err != nil {
		t.Fatal(err)
	}
	if info.Mode != "workspace-write" || info.Workspace != ws || info.DefaultCwd != ws || !slices.Equal(info.WritableRoots, []string{ws, extra}) ||
		!slices.Contains(info.ProtectedNames, ".git") || !slices.Contains(info.ProtectedNames, ".env") || info.Network ||
		info.TimeoutMS != 42000 || info.Sandbox != "auto" || !slices.Contains(info.DenyRead, filepath.Join(ws, "secrets")) ||
		!slices.Equal(info.Env.Set, []string{"CI"}) || !slices.Equal(info.Env.Keep, []string{"NPM_*"}) {
		t.Errorf("sandbox_info: %s", b)
	}
	if strings.Contains(string(b), "s3cret") || strings.Contains(res.Content[0].(*mcp.TextContent).Text, "s3cret") {
		t.Errorf("sandbox_info shows an env value: %s", b)
	}
	probes := map[string]bool{}
	for _, p := range info.Probe {
		probes[p.Backend] = p.Available
	}
	if avail, found := probes["none"]; !found || !avail {
		t.Errorf("probe lacks the unsandboxed backend: %s", b)
	}
	if runtime.GOOS == "linux" {
		if _, found := probes["linux"]; !found {
			t.Errorf("probe lacks the linux backend: %s", b)
		}
	}
	if text := res.Content[0].(*mcp.TextContent).Text; !strings.Contains(text, "network: NO network") || !strings.Contains(text, extra) {
		t.Errorf("sandbox_info text: %s", text)
	}
}

func TestRunSucceedsAndFails(t *testing.T) {
	ws := testutil.CanonicalTempDir(t)
	cs := serve(t, linuxConfig(t, ws), nil)

	r := run(t, cs, map[string]any{"command": "echo hello; pwd; echo to-stderr >&2"})
	ok(t, "echo", r, 0)
	if r.out.Stdout != "hello\n"+ws+"\n" || r.out.Stderr != "to-stderr\n" || r.out.Sandbox != "linux" || r.out.Cwd != ws || len(r.out.Degraded) != 0 {
		t.Errorf("echo: %+v", r.out)
	}
	if !strings.Contains(r.text, "exit code 0") || !strings.Contains(r.text, "hello") || !strings.Contains(r.text, "to-stderr") {
		t.Errorf("echo text: %s", r.text)
	}

	r = run(t, cs, map[string]any{"command": "echo partial; exit 3"})
	ok(t, "exit 3 is a result, not an error", r, 3)
	if r.out.Stdout != "partial\n" || !strings.Contains(r.text, "exit code 3") {
		t.Errorf("exit 3: %+v\n%s", r.out, r.text)
	}

	r = run(t, cs, map[string]any{"argv": []string{"printf", "%s|", "a b", "$HOME"}})
	ok(t, "argv", r, 0)
	if r.out.Stdout != "a b|$HOME|" {
		t.Errorf("argv is not run without a shell: %q", r.out.Stdout)
	}

	r = run(t, cs, map[string]any{"command": "tr a-z A-Z", "stdin": "fed through stdin"})
	ok(t, "stdin", r, 0)
	if r.out.Stdout != "FED THROUGH STDIN" {
		t.Errorf("stdin: %q", r.out.Stdout)
	}
	r = run(t, cs, map[string]any{"command": "cat"})
	ok(t, "no stdin", r, 0)
	if r.out.Stdout != "" {
		t.Errorf("without stdin cat read %q", r.out.Stdout)
	}

	if err := os.Mkdir(filepath.Join(ws, "sub"), 0o755); err != nil {
		t.Fatal(err)
	}
	r = run(t, cs, map[string]any{"command": "pwd", "cwd": "sub"})
	ok(t, "relative cwd", r, 0)
	if r.out.Stdout != filepath.Join(ws, "sub")+"\n" {
		t.Errorf("cwd sub: %q", r.out.Stdout)
	}

	// Output beyond the limit keeps its head and tail.
	r = run(t, cs, map[string]any{"command": "echo FIRST; head -c 300000 /dev/zero | tr '\\0' x; echo; echo LAST"})
	ok(t, "long output", r, 0)
	if !r.out.Truncated || !strings.HasPrefix(r.out.Stdout, "FIRST\n") || !strings.HasSuffix(r.out.Stdout, "LAST\n") ||
		!strings.Contains(r.out.Stdout, "bytes omitted") || len(r.out.Stdout) > mcpserver.DefaultOutputLimit+100 {
		t.Errorf("long output: truncated=%v, %d bytes, head %.20q", r.out.Truncated, len(r.out.Stdout), r.out.Stdout)
	}
}

// Calls the sandbox refuses are tool errors that say why, never protocol
// errors; malformed arguments too.
func TestRunRefused(t *testing.T) {
	ws, extra, outside := testutil.CanonicalTempDir(t), testutil.CanonicalTempDir(t), testutil.CanonicalTempDir(t)
	cfg := linuxConfig(t, ws)
	cfg.Sandbox.Policy.WritableRoots = []string{extra}
	cs := serve(t, cfg, nil)
	for _, l := range []struct{ name, target string }{{"out", outside}, {"etc", "/etc"}, {"in", filepath.Join(ws, "real")}} {
		if l.name == "in" {
			if err := os.Mkdir(l.target, 0o755); err != nil {
				t.Fatal(err)
			}
		}
		if err := os.Symlink(l.target, filepath.Join(ws, l.name)); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.Mkdir(filepath.Join(ws, "sub"), 0o755); err != nil {
		t.Fatal(err)
	}

	for _, c := range []struct {
		what string
		args map[string]any
		want []string
	}{
		{"cwd outside", map[string]any{"command": "pwd", "cwd": outside}, []string{"outside", outside, ws, extra}},
		{"cwd /", map[string]any{"command": "pwd", "cwd": "/"}, []string{"outside", ws}},
		{"a link in the workspace to outside", map[string]any{"command": "pwd", "cwd": "out"}, []string{"resolves to " + outside, "outside"}},
		{"a link to /etc, then below it", map[string]any{"command": "pwd", "cwd": "etc/ssl"}, []string{"outside"}},
		{"..", map[string]any{"command": "pwd", "cwd": ".."}, []string{"outside", filepath.Dir(ws)}},
		{"sub/../..", map[string]any{"command": "pwd", "cwd": "sub/../.."}, []string{"outside"}},
		// "in/.." is the parent of the link's target, the workspace
		// itself: but "out/.." is outside's parent, which lexical
		// cleaning would have taken for the workspace.
		{"a link, then ..", map[string]any{"command": "pwd", "cwd": "out/.."}, []string{"resolves to " + filepath.Dir(outside)}},
		{"missing cwd", map[string]any{"command": "pwd", "cwd": "nope"}, []string{"nope"}},
		{"both", map[string]any{"command": "true", "argv": []string{"true"}}, []string{"exactly one of command"}},
		{"neither", map[string]any{"cwd": "sub"}, []string{"give a command"}},
		{"blank command", map[string]any{"command": "   "}, []string{"give a command"}},
		{"empty argv[0]", map[string]any{"argv": []string{""}}, []string{"argv[0]"}},
		{"negative timeout", map[string]any{"command": "true", "timeout_ms": -5}, []string{"timeout_ms"}},
		{"zero timeout", map[string]any{"command": "true", "timeout_ms": 0}, []string{"timeout_ms"}},
		{"network argument", map[string]any{"command": "true", "network": true}, []string{"network"}},
		{"policy argument", map[string]any{"command": "true", "policy": "workspace-write"}, []string{"policy"}},
		{"command of the wrong type", map[string]any{"command": 5}, []string{"command"}},
		{"argv of the wrong type", map[string]any{"argv": "ls -l"}, []string{"argv"}},
		{"timeout of the wrong type", map[string]any{"command": "true", "timeout_ms": "soon"}, []string{"timeout_ms"}},
		{"fractional timeout", map[string]any{"command": "true", "timeout_ms": 1.5}, []string{"timeout_ms"}},
	} {
		refused(t, c.what, run(t, cs, c.args), c.want...)
	}
	refused(t, "no arguments at all", run(t, cs, nil), "give a command")

	// What is allowed is allowed: a link that stays inside, and an extra
	// writable root.
	r := run(t, cs, map[string]any{"command": "pwd", "cwd": "in"})
	ok(t, "a link inside the workspace", r, 0)
	if r.out.Stdout != filepath.Join(ws, "real")+"\n" {
		t.Errorf("cwd in: %q", r.out.Stdout)
	}
	r = run(t, cs, map[string]any{"command": "pwd", "cwd": extra})
	ok(t, "an extra writable root", r, 0)
	if r.out.Stdout != extra+"\n" {
		t.Errorf("cwd extra: %q", r.out.Stdout)
	}
}

// A sandbox that cannot be set up is a tool error naming the code.
func TestRunSetupFailure(t *testing.T) {
	ws := testutil.CanonicalTempDir(t)
	cfg := linuxConfig(t, ws)
	cfg.Sandbox.MediumIntegrity = true // an option of the Windows backend: cordon.Run refuses it
	cs := serve(t, cfg, nil)
	refused(t, "medium integrity on Linux", run(t, cs, map[string]any{"command": "true"}), "bad_request", "medium integrity", "nothing of it ran")
}

// The timeout kills the command; a call's own is capped at the server's.
func TestRunTimeout(t *testing.T) {
	ws := testutil.CanonicalTempDir(t)
	cfg := linuxConfig(t, ws)
	cfg.Sandbox.Timeout = time.Second
	cs := serve(t, cfg, nil)
	r := run(t, cs, map[string]any{"command": "echo before; sleep 60; echo after", "timeout_ms": 3_600_000})
	if r.isError || !r.out.TimedOut || r.out.ExitCode != -1 || r.out.TimeoutMS != 1000 || r.out.Stdout != "before\n" {
		t.Fatalf("capped timeout: %+v\n%s", r.out, r.text)
	}
	if !strings.Contains(r.text, "capped") || !strings.Contains(r.text, "TIMED OUT") {
		t.Errorf("the text does not say the timeout was capped and hit: %s", r.text)
	}

	cfg.Sandbox.Timeout = time.Minute
	cs = serve(t, cfg, nil)
	r = run(t, cs, map[string]any{"command": "sleep 60", "timeout_ms": 200})
	if r.isError || !r.out.TimedOut || r.out.TimeoutMS != 200 {
		t.Fatalf("the call's own timeout: %+v\n%s", r.out, r.text)
	}
}

// startSleep starts "sleep ARG" through the run tool, with an ARG no other
// process has, and returns its host pid once it runs.
func startSleep(t *testing.T, cs *mcp.ClientSession, ctx context.Context, shell string) (pid int, arg string, errc chan error) {
	t.Helper()
	arg = fmt.Sprintf("3600.%d", time.Now().UnixNano()%1e9)
	errc = make(chan error, 1)
	go func() {
		_, err := callTool(ctx, cs, "run", map[string]any{"command": strings.ReplaceAll(shell, "SLEEP", "sleep "+arg)})
		errc <- err
	}()
	testutil.WaitFor(t, "the sleep to start", func() bool { pid = testutil.ProcessWithArgs("sleep", arg); return pid != 0 })
	return pid, arg, errc
}

// serverEnds waits for Run to return, well within the 2-minute timeout
// that would also end the commands, and checks the sleep is gone.
func serverEnds(t *testing.T, done <-chan error, pid int, arg string) {
	t.Helper()
	runEnds(t, done)
	if testutil.ProcessAlive(pid, "sleep", arg) {
		t.Errorf("the command outlived the server")
	}
}

// The client's cancellation kills the command's whole tree: a grandchild
// in the background too.
func TestCancelKillsGrandchild(t *testing.T) {
	ws := testutil.CanonicalTempDir(t)
	cs := serve(t, linuxConfig(t, ws), nil)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	pid, arg, errc := startSleep(t, cs, ctx, "SLEEP & wait")
	cancel()
	if err := <-errc; !errors.Is(err, context.Canceled) {
		t.Errorf("the cancelled call returned %v", err)
	}
	testutil.WaitFor(t, "the grandchild to be killed after the cancellation", func() bool { return !testutil.ProcessAlive(pid, "sleep", arg) })
}

// A client that sends a progress token gets the output while the command
// runs: here the command waits for a file that the client creates only on
// reading its first line in a notification, so it can finish only if that
// line was streamed before the result.
func TestProgressStreamsOutput(t *testing.T) {
	ws := testutil.CanonicalTempDir(t)
	var mu sync.Mutex
	var msgs []string
	var progress []float64
	opts := &mcp.ClientOptions{ProgressNotificationHandler: func(_ context.Context, req *mcp.ProgressNotificationClientRequest) {
		mu.Lock()
		defer mu.Unlock()
		if req.Params.ProgressToken != "tok-1" {
			msgs = append(msgs, fmt.Sprintf("token %v: %s", req.Params.ProgressToken, req.Params.Message))
			return
		}
		msgs = append(msgs, req.Params.Message)
		progress = append(progress, req.Params.Progress)
		if strings.Contains(req.Params.Message, "first-line") {
			os.WriteFile(filepath.Join(ws, "go-on"), nil, 0o644)
		}
	}}
	cs := serve(t, linuxConfig(t, ws), opts)
	params := &mcp.CallToolParams{Name: "run", Arguments: map[string]any{
		"command":    "echo first-line; while [ ! -e go-on ]; do sleep 0.02; done; echo second-line >&2",
		"timeout_ms": 60_000,
	}}
	params.SetProgressToken("tok-1")
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	res, err := cs.CallTool(ctx, params)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := json.Marshal(res.StructuredContent)
	var out mcpserver.RunOutput
	json.Unmarshal(b, &out)
	if res.IsError || out.TimedOut || out.ExitCode != 0 || out.Stdout != "first-line\n" || out.Stderr != "second-line\n" {
		t.Fatalf("the command did not see the client's file, so its output was not streamed while it ran: %s", b)
	}
	// The client may handle the last notification after the result it
	// preceded on the wire.
	testutil.WaitFor(t, "the notification of the second line", func() bool {
		mu.Lock()
		defer mu.Unlock()
		return strings.Contains(strings.Join(msgs, ""), "second-line")
	})
	mu.Lock()
	all := strings.Join(msgs, "")
	if !strings.Contains(all, "first-line") || strings.Contains(all, "token ") {
		t.Errorf("notifications %q", msgs)
	}
	for i := 1; i < len(progress); i++ {
		if progress[i] <= progress[i-1] {
			t.Errorf("progress does not grow: %v", progress)
		}
	}
	n := len(msgs)
	mu.Unlock()

	// Without a token, no notification: a later call with another token
	// marks where the first call's notifications would have come.
	r := run(t, cs, map[string]any{"command": "echo quiet"})
	ok(t, "no token", r, 0)
	marker := &mcp.CallToolParams{Name: "run", Arguments: map[string]any{"command": "echo marker"}}
	marker.SetProgressToken("tok-2")
	if _, err := cs.CallTool(ctx, marker); err != nil {
		t.Fatal(err)
	}
	testutil.WaitFor(t, "the marker call's notification", func() bool {
		mu.Lock()
		defer mu.Unlock()
		return strings.Contains(strings.Join(msgs[n:], ""), "marker")
	})
	mu.Lock()
	if got := strings.Join(msgs[n:], ""); strings.Contains(got, "quiet") {
		t.Errorf("notifications without a progress token: %q", msgs[n:])
	}
	mu.Unlock()
}

// Two calls run at once, each in its own sandbox: each waits for a file the
// other creates, so they can finish only together.
func TestParallelCalls(t *testing.T) {
	ws := testutil.CanonicalTempDir(t)
	cs := serve(t, linuxConfig(t, ws), nil)
	var wg sync.WaitGroup
	results := make([]result, 2)
	for i, names := range [][2]string{{"a", "b"}, {"b", "a"}} {
		wg.Add(1)
		go func() {
			defer wg.Done()
			ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
			defer cancel()
			results[i], _ = callTool(ctx, cs, "run", map[string]any{
				"command":    fmt.Sprintf("touch %s; while [ ! -e %s ]; do sleep 0.02; done; echo %s-saw-%s", names[0], names[1], names[0], names[1]),
				"timeout_ms": 60_000,
			})
		}()
	}
	wg.Wait()
	for i, want := range []string{"a-saw-b\n", "b-saw-a\n"} {
		if r := results[i]; r.isError || r.out.TimedOut || r.out.Stdout != want {
			t.Errorf("call %d did not run alongside the other: %+v\n%s", i, r.out, r.text)
		}
	}
}

// Escapes through the tool: a call cannot write outside the workspace, and
// without --network cannot reach even a listener on the host's loopback.
func TestEscapes(t *testing.T) {
	ws, outside := testutil.CanonicalTempDir(t), testutil.CanonicalTempDir(t)
	cs := serve(t, linuxConfig(t, ws), nil)

	r := run(t, cs, map[string]any{"command": "echo x > inside && cat inside"})
	ok(t, "write inside (control)", r, 0)
	target := filepath.Join(outside, "escaped")
	r = run(t, cs, map[string]any{"command": "echo x > " + target})
	if r.isError || r.out.ExitCode == 0 {
		t.Errorf("writing outside the workspace: %+v\n%s", r.out, r.text)
	}
	if _, err := os.Stat(target); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("the sandboxed command wrote %s (stat: %v)", target, err)
	}
	r = run(t, cs, map[string]any{"command": "cd " + outside + " && touch escaped2"})
	if r.isError || r.out.ExitCode == 0 {
		t.Errorf("cd outside and write: %+v\n%s", r.out, r.text)
	}
	if _, err := os.Stat(filepath.Join(outside, "escaped2")); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("the sandboxed command wrote escaped2 (stat: %v)", err)
	}

	bash, err := exec.LookPath("bash")
	if err != nil {
		t.Skip("bash (for /dev/tcp) is not installed")
	}
	open, _ := testutil.LoopbackPorts(t)
	dial := map[string]any{"argv": []string{bash, "-c", "exec 3<>/dev/tcp/" + strings.Replace(open, ":", "/", 1) + " && echo connected"}}
	r = run(t, cs, dial)
	if r.isError || r.out.ExitCode == 0 || strings.Contains(r.out.Stdout, "connected") {
		t.Errorf("without the network the sandbox reached the host's loopback: %+v\n%s", r.out, r.text)
	}
	// A server with an allowlist says so, and still keeps a direct
	// connection from the host's loopback: only its proxy is reachable.
	cfg := linuxConfig(t, ws)
	cfg.Sandbox.Policy.NetworkAllowlist = &policy.NetworkAllowlist{AllowHosts: []string{"allowed.example:443", "127.0.0.1"}}
	cs = serve(t, cfg, nil)
	info, err := cs.CallTool(context.Background(), &mcp.CallToolParams{Name: "sandbox_info"})
	if err != nil || info.IsError {
		t.Fatalf("sandbox_info: %v %+v", err, info)
	}
	b, _ := json.Marshal(info.StructuredContent)
	var got mcpserver.InfoOutput
	json.Unmarshal(b, &got)
	if got.Network || !slices.Equal(got.AllowHosts, []string{"allowed.example:443", "127.0.0.1"}) ||
		!strings.Contains(info.Content[0].(*mcp.TextContent).Text, "only these hosts") {
		t.Errorf("sandbox_info with an allowlist: %s", b)
	}
	r = run(t, cs, dial)
	if r.isError || r.out.ExitCode == 0 || strings.Contains(r.out.Stdout, "connected") {
		t.Errorf("with an allowlist naming it, a direct connection reached the host's loopback: %+v\n%s", r.out, r.text)
	}
	// Control: the same with a server started with the network on.
	cfg = linuxConfig(t, ws)
	cfg.Sandbox.Policy.Network = true
	r = run(t, serve(t, cfg, nil), dial)
	ok(t, "with --network (control)", r, 0)
	if r.out.Stdout != "connected\n" {
		t.Errorf("control: %q", r.out.Stdout)
	}
}

// The server ends cleanly when its input ends (stdin closing, for cordon
// mcp), killing what still runs: a client that vanishes leaves nothing
// behind.
func TestInputEndKillsCommand(t *testing.T) {
	toServer, fromClient := io.Pipe()
	toClient, fromServer := io.Pipe()
	cs, done := start(t, context.Background(), linuxConfig(t, testutil.CanonicalTempDir(t)),
		&mcp.IOTransport{Reader: toServer, Writer: fromServer}, &mcp.IOTransport{Reader: toClient, Writer: fromClient}, nil)
	pid, arg, _ := startSleep(t, cs, context.Background(), "SLEEP")
	fromClient.Close() // the server's stdin ends
	serverEnds(t, done, pid, arg)
	toClient.Close()
}

// Run's context ending (cordon mcp's SIGTERM) kills what still runs too.
func TestServerStopKillsCommand(t *testing.T) {
	ctx, stop := context.WithCancel(context.Background())
	ct, st := mcp.NewInMemoryTransports()
	cs, done := start(t, ctx, linuxConfig(t, testutil.CanonicalTempDir(t)), st, ct, nil)
	defer cs.Close()
	pid, arg, _ := startSleep(t, cs, context.Background(), "SLEEP")
	stop()
	serverEnds(t, done, pid, arg)
}

// New refuses what cordon mcp must refuse at start (exit 125).
func TestNewRefuses(t *testing.T) {
	ws := testutil.CanonicalTempDir(t)
	file := filepath.Join(ws, "file")
	if err := os.WriteFile(file, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	outside := testutil.CanonicalTempDir(t)
	for _, c := range []struct {
		what string
		req  cordon.Request
		code string
	}{
		{"no mode", cordon.Request{Dir: ws}, "bad_policy"},
		{"missing cwd", cordon.Request{Policy: policy.Policy{Mode: policy.WorkspaceWrite}, Dir: filepath.Join(ws, "nope")}, "bad_request"},
		{"cwd is a file", cordon.Request{Policy: policy.Policy{Mode: policy.WorkspaceWrite}, Dir: file}, "bad_request"},
		{"missing writable root", cordon.Request{Policy: policy.Policy{Mode: policy.WorkspaceWrite, WritableRoots: []string{filepath.Join(ws, "..", "nope-root")}}, Dir: ws}, "bad_policy"},
		{"overlapping roots", cordon.Request{Policy: policy.Policy{Mode: policy.WorkspaceWrite, Cwd: ws, WritableRoots: []string{filepath.Join(ws, "sub")}}, Dir: ws}, "bad_policy"},
		{"default cwd outside the workspace", cordon.Request{Policy: policy.Policy{Mode: policy.WorkspaceWrite, Cwd: ws}, Dir: outside}, "bad_request"},
		{"negative timeout", cordon.Request{Policy: policy.Policy{Mode: policy.WorkspaceWrite}, Dir: ws, Timeout: -time.Second}, "bad_request"},
		{"unknown backend", cordon.Request{Policy: policy.Policy{Mode: policy.WorkspaceWrite}, Dir: ws, Backend: "chroot"}, "bad_request"},
	} {
		_, err := mcpserver.New(mcpserver.Config{Sandbox: c.req})
		if got := cordon.ErrorCode(err); got != c.code {
			t.Errorf("%s: error %v (code %q), want code %s", c.what, err, got, c.code)
		}
	}
	if _, err := mcpserver.New(mcpserver.Config{Sandbox: cordon.Request{Policy: policy.Policy{Mode: policy.ReadOnly}, Dir: ws}}); err != nil {
		t.Errorf("a read-only server: %v", err)
	}
}
