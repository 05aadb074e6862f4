package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"runtime/debug"
	"syscall"

	"github.com/cordon-sandbox/cordon"
	"github.com/cordon-sandbox/cordon/internal/mcpserver"
	"github.com/modelcontextprotocol/go-sdk/mcp"
)

const mcpUsage = `usage: cordon mcp [--policy read-only|workspace-write|JSON|@FILE] [--cwd DIR] [--writable-root DIR]...
                  [--network | --allow-host PATTERN...] [--timeout DUR] [--sandbox auto|linux|restricted-token|elevated|none] [--best-effort]
                  [--memory-limit N] [--process-limit N] [--medium-integrity] [--temp DIR] [--deny-read PATH]...
                  [--env NAME=VALUE]... [--env-keep NAME]... [--env-clear]
                  [--cache DIR]... [--no-cache-layers] [--cache-cap SIZE]

Serves the Model Context Protocol on stdin and stdout, for an AI agent: a
shell whose every command runs in the sandbox these flags fix, the flags of
'cordon run' (see cordon run -h). Nothing a tool call says can widen it: a
call's cwd must lie in the workspace (--cwd) or a --writable-root, its
timeout is capped at --timeout (default 10m, also the default of a call),
and there is no network or policy argument.

Tools:
  run           {command | argv, cwd?, timeout_ms?, stdin?} -> {exit_code, stdout,
                stderr, timed_out, truncated, duration_ms, sandbox, degraded, cwd,
                timeout_ms}; output streams as progress notifications
  sandbox_info  the policy in force and what this machine enforces
  explain       (Windows) may the sandbox read, write, delete PATH, and why

Each command is logged to cordon.log as 'cordon run' logs it. stdout carries
protocol messages only; warnings go to stderr.

Exit status: 0 when stdin closes or on SIGINT/SIGTERM (commands still running
are killed first); 125 when the flags or the policy are bad (one line
"cordon: CODE: ..."); 1 when the transport fails.
`

func runMCP(args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("mcp", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	sf := addSandboxFlags(fs)
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			// stdout is the protocol's; help is asked for by a person.
			fmt.Fprint(stdout, mcpUsage)
			return exitOK
		}
		fail(stderr, cordon.CodeBadRequest, err)
		return exitSetup
	}
	if fs.NArg() > 0 {
		fail(stderr, cordon.CodeBadRequest, fmt.Errorf("cordon mcp takes no command (got %q): the client sends commands through the run tool", fs.Arg(0)))
		return exitSetup
	}
	req, code, err := sf.request()
	if err != nil {
		fail(stderr, code, err)
		return exitSetup
	}
	srv, err := mcpserver.New(mcpserver.Config{Sandbox: req, Version: version()})
	if err != nil {
		var ce *cordon.Error
		if errors.As(err, &ce) {
			fail(stderr, ce.Code, ce.Err)
		} else {
			fail(stderr, cordon.CodeBadRequest, err)
		}
		return exitSetup
	}
	if req.Backend == "none" {
		fmt.Fprintln(stderr, "cordon: warning: --sandbox none: every command runs UNSANDBOXED, with all of your rights")
	}
	// SIGINT/SIGTERM end the commands still running, then the server.
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	in, ok := stdin.(io.ReadCloser)
	if !ok {
		in = io.NopCloser(stdin)
	}
	if err := srv.Run(ctx, &mcp.IOTransport{Reader: in, Writer: nopWriteCloser{stdout}}); err != nil {
		fail(stderr, "transport", err)
		return exitNo
	}
	return exitOK
}

type nopWriteCloser struct{ io.Writer }

func (nopWriteCloser) Close() error { return nil }

// version is the module version cordon was built at, for the client.
func version() string {
	if bi, ok := debug.ReadBuildInfo(); ok && bi.Main.Version != "" {
		return bi.Main.Version
	}
	return "devel"
}
