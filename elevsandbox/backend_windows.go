package elevsandbox

import (
	"context"
	"errors"
	"fmt"
	"os"

	"golang.org/x/sys/windows"

	"github.com/cordon-sandbox/cordon/internal/aclhelper"
	"github.com/cordon-sandbox/cordon/internal/runner"
	"github.com/cordon-sandbox/cordon/internal/runnerpipe"
	"github.com/cordon-sandbox/cordon/internal/statedir"
	"github.com/cordon-sandbox/cordon/internal/wine"
	"github.com/cordon-sandbox/cordon/ntsec"
	"github.com/cordon-sandbox/cordon/sandbox"
	"github.com/cordon-sandbox/cordon/winsandbox"
)

// wineUnenforced is what Degraded adds under Wine.
const wineUnenforced = "elevated: under Wine the runner runs as you, not as a sandbox user (Wine has no local accounts), and nothing is enforced"

// Start implements sandbox.Backend (see the package documentation for the
// steps). On any error nothing of the command has run, and the ACL
// changes the plan made stay recorded for `cordon cleanup`.
func (b *Backend) Start(ctx context.Context, spec sandbox.Spec) (_ sandbox.Process, err error) {
	plumbing := wine.Detected()
	if plumbing && os.Getenv(winsandbox.WinePlumbingEnv) != "1" {
		return nil, sandbox.Unavailable("this is Wine, which has no local accounts, restricts no token and stores no DACL; set %s=1 to run the elevated backend's plumbing unenforced", winsandbox.WinePlumbingEnv)
	}
	if spec.Policy == nil {
		return nil, fmt.Errorf("%w: elevated: no policy", sandbox.ErrBadRequest)
	}
	// CreateProcessWithLogonW may give the runner your logon SID (for your
	// window station), and the command then holds it too; at Low
	// integrity no-read-up still keeps it out of your processes, at Medium
	// nothing would. Until a real-Windows run says which
	// (TestRealWindowsAttackCommandCannotReadYourProcesses), Medium is
	// refused unless best effort accepts the risk, and then said.
	if err := mediumRefused(b.MediumIntegrity || spec.MediumIntegrity, plumbing, spec.BestEffort); err != nil {
		return nil, err
	}
	dir := b.StateDir
	if dir == "" {
		if dir, err = statedir.Dir(); err != nil {
			return nil, fmt.Errorf("elevated: %w", err)
		}
	}
	sys, ln := b.sys, b.ln
	if sys.lookup == nil {
		sys = realSystem(dir)
	}
	if ln.start == nil {
		if ln, err = realLaunch(); err != nil {
			return nil, err
		}
	}
	acct, err := sys.account(spec.Policy.Network)
	if err != nil {
		return nil, err
	}
	other, err := sys.lookup(UserFor(!spec.Policy.Network))
	if err != nil {
		return nil, notSetUp(fmt.Errorf("looking up the account %s: %w", UserFor(!spec.Policy.Network), err))
	}
	real, err := callerSID()
	if err != nil {
		return nil, fmt.Errorf("elevated: %w", err)
	}
	hook := sandboxPlan(real, acct, other, b.PlanHook)
	p := &process{}
	if plumbing {
		p.degraded = append(p.degraded, wineUnenforced)
	}
	if b.MediumIntegrity || spec.MediumIntegrity {
		p.degraded = append(p.degraded, "elevated: "+mediumRisk)
	}
	startHelper := b.StartReadHelper
	if startHelper == nil && !plumbing {
		// The helper plans this run's read grants itself, detached: its
		// walk over your profile is not on the command's path.
		startHelper = func(ctx context.Context) error {
			return aclhelper.StartDetached(ctx, ln.exe, dir, readHelperArgs(spec.Policy)...)
		}
	}
	if startHelper != nil {
		if herr := startHelper(ctx); herr != nil {
			p.degraded = append(p.degraded, "read-acl helper not started: "+herr.Error())
		}
	}
	// The runner uses the cwd junction only when it cannot list the cwd
	// all the way down (read grants still pending); Wine cannot make
	// junctions, and under it nothing is enforced anyway.
	junction := !plumbing
	// The plan is made once the runner has said hello, for the token it
	// described: the one the command's token is made from.
	prepare := func(base *ntsec.Token) (*runnerpipe.Spawn, error) {
		base, err := b.baseToken(acct, base, plumbing)
		if err != nil {
			return nil, err
		}
		if p.prep, err = b.ws.PrepareFor(ctx, spec, base, plumbing, hook); err != nil {
			return nil, err
		}
		return b.spawn(spec, p.prep, junction), nil
	}
	p.run, err = runner.StartRemote(ctx, runner.RemoteOptions{
		Exe: ln.exe, Args: ln.args, SandboxUser: acct.SID, Start: ln.start(acct),
		WinePlumbing: plumbing, Prepare: prepare,
		Stdin: spec.Stdin, Stdout: spec.Stdout, Stderr: spec.Stderr,
	})
	if err != nil {
		if p.prep != nil {
			err = errors.Join(err, p.prep.Release())
		}
		return nil, startError(acct, ln.exe, err)
	}
	return p, nil
}

// startError says what to do about a runner that did not start: a
// password that no longer logs on (changed, or the account was reset) is
// what `cordon setup` repairs; a runner the account may not execute
// (cordon installed where only you can read it) needs cordon elsewhere.
func startError(a account, exe string, err error) error {
	err = fmt.Errorf("elevated: starting the command as %s: %w", a.Name, err)
	switch {
	case !errors.Is(err, runner.ErrStart):
		return err
	case errors.Is(err, windows.ERROR_LOGON_FAILURE), errors.Is(err, windows.ERROR_PASSWORD_EXPIRED),
		errors.Is(err, windows.ERROR_ACCOUNT_DISABLED), errors.Is(err, windows.ERROR_ACCOUNT_LOCKED_OUT):
		return notSetUp(err)
	case errors.Is(err, windows.ERROR_ACCESS_DENIED):
		return fmt.Errorf("%w (the account %s must be able to read and run %s: install cordon where the Users group can, such as under Program Files)", err, a.Name, exe)
	}
	return err
}

// baseToken is the token the plan is proven for: the runner's own, as it
// described it, which must be the account's. Under Wine (plumbing) the
// runner runs as the caller and nothing is proven: SandboxBase stands in.
func (b *Backend) baseToken(a account, described *ntsec.Token, plumbing bool) (*ntsec.Token, error) {
	if plumbing {
		return SandboxBase(a.SID, a.Group), nil
	}
	if described == nil {
		return nil, fmt.Errorf("elevated: the runner did not describe its token, so no plan can be proven for it")
	}
	if described.User != a.SID {
		return nil, fmt.Errorf("elevated: the runner runs as %s, not as %s (%s)", described.User, a.Name, a.SID)
	}
	return described, nil
}

// spawn is the runner's Spawn for spec, prepared as prep: the token the
// plan was proven for, the limits of the run or else the backend's, a
// private desktop, and the cwd junction while read grants are pending.
func (b *Backend) spawn(spec sandbox.Spec, prep *winsandbox.Prepared, junction bool) *runnerpipe.Spawn {
	sp := &runnerpipe.Spawn{
		Args: spec.Args, Dir: spec.Dir, Env: trustRepositories(prep.Env),
		Run: prep.Token.Run.String(), LowIntegrity: prep.Token.LowIntegrity,
		MemoryLimit: b.MemoryLimit, ProcessLimit: b.ProcessLimit,
		PrivateDesktop: true, CwdJunction: junction,
	}
	for _, c := range prep.Token.Caps {
		sp.Caps = append(sp.Caps, c.String())
	}
	if spec.Limits.Memory != 0 {
		sp.MemoryLimit = spec.Limits.Memory
	}
	if spec.Limits.Processes != 0 {
		sp.ProcessLimit = spec.Limits.Processes
	}
	return sp
}

// process is a command running through the runner.
type process struct {
	prep     *winsandbox.Prepared
	run      *runner.Running
	degraded []string
}

// Wait waits for the command's exit (its code as the runner reported
// it), then releases the run lock. A failure there wraps
// sandbox.ErrTeardown: the command ran and its exit code is valid.
func (p *process) Wait() (int, error) {
	exit, err := p.run.Wait()
	rerr := p.prep.Release()
	if err != nil {
		return -1, errors.Join(err, rerr)
	}
	if rerr != nil {
		return int(exit.Code), fmt.Errorf("%w: %w", sandbox.ErrTeardown, rerr)
	}
	return int(exit.Code), nil
}

// Kill ends the command and everything it started (the runner's job).
func (p *process) Kill() error { return p.run.Kill() }

// Degraded lists what the run does not enforce.
func (p *process) Degraded() []string {
	return append(append([]string(nil), p.prep.Degraded()...), p.degraded...)
}

// Notes are the plan's findings, for the log.
func (p *process) Notes() []string { return p.prep.Notes() }

// Probe implements sandbox.Backend: is the setup there, and can a token
// be made here? It logs nobody on and starts nothing.
func (b *Backend) Probe(ctx context.Context) sandbox.Probe {
	p := sandbox.Probe{Backend: Name, Available: true}
	add := func(name string, ok bool, detail, enforces string) {
		p.Layers = append(p.Layers, sandbox.Layer{Name: name, Available: ok, Detail: detail, Enforces: enforces})
		if !ok && p.Available {
			p.Available, p.Reason = false, name+" layer: "+detail
		}
	}
	dir := b.StateDir
	if dir == "" {
		dir, _ = statedir.Dir()
	}
	sys := b.sys
	if sys.lookup == nil {
		sys = realSystem(dir)
	}
	_, err := sys.account(false)
	detail := "set up"
	if err != nil {
		detail = err.Error()
	}
	add(LayerUser, err == nil, detail, "The command runs as a local sandbox account, not as you: it reads only what that account was granted (the system, the cwd, the roots, your profile but its secret folders, once the read-ACL helper is done).")
	if wine.Detected() {
		add(LayerToken, false, "Wine has no local accounts and restricts no token", "")
	} else {
		add(LayerToken, true, "made by the runner from the sandbox account's token", "The restricted-token backend's token, made from the sandbox account's: writes need a capability SID too.")
	}
	return p
}

// The layers Probe reports.
const (
	LayerUser  = "sandbox-user"
	LayerToken = "restricted-token"
)

// callerSID is your SID: the user cordon runs as, whom the workspace
// belongs to and whose full control the plan keeps on what the sandbox
// creates.
func callerSID() (ntsec.SID, error) {
	u, err := windows.GetCurrentProcessToken().GetTokenUser()
	if err != nil {
		return ntsec.SID{}, fmt.Errorf("reading your SID: %w", err)
	}
	return ntsec.ParseSID(u.User.Sid.String())
}
