package elevsandbox

// The elevated backend end to end under Wine, plumbing only: Wine has no
// local accounts (its CreateProcessWithLogonW is a stub), restricts no
// token and stores no DACL. So the setup's state is a fake (a marker,
// passwords, and the current account's SID standing in for the sandbox
// user's, so that the pipe admits the runner), and the runner — the test
// binary itself, in runner mode — is started as the current user with
// os/exec instead of CreateProcessWithLogonW. Everything else is the
// backend's own: the plan and its record on the real file system, the
// pipe, the handshake, the Spawn, the runner's job and desktop, the
// output, the exit code, Kill. What it proves is that the parts fit; the
// real-Windows tests (realwindows_windows_test.go) are the ones that
// speak of isolation.

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"

	"golang.org/x/sys/windows"

	"github.com/cordon-sandbox/cordon/internal/acelog"
	"github.com/cordon-sandbox/cordon/internal/ntfs"
	"github.com/cordon-sandbox/cordon/internal/runner"
	"github.com/cordon-sandbox/cordon/internal/sandboxusers"
	"github.com/cordon-sandbox/cordon/internal/testutil"
	"github.com/cordon-sandbox/cordon/ntsec"
	"github.com/cordon-sandbox/cordon/policy"
	"github.com/cordon-sandbox/cordon/sandbox"
	"github.com/cordon-sandbox/cordon/winsandbox"
)

const (
	runnerArg = "-cordon-elevsandbox-test-runner"
	childArg  = "-cordon-elevsandbox-test-child"
	waitFor   = 60 * time.Second
)

func TestMain(m *testing.M) {
	if len(os.Args) > 1 {
		switch os.Args[1] {
		case runnerArg:
			cfg, err := runner.ParseArgs(os.Args[2:], os.Stderr)
			if err == nil {
				err = runner.Run(context.Background(), cfg)
			}
			if err != nil {
				fmt.Fprintln(os.Stderr, "runner:", err)
				os.Exit(3)
			}
			os.Exit(0)
		case childArg:
			switch os.Args[2] {
			case "echo": // arguments to stdout, input to stderr, exit 5
				fmt.Print(strings.Join(os.Args[3:], "|"))
				io.Copy(os.Stderr, os.Stdin)
				os.Exit(5)
			case "sleep":
				time.Sleep(waitFor)
			case "pwd":
				wd, _ := os.Getwd()
				fmt.Print(wd)
			}
			os.Exit(0)
		}
	}
	os.Exit(m.Run())
}

// plumbingBackend is the backend with a fake setup whose sandbox user is
// the current account, and a runner started with os/exec.
func plumbingBackend(t *testing.T) (*Backend, string) {
	t.Helper()
	if !testutil.UnderWine() {
		t.Skip("plumbing with a fake setup: Wine only (real Windows runs realwindows_windows_test.go)")
	}
	t.Setenv(winsandbox.WinePlumbingEnv, "1")
	state := testutil.TempDir(t)
	t.Setenv("CORDON_STATE_DIR", state)
	t.Cleanup(func() {
		if _, err := acelog.Cleanup(context.Background(), state, ntfs.ApplyAll); err != nil {
			t.Errorf("cleanup: %v", err)
		}
	})
	me := currentUser(t)
	group, _ := ntsec.NewSID(5, 21, 77, 77, 77, 1003)
	d := sandboxusers.Default()
	b := New(Options{Options: winsandbox.Options{StateDir: state}})
	b.sys = system{
		markers: fakeMarkers{m: sandboxusers.Marker{Version: sandboxusers.Version, Group: d.Group, Users: d.Users}},
		secrets: fakeSecrets{sandboxusers.OfflineUser: {Password: "x"}, sandboxusers.OnlineUser: {Password: "y"}},
		// Under Wine the runner runs as you, but the plan is made for the
		// accounts' own SIDs, which must not be yours (aclplan refuses a
		// sandbox user that is the real user).
		lookup: func(name string) (ntsec.SID, error) {
			switch name {
			case d.Group:
				return group, nil
			case sandboxusers.OfflineUser:
				return ntsec.NewSID(5, 21, 77, 77, 77, 1001)
			case sandboxusers.OnlineUser:
				return ntsec.NewSID(5, 21, 77, 77, 77, 1002)
			}
			return me, nil
		},
	}
	b.ln = launch{exe: os.Args[0], args: []string{runnerArg}, start: func(account) runner.StartFunc { return execStart(t) }}
	return b, state
}

func currentUser(t *testing.T) ntsec.SID {
	t.Helper()
	u, err := windows.GetCurrentProcessToken().GetTokenUser()
	if err != nil {
		t.Fatal(err)
	}
	s, err := ntsec.ParseSID(u.User.Sid.String())
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func execStart(t *testing.T) runner.StartFunc {
	return func(exe string, args []string) (runner.Started, error) {
		cmd := exec.Command(exe, args...)
		var stderr bytes.Buffer
		cmd.Stderr = &stderr
		if err := cmd.Start(); err != nil {
			return runner.Started{}, err
		}
		t.Cleanup(func() {
			cmd.Process.Kill()
			cmd.Wait()
			if stderr.Len() > 0 {
				t.Logf("runner stderr: %s", &stderr)
			}
		})
		h, err := windows.OpenProcess(windows.SYNCHRONIZE|windows.PROCESS_QUERY_LIMITED_INFORMATION|windows.PROCESS_TERMINATE, false, uint32(cmd.Process.Pid))
		if err != nil {
			return runner.Started{}, err
		}
		return runner.Started{PID: uint32(cmd.Process.Pid), Handle: h}, nil
	}
}

// specFor resolves pol for a workspace as cordon.Run does, and returns
// the spec of a child-mode run of the test binary.
func specFor(t *testing.T, b *Backend, pol policy.Policy, args ...string) sandbox.Spec {
	t.Helper()
	ws := testutil.TempDir(t)
	penv, env, err := b.PolicyEnv(pol, ws, os.Environ(), "")
	if err != nil {
		t.Fatal(err)
	}
	r, err := pol.Resolve(penv)
	if err != nil {
		t.Fatal(err)
	}
	return sandbox.Spec{Args: append([]string{os.Args[0], childArg}, args...), Dir: r.Cwd, Env: env, Policy: r}
}

func TestElevatedPlumbing(t *testing.T) {
	b, state := plumbingBackend(t)
	var stdout, stderr bytes.Buffer
	spec := specFor(t, b, policy.Policy{Mode: policy.WorkspaceWrite}, "echo", "a b", "c")
	spec.Stdin, spec.Stdout, spec.Stderr = strings.NewReader("input"), &stdout, &stderr
	ctx, cancel := context.WithTimeout(context.Background(), waitFor)
	defer cancel()
	p, err := b.Start(ctx, spec)
	if err != nil {
		t.Fatal(err)
	}
	code, err := p.Wait()
	if err != nil {
		t.Fatal(err)
	}
	if code != 5 || stdout.String() != "a b|c" || stderr.String() != "input" {
		t.Errorf("exit %d, stdout %q, stderr %q; want 5, %q, %q", code, &stdout, &stderr, "a b|c", "input")
	}
	if d := strings.Join(p.Degraded(), "\n"); !strings.Contains(d, wineUnenforced) {
		t.Errorf("Degraded does not say Wine enforced nothing: %q", d)
	}
	// The plan was made and recorded for cleanup, as the restricted-token
	// backend's is.
	if _, err := os.Stat(state + `\` + acelog.FileName); err != nil {
		t.Errorf("no record of the plan: %v", err)
	}
}

func TestElevatedKill(t *testing.T) {
	b, _ := plumbingBackend(t)
	spec := specFor(t, b, policy.Policy{Mode: policy.WorkspaceWrite}, "sleep")
	ctx, cancel := context.WithTimeout(context.Background(), waitFor)
	defer cancel()
	p, err := b.Start(ctx, spec)
	if err != nil {
		t.Fatal(err)
	}
	if err := p.Kill(); err != nil {
		t.Fatal(err)
	}
	if code, err := p.Wait(); err != nil || code != 137 {
		t.Errorf("Wait = %d, %v; want 137 (killed)", code, err)
	}
}

func TestElevatedNeedsSetup(t *testing.T) {
	b, _ := plumbingBackend(t)
	b.sys.markers = fakeMarkers{err: fmt.Errorf("x: %w", sandboxusers.ErrMarkerMissing)}
	spec := specFor(t, b, policy.Policy{Mode: policy.WorkspaceWrite}, "echo")
	started := false
	b.ln.start = func(account) runner.StartFunc { started = true; return execStart(t) }
	_, err := b.Start(context.Background(), spec)
	if !errors.Is(err, ErrNotSetUp) || !strings.Contains(err.Error(), "cordon setup") {
		t.Errorf("Start without setup = %v, want ErrNotSetUp naming cordon setup", err)
	}
	if started {
		t.Error("a runner was started without a setup")
	}
}

// The offline account runs a command without network, the online one a
// command with it: the account whose SID the pipe admits and whose
// password starts the runner.
func TestElevatedPicksTheAccount(t *testing.T) {
	for _, network := range []bool{false, true} {
		b, _ := plumbingBackend(t)
		var got account
		b.ln.start = func(a account) runner.StartFunc { got = a; return execStart(t) }
		spec := specFor(t, b, policy.Policy{Mode: policy.WorkspaceWrite, Network: network}, "echo")
		p, err := b.Start(context.Background(), spec)
		if err != nil {
			t.Fatal(err)
		}
		p.Wait()
		want := map[bool]string{false: sandboxusers.OfflineUser, true: sandboxusers.OnlineUser}[network]
		wantPW := map[bool]string{false: "x", true: "y"}[network]
		if got.Name != want || got.Password != wantPW {
			t.Errorf("network %v: ran as %s with password %q, want %s", network, got.Name, got.Password, want)
		}
	}
}

// sandboxSpec is a spec for args under r with the streams given.
func sandboxSpec(args []string, r *policy.Resolved, env []string, stdout, stderr io.Writer) sandbox.Spec {
	return sandbox.Spec{Args: args, Dir: r.Cwd, Env: env, Policy: r, Stdout: stdout, Stderr: stderr}
}

func TestStartErrorSaysWhatToDo(t *testing.T) {
	a := account{Name: sandboxusers.OfflineUser}
	if err := startError(a, `C:\x\cordon.exe`, fmt.Errorf("%w: CreateProcessWithLogonW: %w", runner.ErrStart, windows.ERROR_LOGON_FAILURE)); !errors.Is(err, ErrNotSetUp) {
		t.Errorf("a failed logon: %v, want ErrNotSetUp", err)
	}
	err := startError(a, `C:\x\cordon.exe`, fmt.Errorf("%w: CreateProcessWithLogonW: %w", runner.ErrStart, windows.ERROR_ACCESS_DENIED))
	if errors.Is(err, ErrNotSetUp) || !strings.Contains(err.Error(), `run C:\x\cordon.exe`) {
		t.Errorf("an unreadable runner: %v, want a message naming the program", err)
	}
	if err := startError(a, "c", errors.New("other")); errors.Is(err, ErrNotSetUp) || !strings.Contains(err.Error(), "other") {
		t.Errorf("another failure: %v", err)
	}
	// Access denied while applying the plan is no reason to move cordon.
	if err := startError(a, "c", fmt.Errorf("applying: %w", windows.ERROR_ACCESS_DENIED)); strings.Contains(err.Error(), "Program Files") {
		t.Errorf("a plan's access denied: %v", err)
	}
}

// The plan is proven for the runner's own token, which must be the
// account's; only Wine's plumbing runs stand SandboxBase in for it.
func TestBaseTokenIsTheRunnersOwn(t *testing.T) {
	b := New(Options{})
	user, _ := ntsec.NewSID(5, 21, 9, 9, 9, 1001)
	other, _ := ntsec.NewSID(5, 21, 9, 9, 9, 1002)
	group, _ := ntsec.NewSID(5, 21, 9, 9, 9, 1003)
	a := account{Name: sandboxusers.OfflineUser, SID: user, Group: group}
	described := &ntsec.Token{User: user, Groups: []ntsec.Group{{SID: ntsec.LogonSID(0, 5), Attributes: ntsec.GroupEnabled | ntsec.GroupLogonID}}}
	if got, err := b.baseToken(a, described, false); err != nil || got != described {
		t.Errorf("the account's own token: %v, %v", got, err)
	}
	if _, err := b.baseToken(a, nil, false); err == nil {
		t.Error("no described token accepted")
	}
	if _, err := b.baseToken(a, &ntsec.Token{User: other}, false); err == nil {
		t.Error("a runner of another account accepted")
	}
	if got, err := b.baseToken(a, nil, true); err != nil || got.User != user || len(got.Groups) == 0 {
		t.Errorf("plumbing: %+v, %v", got, err)
	}
}

// Two runs at once, each with its own runner, pipe and workspace: each
// gets its own output and exit code (the plan's locks and the pipes'
// names keep them apart).
func TestElevatedTwoAtOnce(t *testing.T) {
	b, _ := plumbingBackend(t)
	ctx, cancel := context.WithTimeout(context.Background(), waitFor)
	defer cancel()
	type out struct {
		code           int
		stdout, stderr string
		err            error
	}
	results := make([]chan out, 2)
	for i := range results {
		results[i] = make(chan out, 1)
		spec := specFor(t, b, policy.Policy{Mode: policy.WorkspaceWrite}, "echo", fmt.Sprintf("run %d", i))
		go func(i int, spec sandbox.Spec) {
			var stdout, stderr bytes.Buffer
			spec.Stdin, spec.Stdout, spec.Stderr = strings.NewReader(fmt.Sprintf("in %d", i)), &stdout, &stderr
			p, err := b.Start(ctx, spec)
			if err != nil {
				results[i] <- out{err: err}
				return
			}
			code, err := p.Wait()
			results[i] <- out{code, stdout.String(), stderr.String(), err}
		}(i, spec)
	}
	for i, ch := range results {
		r := <-ch
		if r.err != nil || r.code != 5 || r.stdout != fmt.Sprintf("run %d", i) || r.stderr != fmt.Sprintf("in %d", i) {
			t.Errorf("run %d: exit %d, stdout %q, stderr %q, %v", i, r.code, r.stdout, r.stderr, r.err)
		}
	}
}
