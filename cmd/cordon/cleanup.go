package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"

	"github.com/cordon-sandbox/cordon/acelog"
	"github.com/cordon-sandbox/cordon/capsid"
	"github.com/cordon-sandbox/cordon/ntfs"
	"github.com/cordon-sandbox/cordon/plan"
)

const cleanupUsage = `usage: cordon cleanup [--dry-run] [--json]

Removes every ACE and placeholder directory the Windows backend added, as
recorded in applied.json in cordon's state directory (CORDON_STATE_DIR
overrides where it lives), and nothing else: ACEs someone else added stay,
and a placeholder someone has since filled stays. Grants go before the
denies that guarded what they opened. --dry-run prints the edits and
changes nothing.

Exit status: 0 done (or nothing to do); 1 the edits could not be applied
(what was applied is rolled back and the record kept, so cleanup can be run
again); 2 bad input or an unreadable record.
`

func runCleanup(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("cleanup", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	asJSON := fs.Bool("json", false, "")
	dry := fs.Bool("dry-run", false, "")
	if code, done := parseFlags(fs, args, cleanupUsage, stdout, stderr); done {
		return code
	}
	if fs.NArg() > 0 {
		fail(stderr, "usage", fmt.Errorf("cleanup takes no arguments, got %q", fs.Arg(0)))
		return exitBadInput
	}
	dir, err := capsid.StateDir()
	if err != nil {
		return report(stderr, coded("state_dir", err))
	}
	ctx := context.Background()
	var edits []plan.Edit
	if *dry {
		recorded, err := acelog.Load(ctx, dir)
		if err != nil {
			return report(stderr, coded("bad_record", err))
		}
		edits = plan.Inverse(recorded)
	} else {
		edits, err = acelog.Cleanup(ctx, dir, ntfs.ApplyAll)
		if err != nil {
			code := "cleanup_failed"
			switch {
			case errors.Is(err, acelog.ErrDamaged):
				return report(stderr, coded("bad_record", err))
			case errors.Is(err, ntfs.ErrNotWindows):
				code = "unavailable"
			}
			fail(stderr, code, err)
			return exitNo
		}
	}
	if *asJSON {
		writeJSON(stdout, struct {
			DryRun bool        `json:"dry_run"`
			Edits  []plan.Edit `json:"edits"`
		}{*dry, append([]plan.Edit{}, edits...)})
		return exitOK
	}
	if len(edits) == 0 {
		fmt.Fprintln(stdout, "nothing to clean up: cordon has no ACE recorded")
		return exitOK
	}
	for _, e := range edits {
		fmt.Fprintln(stdout, e.String())
	}
	if *dry {
		fmt.Fprintf(stdout, "%d edits (dry run: nothing changed)\n", len(edits))
	} else {
		fmt.Fprintf(stdout, "%d edits applied; the record is empty\n", len(edits))
	}
	return exitOK
}
