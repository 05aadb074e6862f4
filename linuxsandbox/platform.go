package linuxsandbox

import (
	"os"

	"github.com/cordon-sandbox/cordon/policy"
	"github.com/cordon-sandbox/cordon/sandbox"
)

// platform is what the backend knows of Linux before a run.
type platform struct{}

// Features implements sandbox.Platform: limits through a cgroup or
// rlimits (Start refuses one it cannot enforce here unless BestEffort),
// deny-read paths hidden under empty read-only mounts, and network
// allowlists through Spec.Proxy on the sandbox's loopback
// (netproxy_linux.go).
func (platform) Features() sandbox.Features {
	return sandbox.Features{Limits: true, DenyRead: true, NetworkAllowlist: true}
}

// PolicyEnv implements sandbox.Platform. Paths are POSIX and are not made
// canonical here: the init resolves links itself, in the sandbox's view.
// There are no temp roots: every run gets a private /tmp and /var/tmp of
// its own, and TMPDIR points there, because the host's /tmp holds other
// programs' sockets.
func (platform) PolicyEnv(pol policy.Policy, cwd string, env []string, temp string) (policy.Env, []string, error) {
	return policy.Env{Rules: policy.POSIX, Cwd: cwd, Getenv: os.Getenv}, env, nil
}
