package main

import (
	"errors"
	"flag"
	"fmt"
	"io"

	"github.com/cordon-sandbox/cordon/internal/aclplan"
	"github.com/cordon-sandbox/cordon/internal/capsid"
	"github.com/cordon-sandbox/cordon/internal/fsview"
	"github.com/cordon-sandbox/cordon/ntsec"
	"github.com/cordon-sandbox/cordon/policy"
)

const explainUsage = `usage: cordon explain PATH --cwd DIR --tree SNAPSHOT [--policy P] [plan flags] [--hypothesis R] [--json]

Says whether the sandbox may read, write and delete PATH once the policy's
plan is applied, and which ACE decides each. Takes the same flags as
'cordon plan', and likewise works on a snapshot (--tree), on any OS.

Each answer holds under every open reading of what Windows leaves unsettled,
or says how it depends on them ("depends (H1: no, H2: yes)"; in --json
"allowed" is null and "readings" has each verdict). --hypothesis R answers
under the one reading R.

Exit status: 0 answered, 2 bad input.
`

// verdict is one question about PATH. Allowed is null when the readings
// disagree; Trace is the first reading's.
type verdict struct {
	Question string           `json:"question"`
	Allowed  *bool            `json:"allowed"`
	Readings map[string]bool  `json:"readings"`
	Object   string           `json:"object"`
	Desired  string           `json:"desired"`
	Trace    []ntsec.Decision `json:"trace"`
	each     []bool
}

func runExplain(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("explain", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	var a planArgs
	a.register(fs)
	// The path comes first by convention, but flags may precede it too.
	var target string
	if len(args) > 0 && len(args[0]) > 0 && args[0][0] != '-' {
		target, args = args[0], args[1:]
	}
	if code, done := parseFlags(fs, args, explainUsage, stdout, stderr); done {
		return code
	}
	if target == "" && fs.NArg() > 0 {
		target = fs.Arg(0)
	}
	if target == "" {
		return report(stderr, coded(codeUsage, fmt.Errorf("PATH is required")))
	}
	readings, err := readingsFor(a.hypothesis)
	if err != nil {
		return report(stderr, coded(codeUsage, err))
	}
	in, mem, pl, err := a.makePlan()
	if err != nil {
		return report(stderr, err)
	}
	work := mem.Clone()
	if _, err := aclplan.Apply(work, pl.Edits); err != nil {
		return report(stderr, coded(codeError, err))
	}
	var tok *ntsec.Token
	who := "workspace-write sandbox token"
	if in.Policy.Mode == policy.ReadOnly {
		tok, who = aclplan.SandboxToken(pl.User, in.SIDs.ReadOnly), "read-only sandbox token"
	} else {
		tok = aclplan.SandboxToken(pl.User, in.SIDs.Workspace, in.SIDs.Generic)
	}
	node, err := work.Stat(target)
	if err != nil {
		if errors.Is(err, fsview.ErrNotExist) {
			return report(stderr, coded(codeBadPath, fmt.Errorf("%s is not in the tree", target)))
		}
		return report(stderr, coded(codeBadPath, err))
	}
	typ := node.ObjectType()
	write := ntsec.FileWriteData | ntsec.FileAppendData
	out := []verdict{
		ask(readings, "read", node.SD, tok, ntsec.FileGenericRead, typ, node.Path),
		ask(readings, "write", node.SD, tok, write, typ, node.Path),
		ask(readings, "delete", node.SD, tok, ntsec.Delete, typ, node.Path),
	}
	if parent, err := parentOf(work, node.Path); err == nil {
		// Windows also lets a caller with DELETE_CHILD on the parent delete
		// or rename any entry, whatever the entry's own DACL says.
		v := ask(readings, "delete via parent", parent.SD, tok, ntsec.FileDeleteChild, ntsec.Directory, parent.Path)
		out = append(out, v)
		for i, ok := range v.each {
			out[2].each[i] = out[2].each[i] || ok
		}
		out[2].Allowed = agreed(out[2].each)
		out[2].Readings = verdictsByReading(readings, out[2].each)
	}
	// Whether the path is deny-read, and by which entry of the list.
	var denied *string
	for _, d := range in.Policy.DenyRead {
		if policy.Windows.Within(node.Path, d) {
			denied = &d
			break
		}
	}
	if a.asJSON {
		writeJSON(stdout, struct {
			Path     string    `json:"path"`
			Token    string    `json:"token"`
			DenyRead *string   `json:"deny_read"`
			Verdicts []verdict `json:"verdicts"`
		}{node.Path, who, denied, out})
		return exitOK
	}
	fmt.Fprintf(stdout, "%s (%s) for the %s, after the plan's %d edits:\n", node.Path, node.Type, who, len(pl.Edits))
	if denied != nil {
		fmt.Fprintf(stdout, "  deny-read:        yes (at or below %s)\n", *denied)
	}
	for _, v := range out {
		words := make([]string, len(v.each))
		for i, ok := range v.each {
			words[i] = "no"
			if ok {
				words[i] = "yes"
			}
		}
		yes := words[0]
		if v.Allowed == nil {
			yes = "depends (" + describeSplit(readings, words) + ")"
		}
		fmt.Fprintf(stdout, "  %-17s %-3s (%s on %s)\n", v.Question+":", yes, v.Desired, v.Object)
		if v.Allowed == nil {
			fmt.Fprintf(stdout, "      under %s:\n", readings[0].Name())
		}
		first := v.each[0]
		for _, d := range v.Trace {
			if first == d.Granted {
				for _, s := range d.Steps {
					if s.ACE >= 0 || !first {
						fmt.Fprintf(stdout, "      %s: %s %s %s (%s)\n", d.Right, s.Pass, s.Effect, s.SDDL, s.Why)
					}
				}
				break
			}
		}
	}
	return exitOK
}

// ask answers one question under each reading; the trace is the first
// reading's.
func ask(readings []ntsec.Reading, q string, sd *ntsec.SecurityDescriptor, tok *ntsec.Token, want ntsec.AccessMask, typ ntsec.ObjectType, path string) verdict {
	v := verdict{Question: q, Object: path, Desired: want.String(), each: make([]bool, len(readings))}
	for i, rd := range readings {
		r := ntsec.AccessCheckUnder(rd, sd, tok, want, typ)
		v.each[i] = r.Allowed
		if i == 0 {
			v.Trace = r.Trace
		}
	}
	v.Allowed = agreed(v.each)
	v.Readings = verdictsByReading(readings, v.each)
	return v
}

func parentOf(m *fsview.Memory, path string) (fsview.Node, error) {
	var parent fsview.Node
	found := false
	err := m.Walk(path, func(n, p *fsview.Node) bool {
		if p != nil {
			parent, found = *p, true
		}
		return false
	})
	if err != nil {
		return parent, err
	}
	if !found {
		return parent, fmt.Errorf("%s has no parent", path)
	}
	return parent, nil
}

// randomSID draws a fresh capability SID for a plan made on a snapshot, so
// that trying plans out never adds SIDs to the real store.
func randomSID() (ntsec.SID, error) { return capsid.NewSID() }
