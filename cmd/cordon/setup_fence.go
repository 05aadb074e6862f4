package main

import (
	"errors"
	"fmt"

	"github.com/cordon-sandbox/cordon/internal/netfence"
	"github.com/cordon-sandbox/cordon/internal/sandboxusers"
	"github.com/cordon-sandbox/cordon/ntsec"
)

// fenceOps are the machine's side of the fence step; tests fake them.
type fenceOps struct {
	lookup  func(name string) (ntsec.SID, error)
	present func(netfence.Config) (netfence.Status, error)
	install func(netfence.Config) error
	remove  func() error
}

// setupFence is the network fence's part of `cordon setup`, run after the
// accounts (it keys on the offline user's SID, which exists only then) in
// the same elevated process: persistent WFP objects need an administrator.
// It installs exactly elevatedFence, what `cordon doctor` checks for, and
// writes nothing when the fence is already complete. With opts.Remove it
// deletes the fence; `setup --remove` runs it before the accounts go, since
// filters naming a deleted SID would match nothing and stay for ever.
// A dry run reads and plans only; a fence it cannot read (a standard user
// may not enumerate WFP filters) is planned as "install or verify".
func setupFence(ops fenceOps, opts sandboxusers.Options) (sandboxusers.Result, error) {
	var res sandboxusers.Result
	plan := func(line string) {
		res.Planned = append(res.Planned, line)
		res.Output += line + "\n"
	}
	if opts.Remove {
		plan("remove the network fence (cordon's WFP provider, sublayer and filters)")
		if opts.DryRun {
			return res, nil
		}
		if err := ops.remove(); err != nil {
			return res, fenceError("remove the network fence", err)
		}
		res.Done++
		return res, nil
	}
	sid, err := ops.lookup(sandboxusers.OfflineUser)
	if err != nil {
		if opts.DryRun { // the account is planned, not made yet
			plan("install the network fence for " + sandboxusers.OfflineUser)
			return res, nil
		}
		return res, fenceError("find the SID of "+sandboxusers.OfflineUser+" for the network fence", err)
	}
	cfg := elevatedFence(sid)
	st, err := ops.present(cfg)
	switch {
	case err != nil && opts.DryRun:
		plan(fmt.Sprintf("install or verify the network fence for %s (cannot read it here: %v)", sandboxusers.OfflineUser, err))
		return res, nil
	case err == nil && st.Complete():
		return res, nil
	}
	plan(fmt.Sprintf("install the network fence for %s (%s)", sandboxusers.OfflineUser, fenceDamage(st, err)))
	if opts.DryRun {
		return res, nil
	}
	if err := ops.install(cfg); err != nil {
		return res, fenceError("install the network fence for "+sandboxusers.OfflineUser, err)
	}
	res.Done++
	return res, nil
}

// fenceError is err from the fence's op as setup reports it: off Windows
// the fence is unsupported, as the accounts are.
func fenceError(op string, err error) error {
	code := sandboxusers.CodeFailed
	if errors.Is(err, netfence.ErrUnsupported) {
		code = sandboxusers.CodeUnsupported
	}
	return &sandboxusers.Error{Code: code, Op: op, Err: err}
}

// fenceDamage says what is wrong with a fence, for setup's plan.
func fenceDamage(st netfence.Status, err error) string {
	switch {
	case err != nil:
		return "could not read it: " + err.Error()
	case !st.Provider && !st.Sublayer && st.Filters == 0:
		return "absent"
	}
	return fmt.Sprintf("%d missing, %d changed, %d unexpected filters", len(st.Missing), len(st.Differ), len(st.Unexpected))
}
