package cordon

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"time"

	"github.com/cordon-sandbox/cordon/internal/netproxy"
	"github.com/cordon-sandbox/cordon/policy"
	"github.com/cordon-sandbox/cordon/sandbox"
)

// Run runs req.Command in a sandbox and waits for it. A command that runs
// and fails is not an error: its status is in Result.ExitCode. Run returns
// an *Error when the command could not be run (bad input, a sandbox that
// could not be set up, a layer the policy needs missing here), or, with
// Code "teardown_failed" and a valid Result, when it ran but releasing the
// sandbox afterwards failed; and ctx's
// error when ctx ended before the command did; in both the timeout and the
// cancellation case the whole process tree is killed first.
func Run(ctx context.Context, req Request) (Result, error) {
	return run(ctx, req, hostBackend)
}

// run is Run with the backend chosen by choose.
func run(ctx context.Context, req Request, choose func(name string) (sandbox.Backend, error)) (Result, error) {
	res := Result{ExitCode: -1}
	env, err := commandEnv(req)
	if err != nil {
		return res, err
	}
	res.EnvDropped = env.Dropped
	spec, backend, err := prepare(req, env.Env, choose)
	if err != nil {
		return res, err
	}
	res.Backend = backend.Name()
	// The sandboxes hide them; the unsandboxed backend hides nothing.
	if backend.Features().DenyRead {
		for _, d := range spec.Policy.DenyRead {
			if _, err := os.Stat(d); err == nil {
				res.DenyRead = append(res.DenyRead, d)
			}
		}
	}
	limit := req.CaptureLimit
	if limit == 0 {
		limit = DefaultCaptureLimit
	}
	outBuf, errBuf := &capture{limit: limit}, &capture{limit: limit}
	spec.Stdout = tee(req.Stdout, outBuf)
	spec.Stderr = tee(req.Stderr, errBuf)
	spec.Stdin, spec.OwnTerminal = req.Stdin, req.OwnTerminal

	log := newLogger()
	defer log.close()
	log.start(backend.Name(), req.Command, res.EnvDropped)
	// The allowlist proxy lives as long as the command: closed before the
	// log, which it writes each decision to.
	var proxy *netproxy.Proxy
	if spec.Policy.Allowlist != nil && backend.Features().NetworkAllowlist {
		proxy = netproxy.New(netproxy.Config{Allow: spec.Policy.Allowlist, OnDecision: log.network})
		spec.Proxy = proxy
		defer proxy.Close()
	}
	start := time.Now()
	runCtx := ctx
	var cancel context.CancelFunc = func() {}
	if req.Timeout > 0 {
		runCtx, cancel = context.WithTimeout(ctx, req.Timeout)
	}
	defer cancel()
	proc, err := backend.Start(runCtx, spec)
	if err != nil && ctx.Err() == nil && runCtx.Err() != nil {
		// The timeout covers setting the sandbox up (a lock wait, a cold
		// plan): it ran out before the command could start, and nothing
		// of it ran or is left to kill.
		res.TimedOut, res.Duration = true, time.Since(start)
		res.Stdout, res.Stderr = []byte{}, []byte{}
		log.finish(req.Command, res)
		return res, nil
	}
	if err != nil {
		err = fail(setupCode(err), err)
		log.failure(req.Command, -1, time.Since(start), err)
		return res, err
	}
	if n, ok := proc.(sandbox.Noter); ok {
		log.notes(n.Notes())
	}
	type waited struct {
		code int
		err  error
	}
	done := make(chan waited, 1)
	go func() {
		c, err := proc.Wait()
		done <- waited{c, err}
	}()
	var w waited
	select {
	case w = <-done:
	case <-runCtx.Done():
		proc.Kill()
		w = <-done
		if ctx.Err() == nil {
			res.TimedOut = true
		}
	}
	res.Duration = time.Since(start)
	res.Stdout, res.Stderr = outBuf.bytes(), errBuf.bytes()
	res.Truncated = outBuf.truncated || errBuf.truncated
	res.Degraded = proc.Degraded()
	if !req.Limits.IsZero() && !backend.Features().Limits {
		res.Degraded = append(res.Degraded, "limits: the "+backend.Name()+" backend enforces no resource limits")
	}
	if proxy != nil {
		proxy.Close()
		res.Network = networkReport(proxy.Summary())
	} else if spec.Policy.Allowlist != nil {
		res.Degraded = append(res.Degraded, "network-allowlist: the "+backend.Name()+` backend cannot enforce a network allowlist: it ran the command as with "network": false`)
	}
	teardown := errors.Is(w.err, sandbox.ErrTeardown)
	switch {
	case res.TimedOut:
		res.ExitCode = -1
	case ctx.Err() != nil:
		log.failure(req.Command, -1, res.Duration, ctx.Err())
		return res, ctx.Err()
	case w.err != nil && !teardown:
		err := fail(CodeSetupFailed, w.err)
		log.failure(req.Command, -1, res.Duration, err)
		return res, err
	default:
		res.ExitCode = w.code
	}
	log.finish(req.Command, res)
	if teardown {
		// The command ran and res is its result; what failed is the
		// release of the sandbox, which the caller must hear about.
		err := fail(CodeTeardownFailed, w.err)
		log.failure(req.Command, res.ExitCode, res.Duration, err)
		return res, err
	}
	return res, nil
}

// commandEnv is the command's environment: req.Env (nil: cordon's own)
// filtered by the policy's env settings, by the rules of this platform.
// An explicit req.Env entry that is not NAME=VALUE is the caller's mistake
// and an error; one inherited from cordon's own environment is left out.
func commandEnv(req Request) (policy.FilteredEnv, error) {
	if err := req.Policy.Env.Validate(); err != nil {
		return policy.FilteredEnv{}, fail(CodeBadPolicy, err)
	}
	env := req.Env
	if env == nil {
		env = os.Environ()
	}
	f := req.Policy.Env.Filter(env, policy.HostEnv)
	if req.Env != nil && len(f.Malformed) > 0 {
		return policy.FilteredEnv{}, fail(CodeBadRequest, fmt.Errorf("Request.Env entry %d is not NAME=VALUE", f.Malformed[0]))
	}
	return f, nil
}

// prepare validates req and turns it into a backend and a spec that runs
// with env, the filtered environment. The temp roots are read from env, so
// they are the temp directories the command is told about.
func prepare(req Request, env []string, choose func(string) (sandbox.Backend, error)) (sandbox.Spec, sandbox.Backend, error) {
	var spec sandbox.Spec
	if len(req.Command) == 0 || req.Command[0] == "" {
		return spec, nil, fail(CodeBadRequest, fmt.Errorf("empty command"))
	}
	backend, err := choose(req.Backend)
	if err != nil {
		return spec, nil, err
	}
	dir := req.Dir
	if dir == "" {
		dir = req.Policy.Cwd
	}
	if dir == "" {
		if dir, err = os.Getwd(); err != nil {
			return spec, nil, fail(CodeBadRequest, fmt.Errorf("working directory: %w", err))
		}
	}
	abs, err := filepath.Abs(dir)
	if err != nil {
		return spec, nil, fail(CodeBadRequest, fmt.Errorf("working directory %q: %w", dir, err))
	}
	if fi, err := os.Stat(abs); err != nil {
		return spec, nil, fail(CodeBadRequest, fmt.Errorf("working directory: %w", err))
	} else if !fi.IsDir() {
		return spec, nil, fail(CodeBadRequest, fmt.Errorf("working directory %s is not a directory", abs))
	}
	pol := req.Policy
	if pol.Mode == "" {
		return spec, nil, fail(CodeBadPolicy, fmt.Errorf("policy: field \"mode\" is required (read-only or workspace-write)"))
	}
	features := backend.Features()
	if req.Temp != "" && !features.OwnTemp {
		return spec, nil, fail(CodeBadRequest, fmt.Errorf("the %s backend takes no temp directory of yours (--writable-root makes a directory writable)", backend.Name()))
	}
	if req.MediumIntegrity && !features.MediumIntegrity {
		return spec, nil, fail(CodeBadRequest, fmt.Errorf("medium integrity is not an option of the %s backend", backend.Name()))
	}
	penv, env, err := backend.PolicyEnv(pol, abs, env, req.Temp)
	if err != nil {
		return spec, nil, fail(setupCode(err), err)
	}
	penv.CommandEnv = env // the tool caches are where the command's variables say
	res, err := pol.Resolve(penv)
	if err != nil {
		return spec, nil, fail(CodeBadPolicy, err)
	}
	for _, r := range res.Roots {
		fi, err := os.Stat(r.Path)
		if err != nil {
			return spec, nil, fail(CodeBadPolicy, fmt.Errorf("%s root: %w", r.Kind, err))
		}
		if !fi.IsDir() {
			return spec, nil, fail(CodeBadPolicy, fmt.Errorf("%s root %s is not a directory", r.Kind, r.Path))
		}
	}
	spec = sandbox.Spec{Policy: res, Args: req.Command, Dir: abs, Env: env, BestEffort: req.BestEffort, Limits: req.Limits, MediumIntegrity: req.MediumIntegrity}
	if !req.Limits.IsZero() && !features.Limits && !req.BestEffort {
		return spec, nil, fail(CodeUnavailable, fmt.Errorf("the %s backend enforces no resource limits (--best-effort runs without them)", backend.Name()))
	}
	if res.Allowlist != nil && !features.NetworkAllowlist && !req.BestEffort {
		return spec, nil, fail(CodeUnavailable, fmt.Errorf("the %s backend cannot enforce a network allowlist (--best-effort runs the command as with \"network\": false there)", backend.Name()))
	}
	return spec, backend, nil
}

// networkReport is the Result's form of the proxy's summary.
func networkReport(s netproxy.Summary) *NetworkReport {
	r := &NetworkReport{Allowed: []NetworkUse{}, Denied: []NetworkUse{}}
	for _, c := range s.Allowed {
		r.Allowed = append(r.Allowed, NetworkUse{Host: c.Host, Port: int(c.Port), Rule: c.Rule, Count: c.Count})
	}
	for _, c := range s.Denied {
		r.Denied = append(r.Denied, NetworkUse{Host: c.Host, Port: int(c.Port), Reason: c.Reason, Count: c.Count})
	}
	return r
}

// setupCode is the error code for a backend's err: the sentinel it wraps,
// or a setup failure.
func setupCode(err error) string {
	switch {
	case errors.Is(err, sandbox.ErrNotSetUp):
		return CodeSetupRequired
	case errors.Is(err, sandbox.ErrUnavailable):
		return CodeUnavailable
	case errors.Is(err, sandbox.ErrBusy):
		return CodeBusy
	case errors.Is(err, sandbox.ErrBadRequest):
		return CodeBadRequest
	}
	return CodeSetupFailed
}

// tee is where a stream of the command goes: w and the capture. With no
// capture (a negative limit) it is w itself, so that a file (a terminal, a
// pipe, a log) reaches the command as its own descriptor rather than
// through a pipe cordon copies from.
func tee(w io.Writer, c *capture) io.Writer {
	switch {
	case w == nil:
		return c
	case c.limit < 0:
		return w
	}
	return io.MultiWriter(w, c)
}

// capture keeps the first limit bytes written to it and counts the rest.
type capture struct {
	limit     int
	buf       []byte
	truncated bool
}

func (c *capture) Write(p []byte) (int, error) {
	if room := c.limit - len(c.buf); room > 0 {
		if len(p) > room {
			c.buf = append(c.buf, p[:room]...)
			c.truncated = true
		} else {
			c.buf = append(c.buf, p...)
		}
	} else if len(p) > 0 && c.limit >= 0 {
		c.truncated = true
	}
	return len(p), nil
}

func (c *capture) bytes() []byte {
	if c.buf == nil {
		return []byte{}
	}
	return c.buf
}
