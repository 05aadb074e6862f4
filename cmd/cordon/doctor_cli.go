package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"text/tabwriter"

	"github.com/cordon-sandbox/cordon/internal/statedir"
)

const doctorUsage = `usage: cordon doctor [--json]

Windows only. Checks every piece of the elevated mode and prints, for
each problem, the one command that fixes it. It changes nothing, except
that proving a stored password means one logon per sandbox user (a wrong
password costs one failed attempt per run; the fix, cordon setup, resets
it). No administrator rights are needed.

Checks (stable names):
  users                   (only when the accounts cannot be read at all)
  setup_marker            the setup marker is there, readable, of this version
  group                   the group CordonSandboxUsers exists
  user_offline|online     the account exists with setup's flags and memberships,
                          hidden from the logon screen, password not expired
  secret_offline|online   its stored password decrypts (DPAPI, your account)
  logon_offline|online    a logon with the stored password works
  network_fence           the WFP filters fencing the offline user are installed
  sid_store               the capability SID store is readable
  read_acl                read grants: none pending without a helper, none failed

  --json  print {"ok", "supported", "checks": [{"name", "ok", "detail", "fix"}],
          "setup_would": [...], "fixes": [...], "read_acl": {"done", "failed",
          "pending", "running", "current", "updated", "corrupt"},
          "read_acl_failed": [...], "fence": {...}}

Exit status: 0 every check passed; 1 a check failed (each failing check
names its fix); 2 bad input; 3 the elevated mode does not exist on this
OS ("cordon: elevated_unsupported: ...").
`

// Exit status and code shared by the elevated mode's commands when they
// run where it does not exist.
const (
	exitUnsupported         = 3
	codeElevatedUnsupported = "elevated_unsupported"
	codeDoctorFailed        = "doctor_failed"
)

// errElevatedUnsupported is what the elevated mode's commands say off
// Windows.
var errElevatedUnsupported = errors.New("the elevated mode (sandbox users, read grants, the network fence) exists on Windows only")

func runDoctor(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("doctor", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	asJSON := fs.Bool("json", false, "")
	if code, done := parseFlags(fs, args, doctorUsage, stdout, stderr); done {
		return code
	}
	if fs.NArg() > 0 {
		fail(stderr, codeUsage, fmt.Errorf("doctor takes no arguments, got %q", fs.Arg(0)))
		return exitBadInput
	}
	dir, err := statedir.Dir()
	if err != nil {
		return report(stderr, coded(codeStateDir, err))
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	env, ok := hostDoctorEnv(dir)
	if !ok {
		if *asJSON {
			writeJSON(stdout, doctorReport{Checks: []doctorCheck{}, SetupWould: []string{}, Fixes: []string{}})
		}
		fail(stderr, codeElevatedUnsupported, errElevatedUnsupported)
		return exitUnsupported
	}
	return printDoctor(diagnose(ctx, env), *asJSON, stdout, stderr)
}

// printDoctor renders the report and returns doctor's exit status.
func printDoctor(r doctorReport, asJSON bool, stdout, stderr io.Writer) int {
	if asJSON {
		writeJSON(stdout, r)
	} else {
		tw := tabwriter.NewWriter(stdout, 0, 0, 2, ' ', 0)
		for _, c := range r.Checks {
			mark := "ok"
			if !c.OK {
				mark = "FAIL"
			}
			fmt.Fprintf(tw, "%s\t%s\t%s\n", mark, c.Name, c.Detail)
			if !c.OK {
				fmt.Fprintf(tw, "\t\tfix: %s\n", c.Fix)
			}
		}
		tw.Flush()
		if len(r.SetupWould) > 0 {
			fmt.Fprintln(stdout, "cordon setup would:")
			for _, s := range r.SetupWould {
				fmt.Fprintf(stdout, "  - %s\n", s)
			}
		}
	}
	if r.OK {
		if !asJSON {
			fmt.Fprintln(stdout, "The elevated mode is set up and healthy.")
		}
		return exitOK
	}
	n := 0
	for _, c := range r.Checks {
		if !c.OK {
			n++
		}
	}
	fail(stderr, codeDoctorFailed, fmt.Errorf("%d of %d checks failed", n, len(r.Checks)))
	for _, f := range r.Fixes {
		fmt.Fprintf(stderr, "cordon: what to do: %s\n", f)
	}
	return exitNo
}
