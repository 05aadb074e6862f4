package main

import (
	"context"
	"fmt"
	"strings"

	"github.com/cordon-sandbox/cordon/internal/acelog"
	"github.com/cordon-sandbox/cordon/internal/aclhelper"
	"github.com/cordon-sandbox/cordon/internal/aclplan"
	"github.com/cordon-sandbox/cordon/internal/sandboxusers"
)

// removeGrants is the first step of `cordon setup --remove`, run as you
// before any account is deleted: it drops the read grants the helper has
// not started (aclhelper.Cancel), then undoes every ACE, label and
// placeholder cordon recorded (undo: undoRecorded on Windows), the sandbox
// group's grants among them. It comes first because an ACE naming a
// deleted account is left behind as an unknown SID that nothing
// recognises as cordon's any more; if it fails, setup stops with the
// accounts still there, and running it again resumes. A dry run lists the
// edits and changes nothing.
func removeGrants(ctx context.Context, dir string, dry bool, undo func(context.Context, string) ([]aclplan.Edit, error)) (sandboxusers.Result, error) {
	var res sandboxusers.Result
	var edits []aclplan.Edit
	if dry {
		recorded, err := acelog.Load(ctx, dir)
		if err != nil {
			return res, &grantsError{codeBadRecord, err}
		}
		edits = aclplan.Inverse(recorded)
	} else {
		if _, err := aclhelper.Cancel(ctx, dir); err != nil {
			return res, &grantsError{codeCleanupFailed, fmt.Errorf("stop the queued read grants: %w", err)}
		}
		var err error
		if edits, err = undo(ctx, dir); err != nil {
			return res, &grantsError{cleanupCode(err), err}
		}
	}
	var out strings.Builder
	for _, e := range edits {
		line := "undo " + e.String()
		res.Planned = append(res.Planned, line)
		fmt.Fprintln(&out, line)
	}
	if !dry {
		res.Done = len(edits)
	}
	res.Output = out.String()
	return res, nil
}

// grantsError is a failure of removeGrants, with the CLI's code for it.
type grantsError struct {
	code string
	err  error
}

func (e *grantsError) Error() string {
	return "removing the ACEs cordon added, before the accounts: " + e.err.Error()
}
func (e *grantsError) Unwrap() error { return e.err }

// Hint says what to do: the accounts are untouched, so setup --remove can
// simply be run again once cleanup can run.
func (e *grantsError) Hint() string {
	return "nothing was deleted; run `cordon cleanup` to see what it cannot undo (it waits for running sandboxed commands), then `cordon setup --remove` again"
}

// merge puts the grants' removal ahead of the accounts' in one result.
func merge(grants, accounts sandboxusers.Result) sandboxusers.Result {
	accounts.Output = grants.Output + accounts.Output
	accounts.Planned = append(grants.Planned, accounts.Planned...)
	accounts.Done += grants.Done
	return accounts
}
