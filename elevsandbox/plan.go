package elevsandbox

import (
	"github.com/cordon-sandbox/cordon/internal/aclplan"
	"github.com/cordon-sandbox/cordon/ntsec"
	"github.com/cordon-sandbox/cordon/policy"
	"github.com/cordon-sandbox/cordon/sandbox"
)

// sandboxPlan turns the restricted-token backend's planner input into the
// elevated mode's (aclplan.Input.Sandbox): the roots are granted to the
// sandbox group as well as to their capability SIDs, the protected
// objects are denied to it, and the ownership ACEs keep what the sandbox
// creates yours. real is you, the user the workspace belongs to: the
// backend's input names the runner's account there, since the plan is
// proven for the runner's token. Both accounts are proven, since either
// may run in the workspace: acct's with the model of the runner's token
// (the input's Token, restrictedtoken.Model over the token the runner
// described), the other with aclplan.ElevatedToken. then, if set, runs
// after (Options.PlanHook).
func sandboxPlan(real ntsec.SID, acct account, other ntsec.SID, then func(*aclplan.Input)) func(*aclplan.Input) {
	return func(in *aclplan.Input) {
		runnerToken := in.Token
		user := in.User
		user.SID = real
		in.User = user
		// in.Token describes the user's own token to the planner; the
		// runner's is not yours.
		in.Token = nil
		in.Sandbox = aclplan.SandboxUsers{
			Group: acct.Group,
			Users: []ntsec.SID{acct.SID, other},
			Token: func(u ntsec.SID, caps ...ntsec.SID) (*ntsec.Token, error) {
				if u == acct.SID && runnerToken != nil {
					return runnerToken(caps...)
				}
				return aclplan.ElevatedToken(user, u, acct.Group, caps...), nil
			},
		}
		if then != nil {
			then(in)
		}
	}
}

// readHelperArgs are the arguments that have `cordon acl-helper` plan and
// queue this run's read grants itself (its cwd, its writable roots, its
// deny-read paths), so that the planning's walk over your profile is not
// on the command's path.
func readHelperArgs(r *policy.Resolved) []string {
	args := []string{"--cwd", r.Cwd}
	if r.Mode == policy.ReadOnly {
		args = append(args, "--policy", "read-only")
	}
	for _, root := range r.Roots {
		if root.Path != r.Cwd {
			args = append(args, "--writable-root", root.Path)
		}
	}
	for _, d := range r.DenyRead {
		args = append(args, "--deny-read", d)
	}
	return args
}

// mediumRisk is why a Medium-integrity elevated run is refused, or, on
// best effort, what it risks.
const mediumRisk = "at Medium integrity the command may read your processes' memory, if the sandbox account's logon carries your logon SID (unsettled until a real-Windows run); the default Low integrity keeps them out"

// mediumRefused says whether a run at Medium integrity must be refused:
// CreateProcessWithLogonW may give the runner your logon SID (for your
// window station), and the command then holds it too; at Low integrity
// no-read-up still keeps it out of your processes, at Medium nothing
// would. Until a real-Windows run says which
// (TestRealWindowsAttackCommandCannotReadYourProcesses), Medium runs only
// on best effort, which accepts the risk and says so; under Wine
// (plumbing) nothing is enforced anyway.
func mediumRefused(medium, plumbing, bestEffort bool) error {
	if medium && !plumbing && !bestEffort {
		return sandbox.Unavailable("elevated: %s", mediumRisk)
	}
	return nil
}
