package cordon

import (
	"context"
	"fmt"
	"runtime"

	"github.com/cordon-sandbox/cordon/linuxsandbox"
	"github.com/cordon-sandbox/cordon/sandbox"
	"github.com/cordon-sandbox/cordon/unsandboxed"
)

// Init must be called first thing in main by every program that runs
// commands with the Linux backend: the backend re-executes the program to
// set up each sandbox, and Init is where that re-executed copy takes over
// (it never returns there). In a normal start it returns at once.
func Init() { linuxsandbox.Init() }

// Backends returns every backend cordon knows, for the probe: the platform's
// sandbox first, then "none".
func Backends() []sandbox.Backend {
	return []sandbox.Backend{linuxsandbox.New(), unsandboxed.New()}
}

// chooseBackend maps a --sandbox value to a backend. "auto" picks the
// platform's sandbox and never falls back to running unsandboxed: a
// platform without one is an error.
func chooseBackend(name string) (sandbox.Backend, error) {
	switch name {
	case "", "auto":
		if runtime.GOOS == "linux" {
			return linuxsandbox.New(), nil
		}
		return nil, fail("unavailable", fmt.Errorf("no sandbox backend for %s yet (the Windows restricted-token backend is not built); --sandbox none runs unsandboxed", runtime.GOOS))
	case "linux":
		return linuxsandbox.New(), nil
	case "none":
		return unsandboxed.New(), nil
	}
	return nil, fail("bad_request", fmt.Errorf("unknown sandbox backend %q (want auto, linux or none)", name))
}

// Probe reports, for every backend, what it can enforce on this machine.
func Probe(ctx context.Context) []sandbox.Probe {
	var out []sandbox.Probe
	for _, b := range Backends() {
		out = append(out, b.Probe(ctx))
	}
	return out
}
