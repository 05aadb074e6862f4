// Package sandbox is the contract between cordon's Run API and its
// backends: what a backend is given (Spec), what it returns (Process), and
// what it reports about the machine (Probe), and what it knows of its
// platform (Platform). The Linux backend (namespaces, Landlock, seccomp),
// the Windows restricted-token backend and the unsandboxed backend
// implement Backend; Run chooses one and handles output capture, timeouts
// and exit codes the same way for all.
package sandbox

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"

	"github.com/cordon-sandbox/cordon/policy"
)

// Spec is one command to run in a sandbox.
type Spec struct {
	// Policy is resolved: absolute cwd, roots and protected names.
	Policy *policy.Resolved
	// Args is the command line; Args[0] is looked up in PATH (from Env) by
	// the backend, inside the sandbox's view of the file system.
	Args []string
	// Dir is the working directory, absolute.
	Dir string
	// Env is the complete environment of the command.
	Env []string
	// Stdin, Stdout and Stderr are the command's standard streams; nil
	// means the null device. No other descriptor reaches the command.
	Stdin          io.Reader
	Stdout, Stderr io.Writer
	// OwnTerminal: a stream that is a terminal is the run's own
	// (cordon.Request.OwnTerminal); the command's session may take it.
	OwnTerminal bool
	// BestEffort lets the backend run with layers missing that the policy
	// needs, reporting each in Process.Degraded. Without it, a missing
	// layer is an error wrapping ErrUnavailable and nothing runs.
	BestEffort bool
	// Limits bound the resources of the command's whole process tree. A
	// backend that cannot enforce them refuses the spec unless BestEffort.
	Limits Limits
	// MediumIntegrity asks the Windows backend to keep the caller's
	// integrity level instead of Low (cordon.Request.MediumIntegrity).
	MediumIntegrity bool
	// Proxy is the run's network allowlist proxy, set when the policy
	// has an Allowlist and the backend's Features say NetworkAllowlist.
	// The backend serves it on a listener only the command can reach,
	// and fails the start if it cannot; it never opens the network
	// instead.
	Proxy Proxy
}

// Proxy is a run's allowlist proxy, as a backend sees it
// (internal/netproxy's Proxy is the one cordon.Run gives).
type Proxy interface {
	// Serve serves the connections of l until the proxy is closed (by
	// whoever made it, after the run) or l fails, and closes l when it
	// returns.
	Serve(l net.Listener) error
}

// Limits bound the resources of a command and everything it starts. The
// zero value sets none.
type Limits struct {
	// Memory caps the committed memory of the whole tree, in bytes.
	Memory uint64 `json:"memory,omitempty"`
	// Processes caps how many processes of the tree may be alive at once.
	Processes uint32 `json:"processes,omitempty"`
}

// IsZero reports whether l sets no limit.
func (l Limits) IsZero() bool { return l == Limits{} }

// Process is a started command.
type Process interface {
	// Wait waits for the command (and, for backends with a process tree of
	// their own, for the tree's init) and returns its exit code: the
	// command's status, or 128+N when signal N killed it.
	Wait() (exitCode int, err error)
	// Kill ends the command and every process it started. It is safe to
	// call more than once and after the command ended.
	Kill() error
	// Degraded lists the layers the policy needed that were missing, when
	// Spec.BestEffort allowed running without them.
	Degraded() []string
}

// Noter is implemented by a Process that has findings for the log: what
// the backend noticed while setting the sandbox up and left alone.
type Noter interface {
	Notes() []string
}

// Backend runs commands in one kind of sandbox.
type Backend interface {
	// Name is the backend's name for --sandbox and for results ("linux",
	// "none", "restricted-token").
	Name() string
	Platform
	// Probe reports what the backend can enforce on this machine. It never
	// pretends: a layer is Available only if it was tried and works.
	Probe(ctx context.Context) Probe
	// Start starts spec. Errors before the command runs wrap
	// ErrUnavailable (a layer the policy needs is missing) or are setup
	// failures; either way nothing of the command ran and nothing is left
	// mounted or changed.
	Start(ctx context.Context, spec Spec) (Process, error)
}

// Probe is what a backend can do here.
type Probe struct {
	Backend   string  `json:"backend"`
	Available bool    `json:"available"`
	Reason    string  `json:"reason,omitempty"` // why not, when unavailable
	Layers    []Layer `json:"layers"`
}

// Layer is one enforcement mechanism.
type Layer struct {
	Name      string `json:"name"`
	Available bool   `json:"available"`
	Detail    string `json:"detail,omitempty"` // version, or why not
	Enforces  string `json:"enforces"`         // what it guarantees when present
}

// Layer returns the named layer of the probe, if any.
func (p Probe) Layer(name string) (Layer, bool) {
	for _, l := range p.Layers {
		if l.Name == name {
			return l, true
		}
	}
	return Layer{}, false
}

// ErrUnavailable is wrapped by errors that say a backend or a layer the
// policy needs is missing on this machine.
var ErrUnavailable = errors.New("sandbox unavailable")

// ErrNotSetUp is wrapped by errors that say the backend needs a one-time
// setup that has not been done, or must be redone (`cordon setup`). It
// wraps ErrUnavailable: the backend is missing here until then.
var ErrNotSetUp = fmt.Errorf("%w: setup required", ErrUnavailable)

// ErrBusy is wrapped by errors that say the sandbox could not be set up in
// time because another process holds something it needs (a lock).
var ErrBusy = errors.New("busy")

// ErrTeardown is wrapped by a Process.Wait error that came after the
// command had run, while releasing what the sandbox held: the exit code
// Wait returns alongside it is the command's own.
var ErrTeardown = errors.New("sandbox teardown failed")

// Unavailable returns an error wrapping ErrUnavailable.
func Unavailable(format string, args ...any) error {
	return fmt.Errorf("%w: %s", ErrUnavailable, fmt.Sprintf(format, args...))
}
