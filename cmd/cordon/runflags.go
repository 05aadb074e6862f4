package main

import (
	"errors"
	"flag"
	"fmt"
	"time"

	"github.com/cordon-sandbox/cordon"
	"github.com/cordon-sandbox/cordon/policy"
	"github.com/cordon-sandbox/cordon/sandbox"
)

// sandboxFlags are the flags that fix a sandbox: the policy and what adds
// to it, the backend, the limits and the timeout. cordon run and cordon mcp
// take the same ones, parsed by the same code, so a server's sandbox is
// exactly the one 'cordon run' would build from its flags.
type sandboxFlags struct {
	policy, cwd, backend, temp, memLimit string
	timeout                              time.Duration
	bestEffort, medium, network          bool
	envClear                             bool
	procLimit                            uint
	roots, denyRead, envSet, envKeep     multiFlag
	allowHosts                           multiFlag
	caches                               cacheFlags
}

// addSandboxFlags registers the sandbox flags on fs.
func addSandboxFlags(fs *flag.FlagSet) *sandboxFlags {
	f := &sandboxFlags{}
	fs.StringVar(&f.policy, "policy", "workspace-write", "")
	fs.StringVar(&f.cwd, "cwd", "", "")
	fs.Var(&f.roots, "writable-root", "")
	fs.BoolVar(&f.network, "network", false, "")
	fs.Var(&f.allowHosts, "allow-host", "")
	fs.DurationVar(&f.timeout, "timeout", 0, "")
	fs.StringVar(&f.backend, "sandbox", "auto", "")
	fs.BoolVar(&f.bestEffort, "best-effort", false, "")
	fs.BoolVar(&f.medium, "medium-integrity", false, "")
	fs.StringVar(&f.temp, "temp", "", "")
	fs.Var(&f.denyRead, "deny-read", "")
	fs.StringVar(&f.memLimit, "memory-limit", "", "")
	fs.UintVar(&f.procLimit, "process-limit", 0, "")
	fs.Var(&f.envSet, "env", "")
	fs.Var(&f.envKeep, "env-keep", "")
	fs.BoolVar(&f.envClear, "env-clear", false, "")
	f.caches.register(fs)
	return f
}

// request turns the parsed flags into a Request without a command or
// streams. On error, code is the stable code to print with fail.
func (f *sandboxFlags) request() (req cordon.Request, code string, err error) {
	p, err := policy.Parse(f.policy)
	if err != nil {
		return req, cordon.CodeBadPolicy, fmt.Errorf("--policy: %w", err)
	}
	if len(f.roots) > 0 {
		if p.Mode == policy.ReadOnly {
			return req, cordon.CodeBadPolicy, fmt.Errorf("--writable-root: a read-only policy has no writable roots")
		}
		p.WritableRoots = append(p.WritableRoots, f.roots...)
	}
	if err := addNetworkFlags(&p, f.network, f.allowHosts); err != nil {
		return req, cordon.ErrorCode(err), errors.Unwrap(err)
	}
	p.DenyRead = append(p.DenyRead, f.denyRead...)
	if err := f.caches.apply(&p); err != nil {
		return req, cordon.CodeBadPolicy, err
	}
	if err := addEnvFlags(&p.Env, f.envSet, f.envKeep, f.envClear); err != nil {
		return req, cordon.CodeBadRequest, err
	}
	if f.timeout < 0 {
		return req, cordon.CodeBadRequest, fmt.Errorf("--timeout %s is negative", f.timeout)
	}
	var limits sandbox.Limits
	if f.memLimit != "" {
		if limits.Memory, err = parseSize(f.memLimit); err != nil {
			return req, cordon.CodeBadRequest, fmt.Errorf("--memory-limit: %w", err)
		}
	}
	if f.procLimit > 1<<32-1 {
		return req, cordon.CodeBadRequest, fmt.Errorf("--process-limit %d is too large", f.procLimit)
	}
	limits.Processes = uint32(f.procLimit)
	return cordon.Request{
		Policy: p, Dir: f.cwd, Timeout: f.timeout,
		Backend: f.backend, BestEffort: f.bestEffort, Limits: limits, MediumIntegrity: f.medium, Temp: f.temp,
	}, "", nil
}

// addNetworkFlags applies --network and --allow-host to the policy:
// --allow-host adds to its allowlist (making one), and neither may meet
// the other mode. Errors are *cordon.Error: a malformed pattern is
// bad_policy and names it.
func addNetworkFlags(p *policy.Policy, network bool, allowHosts []string) error {
	switch {
	case network && len(allowHosts) > 0:
		return &cordon.Error{Code: cordon.CodeBadRequest, Err: errors.New("--network allows every host and --allow-host only some: give one")}
	case network && p.NetworkAllowlist != nil:
		return &cordon.Error{Code: cordon.CodeBadRequest, Err: errors.New("--network: the policy's \"network\" is an allowlist; drop one")}
	case network:
		p.Network = true
		return nil
	case len(allowHosts) == 0:
		return nil
	case p.Network:
		return &cordon.Error{Code: cordon.CodeBadRequest, Err: errors.New("--allow-host: the policy's \"network\" is true (every host); drop one")}
	}
	for _, h := range allowHosts {
		if _, err := policy.ParseHostPattern(h); err != nil {
			return &cordon.Error{Code: cordon.CodeBadPolicy, Err: fmt.Errorf("--allow-host %q: %w", h, err)}
		}
	}
	if p.NetworkAllowlist == nil {
		p.NetworkAllowlist = &policy.NetworkAllowlist{}
	}
	p.NetworkAllowlist.AllowHosts = append(append([]string{}, p.NetworkAllowlist.AllowHosts...), allowHosts...)
	return nil
}
