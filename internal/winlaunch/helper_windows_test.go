//go:build windows

package winlaunch_test

// The tests start the test binary itself as the child, in a helper mode
// chosen by an environment variable (see TestMain and runHelper). They run
// under Wine in CI, so nothing may hang: every wait is bounded
// (waitTimeout), helpers nobody kills exit after helperSleep, every
// process a test starts is killed when the test ends, and a watchdog per
// test (testTimeout) kills them and panics if a Windows call itself hangs.

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"golang.org/x/sys/windows"

	"github.com/cordon-sandbox/cordon/internal/capsid"
	"github.com/cordon-sandbox/cordon/internal/restrictedtoken"
	"github.com/cordon-sandbox/cordon/internal/winapi"
	"github.com/cordon-sandbox/cordon/internal/windesktop"
	"github.com/cordon-sandbox/cordon/internal/winlaunch"
	"github.com/cordon-sandbox/cordon/ntsec"
)

const (
	helperEnv = "CORDON_WINLAUNCH_HELPER" // the helper mode
	argEnv    = "CORDON_WINLAUNCH_ARG"    // the mode's parameter

	helperSleep = 60 * time.Second // a helper nobody kills exits after this
	waitTimeout = 30 * time.Second // the longest a test waits for one event
	testTimeout = 2 * time.Minute  // watchdog for a whole test
)

func TestMain(m *testing.M) {
	if mode := os.Getenv(helperEnv); mode != "" {
		os.Exit(runHelper(mode, os.Getenv(argEnv)))
	}
	os.Exit(m.Run())
}

// runHelper is the child side. Its exit code is 0, or the one "exit"
// asks for, or 3 when something failed (with a message on stderr).
func runHelper(mode, arg string) int {
	fail := func(err error) int {
		fmt.Fprintf(os.Stderr, "helper %s: %v\n", mode, err)
		return 3
	}
	switch mode {
	case "args": // os.Args as JSON
		return printJSON(os.Args)
	case "desktop": // the name of the helper's desktop
		n, err := windesktop.ThreadDesktopName()
		if err != nil {
			return fail(err)
		}
		fmt.Print(n)
		return 0
	case "clipboard": // "open" or why OpenClipboard failed
		if err := winapi.OpenClipboard(0); err != nil {
			fmt.Print(err)
			return 0
		}
		winapi.CloseClipboard()
		fmt.Print("open")
		return 0
	case "env": // os.Environ() as JSON, in block order
		return printJSON(os.Environ())
	case "cwd":
		wd, err := os.Getwd()
		if err != nil {
			return fail(err)
		}
		fmt.Print(wd)
		return 0
	case "stdio": // stdin to stdout, its length to stderr
		data, err := io.ReadAll(os.Stdin)
		if err != nil {
			return fail(err)
		}
		fmt.Printf("OUT:%s", data)
		fmt.Fprintf(os.Stderr, "ERR:%d", len(data))
		return 0
	case "exit":
		code, err := strconv.Atoi(arg)
		if err != nil {
			return fail(err)
		}
		return code
	case "sleep":
		time.Sleep(helperSleep)
		return 0
	case "spawn": // a sleeping grandchild; arg: "hold" (it inherits stdout), "exit" (exit at once)
		exe, err := os.Executable()
		if err != nil {
			return fail(err)
		}
		cmd := exec.Command(exe)
		cmd.Env = []string{helperEnv + "=sleep", "SystemRoot=" + os.Getenv("SystemRoot")}
		if strings.Contains(arg, "hold") {
			cmd.Stdout = os.Stdout
		}
		if err := cmd.Start(); err != nil {
			return fail(err)
		}
		fmt.Printf("pid %d\n", cmd.Process.Pid)
		if !strings.Contains(arg, "exit") {
			time.Sleep(helperSleep)
		}
		return 0
	case "handle": // write to the handle value arg, which must not be inherited
		h, err := strconv.ParseUint(arg, 10, 64)
		if err != nil {
			return fail(err)
		}
		var n uint32
		if err := windows.WriteFile(windows.Handle(h), []byte("leaked"), &n, nil); err != nil {
			fmt.Printf("write failed: %v", err)
		} else {
			fmt.Printf("wrote %d bytes", n)
		}
		return 0
	case "token": // the restricting SIDs of the helper's own token
		var tok windows.Token
		if err := windows.OpenProcessToken(windows.CurrentProcess(), windows.TOKEN_QUERY, &tok); err != nil {
			return fail(err)
		}
		defer tok.Close()
		m, err := restrictedtoken.Query(tok)
		if err != nil {
			return fail(err)
		}
		return printJSON(tokenReport{Restricted: sidStrings(m.RestrictedSIDs), WriteRestricted: m.WriteRestricted})
	}
	return fail(fmt.Errorf("unknown helper mode"))
}

type tokenReport struct {
	Restricted      []string
	WriteRestricted bool
}

func printJSON(v any) int {
	if err := json.NewEncoder(os.Stdout).Encode(v); err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 3
	}
	return 0
}

// helperEnvFor is a minimal environment that runs the helper in mode.
func helperEnvFor(mode, arg string, extra ...string) []string {
	env := []string{helperEnv + "=" + mode, argEnv + "=" + arg, "SystemRoot=" + os.Getenv("SystemRoot")}
	return append(env, extra...)
}

// exe is the test binary, the helper's program.
func exe(t *testing.T) string {
	t.Helper()
	p, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// harness bounds a test and kills what it started.
type harness struct {
	t     *testing.T
	mu    sync.Mutex
	procs []*winlaunch.Process
}

func newHarness(t *testing.T) *harness {
	h := &harness{t: t}
	watchdog := time.AfterFunc(testTimeout, func() {
		h.killAll()
		panic(fmt.Sprintf("%s did not finish within %v (a call hanging under Wine?); its processes were killed", t.Name(), testTimeout))
	})
	t.Cleanup(func() {
		watchdog.Stop()
		h.killAll()
	})
	return h
}

func (h *harness) killAll() {
	h.mu.Lock()
	procs := h.procs
	h.procs = nil
	h.mu.Unlock()
	for _, p := range procs {
		_ = p.Kill()
		done := make(chan struct{})
		go func() { p.Wait(); close(done) }()
		select {
		case <-done:
		case <-time.After(5 * time.Second): // a grandchild holding a pipe: leave it
		}
	}
}

// start starts opts and tracks the process.
func (h *harness) start(opts winlaunch.Options) *winlaunch.Process {
	h.t.Helper()
	p, err := winlaunch.Start(opts)
	if err != nil {
		h.t.Fatalf("Start(%q): %v", opts.Args, err)
	}
	h.mu.Lock()
	h.procs = append(h.procs, p)
	h.mu.Unlock()
	return p
}

// wait waits (bounded) for p; on timeout it kills p and fails the test.
func (h *harness) wait(p *winlaunch.Process) (int, error) {
	h.t.Helper()
	type res struct {
		code int
		err  error
	}
	done := make(chan res, 1)
	go func() {
		c, err := p.Wait()
		done <- res{c, err}
	}()
	select {
	case r := <-done:
		return r.code, r.err
	case <-time.After(waitTimeout):
		_ = p.Kill()
		h.t.Fatalf("process %d: Wait did not return within %v; killed", p.Pid(), waitTimeout)
		return 0, nil
	}
}

// result is what run returns.
type result struct {
	code           int
	stdout, stderr string
}

// run starts the helper in mode with opts (Args, Env, Stdout and Stderr
// filled in where unset) and waits for it; Wait must not fail.
func (h *harness) run(opts winlaunch.Options, mode, arg string) result {
	h.t.Helper()
	if opts.Args == nil {
		opts.Args = []string{exe(h.t)}
	}
	if opts.Env == nil {
		opts.Env = helperEnvFor(mode, arg)
	}
	var out, errOut syncBuffer
	if opts.Stdout == nil {
		opts.Stdout = &out
	}
	if opts.Stderr == nil {
		opts.Stderr = &errOut
	}
	code, err := h.wait(h.start(opts))
	if err != nil {
		h.t.Fatalf("Wait: %v", err)
	}
	return result{code, out.String(), errOut.String()}
}

// syncBuffer is a bytes.Buffer safe for concurrent use, which a test can
// poll while the child still writes.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// waitLine waits (bounded) for a complete first line and returns it.
func (b *syncBuffer) waitLine(t *testing.T) string {
	t.Helper()
	for deadline := time.Now().Add(waitTimeout); ; time.Sleep(20 * time.Millisecond) {
		if s, _, ok := strings.Cut(b.String(), "\n"); ok {
			return strings.TrimSpace(s)
		}
		if time.Now().After(deadline) {
			t.Fatalf("no output line within %v (so far %q)", waitTimeout, b.String())
		}
	}
}

// openProcess opens pid for waiting, querying and terminating, and closes
// (after terminating) when the test ends.
func openProcess(t *testing.T, pid int) windows.Handle {
	t.Helper()
	// PROCESS_QUERY_INFORMATION: Wine 8's IsProcessInJob needs it.
	p, err := windows.OpenProcess(windows.SYNCHRONIZE|windows.PROCESS_QUERY_INFORMATION|windows.PROCESS_TERMINATE, false, uint32(pid))
	if err != nil {
		t.Fatalf("OpenProcess(%d): %v", pid, err)
	}
	t.Cleanup(func() {
		_ = windows.TerminateProcess(p, 1)
		_ = windows.CloseHandle(p)
	})
	return p
}

// waitHandle waits (bounded) for process p to exit and returns its code.
func waitHandle(t *testing.T, p windows.Handle, what string) uint32 {
	t.Helper()
	ev, err := windows.WaitForSingleObject(p, uint32(waitTimeout/time.Millisecond))
	if err != nil || ev != windows.WAIT_OBJECT_0 {
		t.Fatalf("%s still running %v later (wait: %#x, %v)", what, waitTimeout, ev, err)
	}
	var code uint32
	if err := windows.GetExitCodeProcess(p, &code); err != nil {
		t.Fatalf("GetExitCodeProcess(%s): %v", what, err)
	}
	return code
}

// wineAddsEnv is a known Wine 8 deviation: every new process's
// environment gets Wine's own variables (WINEDATADIR, WINELOADER,
// WINEUSERNAME, … and SystemDrive) appended, and SystemRoot moved to the
// end with them. wineEnvDeviation asserts it happens (so a Wine that stops
// doing it fails here until this is updated) and undoes it: it drops the
// added variables and puts SystemRoot back in its sorted place.
const wineAddsEnv = "Wine appends WINE* variables and SystemDrive to a new process's environment and moves SystemRoot after them"

func wineEnvDeviation(t *testing.T, got, want []string) []string {
	t.Helper()
	name := func(kv string) string { n, _, _ := strings.Cut(kv, "="); return strings.ToUpper(n) }
	wanted := make(map[string]bool)
	for _, kv := range want {
		wanted[name(kv)] = true
	}
	var kept, added []string
	var systemRoot string
	for _, kv := range got {
		switch n := name(kv); {
		case n == "SYSTEMROOT" && wanted[n]:
			systemRoot = kv
		case !wanted[n] && (strings.HasPrefix(n, "WINE") || n == "SYSTEMDRIVE"):
			added = append(added, kv)
		default:
			kept = append(kept, kv)
		}
	}
	if len(added) == 0 {
		t.Errorf("known Wine deviation gone (%s): update the test", wineAddsEnv)
	} else {
		t.Logf("known Wine deviation: %s: %q", wineAddsEnv, added)
	}
	if systemRoot != "" {
		i, _ := slices.BinarySearchFunc(kept, systemRoot, func(a, b string) int { return strings.Compare(name(a), name(b)) })
		kept = slices.Insert(kept, i, systemRoot)
	}
	return kept
}

// readAll reads the pipe r until every writer closed it (bounded).
func readAll(t *testing.T, r windows.Handle) string {
	t.Helper()
	done := make(chan string, 1)
	go func() {
		var b []byte
		buf := make([]byte, 256)
		for {
			var n uint32
			err := windows.ReadFile(r, buf, &n, nil)
			b = append(b, buf[:n]...)
			if err != nil {
				done <- string(b)
				return
			}
		}
	}()
	select {
	case s := <-done:
		return s
	case <-time.After(waitTimeout):
		t.Fatalf("the pipe's write end is still open %v later: some process still holds it", waitTimeout)
		return ""
	}
}

// randomCap draws a capability SID as the store does.
func randomCap(t *testing.T) ntsec.SID {
	s, err := capsid.NewSID()
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func sidStrings(sids []ntsec.SID) []string {
	out := make([]string, len(sids))
	for i, s := range sids {
		out[i] = s.String()
	}
	return out
}

// copyExe copies the test binary to dst. Not a hard link: Wine refuses to
// delete a link to the running test binary (access denied).
func copyExe(t *testing.T, dst string) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(dst), 0o755); err != nil {
		t.Fatal(err)
	}
	data, err := os.ReadFile(exe(t))
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(dst, data, 0o755); err != nil {
		t.Fatal(err)
	}
}

// parsePid reads the spawn helper's "pid N" line.
func parsePid(line string) (int, error) {
	s, ok := strings.CutPrefix(line, "pid ")
	if !ok {
		return 0, errors.New(`no "pid N" line`)
	}
	return strconv.Atoi(s)
}
