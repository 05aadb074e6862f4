//go:build windows

package winlaunch_test

// Tiers (see internal/testutil): everything but TestRestrictedToken is
// plumbing and runs under Wine. Known Wine 8 deviations are named in the
// tests that meet them (see wineAddsEnv).

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"golang.org/x/sys/windows"

	"github.com/cordon-sandbox/cordon/internal/jobobject"
	"github.com/cordon-sandbox/cordon/internal/restrictedtoken"
	"github.com/cordon-sandbox/cordon/internal/testutil"
	"github.com/cordon-sandbox/cordon/internal/winexec"
	"github.com/cordon-sandbox/cordon/internal/winlaunch"
	"github.com/cordon-sandbox/cordon/ntsec"
)

func newJob(t *testing.T) *jobobject.Job {
	t.Helper()
	job, err := jobobject.Create(jobobject.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = job.Close() })
	return job
}

func TestArgsRoundTrip(t *testing.T) {
	h := newHarness(t)
	args := []string{exe(t),
		"", "plain", "a b", `a"b`, `"`, `""`, `a\b`, `a\\b`, `a\"b`, `a\\"b`,
		`trailing\`, `trailing space\ `, `C:\Program Files\`, `\\server\share\`,
		"tab\there", "new\nline", "héllo wörld 😀", "%PATH%", "a&b|c<d>e^f", `'single'`, "-flag=x y",
	}
	r := h.run(winlaunch.Options{Args: args}, "args", "")
	var got []string
	if err := json.Unmarshal([]byte(r.stdout), &got); err != nil || r.code != 0 {
		t.Fatalf("helper: code %d, stdout %q, stderr %q, %v", r.code, r.stdout, r.stderr, err)
	}
	if !slices.Equal(got, args) {
		line, _ := winexec.CommandLine(args)
		for i := range max(len(got), len(args)) {
			var g, w string
			if i < len(got) {
				g = got[i]
			}
			if i < len(args) {
				w = args[i]
			}
			if g != w {
				t.Errorf("argument %d: got %q, want %q", i, g, w)
			}
		}
		t.Fatalf("command line %#q", line)
	}
}

func TestEnvExact(t *testing.T) {
	h := newHarness(t)
	t.Setenv("CORDON_WINLAUNCH_PARENT_ONLY", "must not leak")
	env := helperEnvFor("env", "", "Zeta=1", "alpha=two words", "MiXeD=ä😀=x", "_under=1", "EMPTY=", "path=C:\\nowhere", "PATH=C:\\x;C:\\y")
	r := h.run(winlaunch.Options{Args: []string{exe(t)}, Env: env}, "env", "")
	var got []string
	if err := json.Unmarshal([]byte(r.stdout), &got); err != nil || r.code != 0 {
		t.Fatalf("helper: code %d, stdout %q, stderr %q, %v", r.code, r.stdout, r.stderr, err)
	}
	block, err := winexec.EnvBlock(env)
	if err != nil {
		t.Fatal(err)
	}
	want, err := winexec.ParseEnvBlock(block)
	if err != nil {
		t.Fatal(err)
	}
	if testutil.UnderWine() {
		got = wineEnvDeviation(t, got, want)
	}
	if !slices.Equal(got, want) {
		t.Errorf("child environment, in block order:\n got  %q\n want %q", got, want)
	}
	for _, kv := range got {
		if strings.HasPrefix(strings.ToUpper(kv), "CORDON_WINLAUNCH_PARENT_ONLY=") {
			t.Errorf("the child sees %q, which only cordon's environment has", kv)
		}
	}
}

func TestStdio(t *testing.T) {
	h := newHarness(t)
	input := bytes.Repeat([]byte("0123456789abcdef\r\n"), 64<<10) // 1.1 MiB: many pipe buffers
	r := h.run(winlaunch.Options{Stdin: bytes.NewReader(input)}, "stdio", "")
	if r.code != 0 {
		t.Fatalf("exit code %d, stderr %q", r.code, r.stderr)
	}
	if want := "OUT:" + string(input); r.stdout != want {
		t.Errorf("stdout: %d bytes, want %d (the input, prefixed)", len(r.stdout), len(want))
	}
	if want := "ERR:" + strconv.Itoa(len(input)); r.stderr != want {
		t.Errorf("stderr %q, want %q", r.stderr, want)
	}
}

func TestSharedStdoutStderr(t *testing.T) {
	h := newHarness(t)
	var both syncBuffer
	r := h.run(winlaunch.Options{Stdin: strings.NewReader("hi"), Stdout: &both, Stderr: &both}, "stdio", "")
	if r.code != 0 || both.String() != "OUT:hiERR:2" {
		t.Errorf("exit code %d, combined output %q, want 0 and %q", r.code, both.String(), "OUT:hiERR:2")
	}
}

func TestNilStreams(t *testing.T) {
	h := newHarness(t)
	p := h.start(winlaunch.Options{Args: []string{exe(t)}, Env: helperEnvFor("stdio", "")})
	// stdin is NUL (EOF at once), stdout and stderr NUL (writes succeed).
	if code, err := h.wait(p); code != 0 || err != nil {
		t.Errorf("Wait = %d, %v; want 0, nil", code, err)
	}
}

type failingWriter struct{}

func (failingWriter) Write([]byte) (int, error) { return 0, errors.New("sink full") }

func TestWriterErrorReported(t *testing.T) {
	h := newHarness(t)
	p := h.start(winlaunch.Options{Args: []string{exe(t)}, Env: helperEnvFor("stdio", ""),
		Stdin: strings.NewReader("x"), Stdout: failingWriter{}, Stderr: &syncBuffer{}})
	code, err := h.wait(p)
	if code != 0 || err == nil || !strings.Contains(err.Error(), "copying stdout") || !strings.Contains(err.Error(), "sink full") {
		t.Errorf("Wait = %d, %v; want exit code 0 and the stdout write error", code, err)
	}
}

func TestExitCodes(t *testing.T) {
	h := newHarness(t)
	for _, code := range []int{0, 7, 255} {
		if r := h.run(winlaunch.Options{}, "exit", strconv.Itoa(code)); r.code != code {
			t.Errorf("exit %d: Wait returned %d (stderr %q)", code, r.code, r.stderr)
		}
	}
	// The same through the job path (suspended, assigned, resumed).
	if r := h.run(winlaunch.Options{Job: newJob(t)}, "exit", "7"); r.code != 7 {
		t.Errorf("exit 7 in a job: Wait returned %d (stderr %q)", r.code, r.stderr)
	}
}

func TestJobAtBirth(t *testing.T) {
	h := newHarness(t)
	job := newJob(t)
	p := h.start(winlaunch.Options{Args: []string{exe(t)}, Env: helperEnvFor("sleep", ""), Job: job})
	// Wine 8 honours PROC_THREAD_ATTRIBUTE_JOB_LIST (true); Windows before
	// 10 refuses it (false).
	t.Logf("JobAtBirth = %v (under Wine: %v)", p.JobAtBirth(), testutil.UnderWine())
	if in, err := job.Contains(openProcess(t, p.Pid())); err != nil || !in {
		t.Fatalf("Contains(child) = %v, %v; want true", in, err)
	}
	pids, err := job.Pids()
	if err != nil || !slices.Contains(pids, uint32(p.Pid())) {
		t.Errorf("Pids = %v, %v; want it to include %d", pids, err, p.Pid())
	}
	// With CREATE_NO_WINDOW a console program gets a console of its own,
	// whose conhost.exe may join the job too.
	t.Logf("processes in the job: %v (the child is %d)", pids, p.Pid())
	if err := p.Kill(); err != nil {
		t.Fatal(err)
	}
	if code, _ := h.wait(p); code != winlaunch.KilledExitCode {
		t.Errorf("exit code after Kill %d, want %d", code, winlaunch.KilledExitCode)
	}
}

func TestKillJobTree(t *testing.T) {
	testKillJobTree(t, true)
}

// TestJobFallback takes the path of Windows before 10: the job list is
// refused (here: an attribute number Windows does not know), so the
// process is created suspended, assigned, then resumed.
func TestJobFallback(t *testing.T) {
	defer winlaunch.SetJobListAttribute(0x0002FFFF)()
	testKillJobTree(t, false)
}

func testKillJobTree(t *testing.T, wantAtBirth bool) {
	h := newHarness(t)
	job := newJob(t)
	var out syncBuffer
	p := h.start(winlaunch.Options{Args: []string{exe(t)}, Env: helperEnvFor("spawn", ""), Job: job, Stdout: &out, Stderr: &out})
	pid, err := parsePid(out.waitLine(t))
	if err != nil {
		t.Fatalf("spawn helper said %q: %v", out.String(), err)
	}
	if p.JobAtBirth() != wantAtBirth {
		t.Errorf("JobAtBirth = %v, want %v", p.JobAtBirth(), wantAtBirth)
	}
	grandchild := openProcess(t, pid)
	if in, err := job.Contains(grandchild); err != nil || !in {
		t.Fatalf("grandchild in the job: %v, %v; want true", in, err)
	}
	for i := range 2 { // idempotent
		if err := p.Kill(); err != nil {
			t.Fatalf("Kill #%d: %v", i+1, err)
		}
	}
	if code, err := h.wait(p); code != winlaunch.KilledExitCode || err != nil {
		t.Errorf("Wait = %d, %v; want %d, nil", code, err, winlaunch.KilledExitCode)
	}
	if code := waitHandle(t, grandchild, "grandchild"); code != winlaunch.KilledExitCode {
		t.Errorf("grandchild exit code %d, want %d", code, winlaunch.KilledExitCode)
	}
	if err := p.Kill(); err != nil {
		t.Errorf("Kill after Wait: %v", err)
	}
	_ = job.Close()
	if err := p.Kill(); err != nil {
		t.Errorf("Kill after the job was closed: %v", err)
	}
}

func TestKillWithoutJob(t *testing.T) {
	h := newHarness(t)
	p := h.start(winlaunch.Options{Args: []string{exe(t)}, Env: helperEnvFor("sleep", "")})
	if p.JobAtBirth() {
		t.Error("JobAtBirth = true without a job")
	}
	for i := range 2 {
		if err := p.Kill(); err != nil {
			t.Fatalf("Kill #%d: %v", i+1, err)
		}
	}
	if code, err := h.wait(p); code != winlaunch.KilledExitCode || err != nil {
		t.Errorf("Wait = %d, %v; want %d, nil", code, err, winlaunch.KilledExitCode)
	}
	if err := p.Kill(); err != nil {
		t.Errorf("Kill after Wait: %v", err)
	}
}

// A grandchild holding stdout keeps Wait blocked after the child exited,
// until the job is terminated: the behaviour the backend must handle.
func TestWaitWaitsForPipeHolders(t *testing.T) {
	h := newHarness(t)
	job := newJob(t)
	var out syncBuffer
	p := h.start(winlaunch.Options{Args: []string{exe(t)}, Env: helperEnvFor("spawn", "hold,exit"), Job: job, Stdout: &out})
	select {
	case <-p.Exited():
	case <-time.After(waitTimeout):
		t.Fatalf("the spawn helper did not exit within %v", waitTimeout)
	}
	done := make(chan int, 1)
	go func() { c, _ := p.Wait(); done <- c }()
	select {
	case c := <-done:
		t.Fatalf("Wait returned %d while the grandchild still held stdout", c)
	case <-time.After(500 * time.Millisecond):
	}
	if err := job.Terminate(1); err != nil {
		t.Fatal(err)
	}
	select {
	case c := <-done:
		if c != 0 {
			t.Errorf("Wait = %d, want the child's own exit code 0", c)
		}
	case <-time.After(waitTimeout):
		t.Fatalf("Wait still blocked %v after the job was terminated", waitTimeout)
	}
	if !strings.HasPrefix(out.String(), "pid ") {
		t.Errorf("stdout %q, want the grandchild's pid", out.String())
	}
}

func TestDir(t *testing.T) {
	h := newHarness(t)
	dir := testutil.TempDir(t)
	r := h.run(winlaunch.Options{Dir: dir}, "cwd", "")
	if r.code != 0 || !strings.EqualFold(filepath.Clean(r.stdout), filepath.Clean(dir)) {
		t.Errorf("cwd %q (exit %d, stderr %q), want %q", r.stdout, r.code, r.stderr, dir)
	}
	// A relative program path is relative to Dir, not to cordon's cwd.
	copyExe(t, filepath.Join(dir, "sub", "helper.exe"))
	r = h.run(winlaunch.Options{Dir: dir, Args: []string{`sub\helper.exe`}}, "cwd", "")
	if r.code != 0 || !strings.EqualFold(filepath.Clean(r.stdout), filepath.Clean(dir)) {
		t.Errorf(`sub\helper.exe: cwd %q (exit %d, stderr %q), want %q`, r.stdout, r.code, r.stderr, dir)
	}
}

func TestNotFound(t *testing.T) {
	path := `C:\cordon-no-such-dir;C:\cordon-other-dir`
	_, err := winlaunch.Start(winlaunch.Options{Args: []string{"cordon-no-such-program"}, Env: []string{"PATH=" + path}})
	// The error quotes PATH with %q, doubling the backslashes.
	if err == nil || !errors.Is(err, winexec.ErrNotFound) ||
		!strings.Contains(err.Error(), "cordon-no-such-program") || !strings.Contains(err.Error(), strconv.Quote(path)) {
		t.Errorf("Start error %v; want ErrNotFound naming the program and the PATH", err)
	}
	// The working directory is never searched.
	dir := testutil.TempDir(t)
	copyExe(t, filepath.Join(dir, "helper.exe"))
	_, err = winlaunch.Start(winlaunch.Options{Args: []string{"helper"}, Dir: dir, Env: []string{"PATH=" + path}})
	if !errors.Is(err, winexec.ErrNotFound) {
		t.Errorf("Start(helper) with helper.exe only in Dir: %v; want ErrNotFound", err)
	}
}

func TestBadOptions(t *testing.T) {
	for name, opts := range map[string]winlaunch.Options{
		"no args":      {},
		"relative dir": {Args: []string{exe(t)}, Dir: `rel\dir`},
		"bad env":      {Args: []string{exe(t)}, Env: []string{"NOEQUALS"}},
		"NUL in arg":   {Args: []string{exe(t), "a\x00b"}},
	} {
		if p, err := winlaunch.Start(opts); err == nil {
			_ = p.Kill()
			t.Errorf("%s: Start succeeded", name)
		}
	}
	job := newJob(t)
	_ = job.Close()
	_, err := winlaunch.Start(winlaunch.Options{Args: []string{exe(t)}, Job: job})
	if !errors.Is(err, jobobject.ErrClosed) {
		t.Errorf("Start with a closed job: %v, want ErrClosed", err)
	}
}

// An inheritable handle of cordon's must not reach the child: the handle
// list names only the child's three standard handles. The helper writes
// to the handle's value; the read end shows whether anything arrived. A
// second child, started by os/exec with the handle in
// AdditionalInheritedHandles, shows the check can see a leak.
func TestHandleNotInherited(t *testing.T) {
	h := newHarness(t)
	var r, w windows.Handle
	if err := windows.CreatePipe(&r, &w, nil, 0); err != nil {
		t.Fatal(err)
	}
	defer windows.CloseHandle(r)
	closeW := sync.OnceFunc(func() { windows.CloseHandle(w) })
	defer closeW()
	if err := windows.SetHandleInformation(w, windows.HANDLE_FLAG_INHERIT, windows.HANDLE_FLAG_INHERIT); err != nil {
		t.Fatal(err)
	}
	arg := strconv.FormatUint(uint64(w), 10)
	res := h.run(winlaunch.Options{}, "handle", arg)
	t.Logf("winlaunch child: %s", res.stdout)

	// Positive control.
	ctx, cancel := context.WithTimeout(context.Background(), waitTimeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, exe(t))
	cmd.Env = helperEnvFor("handle", arg)
	cmd.SysProcAttr = &syscall.SysProcAttr{AdditionalInheritedHandles: []syscall.Handle{syscall.Handle(w)}}
	ctl, err := cmd.Output()
	if err != nil {
		t.Fatalf("control child: %v", err)
	}
	t.Logf("control child (handle inherited on purpose): %s", ctl)

	closeW()
	got := readAll(t, r)
	switch {
	case got == "leaked":
		t.Logf("the check works: the control child's write arrived")
	case got == "leakedleaked":
		t.Errorf("the handle reached the winlaunch child: PROC_THREAD_ATTRIBUTE_HANDLE_LIST not honoured (under Wine: %v)", testutil.UnderWine())
	default:
		t.Errorf("read %q from the pipe; want exactly the control child's %q", got, "leaked")
	}
}

// TestTokenPlumbing starts a process through CreateProcessAsUser with a
// duplicate of the caller's own token: the code path the restricted token
// takes, minus the restriction, which runs under Wine too.
func TestTokenPlumbing(t *testing.T) {
	h := newHarness(t)
	var own, tok windows.Token
	if err := windows.OpenProcessToken(windows.CurrentProcess(), windows.TOKEN_DUPLICATE|windows.TOKEN_QUERY, &own); err != nil {
		t.Fatal(err)
	}
	defer own.Close()
	if err := windows.DuplicateTokenEx(own, windows.TOKEN_ASSIGN_PRIMARY|windows.TOKEN_DUPLICATE|windows.TOKEN_QUERY|windows.TOKEN_ADJUST_DEFAULT|windows.TOKEN_ADJUST_SESSIONID,
		nil, windows.SecurityImpersonation, windows.TokenPrimary, &tok); err != nil {
		t.Fatal(err)
	}
	defer tok.Close()
	args := []string{exe(t), "a b", `c"d`}
	r := h.run(winlaunch.Options{Token: tok, Args: args, Job: newJob(t)}, "args", "")
	var got []string
	if err := json.Unmarshal([]byte(r.stdout), &got); err != nil || r.code != 0 || !slices.Equal(got, args) {
		t.Errorf("helper under CreateProcessAsUser: code %d, args %q (want %q), stderr %q, %v", r.code, got, args, r.stderr, err)
	}
}

// TestRestrictedToken checks on real Windows that the child runs under the
// sandbox token: its own token has the restricting SIDs Create put in,
// write-restricted. Under Wine restrictedtoken.Create fails (and its
// tokens would not be restricted anyway; wine.md §7).
func TestRestrictedToken(t *testing.T) {
	testutil.RealWindows(t)
	h := newHarness(t)
	tok, err := restrictedtoken.Create(restrictedtoken.Spec{Caps: []ntsec.SID{randomCap(t)}, Run: randomCap(t)})
	if errors.Is(err, restrictedtoken.ErrElevated) {
		t.Skipf("needs a non-elevated shell: %v", err)
	}
	if err != nil {
		t.Fatal(err)
	}
	defer tok.Close()
	want, err := restrictedtoken.Query(tok)
	if err != nil {
		t.Fatal(err)
	}
	r := h.run(winlaunch.Options{Token: tok, Job: newJob(t)}, "token", "")
	var got tokenReport
	if err := json.Unmarshal([]byte(r.stdout), &got); err != nil || r.code != 0 {
		t.Fatalf("helper: code %d, stdout %q, stderr %q, %v", r.code, r.stdout, r.stderr, err)
	}
	if !slices.Equal(got.Restricted, sidStrings(want.RestrictedSIDs)) || !got.WriteRestricted {
		t.Errorf("child token: restricting SIDs %v, write-restricted %v; want %v, true", got.Restricted, got.WriteRestricted, sidStrings(want.RestrictedSIDs))
	}
}
