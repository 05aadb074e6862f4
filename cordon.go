// Package cordon runs the shell commands AI coding agents write inside a
// sandbox: the command may write only where a policy says, may not touch the
// protected names (.git, and the configuration agents and editors run:
// policy.DefaultProtectedNames) inside its writable roots, and
// with the network off cannot open network sockets.
//
// Run is the whole API: a Request names the policy, the command and its
// streams; the Result says how it ended. The sandbox backend is chosen by
// platform: on Linux, namespaces, Landlock and seccomp; "none" runs
// unsandboxed and says so. Programs that use the Linux backend must call
// Init first thing in main, because the backend re-executes the program
// itself to set the sandbox up, as runc does.
package cordon

import (
	"errors"
	"fmt"
	"io"
	"time"

	"github.com/cordon-sandbox/cordon/policy"
	"github.com/cordon-sandbox/cordon/sandbox"
)

// Request is one command to run.
type Request struct {
	// Policy says what the command may write; its Cwd defaults to Dir.
	Policy policy.Policy
	// Command is the program and its arguments; the program is looked up
	// in the PATH of Env.
	Command []string
	// Dir is the working directory; empty means the policy's cwd, then the
	// caller's working directory. It must exist.
	Dir string
	// Env is the command's environment before the policy's filter (see
	// policy.EnvPolicy: by default the variables matching
	// policy.DefaultEnvFilter are dropped); nil means the caller's. An
	// entry that is not NAME=VALUE is an error.
	Env []string
	// Timeout ends the command and everything it started; zero means none.
	Timeout time.Duration
	// Stdin feeds the command; nil means the null device.
	Stdin io.Reader
	// OwnTerminal says a standard stream that is a terminal is this run's
	// own: a pseudo-terminal the caller made for it (as cordon's CLI does,
	// package termguard), which the command's session may then take as
	// its controlling terminal (Ctrl-C as its SIGINT, /dev/tty). Leave it
	// false when passing a terminal anyone else uses.
	OwnTerminal bool
	// Stdout and Stderr, when set, receive the command's output as it
	// comes, in addition to the capture in the Result.
	Stdout, Stderr io.Writer
	// CaptureLimit bounds how many bytes of each stream the Result keeps
	// (the writers get everything). Zero means DefaultCaptureLimit; a
	// negative value captures nothing.
	CaptureLimit int
	// Backend is "auto" (or empty), "linux", "restricted-token" (Windows)
	// or "none". On Windows "auto" needs CORDON_EXPERIMENTAL_WINDOWS_SANDBOX=1.
	Backend string
	// BestEffort runs even when a layer the policy needs is missing; the
	// Result lists the missing layers in Degraded.
	BestEffort bool
	// Limits cap the memory and the process count of the command's whole
	// tree: the Windows backend's job object, the Linux backend's cgroup
	// (or RLIMIT_NPROC) enforce them. A limit the backend cannot enforce
	// here is refused ("unavailable") unless BestEffort.
	Limits sandbox.Limits
	// MediumIntegrity (Windows, restricted-token backend only) runs the
	// command at the caller's Medium integrity instead of Low, and the
	// roots get no Low label. What it opens: under the H2 reading of the
	// write-restricted pass, which the best public evidence supports, the
	// command may then delete or rename whatever the user may delete
	// outside the roots; the proof holds under H1 only. Other backends
	// refuse it ("bad_request").
	MediumIntegrity bool
	// Temp (Windows, restricted-token backend only) is the command's
	// TEMP and TMP, a directory of the caller's made writable on purpose.
	// Empty means the workspace's own temp directory under cordon's state
	// directory (winsandbox.WorkspaceTemp), so the user's %TEMP% is never
	// touched. Other backends refuse it ("bad_request").
	Temp string
}

// DefaultCaptureLimit is the capture per stream when Request.CaptureLimit is
// zero.
const DefaultCaptureLimit = 1 << 20

// Result is how a command ended.
type Result struct {
	// ExitCode is the command's exit status, 128+N when signal N killed
	// it, or -1 when it timed out or was cancelled.
	ExitCode int
	// Stdout and Stderr hold the first CaptureLimit bytes of each stream.
	Stdout, Stderr []byte
	// Truncated says the capture of a stream hit CaptureLimit.
	Truncated bool
	// TimedOut says the Timeout ended the command.
	TimedOut bool
	// Duration is the time from start to exit.
	Duration time.Duration
	// Backend is the backend that ran the command.
	Backend string
	// Degraded lists layers the policy needed that were missing
	// (BestEffort only).
	Degraded []string
	// EnvDropped names the variables of Request.Env (or the caller's
	// environment) that the policy kept from the command, sorted: names
	// only, never values.
	EnvDropped []string
	// DenyRead are the existing paths the command could not read: the
	// policy's deny-read list (with the default one unless turned off),
	// resolved, missing paths left out. Empty for the unsandboxed backend,
	// which hides nothing.
	DenyRead []string
	// Network is what the policy's network allowlist let through and
	// refused, nil when the policy has none (or it was not enforced). A
	// command that ignored the proxy variables has empty lists: nothing
	// reached the proxy, and there is no other way out.
	Network *NetworkReport
}

// NetworkReport counts the requests that reached a run's allowlist proxy:
// each distinct host, port and rule (or reason) once, the most frequent
// first.
type NetworkReport struct {
	Allowed []NetworkUse `json:"allowed"`
	Denied  []NetworkUse `json:"denied"`
}

// NetworkUse is one line of a NetworkReport: Count requests for
// Host:Port, allowed by Rule or refused (or failed) for Reason.
type NetworkUse struct {
	Host   string `json:"host"`
	Port   int    `json:"port"`
	Rule   string `json:"rule,omitempty"`
	Reason string `json:"reason,omitempty"`
	Count  int    `json:"count"`
}

// Error is returned when the command could not be run at all: bad input or
// a sandbox that could not be set up. Nothing of the command ran, and
// nothing was left mounted or changed. The exception is "teardown_failed".
type Error struct {
	// Code is stable, for scripts: one of the Code constants.
	Code string
	Err  error
}

// The codes of the Errors cordon returns, stable for scripts. A program
// built on cordon may give its own Errors codes of its own, as the cordon
// command does.
const (
	CodeBadRequest = "bad_request"
	CodeBadPolicy  = "bad_policy"
	// CodeUnavailable: a backend or layer is missing here.
	CodeUnavailable = "unavailable"
	// CodeSetupRequired: the backend needs its one-time setup first
	// (`cordon setup`), or a repair of it.
	CodeSetupRequired = "setup_required"
	// CodeBusy: another process held a lock the sandbox needed until the
	// deadline.
	CodeBusy        = "busy"
	CodeSetupFailed = "setup_failed"
	// CodeTeardownFailed is the one case where the command did run: its
	// Result is valid, and releasing the sandbox afterwards failed.
	CodeTeardownFailed = "teardown_failed"
)

func (e *Error) Error() string { return fmt.Sprintf("%s: %v", e.Code, e.Err) }
func (e *Error) Unwrap() error { return e.Err }

func fail(code string, err error) error { return &Error{Code: code, Err: err} }

// ErrorCode returns the stable code of err ("" if err is not an *Error).
func ErrorCode(err error) string {
	var e *Error
	if errors.As(err, &e) {
		return e.Code
	}
	return ""
}
