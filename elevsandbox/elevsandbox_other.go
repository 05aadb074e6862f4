//go:build !windows

package elevsandbox

import (
	"context"

	"github.com/cordon-sandbox/cordon/sandbox"
)

// Probe implements sandbox.Backend: the backend exists only on Windows.
func (b *Backend) Probe(context.Context) sandbox.Probe {
	return sandbox.Probe{Backend: Name, Reason: "Windows only"}
}

// Start implements sandbox.Backend: the backend exists only on Windows.
func (b *Backend) Start(context.Context, sandbox.Spec) (sandbox.Process, error) {
	return nil, sandbox.Unavailable("the %s backend runs on Windows only", Name)
}
