package winsandbox

import (
	"errors"
	"fmt"

	"golang.org/x/sys/windows"

	"github.com/cordon-sandbox/cordon/internal/aclplan"
	"github.com/cordon-sandbox/cordon/internal/fsview"
	"github.com/cordon-sandbox/cordon/internal/ntfs"
	"github.com/cordon-sandbox/cordon/internal/restrictedtoken"
	"github.com/cordon-sandbox/cordon/ntsec"
)

// runToken is the token the command runs with, from one read of the
// caller's token (step 1, readCaller): the model the plan is proven
// against (step 5) and the token made (step 7) both come from that read,
// and Caller.Create refuses a token that does not read back as the model.
type runToken interface {
	// Model is the caller's token as read.
	Model() *ntsec.Token
	Close() error
	// forPlan tells the planner what it must know of the token for spec
	// (step 3), which is then the token proven and made.
	forPlan(in *aclplan.Input, spec restrictedtoken.Spec) error
	// prove proves the applied edits against the token (step 5), reading
	// again from NTFS what lies at or below an edited path.
	prove(in aclplan.Input, read *fsview.Recorder, edits []aclplan.Edit) error
	// create makes the NUL device usable by the token (step 6) and then
	// makes it (step 7); 0 runs the command with the caller's own token.
	// degraded is what the run does not enforce.
	create() (tok windows.Token, degraded []string, err error)
}

// readCaller reads the caller's token, once (step 1). This is the one
// place where a run under Wine (plumbingOnly) differs: Wine answers none
// of the queries that say whether a token is restricted
// (restrictedtoken.ErrIncomplete), so its read is accepted for plumbing
// only, as a token that proves nothing and makes none.
func readCaller(plumbingOnly bool) (runToken, error) {
	caller, err := restrictedtoken.OpenCaller()
	if plumbingOnly {
		if caller != nil && (err == nil || errors.Is(err, restrictedtoken.ErrIncomplete)) {
			return plumbingToken{caller}, nil
		}
	} else if caller != nil && err == nil {
		return &provenToken{Caller: caller}, nil
	}
	if caller != nil {
		caller.Close()
	}
	return nil, fmt.Errorf("restricted-token: reading the caller's token: %w", err)
}

// provenToken is the caller's token made write-restricted: the run's
// token on Windows.
type provenToken struct {
	*restrictedtoken.Caller
	spec  restrictedtoken.Spec // from forPlan: the token proven and made
	logon ntsec.SID
}

// forPlan gives the planner the logon SID and the model of the token for
// any capability SIDs, and refuses a token the model cannot describe
// before anything is written.
func (t *provenToken) forPlan(in *aclplan.Input, spec restrictedtoken.Spec) error {
	logon, err := planTokens(in, t.Model(), spec, t.Sandbox)
	t.spec, t.logon = spec, logon
	return err
}

// planTokens gives the planner base's logon SID and, through model, the
// sandbox token for any capability SIDs, and refuses a token the model
// cannot describe before anything is written.
func planTokens(in *aclplan.Input, base *ntsec.Token, spec restrictedtoken.Spec, model func(restrictedtoken.Spec) (*ntsec.Token, error)) (ntsec.SID, error) {
	logon, err := restrictedtoken.LogonSID(base)
	if err != nil {
		return ntsec.SID{}, fmt.Errorf("restricted-token: %w", err)
	}
	in.User.Logon = logon
	in.Token = func(caps ...ntsec.SID) (*ntsec.Token, error) {
		s := spec
		s.Caps = caps
		return model(s)
	}
	if _, err := model(spec); err != nil {
		return ntsec.SID{}, fmt.Errorf("restricted-token: %w", err)
	}
	return logon, nil
}

func (t *provenToken) prove(in aclplan.Input, read *fsview.Recorder, edits []aclplan.Edit) error {
	return proveOnNTFS(in, read, edits)
}

// proveOnNTFS proves the applied plan against the descriptors on disk.
func proveOnNTFS(in aclplan.Input, read *fsview.Recorder, edits []aclplan.Edit) error {
	in.View = ntfs.NewView()
	_, err := aclplan.ProveApplied(in, read, edits)
	return err
}

func (t *provenToken) create() (windows.Token, []string, error) {
	var degraded []string
	model, _ := t.Sandbox(t.spec) // forPlan made it without error
	if err := ensureNUL(model, t.logon); err != nil {
		degraded = append(degraded, "nul: "+err.Error())
	}
	tok, err := t.Create(t.spec)
	if err != nil {
		return 0, nil, fmt.Errorf("restricted-token: %w", err)
	}
	return tok, degraded, nil
}

// plumbingToken is the caller's own token, which a run under Wine keeps:
// Wine restricts no token and stores no DACL, so the plan is made for the
// user alone and nothing is proven.
type plumbingToken struct{ *restrictedtoken.Caller }

func (plumbingToken) forPlan(*aclplan.Input, restrictedtoken.Spec) error { return nil }

func (plumbingToken) prove(aclplan.Input, *fsview.Recorder, []aclplan.Edit) error { return nil }

func (plumbingToken) create() (windows.Token, []string, error) {
	return 0, []string{wineUnenforced}, nil
}
