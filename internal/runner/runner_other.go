//go:build !windows

package runner

import (
	"context"
	"errors"
)

// Run is `cordon runner`, which exists on Windows only.
func Run(context.Context, Config) error {
	return errors.New("runner: the runner is part of the Windows elevated mode")
}
