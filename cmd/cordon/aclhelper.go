package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"path/filepath"

	"github.com/cordon-sandbox/cordon"
	"github.com/cordon-sandbox/cordon/internal/aclhelper"
	"github.com/cordon-sandbox/cordon/internal/readacl"
	"github.com/cordon-sandbox/cordon/internal/statedir"
	"github.com/cordon-sandbox/cordon/ntsec"
	"github.com/cordon-sandbox/cordon/policy"
)

const aclHelperUsage = `usage: cordon acl-helper [--state-dir DIR] [--retry-failed] [--json]
                         [--cwd DIR [--policy P] [--writable-root DIR]... [--deny-read PATH]...]

Windows only. The elevated mode's read-grant helper: applies the read
grants queued in the journal (read-acl-journal.json in the state
directory) for the group CordonSandboxUsers, one at a time on the machine
(the named mutex Local\CordonReadAcl), each checked before it is written,
and exits when none is left. A helper killed midway is resumed by the next
one from the item it was applying. Progress goes to cordon.log in the
state directory and to stderr. cordon starts it detached when a run
queues grants; run it by hand to finish work a dead helper left (cordon
doctor says when).

  --cwd DIR          also plan and queue the grants for this workspace (its
                     cwd, writable roots and your profile's children but the
                     secret ones), as a run would
  --policy, --writable-root, --deny-read   as for cordon run, with --cwd
  --retry-failed     queue again the grants that failed (after their cause,
                     say an access denied, was dealt with)
  --state-dir DIR    cordon's state directory (default: CORDON_STATE_DIR or
                     the usual one)
  --json             print {"ran", "busy", "requeued", "state": {"done",
                     "failed", "pending", "running", "current", "updated",
                     "corrupt"}, "failed": [{"path", "sid", "mask", "failed", ...}]}

Exit status: 0 the journal is drained, or another helper holds the mutex
and takes the work ("busy"); 1 some grants failed (read_acl_failed; they
stay in the journal marked failed, see cordon doctor) or the helper could
not work (acl_helper_failed); 2 bad input; 3 not Windows
(elevated_unsupported).
`

const (
	codeReadACLFailed   = "read_acl_failed"
	codeACLHelperFailed = "acl_helper_failed"
)

// aclHelperJob is one helper run, the same on every OS: only the
// applier and the live plan input are Windows'.
type aclHelperJob struct {
	Dir         string
	MutexName   string
	RetryFailed bool
	// Plan, when set, queues this workspace's grants (aclhelper.ReadPlan).
	Plan    func(ctx context.Context) ([]aclhelper.Item, error)
	Applier aclhelper.Applier
	// Group is the sandbox group's SID: the only SID a journal item may
	// name (aclhelper.Item.Check).
	Group ntsec.SID
	Logf  func(format string, args ...any)
}

// aclHelperResult is what `cordon acl-helper --json` prints.
type aclHelperResult struct {
	// Ran says this helper held the mutex and drained the journal.
	Ran bool `json:"ran"`
	// Busy says another helper held it: the items are queued for it.
	Busy     bool             `json:"busy"`
	Requeued int              `json:"requeued"`
	State    aclhelper.State  `json:"state"`
	Failed   []aclhelper.Item `json:"failed"`
}

// runACLHelperJob runs the helper once. err is a failure to work at all,
// or the items that failed (then res.State.Failed > 0).
func runACLHelperJob(ctx context.Context, j aclHelperJob) (res aclHelperResult, err error) {
	logf := j.Logf
	if logf == nil {
		logf = func(string, ...any) {}
	}
	if j.RetryFailed {
		if res.Requeued, err = aclhelper.RequeueFailed(ctx, j.Dir); err != nil {
			return res, err
		}
		logf("read ACL helper: %d failed grants queued again", res.Requeued)
	}
	if j.Plan == nil {
		// Nothing to queue, but a corrupt journal must still be replaced,
		// or it would stay corrupt (Run's drain only reads it); the next
		// run's plan finds again what it held.
		if st, err := aclhelper.Status(j.Dir, nil); err == nil && st.Corrupt {
			if err := aclhelper.Enqueue(ctx, j.Dir, nil, logf); err != nil {
				return res, err
			}
		}
	}
	mu, err := aclhelper.NewMutex(j.MutexName, j.Dir)
	if err != nil {
		return res, err
	}
	defer mu.Close()
	logf("read ACL helper: started (pid %d)", os.Getpid())
	err = aclhelper.Run(ctx, aclhelper.Config{Dir: j.Dir, Mutex: mu, Plan: j.Plan, Applier: j.Applier, Group: j.Group, Logf: logf})
	switch {
	case errors.Is(err, aclhelper.ErrHeld):
		res.Busy, err = true, nil
		logf("read ACL helper: another helper holds %s and takes the queued work; exiting", j.MutexName)
	default:
		res.Ran = true
	}
	st, serr := aclhelper.Status(j.Dir, nil)
	res.State = st
	if res.Failed, _ = aclhelper.Failures(j.Dir); res.Failed == nil {
		res.Failed = []aclhelper.Item{}
	}
	if err == nil {
		err = serr
	}
	if res.Ran {
		logf("read ACL helper: done (%d applied, %d failed, %d pending); exiting", st.Done-st.Failed, st.Failed, st.Pending)
	}
	return res, err
}

// helperLog returns a logf that appends to cordon.log in dir, in the
// format of cordon's own log lines, and writes to stderr. A log that
// cannot be opened only means no log.
func helperLog(dir string, stderr io.Writer) (func(string, ...any), func()) {
	var l *slog.Logger
	closeLog := func() {}
	if f, err := os.OpenFile(filepath.Join(dir, "cordon.log"), os.O_CREATE|os.O_APPEND|os.O_WRONLY, 0o600); err == nil {
		l = slog.New(slog.NewTextHandler(f, nil)).With("component", "acl-helper", "pid", os.Getpid())
		closeLog = func() { f.Close() }
	}
	return func(format string, args ...any) {
		msg := fmt.Sprintf(format, args...)
		if l != nil {
			l.Info(msg)
		}
		fmt.Fprintf(stderr, "cordon: %s\n", msg)
	}, closeLog
}

func runACLHelper(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("acl-helper", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	dir := fs.String("state-dir", "", "")
	retry := fs.Bool("retry-failed", false, "")
	asJSON := fs.Bool("json", false, "")
	cwd := fs.String("cwd", "", "")
	pol := fs.String("policy", "workspace-write", "")
	var roots, denyRead multiFlag
	fs.Var(&roots, "writable-root", "")
	fs.Var(&denyRead, "deny-read", "")
	if code, done := parseFlags(fs, args, aclHelperUsage, stdout, stderr); done {
		return code
	}
	if fs.NArg() > 0 {
		fail(stderr, codeUsage, fmt.Errorf("acl-helper takes no arguments, got %q", fs.Arg(0)))
		return exitBadInput
	}
	if *cwd == "" && (len(roots) > 0 || len(denyRead) > 0) {
		fail(stderr, codeUsage, errors.New("--writable-root and --deny-read need --cwd"))
		return exitBadInput
	}
	var res *policy.Resolved
	if *cwd != "" {
		var err error
		if res, err = helperPolicy(*pol, *cwd, roots, denyRead); err != nil {
			return report(stderr, err)
		}
	}
	if *dir == "" {
		d, err := statedir.Dir()
		if err != nil {
			return report(stderr, coded(codeStateDir, err))
		}
		*dir = d
	}
	host, ok := hostACLHelper()
	if !ok {
		fail(stderr, codeElevatedUnsupported, errElevatedUnsupported)
		return exitUnsupported
	}
	if err := os.MkdirAll(*dir, 0o700); err != nil {
		return report(stderr, coded(codeStateDir, err))
	}
	logf, closeLog := helperLog(*dir, stderr)
	defer closeLog()
	// Every grant goes into cordon's ACE record before it is written, so
	// that cleanup and setup --remove undo it.
	applier := aclhelper.Recorded{Dir: *dir, Applier: host.Applier}
	job := aclHelperJob{Dir: *dir, MutexName: aclhelper.MutexName, RetryFailed: *retry, Applier: applier, Logf: logf}
	// The journal is applied as you: without the group's SID to check its
	// items against, nothing is applied.
	group, err := host.Group()
	if err != nil {
		fail(stderr, codeACLHelperFailed, fmt.Errorf("the sandbox group: %w", err))
		fmt.Fprintln(stderr, "cordon: what to do: cordon setup")
		return exitNo
	}
	job.Group = group
	if res != nil {
		in, err := host.Input(res)
		if err != nil {
			fail(stderr, codeACLHelperFailed, fmt.Errorf("read plan input: %w", err))
			fmt.Fprintln(stderr, "cordon: what to do: cordon doctor")
			return exitNo
		}
		// The state directory is not the sandbox's to read: your other
		// runs' command lines, the record, the journal, other workspaces'
		// temp directories.
		state, err := filepath.Abs(*dir)
		if err != nil {
			return report(stderr, coded(codeStateDir, err))
		}
		in.Private = append(in.Private, state)
		job.Plan = aclhelper.ReadPlan(in)
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	r, err := runACLHelperJob(ctx, job)
	return printACLHelper(r, err, *asJSON, stdout, stderr)
}

// printACLHelper renders the result and returns the exit status.
func printACLHelper(r aclHelperResult, err error, asJSON bool, stdout, stderr io.Writer) int {
	if asJSON {
		writeJSON(stdout, r)
	} else {
		switch {
		case r.Busy:
			fmt.Fprintln(stdout, "Another read-ACL helper is running; it applies the queued grants.")
		default:
			fmt.Fprintf(stdout, "Read grants: %d applied, %d failed, %d pending.\n", r.State.Done-r.State.Failed, r.State.Failed, r.State.Pending)
		}
	}
	switch {
	case err != nil && r.State.Failed > 0:
		fail(stderr, codeReadACLFailed, err)
		fmt.Fprintf(stderr, "cordon: what to do: deal with the cause, then %s\n", fixRetryFailed)
		return exitNo
	case err != nil:
		fail(stderr, codeACLHelperFailed, err)
		fmt.Fprintf(stderr, "cordon: what to do: %s\n", fixHelper)
		return exitNo
	}
	return exitOK
}

// helperPolicy resolves the workspace the helper plans for, with
// Windows' path rules. Errors are coded.
func helperPolicy(pol, cwd string, roots, denyRead []string) (*policy.Resolved, error) {
	p, err := policy.Parse(pol)
	if err != nil {
		return nil, coded(cordon.CodeBadPolicy, fmt.Errorf("--policy: %w", err))
	}
	if len(roots) > 0 {
		if p.Mode == policy.ReadOnly {
			return nil, coded(cordon.CodeBadPolicy, errors.New("--writable-root: a read-only policy has no writable roots"))
		}
		p.WritableRoots = append(p.WritableRoots, roots...)
	}
	p.DenyRead = append(p.DenyRead, denyRead...)
	res, err := p.Resolve(policy.Env{Rules: policy.Windows, Cwd: cwd, Getenv: os.Getenv})
	if err != nil {
		return nil, coded(cordon.CodeBadPolicy, err)
	}
	return res, nil
}

// aclHelperHost is what the helper needs of the machine.
type aclHelperHost struct {
	Applier aclhelper.Applier
	Input   func(*policy.Resolved) (readacl.Input, error)
	// Group looks up the SID of CordonSandboxUsers.
	Group func() (ntsec.SID, error)
}
