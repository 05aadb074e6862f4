package cordon

import (
	"context"
	"fmt"
	"os"
	"runtime"

	"github.com/cordon-sandbox/cordon/elevsandbox"
	"github.com/cordon-sandbox/cordon/internal/statedir"
	"github.com/cordon-sandbox/cordon/linuxsandbox"
	"github.com/cordon-sandbox/cordon/sandbox"
	"github.com/cordon-sandbox/cordon/unsandboxed"
	"github.com/cordon-sandbox/cordon/winsandbox"
)

// Init must be called first thing in main by every program that runs
// commands with the Linux backend: the backend re-executes the program to
// set up each sandbox, and Init is where that re-executed copy takes over
// (it never returns there). In a normal start it returns at once.
func Init() { linuxsandbox.Init() }

// Backends returns every backend cordon knows on this platform, for the
// probe: the platform's sandbox first, then "none".
func Backends() []sandbox.Backend {
	if runtime.GOOS == "windows" {
		return []sandbox.Backend{winsandbox.New(), elevsandbox.New(elevsandbox.Options{}), unsandboxed.New()}
	}
	return []sandbox.Backend{linuxsandbox.New(), unsandboxed.New()}
}

// hostBackend is chooseBackend for this machine.
func hostBackend(name string) (sandbox.Backend, error) {
	setUp := func() bool {
		dir, err := statedir.Dir()
		return err == nil && elevsandbox.SetUp(dir)
	}
	return chooseBackend(name, runtime.GOOS, os.Getenv, setUp)
}

// chooseBackend maps a --sandbox value to a backend. "auto" picks the
// platform's sandbox and never falls back to running unsandboxed: a
// platform without one is an error. On Windows the sandbox is experimental,
// and "auto" picks it only when winsandbox.ExperimentalEnv is "1": until
// its enforcement has been tested on real Windows nobody should get it
// without asking; naming it ("restricted-token") is asking. Behind the
// same switch, "auto" prefers the elevated backend ("elevated") once
// `cordon setup` has been done (setUp): the user asked for it by setting
// it up.
func chooseBackend(name, goos string, getenv func(string) string, setUp func() bool) (sandbox.Backend, error) {
	switch name {
	case "", "auto":
		switch {
		case goos == "linux":
			return linuxsandbox.New(), nil
		case goos == "windows" && winsandbox.Experimental(getenv) && setUp():
			return elevsandbox.New(elevsandbox.Options{}), nil
		case goos == "windows" && winsandbox.Experimental(getenv):
			return winsandbox.New(), nil
		case goos == "windows":
			return nil, fail(CodeUnavailable, fmt.Errorf("the Windows sandbox is experimental: set %s=1 (or pass --sandbox %s) to use it; --sandbox none runs unsandboxed", winsandbox.ExperimentalEnv, winsandbox.Name))
		}
		return nil, fail(CodeUnavailable, fmt.Errorf("no sandbox backend for %s; --sandbox none runs unsandboxed", goos))
	case "linux":
		return linuxsandbox.New(), nil
	case winsandbox.Name:
		return winsandbox.New(), nil
	case elevsandbox.Name:
		return elevsandbox.New(elevsandbox.Options{}), nil
	case "none":
		return unsandboxed.New(), nil
	}
	return nil, fail(CodeBadRequest, fmt.Errorf("unknown sandbox backend %q (want auto, linux, %s, %s or none)", name, winsandbox.Name, elevsandbox.Name))
}

// Probe reports, for every backend, what it can enforce on this machine.
func Probe(ctx context.Context) []sandbox.Probe {
	var out []sandbox.Probe
	for _, b := range Backends() {
		out = append(out, b.Probe(ctx))
	}
	return out
}
