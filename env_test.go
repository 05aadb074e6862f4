package cordon

import (
	"context"
	"os"
	"path/filepath"
	"reflect"
	"runtime"
	"strings"
	"testing"

	"github.com/cordon-sandbox/cordon/internal/testutil"
	"github.com/cordon-sandbox/cordon/policy"
	"github.com/cordon-sandbox/cordon/sandbox"
)

// envBackend records the spec it was given and starts nothing.
type envBackend struct {
	fakePlatform
	spec *sandbox.Spec
}

func (b envBackend) Name() string                        { return "fake" }
func (b envBackend) Probe(context.Context) sandbox.Probe { return sandbox.Probe{Backend: "fake"} }
func (b envBackend) Start(_ context.Context, s sandbox.Spec) (sandbox.Process, error) {
	*b.spec = s
	return fakeProcess{}, nil
}

// Request.Env is the caller's environment; the policy's env settings then
// filter it: keep beats the default filter, clear keeps the baseline and
// kept names, set wins over both. Result.EnvDropped and the log name the
// dropped variables and never a value.
func TestRunEnvPolicy(t *testing.T) {
	if runtime.GOOS == "windows" {
		t.Skip("POSIX environment rules")
	}
	state := testutil.TempDir(t)
	t.Setenv("CORDON_STATE_DIR", state)
	tmp := testutil.TempDir(t)
	caller := []string{"PATH=/usr/bin", "TMPDIR=" + tmp, "GITHUB_TOKEN=s3cret-gh", "NPM_TOKEN=s3cret-npm", "EDITOR=vi", "AWS_SECRET_ACCESS_KEY=s3cret-aws", "EDITOR=ed"}
	cases := []struct {
		name    string
		env     policy.EnvPolicy
		want    []string
		dropped []string
	}{
		{"default filter", policy.EnvPolicy{},
			[]string{"PATH=/usr/bin", "TMPDIR=" + tmp, "EDITOR=ed"},
			[]string{"AWS_SECRET_ACCESS_KEY", "GITHUB_TOKEN", "NPM_TOKEN"}},
		{"keep", policy.EnvPolicy{Keep: []string{"NPM_*"}},
			[]string{"PATH=/usr/bin", "TMPDIR=" + tmp, "NPM_TOKEN=s3cret-npm", "EDITOR=ed"},
			[]string{"AWS_SECRET_ACCESS_KEY", "GITHUB_TOKEN"}},
		{"clear, keep and set", policy.EnvPolicy{Clear: true, Keep: []string{"NPM_TOKEN"}, Set: map[string]string{"GITHUB_TOKEN": "fake", "CI": "1"}},
			[]string{"PATH=/usr/bin", "TMPDIR=" + tmp, "NPM_TOKEN=s3cret-npm", "CI=1", "GITHUB_TOKEN=fake"},
			[]string{"AWS_SECRET_ACCESS_KEY", "EDITOR"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			var spec sandbox.Spec
			req := Request{Policy: policy.Policy{Mode: policy.WorkspaceWrite, Env: c.env}, Command: []string{"x"}, Dir: testutil.TempDir(t), Env: caller}
			res, err := run(context.Background(), req, func(string) (sandbox.Backend, error) { return envBackend{spec: &spec}, nil })
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(spec.Env, c.want) || !reflect.DeepEqual(res.EnvDropped, c.dropped) {
				t.Errorf("env %q, want %q\ndropped %q, want %q", spec.Env, c.want, res.EnvDropped, c.dropped)
			}
			if runtime.GOOS == "linux" {
				// The Linux backend gives the command a private temp
				// directory: TMPDIR is never a root there.
				if len(spec.Policy.Roots) != 1 {
					t.Errorf("roots %v, want the cwd alone", spec.Policy.Roots)
				}
			} else if len(spec.Policy.Roots) != 2 || spec.Policy.Roots[1].Path != tmp {
				t.Errorf("temp root not from TMPDIR: %v", spec.Policy.Roots)
			}
		})
	}
	log, err := os.ReadFile(filepath.Join(state, "cordon.log"))
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(log), "env_dropped=AWS_SECRET_ACCESS_KEY,GITHUB_TOKEN,NPM_TOKEN") || strings.Contains(string(log), "s3cret") {
		t.Errorf("log:\n%s", log)
	}
}

// Setting TMPDIR moves the temp root with it: the command may write the
// temp directory it is told about, and no other. (Not on Linux, where the
// backend gives every command a private temp directory and no TMPDIR is a
// root.)
func TestRunEnvSetTMPDIR(t *testing.T) {
	if runtime.GOOS == "windows" || runtime.GOOS == "linux" {
		t.Skip("POSIX environment rules; on Linux TMPDIR is never a root")
	}
	t.Setenv("CORDON_STATE_DIR", testutil.TempDir(t))
	tmp := testutil.TempDir(t)
	var spec sandbox.Spec
	req := Request{
		Policy:  policy.Policy{Mode: policy.WorkspaceWrite, Env: policy.EnvPolicy{Set: map[string]string{"TMPDIR": tmp}}},
		Command: []string{"x"}, Dir: testutil.TempDir(t), Env: []string{"TMPDIR=/nonexistent"},
	}
	if _, err := run(context.Background(), req, func(string) (sandbox.Backend, error) { return envBackend{spec: &spec}, nil }); err != nil {
		t.Fatal(err)
	}
	if len(spec.Policy.Roots) != 2 || spec.Policy.Roots[1].Path != tmp {
		t.Errorf("roots %v, want the set TMPDIR %s", spec.Policy.Roots, tmp)
	}
}

func TestRunEnvBadRequests(t *testing.T) {
	t.Setenv("CORDON_STATE_DIR", testutil.TempDir(t))
	choose := func(string) (sandbox.Backend, error) { return envBackend{spec: new(sandbox.Spec)}, nil }
	base := Request{Policy: policy.Policy{Mode: policy.ReadOnly}, Command: []string{"x"}, Dir: testutil.TempDir(t)}

	req := base
	req.Env = []string{"PATH=/bin", "s3cret"}
	_, err := run(context.Background(), req, choose)
	if ErrorCode(err) != "bad_request" || !strings.Contains(err.Error(), "Request.Env entry 1 is not NAME=VALUE") || strings.Contains(err.Error(), "s3cret") {
		t.Errorf("malformed Request.Env: %v", err)
	}
	req = base
	req.Env = []string{}
	req.Policy.Env.Set = map[string]string{"A=B": "s3cret"}
	_, err = run(context.Background(), req, choose)
	if ErrorCode(err) != "bad_policy" || !strings.Contains(err.Error(), `field "env.set"`) || strings.Contains(err.Error(), "s3cret") {
		t.Errorf("bad env.set: %v", err)
	}
}
