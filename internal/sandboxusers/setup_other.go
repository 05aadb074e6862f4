//go:build !windows

package sandboxusers

import (
	"context"
	"errors"
	"io"
)

// Setup is Windows-only: elsewhere it fails with CodeUnsupported.
func Setup(context.Context, Options, io.Writer) (Report, error) {
	return Report{}, &Error{Code: CodeUnsupported, Op: "cordon setup", Err: errors.New("sandbox users exist on Windows only")}
}
