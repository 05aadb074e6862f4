package mcpserver

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/cordon-sandbox/cordon"
	"github.com/cordon-sandbox/cordon/policy"
	"github.com/google/jsonschema-go/jsonschema"
	"github.com/modelcontextprotocol/go-sdk/mcp"
)

// RunInput is the "run" tool's input.
type RunInput struct {
	Command   string   `json:"command,omitempty"`
	Argv      []string `json:"argv,omitempty"`
	Cwd       string   `json:"cwd,omitempty"`
	TimeoutMS int64    `json:"timeout_ms,omitempty"`
	Stdin     *string  `json:"stdin,omitempty"`
}

// RunOutput is the "run" tool's structured result.
type RunOutput struct {
	ExitCode   int      `json:"exit_code"`
	Stdout     string   `json:"stdout"`
	Stderr     string   `json:"stderr"`
	TimedOut   bool     `json:"timed_out"`
	Truncated  bool     `json:"truncated"`
	DurationMS int64    `json:"duration_ms"`
	Sandbox    string   `json:"sandbox"`
	Degraded   []string `json:"degraded"`
	Cwd        string   `json:"cwd"`
	TimeoutMS  int64    `json:"timeout_ms"`
}

func str(desc string) *jsonschema.Schema {
	return &jsonschema.Schema{Type: "string", Description: desc}
}

func runInputSchema(maxMS int64) *jsonschema.Schema {
	return &jsonschema.Schema{
		Type: "object",
		Properties: map[string]*jsonschema.Schema{
			"command": str(fmt.Sprintf("A command line for the platform shell (%s), e.g. \"go test ./... 2>&1 | tail -20\". Give exactly one of command and argv.", shellName())),
			"argv": {Type: "array", Items: &jsonschema.Schema{Type: "string"}, MinItems: jsonschema.Ptr(1),
				Description: "The program and its arguments, run without a shell (the program is looked up in PATH), e.g. [\"git\", \"status\"]. Give exactly one of command and argv."},
			"cwd": str("The working directory: absolute, or relative to the server's default working directory. It must lie inside the workspace or an extra writable root (see sandbox_info); links are resolved before the check. Default: the server's working directory."),
			"timeout_ms": {Type: "integer", Minimum: jsonschema.Ptr(1.0),
				Description: fmt.Sprintf("Kill the command and everything it started after this many milliseconds. Default and maximum: %d (the server's timeout); a larger value is capped.", maxMS)},
			"stdin": str("Text fed to the command's standard input. Default: none (the null device)."),
		},
		PropertyOrder:        []string{"command", "argv", "cwd", "timeout_ms", "stdin"},
		AdditionalProperties: &jsonschema.Schema{Not: &jsonschema.Schema{}},
	}
}

func runOutputSchema() *jsonschema.Schema {
	return &jsonschema.Schema{
		Type: "object",
		Properties: map[string]*jsonschema.Schema{
			"exit_code":   {Type: "integer", Description: "The command's exit status (128+N if signal N killed it), or -1 if it timed out."},
			"stdout":      str("What the command wrote to standard output (its head and tail if truncated)."),
			"stderr":      str("What the command wrote to standard error (its head and tail if truncated)."),
			"timed_out":   {Type: "boolean", Description: "The timeout killed the command and everything it started."},
			"truncated":   {Type: "boolean", Description: "stdout or stderr was too long: its middle was left out, and a line says how many bytes."},
			"duration_ms": {Type: "integer", Description: "How long the command ran, in milliseconds."},
			"sandbox":     str("The sandbox backend that ran the command: linux, restricted-token, or none (unsandboxed)."),
			"degraded":    {Type: "array", Items: &jsonschema.Schema{Type: "string"}, Description: "Protections the policy asked for that were NOT enforced on this run (only with --best-effort); empty when everything was."},
			"cwd":         str("The directory the command ran in, every link resolved."),
			"timeout_ms":  {Type: "integer", Description: "The timeout that applied, in milliseconds."},
		},
		Required:      []string{"exit_code", "stdout", "stderr", "timed_out", "truncated", "duration_ms", "sandbox", "degraded", "cwd", "timeout_ms"},
		PropertyOrder: []string{"exit_code", "stdout", "stderr", "timed_out", "truncated", "duration_ms", "sandbox", "degraded", "cwd", "timeout_ms"},
	}
}

func (s *Server) runDescription() string {
	w := s.ws
	var b strings.Builder
	fmt.Fprintf(&b, "Run a shell command in cordon's sandbox on this %s machine and return its exit code and output. ", goosName())
	if w.resolved.Mode == policy.ReadOnly {
		b.WriteString("The sandbox is read-only: the command can write nothing (but the null device). ")
	} else {
		fmt.Fprintf(&b, "The command may write only inside %s (and a private temporary directory), never the protected names %s inside them. ",
			joinPaths(w.writable()), strings.Join(w.resolved.Protected, ", "))
	}
	fmt.Fprintf(&b, "Network: %s. ", networkText(w.resolved.Network, allowHosts(w.resolved.Allowlist)))
	fmt.Fprintf(&b, "It runs in %s unless cwd says otherwise, and is killed with everything it started after %s. ", w.dir, s.cfg.Sandbox.Timeout)
	b.WriteString("A command that fails is a normal result with its exit code; a call the sandbox refuses (cwd outside the workspace, both or neither of command and argv) is an error that says why. Output is streamed as progress notifications when the client asks for progress. Call sandbox_info for the full policy.")
	return b.String()
}

func (s *Server) addRun() {
	maxMS := s.cfg.Sandbox.Timeout.Milliseconds()
	mcp.AddTool(s.mcp, &mcp.Tool{
		Name:         "run",
		Title:        "Run a command in the sandbox",
		Description:  s.runDescription(),
		InputSchema:  runInputSchema(maxMS),
		OutputSchema: runOutputSchema(),
		Annotations: &mcp.ToolAnnotations{
			ReadOnlyHint:    s.ws.resolved.Mode == policy.ReadOnly,
			DestructiveHint: jsonschema.Ptr(s.ws.resolved.Mode != policy.ReadOnly),
			OpenWorldHint:   jsonschema.Ptr(s.ws.resolved.Network || s.ws.resolved.Allowlist != nil),
		},
	}, s.run)
}

// refusal is a call the sandbox refuses: a tool error, never a protocol
// error, whose text says why and what would be allowed.
func refusal(format string, args ...any) error {
	return fmt.Errorf("refused: "+format, args...)
}

func (s *Server) run(ctx context.Context, call *mcp.CallToolRequest, in RunInput) (res *mcp.CallToolResult, out RunOutput, err error) {
	defer func() {
		if r := recover(); r != nil {
			res, out, err = nil, RunOutput{}, fmt.Errorf("internal error: %v", r)
		}
	}()
	req := s.cfg.Sandbox // a copy: the sandbox is the server's
	switch {
	case in.Command != "" && len(in.Argv) > 0:
		return nil, out, refusal("give exactly one of command (a shell command line) and argv (a program and its arguments), not both")
	case len(in.Argv) > 0:
		if in.Argv[0] == "" {
			return nil, out, refusal("argv[0], the program, is empty")
		}
		req.Command = in.Argv
	case strings.TrimSpace(in.Command) != "":
		req.Command = shell(in.Command)
	default:
		return nil, out, refusal("give a command: command (a shell command line for %s) or argv (a program and its arguments)", shellName())
	}
	timeout := s.cfg.Sandbox.Timeout
	var notes []string
	switch {
	case in.TimeoutMS < 0:
		return nil, out, refusal("timeout_ms %d is negative; give 1 to %d, or leave it out for %d", in.TimeoutMS, timeout.Milliseconds(), timeout.Milliseconds())
	case in.TimeoutMS > 0 && in.TimeoutMS < timeout.Milliseconds():
		timeout = time.Duration(in.TimeoutMS) * time.Millisecond
	case in.TimeoutMS > timeout.Milliseconds():
		notes = append(notes, fmt.Sprintf("timeout_ms %d was capped at the server's maximum, %d", in.TimeoutMS, timeout.Milliseconds()))
	}
	req.Timeout = timeout
	if req.Dir, err = s.ws.resolveDir(in.Cwd, ""); err != nil {
		return nil, out, refusal("%v", err)
	}
	if in.Stdin != nil {
		req.Stdin = strings.NewReader(*in.Stdin)
	}
	stdout, stderr := newHeadTail(s.cfg.OutputLimit), newHeadTail(s.cfg.OutputLimit)
	req.Stdout, req.Stderr = io.Writer(stdout), io.Writer(stderr)
	req.CaptureLimit = -1 // kept here, head and tail
	var stream *progress
	if tok := call.Params.GetProgressToken(); tok != nil && call.Session != nil {
		stream = newProgress(func(msg string, total int64) {
			call.Session.NotifyProgress(ctx, &mcp.ProgressNotificationParams{ProgressToken: tok, Message: msg, Progress: float64(total)})
		})
		req.Stdout, req.Stderr = io.MultiWriter(stdout, stream), io.MultiWriter(stderr, stream)
	}
	runCtx, cancel := s.callContext(ctx)
	defer cancel()
	r, runErr := cordon.Run(runCtx, req)
	if stream != nil {
		stream.close()
	}
	switch code := cordon.ErrorCode(runErr); {
	case runErr == nil:
	case code == "teardown_failed":
		notes = append(notes, "warning: the command ran, but releasing its sandbox failed: "+errors.Unwrap(runErr).Error())
	case code != "":
		return nil, out, fmt.Errorf("the sandbox could not run the command (%v); nothing of it ran", runErr)
	default:
		return nil, out, fmt.Errorf("cancelled: %v", runErr)
	}
	out = RunOutput{
		ExitCode: r.ExitCode, TimedOut: r.TimedOut, DurationMS: r.Duration.Milliseconds(),
		Sandbox: r.Backend, Degraded: r.Degraded, Cwd: req.Dir, TimeoutMS: timeout.Milliseconds(),
	}
	var t1, t2 bool
	out.Stdout, t1 = stdout.result()
	out.Stderr, t2 = stderr.result()
	out.Truncated = t1 || t2
	if out.Degraded == nil {
		out.Degraded = []string{}
	}
	return &mcp.CallToolResult{Content: []mcp.Content{&mcp.TextContent{Text: runText(out, timeout, notes)}}}, out, nil
}

// runText is the result as a model reads it best: the outcome first, then
// each stream that has anything.
func runText(o RunOutput, timeout time.Duration, notes []string) string {
	var b strings.Builder
	switch {
	case o.TimedOut:
		fmt.Fprintf(&b, "TIMED OUT after %s: the command and everything it started were killed.", timeout)
	default:
		fmt.Fprintf(&b, "exit code %d", o.ExitCode)
	}
	fmt.Fprintf(&b, " (%d ms, sandbox %s, cwd %s)\n", o.DurationMS, o.Sandbox, o.Cwd)
	if o.Sandbox == "none" {
		b.WriteString("warning: the command ran UNSANDBOXED (--sandbox none)\n")
	}
	for _, d := range o.Degraded {
		fmt.Fprintf(&b, "warning: not enforced: %s\n", d)
	}
	for _, n := range notes {
		b.WriteString(n + "\n")
	}
	section := func(name, text string) {
		if text == "" {
			return
		}
		fmt.Fprintf(&b, "--- %s ---\n%s", name, text)
		if !strings.HasSuffix(text, "\n") {
			b.WriteString("\n")
		}
	}
	section("stdout", o.Stdout)
	section("stderr", o.Stderr)
	if o.Stdout == "" && o.Stderr == "" {
		b.WriteString("(no output)\n")
	}
	if o.Truncated {
		b.WriteString("(output truncated: its middle was left out)\n")
	}
	return b.String()
}
