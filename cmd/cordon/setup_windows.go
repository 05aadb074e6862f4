package main

import (
	"context"
	"os"
	"path/filepath"

	"github.com/cordon-sandbox/cordon/internal/aclhelper"
	"github.com/cordon-sandbox/cordon/internal/netfence"

	"github.com/cordon-sandbox/cordon/internal/sandboxusers"
)

// runSetupHere runs the setup in this process when it is an administrator
// (or for a dry run), and otherwise in a copy of cordon started through
// the UAC prompt (ShellExecuteEx, "runas"), which names the user it is for
// (its DPAPI keys protect the passwords) and hands its outcome back in a
// file of the state directory.
func runSetupHere(ctx context.Context, opts sandboxusers.Options) (sandboxusers.Result, error) {
	if !opts.Remove {
		return runSetupAs(ctx, opts)
	}
	grants, err := removeGrants(ctx, opts.StateDir, opts.DryRun, undoRecorded)
	if err != nil {
		return grants, err
	}
	accounts, err := runSetupAs(ctx, opts)
	return merge(grants, accounts), err
}

// runSetupAs runs the accounts' part of the setup, elevated when needed.
func runSetupAs(ctx context.Context, opts sandboxusers.Options) (sandboxusers.Result, error) {
	admin, err := sandboxusers.IsAdmin()
	if err != nil || admin || opts.DryRun {
		return runSetupInProcess(ctx, opts)
	}
	sid, err := sandboxusers.CurrentUserSID()
	if err != nil {
		return sandboxusers.Result{}, &sandboxusers.Error{Code: sandboxusers.CodeFailed, Op: "reading your SID", Err: err}
	}
	exe, err := os.Executable()
	if err != nil {
		return sandboxusers.Result{}, &sandboxusers.Error{Code: sandboxusers.CodeFailed, Op: "finding cordon's executable", Err: err}
	}
	if err := os.MkdirAll(opts.StateDir, 0o700); err != nil {
		return sandboxusers.Result{}, &sandboxusers.Error{Code: sandboxusers.CodeFailed, Op: "creating the state directory", Err: err}
	}
	result := filepath.Join(opts.StateDir, "setup-result.json")
	os.Remove(result)
	defer os.Remove(result)
	args := []string{"setup", "--elevated-result", result, "--for-user", sid, "--state-dir", opts.StateDir}
	if opts.Remove {
		args = append(args, "--remove")
	}
	if _, err := sandboxusers.Elevate(ctx, exe, args); err != nil {
		return sandboxusers.Result{}, err
	}
	return sandboxusers.ReadResult(result)
}

// hostFence is the machine's WFP and SAM.
var hostFence = fenceOps{lookup: aclhelper.LookupLocal, present: netfence.Present, install: netfence.Install, remove: netfence.Remove}
