package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"time"

	"github.com/cordon-sandbox/cordon"
	"github.com/cordon-sandbox/cordon/internal/acelog"
	"github.com/cordon-sandbox/cordon/internal/aclplan"
	"github.com/cordon-sandbox/cordon/internal/ntfs"
	"github.com/cordon-sandbox/cordon/internal/statedir"
)

const cleanupUsage = `usage: cordon cleanup [--dry-run] [--json]

Removes every ACE and placeholder directory the Windows backend added, and
puts back the integrity label it replaced on each writable root, as
recorded in applied.json in cordon's state directory (CORDON_STATE_DIR
overrides where it lives), and nothing else: ACEs someone else added stay,
a placeholder someone has since filled stays, and a label someone has
changed since stays. Grants go before the
denies that guarded what they opened. --dry-run prints the edits and
changes nothing.

Cleanup waits up to 10 s for running sandboxed commands, whose ACEs it
would otherwise remove from under them.

Exit status: 0 done (or nothing to do); 1 the edits could not all be applied
or sandboxes are still running ("busy"): the record is kept whole, so
cleanup can be run again (removals already made stay made, and removing
what is gone does nothing); 2 bad input or an unreadable record.
`

// cleanupWait is how long cleanup waits for running sandboxes.
const cleanupWait = 10 * time.Second

func runCleanup(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("cleanup", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	asJSON := fs.Bool("json", false, "")
	dry := fs.Bool("dry-run", false, "")
	if code, done := parseFlags(fs, args, cleanupUsage, stdout, stderr); done {
		return code
	}
	if fs.NArg() > 0 {
		fail(stderr, codeUsage, fmt.Errorf("cleanup takes no arguments, got %q", fs.Arg(0)))
		return exitBadInput
	}
	dir, err := statedir.Dir()
	if err != nil {
		return report(stderr, coded(codeStateDir, err))
	}
	// Cleanup waits for running sandboxes (they hold the run lock), but not
	// for ever: a long command should not make cleanup hang. The deadline
	// bounds that wait only; acelog.Cleanup then runs to the end.
	ctx, cancel := context.WithTimeout(context.Background(), cleanupWait)
	defer cancel()
	var edits []aclplan.Edit
	if *dry {
		recorded, err := acelog.Load(ctx, dir)
		if err != nil {
			return report(stderr, coded(codeBadRecord, err))
		}
		edits = aclplan.Inverse(recorded)
	} else {
		edits, err = undoRecorded(ctx, dir)
		if err != nil {
			code := cleanupCode(err)
			if code == codeBadRecord {
				return report(stderr, coded(codeBadRecord, err))
			}
			if code == cordon.CodeBusy {
				err = fmt.Errorf("sandboxed commands are still running after %s; run cleanup when they have ended: %w", cleanupWait, err)
			}
			fail(stderr, code, err)
			return exitNo
		}
	}
	if *asJSON {
		writeJSON(stdout, struct {
			DryRun bool           `json:"dry_run"`
			Edits  []aclplan.Edit `json:"edits"`
		}{*dry, append([]aclplan.Edit{}, edits...)})
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

// undoRecorded undoes on NTFS every edit recorded in dir, finishing first
// a propagation a killed run left (acelog.CleanupRepairing).
func undoRecorded(ctx context.Context, dir string) ([]aclplan.Edit, error) {
	return acelog.CleanupRepairing(ctx, dir, ntfs.ApplyAll, func(ctx context.Context, tops []string) error {
		_, err := ntfs.Propagate(ctx, tops)
		return err
	})
}

// cleanupCode is the CLI's code for an error of undoRecorded.
func cleanupCode(err error) string {
	switch {
	case errors.Is(err, acelog.ErrDamaged):
		return codeBadRecord
	case errors.Is(err, ntfs.ErrNotWindows):
		return cordon.CodeUnavailable
	case errors.Is(err, acelog.ErrBusy):
		return cordon.CodeBusy
	}
	return codeCleanupFailed
}
