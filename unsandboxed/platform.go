package unsandboxed

import (
	"os"

	"github.com/cordon-sandbox/cordon/policy"
	"github.com/cordon-sandbox/cordon/sandbox"
)

// Features implements sandbox.Platform: this backend enforces nothing.
func (backend) Features() sandbox.Features { return sandbox.Features{} }

// PolicyEnv implements sandbox.Platform with the host's path rules. The
// policy is resolved only to report it: nothing here enforces it.
func (backend) PolicyEnv(pol policy.Policy, cwd string, env []string, temp string) (policy.Env, []string, error) {
	return policy.Env{Rules: rules, Cwd: cwd, TempDirs: tempDirs(env), Canonical: canonical, Getenv: os.Getenv}, env, nil
}
