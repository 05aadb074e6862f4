package sandboxusers

import (
	"context"
	"fmt"
	"io"
)

// Options choose what Setup does.
type Options struct {
	// DryRun prints the plan and changes nothing.
	DryRun bool
	// Remove undoes setup instead.
	Remove bool
	// StateDir is cordon's state directory ("" for statedir.Dir()). An
	// elevated process does not inherit its parent's environment, so the
	// parent passes it.
	StateDir string
	// ForUserSID, if set, is the SID of the user setup is for; [Setup]
	// refuses (CodeOtherAdmin) to run as anyone else, whose DPAPI keys
	// would protect passwords that user could never read.
	ForUserSID string
}

// Report is what a setup run found and did.
type Report struct {
	Observed Observed
	// Planned are the steps the run chose; Done of them succeeded.
	Planned []Action
	Done    int
}

// Run observes the system, plans the setup (or its removal) and, unless
// opts.DryRun, applies the plan, writing it to w as it goes. Run on a
// system already set up it plans and changes nothing. The caller holds
// the setup lock and, on Windows, administrator rights.
func Run(ctx context.Context, sys System, d Desired, opts Options, w io.Writer) (Report, error) {
	var r Report
	o, err := Observe(ctx, sys, d)
	if err != nil {
		return r, err
	}
	r.Observed = o
	if opts.Remove {
		r.Planned = PlanRemove(d, o)
	} else {
		r.Planned = Plan(d, o)
	}
	if w == nil {
		w = io.Discard
	}
	switch {
	case len(r.Planned) == 0 && opts.Remove:
		fmt.Fprintln(w, "Nothing to remove: no sandbox accounts, passwords or marker are left.")
		return r, nil
	case len(r.Planned) == 0:
		fmt.Fprintf(w, "Sandbox accounts are set up (version %d); nothing to do.\n", Version)
		return r, nil
	case opts.DryRun:
		fmt.Fprintln(w, "Would do (dry run, nothing changed):")
		for _, a := range r.Planned {
			fmt.Fprintf(w, "- %s\n", a)
		}
		return r, nil
	}
	for i, a := range r.Planned {
		if err := Apply(ctx, sys, d, []Action{a}, w); err != nil {
			return r, err
		}
		r.Done = i + 1
	}
	return r, nil
}
