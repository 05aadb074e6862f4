package winsandbox

import (
	"fmt"
	"os"

	"github.com/cordon-sandbox/cordon/internal/envlist"
	"github.com/cordon-sandbox/cordon/internal/statedir"
	"github.com/cordon-sandbox/cordon/policy"
	"github.com/cordon-sandbox/cordon/sandbox"
)

// Features implements sandbox.Platform: limits through the job object,
// deny-read through labels and denies, a temp directory of the caller's,
// and the Medium-integrity opt-out.
func (b *Backend) Features() sandbox.Features {
	return sandbox.Features{Limits: true, DenyRead: true, OwnTemp: true, MediumIntegrity: true}
}

// policyEnv is PolicyEnv where the backend runs: Windows path rules,
// links resolved by canonical, TEMP and TMP as the temp roots, and, when
// the policy makes temp writable, the run's own temp directory (ownTemp).
func policyEnv(pol policy.Policy, cwd string, env []string, temp string, canonical func(string) string) (policy.Env, []string, error) {
	temp1, _ := envlist.Windows.Lookup(env, "TEMP")
	temp2, _ := envlist.Windows.Lookup(env, "TMP")
	penv := policy.Env{Rules: policy.Windows, Cwd: cwd, TempDirs: []string{temp1, temp2}, Canonical: canonical, Getenv: os.Getenv}
	if pol.Mode != policy.WorkspaceWrite || pol.ExcludeTmp {
		return penv, env, nil
	}
	env, err := ownTemp(temp, canonical(cwd), env, &penv)
	return penv, env, err
}

// ownTemp points the command's TEMP and TMP at its temp directory and
// makes that the run's one temp root: dir when the caller names one (a
// directory of theirs, made writable on purpose, granted the generic SID),
// else the workspace's own under cordon's state directory (WorkspaceTemp,
// created if missing, granted the workspace's SID). The user's own %TEMP%
// is then never stamped with cordon's ACEs. cwd is canonical.
func ownTemp(dir, cwd string, env []string, penv *policy.Env) ([]string, error) {
	if dir == "" {
		state, err := statedir.Dir()
		if err != nil {
			return nil, err
		}
		if dir, err = WorkspaceTemp(state, cwd); err != nil {
			return nil, fmt.Errorf("%w: %w", sandbox.ErrBadRequest, err)
		}
		if err := os.MkdirAll(dir, 0o700); err != nil {
			return nil, fmt.Errorf("the workspace's temp directory: %w", err)
		}
		penv.TempOwned = true
	} else if fi, err := os.Stat(dir); err != nil || !fi.IsDir() {
		return nil, fmt.Errorf("%w: temp directory %s: not an existing directory", sandbox.ErrBadRequest, dir)
	}
	env = envlist.Windows.Set(envlist.Windows.Set(env, "TEMP", dir), "TMP", dir)
	penv.TempDirs = []string{dir}
	return env, nil
}
