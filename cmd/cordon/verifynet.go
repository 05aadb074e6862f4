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
	"runtime"
	"strings"
	"time"

	"github.com/cordon-sandbox/cordon"
	"github.com/cordon-sandbox/cordon/internal/netfence"
	"github.com/cordon-sandbox/cordon/policy"
)

const verifyUsage = `usage: cordon verify-network [--cwd DIR] [--json]

Windows only. Proves the elevated mode's network fence from inside the
sandbox: runs cordon's network probes (TCP to 1.1.1.1:443 and its IPv6
twin, a DNS query straight to 1.1.1.1, a lookup through the system
resolver) as the offline sandbox user (--sandbox elevated, network off)
and as the online one (network on), and judges:

  offline_blocked   pass: a direct connection was refused on this machine
                    and nothing got out; fail: some probe got out
  online_connects   pass: some direct probe got through; fail: none did
                    (blocked here, or no network)

A lookup through the system resolver succeeding for the offline user is
reported, not failed: the DNS Client service resolves names as itself,
which a filter on the sandbox user does not see (see README).

  --cwd DIR  the directory the probes run in (default: the current one)
  --json     print {"ok", "checks": [{"name", "verdict", "detail", "fix"}],
             "offline": {"results": [{"probe", "kind", "target", "outcome",
             "error"}]}, "online": {...}}; verdict is pass, fail or unknown

Exit status: 0 both pass; 1 a check failed (verify_failed); 2 bad input;
3 nothing was proven: not Windows (elevated_unsupported), no elevated
backend in this cordon (elevated_unavailable), the probes could not run
in the sandbox (their code, e.g. setup_required), or no probe was either
refused or let through (verify_inconclusive).
`

// The codes verify-network adds.
const (
	codeElevatedUnavailable = "elevated_unavailable"
	codeVerifyFailed        = "verify_failed"
	codeVerifyInconclusive  = "verify_inconclusive"
	codeProbeFailed         = "probe_failed"
)

// elevatedBackend is the backend name verify-network asks cordon.Run for.
const elevatedBackend = "elevated"

// verifyProbes are the probes the inside half runs; tests point them at
// local listeners.
var verifyProbes = netfence.DefaultProbes

// Verdicts.
const (
	verdictPass    = "pass"
	verdictFail    = "fail"
	verdictUnknown = "unknown"
)

type verifyCheck struct {
	Name    string `json:"name"`
	Verdict string `json:"verdict"`
	Detail  string `json:"detail"`
	Fix     string `json:"fix,omitempty"`
}

type verifyReport struct {
	OK      bool             `json:"ok"`
	Checks  []verifyCheck    `json:"checks"`
	Offline *netfence.Report `json:"offline,omitempty"`
	Online  *netfence.Report `json:"online,omitempty"`
	// code and err are the failure to print, "" when OK.
	code string
	err  error
}

// side is one half's outcome: the probes' report, or why they did not
// run as that user.
type side struct {
	Report netfence.Report
	Err    error
}

// probeRunner runs the inside half as the online or offline user.
type probeRunner func(ctx context.Context, online bool) side

// judge decides from both halves. The offline half passes only on
// positive evidence (netfence.Report.Fenced: a TCP probe refused here
// with an access error, nothing through); any probe that reached the
// network fails it, whatever the online half saw. The online half
// passes only if some direct probe got through.
func judge(off, on side) verifyReport {
	var r verifyReport
	r.Checks = append(r.Checks, judgeOffline(off), judgeOnline(on))
	if off.Err == nil {
		r.Offline = &off.Report
	}
	if on.Err == nil {
		r.Online = &on.Report
	}
	var unknown []string
	for _, c := range r.Checks {
		switch c.Verdict {
		case verdictFail:
			if r.code == "" {
				r.code, r.err = codeVerifyFailed, fmt.Errorf("%s: %s", c.Name, c.Detail)
			}
		case verdictUnknown:
			unknown = append(unknown, c.Name)
		}
	}
	if r.code == "" && len(unknown) > 0 {
		r.code, r.err = codeVerifyInconclusive, fmt.Errorf("not proven: %s", strings.Join(unknown, ", "))
		for _, s := range []side{off, on} {
			if c := cordon.ErrorCode(s.Err); c != "" {
				// The sandbox could not run the probe at all: its code says why.
				r.code, r.err = c, errors.Unwrap(s.Err)
				break
			}
		}
	}
	r.OK = r.code == ""
	return r
}

func judgeOffline(s side) verifyCheck {
	c := verifyCheck{Name: "offline_blocked"}
	switch {
	case s.Err != nil:
		c.Verdict, c.Detail, c.Fix = verdictUnknown, "the probes did not run as the offline user: "+s.Err.Error(), fixFor(s.Err)
	case s.Report.Direct():
		c.Verdict, c.Fix = verdictFail, "cordon doctor"
		c.Detail = "the offline user got out directly: " + outcomes(s.Report, func(res netfence.Result) bool {
			return res.Kind != netfence.ProbeResolve && res.Outcome.Reached()
		}) + "; the fence does not hold"
	case s.Report.Fenced():
		c.Verdict = verdictPass
		c.Detail = "direct connections were refused on this machine: " + outcomes(s.Report, func(res netfence.Result) bool {
			return res.Kind != netfence.ProbeResolve
		})
	default:
		c.Verdict, c.Fix = verdictUnknown, "cordon verify-network (on a machine with a network)"
		c.Detail = "no probe was refused on this machine and none got out (" + outcomes(s.Report, func(netfence.Result) bool { return true }) +
			"): no evidence of the fence either way"
	}
	if s.Err == nil {
		for _, res := range s.Report.Results {
			if res.Kind == netfence.ProbeResolve && res.Outcome == netfence.OutcomeResolved {
				c.Detail += "; note: names still resolve through the system resolver (the DNS Client service asks as itself, outside the fence)"
			}
		}
	}
	return c
}

func judgeOnline(s side) verifyCheck {
	c := verifyCheck{Name: "online_connects"}
	all := func(netfence.Result) bool { return true }
	switch {
	case s.Err != nil:
		c.Verdict, c.Detail, c.Fix = verdictUnknown, "the probes did not run as the online user: "+s.Err.Error(), fixFor(s.Err)
	case s.Report.Direct():
		c.Verdict = verdictPass
		c.Detail = "the online user got through: " + outcomes(s.Report, func(res netfence.Result) bool {
			return res.Kind != netfence.ProbeResolve && res.Outcome.Reached()
		})
	case blockedHere(s.Report):
		c.Verdict, c.Fix = verdictFail, "cordon doctor"
		c.Detail = "the online user is blocked on this machine (" + outcomes(s.Report, all) + "): the fence, or a firewall, catches it too"
	default:
		c.Verdict, c.Fix = verdictFail, "check this machine's network, then cordon verify-network"
		c.Detail = "the online user could not connect (" + outcomes(s.Report, all) + "): no network here?"
	}
	return c
}

func blockedHere(r netfence.Report) bool {
	for _, res := range r.Results {
		if res.Kind != netfence.ProbeResolve && res.Outcome == netfence.OutcomeBlocked {
			return true
		}
	}
	return false
}

// outcomes lists "probe target: outcome" for the results keep selects.
func outcomes(r netfence.Report, keep func(netfence.Result) bool) string {
	var parts []string
	for _, res := range r.Results {
		if keep(res) {
			parts = append(parts, fmt.Sprintf("%s %s: %s", res.Probe, res.Target, res.Outcome))
		}
	}
	if len(parts) == 0 {
		return "no probes"
	}
	return strings.Join(parts, ", ")
}

// fixFor is the command that deals with a half that could not run.
func fixFor(err error) string {
	switch cordon.ErrorCode(err) {
	case codeElevatedUnavailable:
		return "a cordon built with the elevated backend"
	case "setup_required":
		return fixSetup
	}
	return "cordon doctor"
}

// runProbeAs is the real probeRunner: exe's inside half, through
// cordon.Run with the elevated backend, network on for the online user.
// A cordon without that backend is elevated_unavailable.
func runProbeAs(exe, cwd string) probeRunner {
	return func(ctx context.Context, online bool) side {
		pol, _ := policy.Parse("read-only")
		pol.Network = online
		res, err := cordon.Run(ctx, cordon.Request{
			Policy: pol, Dir: cwd, Backend: elevatedBackend, Timeout: 2 * time.Minute,
			Command: []string{exe, "verify-network", "--probe", "--json"},
		})
		if err != nil {
			return side{Err: classifyRunErr(err)}
		}
		if res.ExitCode != 0 {
			return side{Err: coded(codeProbeFailed, fmt.Errorf("the probe exited %d: %s", res.ExitCode, strings.TrimSpace(string(res.Stderr))))}
		}
		rep, err := parseProbeOutput(res.Stdout)
		if err != nil {
			return side{Err: coded(codeProbeFailed, err)}
		}
		return side{Report: rep}
	}
}

// classifyRunErr gives a failed run its code: a cordon that does not
// know the elevated backend says so in its own words ("unknown sandbox
// backend", bad_request), which would otherwise read as a fault of the
// caller's.
func classifyRunErr(err error) error {
	if cordon.ErrorCode(err) == cordon.CodeBadRequest && strings.Contains(err.Error(), "unknown sandbox backend") {
		return coded(codeElevatedUnavailable, fmt.Errorf("this cordon has no %q backend (%w)", elevatedBackend, errors.Unwrap(err)))
	}
	if cordon.ErrorCode(err) == "" {
		return coded(codeProbeFailed, err)
	}
	return err
}

// parseProbeOutput reads the inside half's JSON.
func parseProbeOutput(b []byte) (netfence.Report, error) {
	var rep netfence.Report
	if err := json.Unmarshal(b, &rep); err != nil {
		return rep, fmt.Errorf("the probe's output is not its report: %w: %.200q", err, b)
	}
	if len(rep.Results) == 0 {
		return rep, errors.New("the probe reported no results")
	}
	return rep, nil
}

func runVerifyNetwork(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("verify-network", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	probe := fs.Bool("probe", false, "") // the inside half, run in the sandbox
	asJSON := fs.Bool("json", false, "")
	cwd := fs.String("cwd", "", "")
	if code, done := parseFlags(fs, args, verifyUsage, stdout, stderr); done {
		return code
	}
	if fs.NArg() > 0 {
		fail(stderr, codeUsage, fmt.Errorf("verify-network takes no arguments, got %q", fs.Arg(0)))
		return exitBadInput
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	if *probe {
		rep := netfence.VerifyWith(ctx, verifyProbes)
		if *asJSON {
			writeJSON(stdout, rep)
		} else {
			for _, res := range rep.Results {
				fmt.Fprintf(stdout, "%-16s %-28s %s %s\n", res.Probe, res.Target, res.Outcome, res.Err)
			}
		}
		return exitOK
	}
	if runtime.GOOS != "windows" {
		fail(stderr, codeElevatedUnsupported, errElevatedUnsupported)
		return exitUnsupported
	}
	exe, err := os.Executable()
	if err != nil {
		return report(stderr, coded(codeError, fmt.Errorf("cordon's executable: %w", err)))
	}
	return verifyWith(ctx, runProbeAs(exe, *cwd), *asJSON, stdout, stderr)
}

// verifyWith runs both halves with probe, then judges and prints.
func verifyWith(ctx context.Context, probe probeRunner, asJSON bool, stdout, stderr io.Writer) int {
	r := judge(probe(ctx, false), probe(ctx, true))
	if asJSON {
		writeJSON(stdout, r)
	} else {
		for _, c := range r.Checks {
			fmt.Fprintf(stdout, "%-7s %-16s %s\n", c.Verdict, c.Name, c.Detail)
			if c.Fix != "" {
				fmt.Fprintf(stdout, "%-7s %-16s fix: %s\n", "", "", c.Fix)
			}
		}
	}
	if r.OK {
		return exitOK
	}
	fail(stderr, r.code, r.err)
	if r.code == codeVerifyFailed {
		return exitNo
	}
	return exitUnsupported
}
