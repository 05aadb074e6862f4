package cordon

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/cordon-sandbox/cordon/internal/testutil"
	"github.com/cordon-sandbox/cordon/policy"
	"github.com/cordon-sandbox/cordon/sandbox"
)

// auto picks the Windows sandbox only behind the experimental flag, and
// otherwise refuses with a message saying how to opt in: never a silent
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
	}{
		{"auto", "linux", "", "linux", "", ""},
		{"", "linux", "1", "linux", "", ""},
		{"auto", "windows", "1", "restricted-token", "", ""},
		{"auto", "windows", "", "", "unavailable", "CORDON_EXPERIMENTAL_WINDOWS_SANDBOX=1"},
		{"auto", "windows", "yes", "", "unavailable", "--sandbox restricted-token"},
		{"auto", "darwin", "1", "", "unavailable", "--sandbox none"},
		{"restricted-token", "windows", "", "restricted-token", "", ""},
		{"restricted-token", "linux", "", "restricted-token", "", ""},
		{"none", "windows", "", "none", "", ""},
		{"bwrap", "linux", "", "", "bad_request", "restricted-token"},
	}
	for _, c := range cases {
		b, err := chooseBackend(c.name, c.goos, flag(c.flag))
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

// fakeBackend starts nothing; its process exits with code and err.
type fakeBackend struct {
	code int
	err  error
}

func (f fakeBackend) Name() string                        { return "fake" }
func (f fakeBackend) Probe(context.Context) sandbox.Probe { return sandbox.Probe{Backend: "fake"} }
func (f fakeBackend) Start(context.Context, sandbox.Spec) (sandbox.Process, error) {
	return fakeProcess(f), nil
}

type fakeProcess fakeBackend

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
		res, err := run(context.Background(), req, func(string) (sandbox.Backend, error) { return fakeBackend{3, c.err}, nil })
		if ErrorCode(err) != c.code || res.ExitCode != c.exitCode {
			t.Errorf("Wait error %v: Run = exit %d, %v (code %q); want exit %d, code %q", c.err, res.ExitCode, err, ErrorCode(err), c.exitCode, c.code)
		}
	}
}
