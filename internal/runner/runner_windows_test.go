package runner_test

// These tests start the test binary itself twice over: as the runner
// (the first argument runnerArg), which cordon's side (StartRemote)
// serves a pipe to, and, from the runner, as the command (childArg).
// Under Wine they check the plumbing of parent ↔ runner ↔ command:
// the pipe, the handshake, the spawn, the job, the output and the exit
// code; Wine restricts no token, so there the runner runs the command
// with its own (Config.WinePlumbing). On real Windows the runner makes
// the restricted token from its own token, as in the elevated mode.

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

	"github.com/cordon-sandbox/cordon/internal/restrictedtoken"
	"github.com/cordon-sandbox/cordon/internal/runner"
	"github.com/cordon-sandbox/cordon/internal/runnerpipe"
	"github.com/cordon-sandbox/cordon/internal/testutil"
	"github.com/cordon-sandbox/cordon/ntsec"
)

const (
	runnerArg = "-cordon-runner-test-runner"
	childArg  = "-cordon-runner-test-child"
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
			os.Exit(child(os.Args[2:]))
		}
	}
	os.Exit(m.Run())
}

// child is the command: "echo A…" writes its arguments to stdout and its
// input to stderr and exits with the number of arguments; "sleep" waits
// to be killed.
func child(args []string) int {
	switch args[0] {
	case "echo":
		fmt.Print(strings.Join(args[1:], "|"))
		io.Copy(os.Stderr, os.Stdin)
		return len(args) - 1
	case "sleep":
		time.Sleep(waitFor)
		return 0
	}
	return 99
}

// execStart starts the runner as this user with os/exec: the plumbing of
// everything but the logon.
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

// spawn is a Spawn of the test binary in child mode with args, with
// fresh capability and run SIDs, at Medium integrity (the test binary
// lies in a directory without a Low label).
func spawn(t *testing.T, args ...string) *runnerpipe.Spawn {
	t.Helper()
	var sids []string
	for range 2 {
		s, err := restrictedtoken.NewRunSID()
		if err != nil {
			t.Fatal(err)
		}
		sids = append(sids, s.String())
	}
	return &runnerpipe.Spawn{
		Args: append([]string{os.Args[0], childArg}, args...),
		Dir:  testutil.TempDir(t), Env: os.Environ(),
		Caps: sids[:1], Run: sids[1], PrivateDesktop: true,
	}
}

func options(t *testing.T, start runner.StartFunc, sp *runnerpipe.Spawn) runner.RemoteOptions {
	return runner.RemoteOptions{
		Exe: os.Args[0], Args: []string{runnerArg}, SandboxUser: currentUser(t),
		Start: start, WinePlumbing: testutil.UnderWine(), Prepare: runner.Fixed(sp),
		ConnectTimeout: waitFor,
	}
}

func TestRunnerRunsTheCommand(t *testing.T) {
	var stdout, stderr bytes.Buffer
	o := options(t, execStart(t), spawn(t, "echo", "a b", `c"d`))
	o.Stdin, o.Stdout, o.Stderr = strings.NewReader("from stdin"), &stdout, &stderr
	ctx, cancel := context.WithTimeout(context.Background(), waitFor)
	defer cancel()
	r, err := runner.StartRemote(ctx, o)
	if err != nil {
		t.Fatal(err)
	}
	if r.PID() == 0 || r.PID() == uint32(os.Getpid()) {
		t.Errorf("the command's PID is %d", r.PID())
	}
	exit, err := r.Wait()
	if err != nil {
		t.Fatal(err)
	}
	if exit.Code != 2 || exit.TimedOut {
		t.Errorf("exit = %+v, want code 2", exit)
	}
	if stdout.String() != `a b|c"d` {
		t.Errorf("stdout = %q", &stdout)
	}
	if stderr.String() != "from stdin" {
		t.Errorf("stderr = %q, want the input", &stderr)
	}
}

func TestRunnerKillEndsTheCommand(t *testing.T) {
	o := options(t, execStart(t), spawn(t, "sleep"))
	ctx, cancel := context.WithTimeout(context.Background(), waitFor)
	defer cancel()
	r, err := runner.StartRemote(ctx, o)
	if err != nil {
		t.Fatal(err)
	}
	pid := r.PID()
	if err := r.Kill(); err != nil {
		t.Fatal(err)
	}
	exit, err := r.Wait()
	if err != nil {
		t.Fatal(err)
	}
	if exit.Code != 137 {
		t.Errorf("exit = %+v, want 137 (killed)", exit)
	}
	testutil.WaitFor(t, "the command to be gone", func() bool {
		h, err := windows.OpenProcess(windows.SYNCHRONIZE, false, pid)
		if err != nil {
			return true
		}
		defer windows.CloseHandle(h)
		ev, _ := windows.WaitForSingleObject(h, 0)
		return ev == windows.WAIT_OBJECT_0
	})
}

func TestRunnerTimeout(t *testing.T) {
	sp := spawn(t, "sleep")
	sp.TimeoutMS = 1
	ctx, cancel := context.WithTimeout(context.Background(), waitFor)
	defer cancel()
	r, err := runner.StartRemote(ctx, options(t, execStart(t), sp))
	if err != nil {
		t.Fatal(err)
	}
	exit, err := r.Wait()
	if err != nil {
		t.Fatal(err)
	}
	if exit.Code != 137 || !exit.TimedOut {
		t.Errorf("exit = %+v, want a timed-out 137", exit)
	}
}

func TestRunnerLaunchFailure(t *testing.T) {
	sp := spawn(t)
	sp.Args = []string{`C:\no\such\program.exe`}
	ctx, cancel := context.WithTimeout(context.Background(), waitFor)
	defer cancel()
	_, err := runner.StartRemote(ctx, options(t, execStart(t), sp))
	var re *runner.RunnerError
	if !errors.As(err, &re) || re.Code != runner.CodeLaunch {
		t.Fatalf("StartRemote = %v, want a runner error %q", err, runner.CodeLaunch)
	}
}

// A runner that dies before connecting ends the wait at once, with its
// exit code, instead of after the connect timeout.
func TestRunnerThatDiesEarly(t *testing.T) {
	o := options(t, execStart(t), spawn(t, "echo"))
	o.Args = []string{childArg, "no-such-mode"} // exits 99 at once
	o.ConnectTimeout = 10 * time.Minute
	ctx, cancel := context.WithTimeout(context.Background(), waitFor)
	defer cancel()
	_, err := runner.StartRemote(ctx, o)
	if err == nil || !strings.Contains(err.Error(), "exited with code 99 before it connected") {
		t.Fatalf("StartRemote = %v, want the runner's early exit", err)
	}
}

// TestRunnerThroughLogon starts the runner with CreateProcessWithLogonW,
// as cordon does, as the current account. Wine 8's CreateProcessWithLogonW
// is a stub that returns FALSE without an error code (its log says
// "stub"); later Wines log on through their LogonUser semi-stub and start
// the process as the caller. So under Wine 8 this test checks only that
// the binding is found and called, and says it skipped the rest; with a
// Wine that starts the runner it checks the whole way. On real Windows
// TestRealWindowsElevated* in elevsandbox runs it as a sandbox user after
// `cordon setup`.
func TestRunnerThroughLogon(t *testing.T) {
	if !testutil.UnderWine() {
		t.Skip("logs on as the current account with an empty password, which only Wine accepts")
	}
	var stdout bytes.Buffer
	o := options(t, runner.LogonStart(os.Getenv("USERNAME"), ""), spawn(t, "echo", "logon"))
	o.Stdout = &stdout
	ctx, cancel := context.WithTimeout(context.Background(), waitFor)
	defer cancel()
	r, err := runner.StartRemote(ctx, o)
	if err != nil {
		if !strings.Contains(err.Error(), "CreateProcessWithLogonW as ") || errors.Is(err, windows.ERROR_PROC_NOT_FOUND) {
			t.Fatalf("StartRemote = %v, want CreateProcessWithLogonW's own failure", err)
		}
		t.Skipf("this Wine does not start processes with CreateProcessWithLogonW (a stub in Wine 8): %v", err)
	}
	exit, err := r.Wait()
	if err != nil {
		t.Fatal(err)
	}
	if exit.Code != 1 || stdout.String() != "logon" {
		t.Errorf("exit %+v, stdout %q; want 1 and %q", exit, &stdout, "logon")
	}
}
