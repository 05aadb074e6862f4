// Package elevsandbox is cordon's Windows elevated backend, "elevated": it
// runs each command as a local sandbox user (CordonSandboxOffline without
// network, CordonSandboxOnline with it, made by `cordon setup`), under the
// same restricted token the restricted-token backend (winsandbox) makes,
// built from that user's token by a runner (internal/runner) which
// cordon starts as the user with CreateProcessWithLogonW and talks to over
// a named pipe only that user may open (internal/runnerpipe).
//
// # A run, step by step
//
//  1. The setup marker is checked (sandboxusers.Check); a missing or stale
//     one is ErrNotSetUp, which says to run `cordon setup`. The account
//     is the offline one unless the policy has network (UserFor), its
//     password is read from the DPAPI-protected store, and its SID and
//     the group's are looked up.
//  2. The read-ACL helper is started (Options.StartReadHelper), detached,
//     to plan and apply this workspace's read grants. When the runner
//     cannot yet list every directory down to the cwd (the grants still
//     pending), it starts the command in a junction to the cwd under its
//     own profile (internal/cwdjunction); once it can, the real cwd.
//  3. The runner is started as the account (CreateProcessWithLogonW) and
//     connects to the pipe (its process ID checked, its nonce too); its
//     hello describes its own token.
//  4. The ACLs are planned, applied and proven as the restricted-token
//     backend does (winsandbox.Backend.PrepareFor), for the token the
//     runner will make: restrictedtoken.Model over the token the runner
//     described, which must be the account's. The plan hook
//     (Options.PlanHook) is where the sandbox group's write grants join
//     the plan.
//  5. The Spawn goes to the runner, which makes the token from its own
//     (restrictedtoken checks it against the model of the same token) and
//     starts the command in a job, on a private desktop; the output and
//     the exit come back over the pipe. Kill asks the runner to end the
//     job; if the runner is gone, its job handle was the last one and
//     KILL_ON_JOB_CLOSE ended the command.
//
// # What this is not, yet
//
// Nothing of it has run on real Windows. Wine has no local accounts (its
// CreateProcessWithLogonW is a stub), restricts no token and stores no
// DACL, so under Wine the runner is started as the caller and runs the
// command with its own token: plumbing only, and Degraded says so.
// `--sandbox auto` never picks this backend.
package elevsandbox

import (
	"context"
	"fmt"
	"path/filepath"

	"github.com/cordon-sandbox/cordon/internal/aclplan"
	"github.com/cordon-sandbox/cordon/internal/readacl"
	"github.com/cordon-sandbox/cordon/internal/sandboxusers"
	"github.com/cordon-sandbox/cordon/ntsec"
	"github.com/cordon-sandbox/cordon/policy"
	"github.com/cordon-sandbox/cordon/sandbox"
	"github.com/cordon-sandbox/cordon/winsandbox"
)

// Name is the backend's name for --sandbox.
const Name = "elevated"

// ErrNotSetUp is wrapped by Start's error when `cordon setup` has not run,
// or ran with another version, or a password it stored cannot be read: the
// user must run `cordon setup`, which repairs. It wraps sandbox.ErrNotSetUp
// (and so sandbox.ErrUnavailable): cordon's code for it is setup_required.
var ErrNotSetUp = fmt.Errorf("%w: elevated: the sandbox users are not set up: run `cordon setup` (it asks for administrator rights once)", sandbox.ErrNotSetUp)

// notSetUp wraps err (sandboxusers' own) in ErrNotSetUp.
func notSetUp(err error) error {
	return fmt.Errorf("%w: %w", ErrNotSetUp, err)
}

// Options are the backend's settings beyond the policy.
type Options struct {
	// Options are the restricted-token backend's: the state directory,
	// Medium integrity, limits. They mean the same here.
	winsandbox.Options
	// PlanHook, when set, may add to the planner's input before the
	// plan: the synchronous write grants for the sandbox group (and the
	// ownership ACEs) join the plan here. Without them the sandbox user's
	// own (first) pass of the access check grants it no write on the
	// roots, so every write fails: safe, and useless.
	PlanHook func(in *aclplan.Input)
	// StartReadHelper, when set, starts the detached `cordon acl-helper`
	// that applies the read grants; it must return at once. Its error is
	// reported in Degraded, not fatal: the command still runs, in the cwd
	// junction, with fewer reads.
	StartReadHelper func(ctx context.Context) error
}

// Backend is the elevated backend.
type Backend struct {
	Options
	ws *winsandbox.Backend
	// sys is how the backend reaches the setup's state and ln how it
	// starts the runner; zero values mean the real ones (sys_windows.go),
	// which tests replace.
	sys system
	ln  launch
}

var _ sandbox.Backend = (*Backend)(nil)

// New returns the backend with opts.
func New(opts Options) *Backend {
	return &Backend{Options: opts, ws: &winsandbox.Backend{Options: opts.Options}}
}

// Name implements sandbox.Backend.
func (b *Backend) Name() string { return Name }

// Features implements sandbox.Platform: the restricted-token backend's.
func (b *Backend) Features() sandbox.Features { return b.ws.Features() }

// UserFor is the sandbox account a run uses: the online one when the
// policy allows network, else the offline one, whose traffic the network
// fence (internal/netfence) blocks.
func UserFor(network bool) string {
	if network {
		return sandboxusers.OnlineUser
	}
	return sandboxusers.OfflineUser
}

// SandboxBase is the model of the sandbox user's token before the runner
// restricts it: readacl.SandboxToken's (the user, Everyone,
// Authenticated Users, Users, Interactive, a logon SID and the group, at
// Medium) without its restriction. A run proves its plan for the token
// the runner describes; SandboxBase stands in for it where there is none
// to describe (Wine's plumbing runs), and its test ties the write proof's
// token to the one the read-isolation proof (readacl) assumes.
func SandboxBase(user, group ntsec.SID) *ntsec.Token {
	t := readacl.SandboxToken(user, group)
	t.RestrictedSIDs, t.WriteRestricted = nil, false
	return t
}

// account is the sandbox account a run uses.
type account struct {
	Name     string
	Password string
	SID      ntsec.SID
	Group    ntsec.SID
}

// PolicyEnv implements sandbox.Platform: the restricted-token backend's
// (Windows path rules, final paths, the workspace's own temp directory).
func (b *Backend) PolicyEnv(pol policy.Policy, cwd string, env []string, temp string) (policy.Env, []string, error) {
	return b.ws.PolicyEnv(pol, cwd, env, temp)
}

// SetUp reports whether `cordon setup` has been done for the user whose
// state directory is dir: its marker is there and of this version. It
// reads one file and nothing else (no password, no account), which is all
// `--sandbox auto` may spend on choosing a backend; a setup damaged since
// is found by Start, which says to run `cordon setup` again.
func SetUp(dir string) bool {
	m := sandboxusers.FileMarkers{Dir: filepath.Join(dir, sandboxusers.SubDir)}
	return sandboxusers.Check(m, sandboxusers.Default()) == nil
}
