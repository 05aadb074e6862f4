//go:build !windows

package main

import (
	"context"

	"github.com/cordon-sandbox/cordon/internal/sandboxusers"
)

// runSetupHere runs the setup here: off Windows, sandboxusers.Setup
// refuses with setup_unsupported.
func runSetupHere(ctx context.Context, opts sandboxusers.Options) (sandboxusers.Result, error) {
	return runSetupInProcess(ctx, opts)
}
