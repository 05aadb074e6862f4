package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"

	"github.com/cordon-sandbox/cordon/internal/sandboxusers"
	"github.com/cordon-sandbox/cordon/internal/statedir"
)

const setupUsage = `usage: cordon setup [--dry-run] [--remove] [--json]

Windows only. Creates or repairs what the elevated mode runs commands with:
the local group CordonSandboxUsers and the users CordonSandboxOffline and
CordonSandboxOnline (members of Users, never of Administrators; passwords
that never expire, kept DPAPI-protected in cordon's state directory;
hidden from the logon screen), the offline user's network fence (WFP
filters), and a versioned marker. Run again, it
changes nothing when all is well and repairs what is not. It asks for
administrator rights once, through the UAC prompt, when not already an
administrator.

  --dry-run  print what it would do and change nothing (no prompt)
  --remove   undo all of it: first every ACE, label and placeholder cordon
             recorded (as cordon cleanup does, read grants included), then
             the network fence, then the users, their profiles, the group,
             the passwords and the marker
  --json     print {"planned": [...], "done": N, "output": ...} on stdout

Exit status: 0 done; 1 setup failed, with a stable code and what to do
("cordon: setup_cancelled: ..."; codes: setup_cancelled, setup_needs_admin,
setup_other_admin, setup_password_policy, setup_logon_failed,
setup_secret_failed, setup_busy, setup_unsupported, setup_failed; and
for --remove, cleanup_failed, busy or bad_record when the recorded ACEs
could not all be undone: nothing is deleted then); 2 bad input.
`

func runSetup(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("setup", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	dryRun := fs.Bool("dry-run", false, "")
	remove := fs.Bool("remove", false, "")
	asJSON := fs.Bool("json", false, "")
	// Set by cordon on the copy of itself it starts elevated: that copy
	// has its own hidden console and hands its outcome back in this file.
	resultFile := fs.String("elevated-result", "", "")
	forUser := fs.String("for-user", "", "")
	stateDir := fs.String("state-dir", "", "")
	if code, done := parseFlags(fs, args, setupUsage, stdout, stderr); done {
		return code
	}
	if fs.NArg() > 0 {
		fail(stderr, codeUsage, fmt.Errorf("setup takes no arguments, got %q", fs.Arg(0)))
		return exitBadInput
	}
	opts := sandboxusers.Options{DryRun: *dryRun, Remove: *remove, StateDir: *stateDir, ForUserSID: *forUser}
	if opts.StateDir == "" {
		dir, err := statedir.Dir()
		if err != nil {
			fail(stderr, codeStateDir, err)
			return exitBadInput
		}
		opts.StateDir = dir
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	if *resultFile != "" {
		res, err := setupAccountsAndFence(ctx, opts, hostFence)
		if werr := res.Write(*resultFile, err); werr != nil {
			fail(stderr, string(sandboxusers.CodeFailed), fmt.Errorf("write the result for the unelevated cordon: %w", werr))
			return exitNo
		}
		if err != nil {
			return exitNo
		}
		return exitOK
	}
	res, err := runSetupHere(ctx, opts)
	if *asJSON {
		if res.Planned == nil {
			res.Planned = []string{}
		}
		b, _ := json.MarshalIndent(res, "", "  ")
		fmt.Fprintf(stdout, "%s\n", b)
	} else {
		io.WriteString(stdout, res.Output)
	}
	if err != nil {
		code := string(sandboxusers.ErrorCode(err))
		var ge *grantsError
		if errors.As(err, &ge) {
			code = ge.code
		}
		fail(stderr, code, err)
		var e interface{ Hint() string }
		if errors.As(err, &e) && e.Hint() != "" {
			fmt.Fprintf(stderr, "cordon: what to do: %s\n", e.Hint())
		} else if res.Hint != "" {
			fmt.Fprintf(stderr, "cordon: what to do: %s\n", res.Hint)
		}
		return exitNo
	}
	return exitOK
}

// runSetupInProcess runs the setup in this process and returns its
// outcome in the form an elevated copy hands back.
func runSetupInProcess(ctx context.Context, opts sandboxusers.Options) (sandboxusers.Result, error) {
	return setupAccountsAndFence(ctx, opts, hostFence)
}

// setupAccountsAndFence is the administrator's part of the setup: the
// accounts (sandboxusers.Setup), then the network fence keyed on the
// offline user's SID; removal goes the other way round, the fence first,
// while that SID still names an account.
func setupAccountsAndFence(ctx context.Context, opts sandboxusers.Options, fence fenceOps) (sandboxusers.Result, error) {
	accounts := func() (sandboxusers.Result, error) {
		var out bytes.Buffer
		rep, err := sandboxusers.Setup(ctx, opts, &out)
		return sandboxusers.ResultOf(rep, out.String()), err
	}
	if opts.Remove {
		f, err := setupFence(fence, opts)
		if err != nil {
			return f, err
		}
		a, err := accounts()
		return merge(f, a), err
	}
	a, err := accounts()
	if err != nil {
		return a, err
	}
	f, err := setupFence(fence, opts)
	return merge(a, f), err
}
