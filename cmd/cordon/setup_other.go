//go:build !windows

package main

import (
	"context"

	"github.com/cordon-sandbox/cordon/internal/netfence"
	"github.com/cordon-sandbox/cordon/ntsec"

	"github.com/cordon-sandbox/cordon/internal/sandboxusers"
)

// runSetupHere runs the setup here: off Windows, sandboxusers.Setup
// refuses with setup_unsupported.
func runSetupHere(ctx context.Context, opts sandboxusers.Options) (sandboxusers.Result, error) {
	return runSetupInProcess(ctx, opts)
}

// hostFence is never reached off Windows: the accounts' step refuses
// first (setup_unsupported). Its functions say so all the same.
var hostFence = fenceOps{
	lookup:  func(string) (ntsec.SID, error) { return ntsec.SID{}, netfence.ErrUnsupported },
	present: netfence.Present, install: netfence.Install, remove: netfence.Remove,
}
