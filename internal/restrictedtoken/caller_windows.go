//go:build windows

package restrictedtoken

import (
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"

	"golang.org/x/sys/windows"

	"github.com/cordon-sandbox/cordon/ntsec"
)

// Caller is the calling process's token, read once. The backend proves its
// plan against Caller.Sandbox, the model of the token Caller.Create makes
// from that same read, and Create checks the token it made against that
// model: what is proven is what runs.
type Caller struct {
	tok        windows.Token // opened with baseAccess
	model      *ntsec.Token  // Query(tok)
	incomplete error         // Query's ErrIncomplete, or nil
}

// OpenCaller opens the current process token (with baseAccess: what Create
// needs) and reads it with Query, once. When Query could read it only in
// part (Wine), OpenCaller returns the Caller together with the error
// wrapping ErrIncomplete: its Model may serve plumbing, but Create
// refuses. Any other failure returns no Caller. The caller must Close it.
func OpenCaller() (*Caller, error) {
	var tok windows.Token
	if err := windows.OpenProcessToken(windows.CurrentProcess(), baseAccess, &tok); err != nil {
		return nil, fmt.Errorf("restrictedtoken: OpenProcessToken: %w", err)
	}
	m, err := Query(tok)
	if m == nil {
		tok.Close()
		return nil, fmt.Errorf("restrictedtoken: reading the process token: %w", err)
	}
	c := &Caller{tok: tok, model: m}
	if err != nil {
		c.incomplete = fmt.Errorf("restrictedtoken: reading the process token: %w", err)
		return c, c.incomplete
	}
	return c, nil
}

// Model is the caller's token as Query read it. The caller must not change
// it.
func (c *Caller) Model() *ntsec.Token { return c.model }

// Sandbox is Model(c.Model(), spec): the token Create(spec) makes, as the
// planner's proof sees it.
func (c *Caller) Sandbox(spec Spec) (*ntsec.Token, error) { return Model(c.model, spec) }

// Close closes the process token handle. Closing twice returns nil.
func (c *Caller) Close() error {
	if c.tok == 0 {
		return nil
	}
	err := c.tok.Close()
	c.tok = 0
	return err
}

// Create makes the sandbox token from the caller's token, as create
// describes, and then reads it back with Query: it must equal
// c.Sandbox(spec) field by field (Diff), or Create closes it and fails.
// Create refuses a Caller whose token Query read only in part. The caller
// closes the token.
func (c *Caller) Create(spec Spec) (Token, error) {
	if c.incomplete != nil {
		return 0, c.incomplete
	}
	if c.tok == 0 {
		return 0, errors.New("restrictedtoken: Create on a closed Caller")
	}
	tok, err := create(c.tok, c.model, spec)
	if err != nil {
		return 0, err
	}
	if err := c.check(tok, spec); err != nil {
		tok.Close()
		return 0, err
	}
	return tok, nil
}

// check reads tok back and compares it with the model of spec.
func (c *Caller) check(tok windows.Token, spec Spec) error {
	want, err := c.Sandbox(spec)
	if err != nil {
		return err
	}
	got, err := Query(tok)
	if err != nil {
		return fmt.Errorf("restrictedtoken: reading the new token back: %w", err)
	}
	if d := Diff(want, got); len(d) > 0 {
		var parts []string
		for _, f := range slices.Sorted(maps.Keys(d)) {
			parts = append(parts, f+": "+d[f])
		}
		return fmt.Errorf("restrictedtoken: the token made is not the one proven: %s", strings.Join(parts, "; "))
	}
	return nil
}

// Create makes the sandbox token from the current process token:
// OpenCaller, Caller.Create, Close. Callers that also prove a plan use a
// Caller, so that the proof and the token come from one read.
func Create(spec Spec) (Token, error) {
	c, err := OpenCaller()
	if c == nil {
		return 0, err
	}
	defer c.Close()
	return c.Create(spec)
}
