package sandbox

import (
	"errors"

	"github.com/cordon-sandbox/cordon/policy"
)

// Features says what a backend enforces beyond the policy's files, and
// which of a request's options it takes. Run consults it instead of the
// backend's name, so a new backend says what it does here and Run does
// not change.
type Features struct {
	// Limits: Spec.Limits are enforced (a job object, a cgroup, rlimits).
	Limits bool
	// DenyRead: the policy's deny-read paths are hidden from the command.
	DenyRead bool
	// OwnTemp: the backend takes a directory of the caller's as the
	// command's temp directory (PolicyEnv's temp argument).
	OwnTemp bool
	// MediumIntegrity: Spec.MediumIntegrity means something here.
	MediumIntegrity bool
	// NetworkAllowlist: a policy's network allowlist is enforced: the
	// backend serves Spec.Proxy where the command can reach it and leaves
	// the command no other way to the network.
	NetworkAllowlist bool
}

// Platform is what a backend knows of the platform it runs on, which Run
// needs before it can resolve the policy: the path rules, how a path is
// made canonical, and which directories are the command's temp roots.
type Platform interface {
	// Features says what the backend enforces and which options it takes.
	Features() Features
	// PolicyEnv returns the rules under which pol is resolved for a run
	// in cwd (absolute, an existing directory) whose command gets env, and
	// env as the command will get it: a backend may point its temp
	// variables at a directory of its own. temp is a directory the caller
	// asked to be the command's temp directory; it is non-empty only for
	// a backend whose Features say OwnTemp. Errors wrap ErrBadRequest when
	// the caller's input is wrong, ErrUnavailable when the backend cannot
	// run on this machine, and are setup failures otherwise.
	PolicyEnv(pol policy.Policy, cwd string, env []string, temp string) (policy.Env, []string, error)
}

// ErrBadRequest is wrapped by errors that blame the caller's input rather
// than the machine.
var ErrBadRequest = errors.New("bad request")
