//go:build !windows

package winsandbox

import (
	"context"

	"github.com/cordon-sandbox/cordon/policy"
	"github.com/cordon-sandbox/cordon/sandbox"
)

// Probe implements sandbox.Backend: the backend exists only on Windows.
func (b *Backend) Probe(ctx context.Context) sandbox.Probe {
	return sandbox.Probe{Backend: Name, Reason: "Windows only"}
}

// Start implements sandbox.Backend: the backend exists only on Windows.
func (b *Backend) Start(ctx context.Context, spec sandbox.Spec) (sandbox.Process, error) {
	return nil, sandbox.Unavailable("the %s backend runs on Windows only", Name)
}

// PolicyEnv implements sandbox.Platform: the backend exists only on Windows.
func (b *Backend) PolicyEnv(policy.Policy, string, []string, string) (policy.Env, []string, error) {
	return policy.Env{}, nil, sandbox.Unavailable("the %s backend runs on Windows only", Name)
}
