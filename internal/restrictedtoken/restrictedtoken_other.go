//go:build !windows

package restrictedtoken

import (
	"errors"
	"fmt"

	"github.com/cordon-sandbox/cordon/ntsec"
)

// Token stands in for windows.Token, an access token handle, so that code
// naming the type builds everywhere.
type Token uintptr

var errNotWindows = fmt.Errorf("restrictedtoken: restricted tokens exist only on Windows: %w", errors.ErrUnsupported)

// Create makes the sandbox token on Windows; elsewhere it fails.
func Create(Spec) (Token, error) { return 0, errNotWindows }

// Query reads a token into the model on Windows; elsewhere it fails.
func Query(Token) (*ntsec.Token, error) { return nil, errNotWindows }
