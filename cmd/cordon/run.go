package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"

	"github.com/cordon-sandbox/cordon"
	"github.com/cordon-sandbox/cordon/internal/termguard"
	"github.com/cordon-sandbox/cordon/policy"
)

const runUsage = `usage: cordon run [--policy read-only|workspace-write|JSON|@FILE] [--cwd DIR] [--writable-root DIR]...
                  [--network | --allow-host PATTERN...] [--timeout DUR] [--json] [--sandbox auto|linux|restricted-token|elevated|none] [--best-effort]
                  [--memory-limit N] [--process-limit N] [--medium-integrity] [--temp DIR]
                  [--env NAME=VALUE]... [--env-keep NAME]... [--env-clear]
                  [--cache DIR]... [--no-cache-layers] [--cache-cap SIZE] -- COMMAND [ARGS...]

Runs COMMAND in a sandbox. It may write only inside the cwd, the temp
directory and the extra writable roots (none in read-only mode), never the
protected names inside them (.git, .codex, .agents, .claude, .gemini, .cursor,
.vscode, .idea and the policy's own), and
with the network off it cannot open network sockets.

  --policy P         read-only, workspace-write (default), a JSON policy or @FILE
  --cwd DIR          working directory and workspace (default: the current directory)
  --writable-root D  an extra writable root (repeatable)
  --network          allow network access
  --allow-host P     allow the network only to hosts matching P, through cordon's proxy
                     (repeatable): a host name, *.suffix, or an IP address, each with an
                     optional :port, or preset:npm|pypi|go|crates|github. Adds to the
                     policy's "network": {"allow_hosts": [...]}. Linux only; elsewhere
                     refused unless --best-effort (then: no network)
  --timeout DUR      kill the command and everything it started after DUR (e.g. 30s)
  --json             print {"exit_code","stdout","stderr","timed_out","duration_ms",
                     "sandbox","truncated","env_dropped","deny_read"}, and with an
                     allowlist "network": {"allowed": [{"host","port","rule","count"}],
                     "denied": [{"host","port","reason","count"}]}
  --sandbox B        auto (the platform's sandbox; never unsandboxed), linux,
                     restricted-token (Windows; auto picks it only with
                     CORDON_EXPERIMENTAL_WINDOWS_SANDBOX=1), elevated
                     (Windows, as a sandbox user, after cordon setup; auto
                     prefers it then, with the same switch), or none
  --best-effort      run even if a layer the policy needs is missing here (see cordon probe)
  --memory-limit N   cap the committed memory of the whole tree: bytes, or with K, M or G
  --process-limit N  cap how many processes of the tree may live at once
                     (Windows: the job object; Linux: a cgroup, or RLIMIT_NPROC
                     for processes; a limit that cannot be enforced here is
                     refused unless --best-effort. Linux caps every run at
                     2048 tasks by default)
  --medium-integrity Windows: run at Medium integrity, not Low, and leave the roots
                     unlabelled. Under the H2 reading of Windows' write-restricted
                     check the command may then delete anything you may delete
                     outside the roots (see README, Windows); use it only if a
                     program fails at Low
  --deny-read PATH   the command may not read PATH (repeatable; ~/ is your home), in
                     addition to the policy's "deny_read" and the default list of
                     credential paths (~/.ssh, ~/.aws, ~/.netrc, browser profiles, ...;
                     "default_deny_read": false in the policy turns it off)
  --cache DIR        one more tool cache the command may write through a layer of the
                     workspace's own (repeatable; ~/ is your home). Go, npm, pip, cargo,
                     Maven, Gradle and ~/.cache are built in (see cordon cache); yours
                     are never written
  --no-cache-layers  leave the tool caches read-only (no layers)
  --cache-cap SIZE   bound the workspace's cache layers (default 5G; 0: no cap); past it,
                     the least recently used files the sandbox added go after a run
  --temp DIR         Windows: the command's TEMP/TMP, a directory of yours made writable
                     on purpose (default: the workspace's own temp directory under
                     cordon's state directory; your own TEMP is left alone)
  --env NAME=VALUE   give the command this variable, whatever the filter says (repeatable)
  --env-keep NAME    exempt this variable from the filter; '*' matches any run of
                     characters, e.g. AWS_* (repeatable)
  --env-clear        keep only a baseline (PATH, HOME, USER, LANG, LC_*, TERM, TZ, the
                     temp variables; on Windows also SystemRoot, USERPROFILE, ...)
                     and the --env-keep names

The command's environment is cordon's own, filtered: variables whose names
match *KEY*, *SECRET*, *TOKEN*, *PASSWORD* or *CREDENTIAL* (in any case),
SSH_AUTH_SOCK and GPG_AGENT_INFO are dropped. The flags add to the policy's
"env" settings. --json and cordon.log name the dropped variables, never a value.

Exit status: the command's; 124 when the timeout killed it; 125 when the
sandbox could not be set up or the input is bad (one line "cordon: CODE: ...").
If releasing the sandbox fails after the command ran, "cordon: teardown_failed:
..." is printed and the exit status is still the command's.
`

const (
	exitTimeout = 124
	exitSetup   = 125
)

func runRun(args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("run", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	sf := addSandboxFlags(fs)
	asJSON := fs.Bool("json", false, "")
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			fmt.Fprint(stdout, runUsage)
			return exitOK
		}
		fail(stderr, cordon.CodeBadRequest, err)
		return exitSetup
	}
	command := fs.Args()
	if len(command) == 0 {
		fail(stderr, cordon.CodeBadRequest, fmt.Errorf("no command given (cordon run [flags] -- COMMAND [ARGS...])"))
		return exitSetup
	}
	req, code, err := sf.request()
	if err != nil {
		fail(stderr, code, err)
		return exitSetup
	}
	if req.Backend == "none" {
		fmt.Fprintln(stderr, "cordon: warning: --sandbox none: the command runs UNSANDBOXED, with all of your rights")
	}
	// cordon's own SIGINT/SIGTERM/SIGHUP/SIGQUIT end the sandboxed tree
	// before cordon goes, and put your terminal back: caught before the
	// terminal guard changes its mode.
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM, syscall.SIGHUP, syscall.SIGQUIT)
	defer stop()
	// The command never holds your terminal: termguard stands between
	// (a pseudo-terminal on Linux, the escape-sequence filter everywhere).
	var outs [2]io.Writer
	if !*asJSON {
		outs = [2]io.Writer{stdout, stderr}
	}
	guard, err := termguard.Start(stdin, outs[0], outs[1])
	if err != nil {
		fail(stderr, cordon.CodeUnavailable, err)
		return exitSetup
	}
	req.Command, req.Stdin, req.OwnTerminal = command, guard.Stdin(), true
	if !*asJSON {
		req.Stdout, req.Stderr = guard.Stdout(), guard.Stderr()
		req.CaptureLimit = -1
	}
	// Typing Ctrl-C three times ends a command that ignores it.
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	go func() {
		select {
		case <-guard.Interrupted():
			cancel()
		case <-ctx.Done():
		}
	}()
	res, err := cordon.Run(ctx, req)
	if dropped, gerr := guard.Close(); gerr != nil {
		fmt.Fprintf(stderr, "cordon: warning: your terminal: %v\n", gerr)
	} else if dropped.Total() > 0 {
		fmt.Fprintf(stderr, "cordon: kept from your terminal: %s\n", dropped)
	}
	if cordon.ErrorCode(err) == cordon.CodeTeardownFailed {
		// The command ran: report the failure, then exit as it did.
		fail(stderr, cordon.CodeTeardownFailed, errors.Unwrap(err))
		err = nil
	}
	if err != nil {
		code := cordon.ErrorCode(err)
		if code == "" {
			code = codeInterrupted
		}
		var ce *cordon.Error
		if errors.As(err, &ce) {
			err = ce.Err
		}
		fail(stderr, code, err)
		return exitSetup
	}
	for _, d := range res.Degraded {
		fmt.Fprintf(stderr, "cordon: warning: not enforced: %s\n", d)
	}
	if *asJSON {
		out := struct {
			ExitCode   int                   `json:"exit_code"`
			Stdout     string                `json:"stdout"`
			Stderr     string                `json:"stderr"`
			TimedOut   bool                  `json:"timed_out"`
			DurationMS int64                 `json:"duration_ms"`
			Sandbox    string                `json:"sandbox"`
			Truncated  bool                  `json:"truncated"`
			EnvDropped []string              `json:"env_dropped"`
			DenyRead   []string              `json:"deny_read"`
			Degraded   []string              `json:"degraded,omitempty"`
			Network    *cordon.NetworkReport `json:"network,omitempty"`
		}{res.ExitCode, string(res.Stdout), string(res.Stderr), res.TimedOut, res.Duration.Milliseconds(), res.Backend, res.Truncated, res.EnvDropped, res.DenyRead, res.Degraded, res.Network}
		if out.EnvDropped == nil {
			out.EnvDropped = []string{}
		}
		if out.DenyRead == nil {
			out.DenyRead = []string{}
		}
		enc := json.NewEncoder(stdout)
		enc.Encode(out)
	}
	if res.TimedOut {
		if !*asJSON {
			fmt.Fprintf(stderr, "cordon: timeout: killed after %s\n", req.Timeout)
		}
		return exitTimeout
	}
	return res.ExitCode
}

// addEnvFlags adds --env, --env-keep and --env-clear to the policy's env
// settings: the flags add to what the policy says, and an --env replaces
// the policy's value for its name. Errors name the flag, never a value.
func addEnvFlags(e *policy.EnvPolicy, set, keep []string, clear bool) error {
	for _, kv := range set {
		name, value, ok := strings.Cut(kv, "=")
		if !ok {
			// Not echoed: it may be a value given without its name.
			return fmt.Errorf("--env: want NAME=VALUE, got an argument without '='")
		}
		if err := policy.CheckEnvName(name); err != nil {
			return fmt.Errorf("--env: %w", err)
		}
		if e.Set == nil {
			e.Set = map[string]string{}
		}
		e.Set[name] = value
	}
	for _, k := range keep {
		if err := policy.CheckEnvName(k); err != nil {
			return fmt.Errorf("--env-keep: %w", err)
		}
		e.Keep = append(e.Keep, k)
	}
	e.Clear = e.Clear || clear
	return nil
}

const probeUsage = `usage: cordon probe [--json]

Reports which sandbox backends work on this machine and what each layer
enforces. A layer is reported available only if it was tried and worked.
`

func runProbe(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("probe", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	asJSON := fs.Bool("json", false, "")
	if code, done := parseFlags(fs, args, probeUsage, stdout, stderr); done {
		return code
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	probes := cordon.Probe(ctx)
	if *asJSON {
		writeJSON(stdout, probes)
		return exitOK
	}
	for _, p := range probes {
		state := "available"
		if !p.Available {
			state = "UNAVAILABLE: " + p.Reason
		}
		fmt.Fprintf(stdout, "%s: %s\n", p.Backend, state)
		for _, l := range p.Layers {
			mark := "yes"
			if !l.Available {
				mark = "NO "
			}
			fmt.Fprintf(stdout, "  %s %-18s %s", mark, l.Name, l.Enforces)
			if l.Detail != "" {
				fmt.Fprintf(stdout, " (%s)", l.Detail)
			}
			fmt.Fprintln(stdout)
		}
	}
	return exitOK
}

// parseSize reads a byte count (policy.ParseSize: digits, optionally
// followed by K, M, G or T). Zero is refused: it would be no limit.
func parseSize(s string) (uint64, error) {
	v, err := policy.ParseSize(s)
	if err == nil && v == 0 {
		err = fmt.Errorf("%q is not a positive size", s)
	}
	return v, err
}
