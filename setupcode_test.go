package cordon

import (
	"errors"
	"fmt"
	"testing"

	"github.com/cordon-sandbox/cordon/sandbox"
)

// A backend's errors map to the library's stable codes; a setup that has
// not been done is its own code, not merely unavailable.
func TestSetupCode(t *testing.T) {
	for _, tc := range []struct {
		err  error
		want string
	}{
		{fmt.Errorf("elevated: %w: no marker", sandbox.ErrNotSetUp), CodeSetupRequired},
		{sandbox.Unavailable("no Landlock"), CodeUnavailable},
		{fmt.Errorf("x: %w", sandbox.ErrBusy), CodeBusy},
		{fmt.Errorf("x: %w", sandbox.ErrBadRequest), CodeBadRequest},
		{errors.New("anything else"), CodeSetupFailed},
	} {
		if got := setupCode(tc.err); got != tc.want {
			t.Errorf("setupCode(%v) = %s, want %s", tc.err, got, tc.want)
		}
	}
}
