package winsandbox

import (
	"github.com/cordon-sandbox/cordon/internal/ntfs"
	"github.com/cordon-sandbox/cordon/policy"
)

// PolicyEnv implements sandbox.Platform; paths are made canonical by
// ntfs.FinalPath, which resolves links, junctions and short names as the
// kernel will when the command opens them.
func (b *Backend) PolicyEnv(pol policy.Policy, cwd string, env []string, temp string) (policy.Env, []string, error) {
	return policyEnv(pol, cwd, env, temp, ntfs.FinalPath)
}
