package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/cordon-sandbox/cordon"
	"github.com/cordon-sandbox/cordon/internal/aclplan"
	"github.com/cordon-sandbox/cordon/internal/fsview"
	"github.com/cordon-sandbox/cordon/ntsec"
	"github.com/cordon-sandbox/cordon/policy"
)

const planUsage = `usage: cordon plan --policy P --cwd DIR --tree SNAPSHOT [--writable-root DIR]... [--temp DIR]...
                   [--audit DIR]... [--audit-depth N] [--user SID] [--sid-workspace SID] [--sid-generic SID]
                   [--sid-readonly SID] [--sid-other SID]... [--medium-integrity] [--hypothesis R]
                   [--deny-read PATH]... [--profile DIR] [--json]

Computes the ACL edits that make a Windows file system match the policy and
proves them with the access-check model: applied to the tree, every sandbox
token may write exactly inside its writable roots and never a protected name,
under every reading of the kernel that is still open. The sandbox runs at Low
integrity: the roots get a Low label, and the user's own FILE_DELETE_CHILD is
denied inside them.

  --policy P         read-only, workspace-write, a JSON policy or @FILE
  --cwd DIR          the workspace (Windows path, e.g. C:\Users\me\ws)
  --tree SNAPSHOT    JSON snapshot of the file system ([{"path","type","owner","sddl"}...])
  --writable-root D  an extra writable root (repeatable)
  --temp DIR         a temp directory, writable unless the policy excludes it (repeatable)
  --audit DIR        an extra world-writable audit root (the cwd, temp dirs and volume roots always are)
  --audit-depth N    levels audited below each audit root (default -1, unlimited: a snapshot
                     is small, and the proof checks every node of it anyway)
  --user SID         the user the sandbox runs as (default: the cwd's owner)
  --sid-*            capability SIDs (default: fresh random ones for this plan);
                     --sid-other (repeatable) names other workspaces' SIDs
  --medium-integrity plan for a sandbox that keeps Medium integrity: no Low labels on
                     the roots, deny ACEs on world-writable folders instead. Its proof
                     fails under the H2 readings: the sandbox may then delete what the
                     user may delete outside the roots
  --deny-read PATH   a path the sandbox may not read (repeatable): labelled Medium,
                     no-read-up, and proven unreadable
  --profile DIR      the snapshot user's profile (C:\Users\me): adds the default
                     deny-read list under it (.ssh, .aws, AppData\...\Credentials, ...)
  --hypothesis R     prove under reading R alone (default: every open reading;
                     see cordon access --help)
  --json             print {"edits","audit","proof"} as JSON

It plans a snapshot (--tree), on any OS; the restricted-token backend plans
the real file system itself before each run.

Exit status: 0 the plan is proven, 1 its proof fails, 2 bad input.
`

// multiFlag collects a repeatable flag.
type multiFlag []string

func (m *multiFlag) String() string     { return strings.Join(*m, ",") }
func (m *multiFlag) Set(v string) error { *m = append(*m, v); return nil }

// planArgs are the flags plan and explain share.
type planArgs struct {
	policy, cwd, tree, user, sidWS, sidGeneric, sidRO string
	hypothesis, profile                               string
	roots, temps, audits, others, denyRead            multiFlag
	depth                                             int
	asJSON, medium                                    bool
}

func (a *planArgs) register(fs *flag.FlagSet) {
	fs.StringVar(&a.policy, "policy", "workspace-write", "")
	fs.StringVar(&a.cwd, "cwd", "", "")
	fs.StringVar(&a.tree, "tree", "", "")
	fs.StringVar(&a.user, "user", "", "")
	fs.StringVar(&a.sidWS, "sid-workspace", "", "")
	fs.StringVar(&a.sidGeneric, "sid-generic", "", "")
	fs.StringVar(&a.sidRO, "sid-readonly", "", "")
	fs.Var(&a.roots, "writable-root", "")
	fs.Var(&a.temps, "temp", "")
	fs.Var(&a.audits, "audit", "")
	fs.Var(&a.others, "sid-other", "")
	fs.IntVar(&a.depth, "audit-depth", -1, "")
	fs.BoolVar(&a.asJSON, "json", false, "")
	fs.BoolVar(&a.medium, "medium-integrity", false, "")
	fs.StringVar(&a.hypothesis, "hypothesis", "", "")
	fs.StringVar(&a.profile, "profile", "", "")
	fs.Var(&a.denyRead, "deny-read", "")
}

// input turns the flags into a plan input.
func (a *planArgs) input() (aclplan.Input, *fsview.Memory, error) {
	var in aclplan.Input
	if a.cwd == "" {
		return in, nil, coded(codeUsage, fmt.Errorf("--cwd is required"))
	}
	if a.tree == "" {
		return in, nil, coded(codeUsage, fmt.Errorf("--tree is required: cordon plan works on a snapshot of the file system"))
	}
	pol, err := policy.Parse(a.policy)
	if err != nil {
		return in, nil, coded(cordon.CodeBadPolicy, fmt.Errorf("--policy: %w", err))
	}
	if len(a.roots) > 0 {
		if pol.Mode == policy.ReadOnly {
			return in, nil, coded(cordon.CodeBadPolicy, fmt.Errorf("--writable-root: a read-only policy has no writable roots"))
		}
		pol.WritableRoots = append(pol.WritableRoots, a.roots...)
	}
	if pol.Cwd == "" {
		pol.Cwd = a.cwd
	}
	pol.DenyRead = append(pol.DenyRead, a.denyRead...)
	penv := policy.Env{Rules: policy.Windows, Cwd: a.cwd, TempDirs: a.temps}
	if a.profile != "" {
		// The snapshot's machine, not this one: its user's profile gives
		// the default deny-read list.
		vars := map[string]string{"USERPROFILE": a.profile, "APPDATA": a.profile + `\AppData\Roaming`, "LOCALAPPDATA": a.profile + `\AppData\Local`}
		penv.Getenv = func(k string) string { return vars[k] }
	}
	res, err := pol.Resolve(penv)
	if err != nil {
		return in, nil, coded(cordon.CodeBadPolicy, err)
	}
	f, err := os.Open(a.tree)
	if err != nil {
		return in, nil, coded(codeBadTree, fmt.Errorf("--tree: %w", err))
	}
	defer f.Close()
	mem, err := fsview.LoadSnapshot(f)
	if err != nil {
		return in, nil, coded(codeBadTree, fmt.Errorf("--tree %s: %w", a.tree, err))
	}
	in.Policy, in.View = res, mem
	sid := func(flagName, v string) (ntsec.SID, error) {
		if v == "" {
			return randomSID()
		}
		s, err := ntsec.ParseSID(v)
		if err != nil {
			return s, coded(codeUsage, fmt.Errorf("--%s: %w", flagName, err))
		}
		return s, nil
	}
	if in.SIDs.Workspace, err = sid("sid-workspace", a.sidWS); err != nil {
		return in, nil, err
	}
	if in.SIDs.Generic, err = sid("sid-generic", a.sidGeneric); err != nil {
		return in, nil, err
	}
	if in.SIDs.ReadOnly, err = sid("sid-readonly", a.sidRO); err != nil {
		return in, nil, err
	}
	for _, o := range a.others {
		s, err := sid("sid-other", o)
		if err != nil {
			return in, nil, err
		}
		in.SIDs.Others = append(in.SIDs.Others, s)
	}
	if len(a.others) == 0 {
		// One stand-in for the other workspaces, so the proof checks that
		// a neighbour's sandbox cannot write this one.
		s, err := randomSID()
		if err != nil {
			return in, nil, err
		}
		in.SIDs.Others = []ntsec.SID{s}
	}
	if a.user != "" {
		if in.User.SID, err = ntsec.ParseSID(a.user); err != nil {
			return in, nil, coded(codeUsage, fmt.Errorf("--user: %w", err))
		}
	}
	in.User.MediumIntegrity = a.medium
	if a.hypothesis != "" {
		if in.Readings, err = readingsFor(a.hypothesis); err != nil {
			return in, nil, coded(codeUsage, err)
		}
	}
	in.Audit = aclplan.AuditConfig{Roots: append(append([]string{res.Cwd}, a.temps...), a.audits...), Depth: a.depth}
	in.Audit.Roots = append(in.Audit.Roots, mem.Roots()...)
	return in, mem, nil
}

func runPlan(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("plan", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	var a planArgs
	a.register(fs)
	if code, done := parseFlags(fs, args, planUsage, stdout, stderr); done {
		return code
	}
	in, _, pl, err := a.makePlan()
	if err != nil {
		return report(stderr, err)
	}
	if a.asJSON {
		out := struct {
			Edits []aclplan.Edit      `json:"edits"`
			Audit aclplan.AuditReport `json:"audit"`
			Proof aclplan.Proof       `json:"proof"`
		}{pl.Edits, pl.Audit, pl.Proof}
		if out.Edits == nil {
			out.Edits = []aclplan.Edit{}
		}
		writeJSON(stdout, out)
	} else {
		fmt.Fprintf(stdout, "plan for %s in %s: %d edits\n", in.Policy.Mode, in.Policy.Cwd, len(pl.Edits))
		for i, e := range pl.Edits {
			ace := e.ACE.SDDL()
			if e.Op == aclplan.SetLabel {
				prev := "none"
				if e.Prev != nil {
					prev = e.Prev.SDDL()
				}
				ace += " (replacing " + prev + ")"
			}
			fmt.Fprintf(stdout, "  %2d. %-10s %s %s\n      %s\n", i+1, e.Op, e.Path, ace, e.Reason)
		}
		complete := "complete"
		if !pl.Audit.Complete {
			complete = "INCOMPLETE"
		}
		fmt.Fprintf(stdout, "audit: %d checked, %d world-writable, %s (%s)\n", pl.Audit.Checked, len(pl.Audit.Flagged), complete, pl.Audit.Elapsed)
		for _, s := range pl.Audit.Skipped {
			fmt.Fprintf(stdout, "  skipped %s: %s\n", s.Path, s.Why)
		}
		verdict := "PROVEN"
		if !pl.Proof.OK {
			verdict = "FAILED"
		}
		fmt.Fprintf(stdout, "proof: %s: %s; applying rewrites %d descriptors\n", verdict, pl.Proof.Summary(), pl.Proof.Writes)
		for _, v := range pl.Proof.Violations {
			fmt.Fprintf(stdout, "  violation: %s token may write %s (%s): %s\n", v.Token, v.Path, v.Rights, v.Why)
		}
		for _, g := range pl.Proof.Gaps {
			fmt.Fprintf(stdout, "  gap: %s token cannot write %s: %s\n", g.Token, g.Path, g.Why)
		}
	}
	if !pl.Proof.OK {
		return exitNo
	}
	return exitOK
}

// makePlan makes the plan the flags describe. A plan that fails its proof
// is returned without error: the caller shows its violations.
func (a *planArgs) makePlan() (aclplan.Input, *fsview.Memory, *aclplan.Plan, error) {
	in, mem, err := a.input()
	if err != nil {
		return in, nil, nil, err
	}
	pl, err := aclplan.Make(context.Background(), in)
	if err != nil && !errors.Is(err, aclplan.ErrProof) {
		return in, nil, nil, coded(codeBadTree, err)
	}
	return in, mem, pl, nil
}

// writeJSON writes v indented; a failed write to stdout has nowhere to be
// reported.
func writeJSON(w io.Writer, v any) {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	enc.Encode(v)
}

// parseFlags parses and handles -h; done says the caller should return code.
func parseFlags(fs *flag.FlagSet, args []string, usage string, stdout, stderr io.Writer) (int, bool) {
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			fmt.Fprint(stdout, usage)
			return exitOK, true
		}
		fail(stderr, codeUsage, err)
		fmt.Fprint(stderr, usage)
		return exitBadInput, true
	}
	return 0, false
}
