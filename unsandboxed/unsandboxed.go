// Package unsandboxed is the backend that runs a command with no sandbox at
// all, for `cordon run --sandbox none`: same API, same output capture and
// timeouts, and the process tree still dies on timeout or cancellation. It
// enforces nothing, and its probe says so.
package unsandboxed

import (
	"context"
	"errors"
	"fmt"
	"os/exec"
	"sync"

	"github.com/cordon-sandbox/cordon/sandbox"
)

// New returns the backend; Name() == "none".
func New() sandbox.Backend { return backend{} }

type backend struct{}

func (backend) Name() string { return "none" }

func (backend) Probe(context.Context) sandbox.Probe {
	return sandbox.Probe{Backend: "none", Available: true, Layers: []sandbox.Layer{{
		Name: "none", Available: true, Detail: "no sandbox",
		Enforces: "nothing: the command runs with the caller's full rights",
	}}}
}

func (backend) Start(ctx context.Context, spec sandbox.Spec) (sandbox.Process, error) {
	if len(spec.Args) == 0 {
		return nil, fmt.Errorf("empty command")
	}
	path, err := lookPath(spec.Args[0], spec.Env)
	if err != nil {
		return nil, err
	}
	cmd := exec.Command(path, spec.Args[1:]...)
	cmd.Args[0] = spec.Args[0]
	cmd.Dir, cmd.Env = spec.Dir, spec.Env
	cmd.Stdin, cmd.Stdout, cmd.Stderr = spec.Stdin, spec.Stdout, spec.Stderr
	setGroup(cmd)
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("start %s: %w", spec.Args[0], err)
	}
	return &process{cmd: cmd}, nil
}

type process struct {
	cmd  *exec.Cmd
	once sync.Once
	code int
	err  error
}

func (p *process) Wait() (int, error) {
	p.once.Do(func() {
		err := p.cmd.Wait()
		var exit *exec.ExitError
		switch {
		case err == nil:
		case errors.As(err, &exit):
			p.code = exitCode(exit)
		default:
			p.err, p.code = err, -1
		}
	})
	return p.code, p.err
}

func (p *process) Kill() error { return killGroup(p.cmd) }

func (p *process) Degraded() []string { return nil }
