package winsandbox

import (
	"context"
	"errors"

	"golang.org/x/sys/windows"

	"github.com/cordon-sandbox/cordon/internal/aclplan"
	"github.com/cordon-sandbox/cordon/internal/fsview"
	"github.com/cordon-sandbox/cordon/internal/restrictedtoken"
	"github.com/cordon-sandbox/cordon/ntsec"
	"github.com/cordon-sandbox/cordon/sandbox"
)

// Prepared is a run whose ACLs are planned, applied and proven (steps 2 to
// 5) for a token another process makes and starts the command with: the
// elevated mode's runner, which makes it from the sandbox user's token.
// It holds the run lock until Release, so `cordon cleanup` waits for the
// command.
type Prepared struct {
	s *setup
	// Token is the spec of the token the proof was made for: the runner
	// must make exactly this one (restrictedtoken.Caller.Create).
	Token restrictedtoken.Spec
	// Env is the command's environment (LaunchEnv with the tool caches).
	Env []string
}

// Release lets go of the run lock and the tool caches; call it once the
// command has ended. It may be called more than once.
func (p *Prepared) Release() error { return p.s.release() }

// Degraded lists what the run does not enforce; Notes are the git
// resolver's and the caches' findings.
func (p *Prepared) Degraded() []string { return p.s.degraded }
func (p *Prepared) Notes() []string    { return p.s.notes }

// PrepareFor does steps 2 to 5 for a token modelled by base (the token
// the restricted token is made from: the sandbox user's, as
// readacl.SandboxToken's shape describes it before restriction) instead
// of the caller's own: the plan's user is base.User, and the proof checks
// restrictedtoken.Model(base, spec) under every open reading. hook, when
// not nil, may add to the planner's input before the plan (the sandbox
// group's write grants). With plumbingOnly (Wine) the plan is made for
// base.User alone and nothing is proven, as for the restricted-token
// backend's own plumbing runs.
func (b *Backend) PrepareFor(ctx context.Context, spec sandbox.Spec, base *ntsec.Token, plumbingOnly bool, hook func(*aclplan.Input)) (*Prepared, error) {
	if base == nil {
		return nil, errors.New("restricted-token: PrepareFor without a token model")
	}
	open := func() (runToken, error) { return &modelToken{base: base}, nil }
	if plumbingOnly {
		open = func() (runToken, error) { return plumbingModel{base}, nil }
	}
	s, err := b.prepareWith(ctx, spec, open, hook, false)
	if err != nil {
		return nil, err
	}
	env, err := s.launchEnv(spec)
	if err != nil {
		return nil, errors.Join(err, s.release())
	}
	if plumbingOnly {
		s.degraded = append(s.degraded, wineUnenforced)
	}
	return &Prepared{s: s, Token: s.tokenSpec, Env: env}, nil
}

// modelToken is a token made elsewhere from base: the plan is proven
// against its model, and cordon makes none (create is never called:
// PrepareFor stops before step 6).
type modelToken struct {
	base *ntsec.Token
	spec restrictedtoken.Spec
}

func (t *modelToken) Model() *ntsec.Token { return t.base }
func (t *modelToken) Close() error        { return nil }

func (t *modelToken) forPlan(in *aclplan.Input, spec restrictedtoken.Spec) error {
	t.spec = spec
	_, err := planTokens(in, t.base, spec, func(s restrictedtoken.Spec) (*ntsec.Token, error) {
		return restrictedtoken.Model(t.base, s)
	})
	return err
}

func (t *modelToken) prove(in aclplan.Input, read *fsview.Recorder, edits []aclplan.Edit) error {
	return proveOnNTFS(in, read, edits)
}

func (t *modelToken) create() (windows.Token, []string, error) {
	return 0, nil, errors.New("restricted-token: the token of a prepared run is made by its runner")
}

// plumbingModel is modelToken under Wine: nothing proven.
type plumbingModel struct{ base *ntsec.Token }

func (t plumbingModel) Model() *ntsec.Token                                       { return t.base }
func (plumbingModel) Close() error                                                { return nil }
func (plumbingModel) forPlan(*aclplan.Input, restrictedtoken.Spec) error          { return nil }
func (plumbingModel) prove(aclplan.Input, *fsview.Recorder, []aclplan.Edit) error { return nil }
func (plumbingModel) create() (windows.Token, []string, error) {
	return 0, nil, errors.New("restricted-token: the token of a prepared run is made by its runner")
}
