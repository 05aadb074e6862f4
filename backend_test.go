package cordon

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/cordon-sandbox/cordon/internal/testutil"
	"github.com/cordon-sandbox/cordon/policy"
	"github.com/cordon-sandbox/cordon/sandbox"
	"github.com/cordon-sandbox/cordon/unsandboxed"
)

// auto picks the Windows sandbox only behind the experimental flag (the
// elevated one once it is set up), and otherwise refuses with a message saying how to opt in: never a silent
// unsandboxed run.
func TestChooseBackend(t *testing.T) {
	flag := func(v string) func(string) string {
		return func(k string) string {
			if k == "CORDON_EXPERIMENTAL_WINDOWS_SANDBOX" {
				return v
			}
			return ""
		}
	}
	cases := []struct {
		name, goos, flag string
		want, code, msg  string
		setUp            bool
	}{
		{"auto", "linux", "", "linux", "", "", false},
		{"", "linux", "1", "linux", "", "", false},
		{"auto", "windows", "1", "restricted-token", "", "", false},
		{"auto", "windows", "1", "elevated", "", "", true},
		{"auto", "windows", "", "", "unavailable", "CORDON_EXPERIMENTAL_WINDOWS_SANDBOX=1", true},
		{"restricted-token", "windows", "1", "restricted-token", "", "", true},
		{"auto", "linux", "1", "linux", "", "", true},
		{"auto", "windows", "", "", "unavailable", "CORDON_EXPERIMENTAL_WINDOWS_SANDBOX=1", false},
		{"auto", "windows", "yes", "", "unavailable", "--sandbox restricted-token", false},
		{"auto", "darwin", "1", "", "unavailable", "--sandbox none", false},
		{"restricted-token", "windows", "", "restricted-token", "", "", false},
		{"restricted-token", "linux", "", "restricted-token", "", "", false},
		{"elevated", "windows", "", "elevated", "", "", false},
		{"none", "windows", "", "none", "", "", false},
		{"bwrap", "linux", "", "", "bad_request", "elevated", false},
	}
	for _, c := range cases {
		b, err := chooseBackend(c.name, c.goos, flag(c.flag), func() bool { return c.setUp })
		switch {
		case c.code != "":
			if ErrorCode(err) != c.code || !strings.Contains(err.Error(), c.msg) {
				t.Errorf("%s on %s (flag %q): %v, want %s naming %q", c.name, c.goos, c.flag, err, c.code, c.msg)
			}
		case err != nil:
			t.Errorf("%s on %s (flag %q): %v", c.name, c.goos, c.flag, err)
		case b.Name() != c.want:
			t.Errorf("%s on %s (flag %q) = %s, want %s", c.name, c.goos, c.flag, b.Name(), c.want)
		}
	}
}

// fakePlatform resolves the policy as the unsandboxed backend does, and
// enforces nothing.
type fakePlatform struct{}

func (fakePlatform) Features() sandbox.Features { return sandbox.Features{} }
func (fakePlatform) PolicyEnv(pol policy.Policy, cwd string, env []string, temp string) (policy.Env, []string, error) {
	return unsandboxed.New().PolicyEnv(pol, cwd, env, temp)
}

// fakeBackend starts nothing; its process exits with code and err.
type fakeBackend struct {
	fakePlatform
	code int
	err  error
}

func (f fakeBackend) Name() string                        { return "fake" }
func (f fakeBackend) Probe(context.Context) sandbox.Probe { return sandbox.Probe{Backend: "fake"} }
func (f fakeBackend) Start(context.Context, sandbox.Spec) (sandbox.Process, error) {
	return fakeProcess{f.code, f.err}, nil
}

type fakeProcess struct {
	code int
	err  error
}

func (p fakeProcess) Wait() (int, error) { return p.code, p.err }
func (p fakeProcess) Kill() error        { return nil }
func (p fakeProcess) Degraded() []string { return nil }

// A failure to release the sandbox after the command ran is reported with
// its own code and the command's real result; any other Wait error means
// the command did not run.
func TestRunTeardownFailure(t *testing.T) {
	t.Setenv("CORDON_STATE_DIR", testutil.TempDir(t))
	req := Request{Policy: policy.Policy{Mode: policy.ReadOnly}, Command: []string{"x"}, Dir: testutil.TempDir(t), Env: []string{}}
	for _, c := range []struct {
		err      error
		code     string
		exitCode int
	}{
		{fmt.Errorf("%w: close job: boom", sandbox.ErrTeardown), "teardown_failed", 3},
		{errors.New("stage 1 died"), "setup_failed", -1},
		{nil, "", 3},
	} {
		res, err := run(context.Background(), req, func(string) (sandbox.Backend, error) { return fakeBackend{code: 3, err: c.err}, nil })
		if ErrorCode(err) != c.code || res.ExitCode != c.exitCode {
			t.Errorf("Wait error %v: Run = exit %d, %v (code %q); want exit %d, code %q", c.err, res.ExitCode, err, ErrorCode(err), c.exitCode, c.code)
		}
	}
}

// featureBackend is a backend Run has never heard of: what it takes and
// enforces comes only from its Features, and its PolicyEnv may move TEMP.
type featureBackend struct {
	fakeBackend
	features sandbox.Features
	gotTemp  *string
	spec     *sandbox.Spec
}

func (b featureBackend) Features() sandbox.Features { return b.features }
func (b featureBackend) PolicyEnv(pol policy.Policy, cwd string, env []string, temp string) (policy.Env, []string, error) {
	*b.gotTemp = temp
	if temp == "bad" {
		return policy.Env{}, nil, fmt.Errorf("%w: temp %s is bad", sandbox.ErrBadRequest, temp)
	}
	penv, _, err := b.fakePlatform.PolicyEnv(pol, cwd, env, "")
	return penv, append(env, "TEMP="+temp), err
}
func (b featureBackend) Start(_ context.Context, s sandbox.Spec) (sandbox.Process, error) {
	*b.spec = s
	return fakeProcess{}, nil
}

// Run decides what a backend takes, and whether its limits hold, from the
// backend's Features alone, and gives the command the environment the
// backend's PolicyEnv returns.
func TestRunConsultsFeatures(t *testing.T) {
	t.Setenv("CORDON_STATE_DIR", testutil.TempDir(t))
	base := Request{Policy: policy.Policy{Mode: policy.ReadOnly}, Command: []string{"x"}, Dir: testutil.TempDir(t), Env: []string{}}
	for _, c := range []struct {
		name     string
		features sandbox.Features
		edit     func(*Request)
		code     string
		degraded bool
		temp     string
	}{
		{"temp refused", sandbox.Features{}, func(r *Request) { r.Temp = "/t" }, "bad_request", false, ""},
		{"temp taken", sandbox.Features{OwnTemp: true}, func(r *Request) { r.Temp = "/t" }, "", false, "/t"},
		{"temp the backend rejects", sandbox.Features{OwnTemp: true}, func(r *Request) { r.Temp = "bad" }, "bad_request", false, "bad"},
		{"medium refused", sandbox.Features{}, func(r *Request) { r.MediumIntegrity = true }, "bad_request", false, ""},
		{"medium taken", sandbox.Features{MediumIntegrity: true}, func(r *Request) { r.MediumIntegrity = true }, "", false, ""},
		{"limits unenforced", sandbox.Features{}, func(r *Request) { r.Limits.Processes = 5 }, "unavailable", false, ""},
		{"limits best effort", sandbox.Features{}, func(r *Request) { r.Limits.Processes = 5; r.BestEffort = true }, "", true, ""},
		{"limits enforced", sandbox.Features{Limits: true}, func(r *Request) { r.Limits.Processes = 5 }, "", false, ""},
	} {
		req := base
		c.edit(&req)
		var temp string
		var spec sandbox.Spec
		b := featureBackend{features: c.features, gotTemp: &temp, spec: &spec}
		res, err := run(context.Background(), req, func(string) (sandbox.Backend, error) { return b, nil })
		if ErrorCode(err) != c.code {
			t.Errorf("%s: Run = %v (code %q), want code %q", c.name, err, ErrorCode(err), c.code)
			continue
		}
		if err != nil {
			continue
		}
		if temp != c.temp {
			t.Errorf("%s: PolicyEnv got temp %q, want %q", c.name, temp, c.temp)
		}
		if got := strings.Join(spec.Env, " "); got != "TEMP="+c.temp {
			t.Errorf("%s: the command's environment is %q, want the one PolicyEnv returned", c.name, got)
		}
		if (len(res.Degraded) > 0) != c.degraded {
			t.Errorf("%s: Degraded = %q", c.name, res.Degraded)
		}
	}
}

// slowBackend's Start takes until ctx ends, as a sandbox set-up waiting
// for a lock does.
type slowBackend struct{ fakeBackend }

func (slowBackend) Start(ctx context.Context, _ sandbox.Spec) (sandbox.Process, error) {
	<-ctx.Done()
	return nil, fmt.Errorf("waiting for the lock: %w", ctx.Err())
}

// A timeout that runs out while the sandbox is being set up is a timeout
// (exit 124 at the CLI), not a set-up failure; a cancelled context stays
// the caller's error.
func TestRunTimeoutDuringSetup(t *testing.T) {
	t.Setenv("CORDON_STATE_DIR", testutil.TempDir(t))
	req := Request{Policy: policy.Policy{Mode: policy.ReadOnly}, Command: []string{"x"}, Dir: testutil.TempDir(t), Env: []string{}, Timeout: 10 * time.Millisecond}
	choose := func(string) (sandbox.Backend, error) { return slowBackend{}, nil }
	res, err := run(context.Background(), req, choose)
	if err != nil || !res.TimedOut || res.ExitCode != -1 {
		t.Errorf("timeout during set-up: %+v, %v; want TimedOut", res, err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	req.Timeout = 0
	go func() { time.Sleep(10 * time.Millisecond); cancel() }()
	if res, err := run(ctx, req, choose); err == nil || res.TimedOut {
		t.Errorf("cancelled during set-up: %+v, %v; want an error", res, err)
	}
}
