//go:build !linux

package linuxsandbox

import (
	"context"

	"github.com/cordon-sandbox/cordon/sandbox"
)

func initStage() {}

func newBackend() sandbox.Backend { return otherBackend{} }

// otherBackend is the backend on systems other than Linux: it reports itself
// unavailable and runs nothing.
type otherBackend struct{ platform }

func (otherBackend) Name() string { return Name }

func (otherBackend) Probe(context.Context) sandbox.Probe {
	return sandbox.Probe{Backend: Name, Reason: "not Linux"}
}

func (otherBackend) Start(context.Context, sandbox.Spec) (sandbox.Process, error) {
	return nil, sandbox.Unavailable("the linux backend needs Linux")
}
