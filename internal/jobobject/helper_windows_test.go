//go:build windows

package jobobject_test

// The tests start real processes: the test binary itself, re-executed in
// a helper mode chosen by an environment variable (see TestMain). Helpers
// are created with windows.CreateProcess rather than os/exec, because
// os/exec gives no handle to the new process's main thread: with it, a
// helper is created CREATE_SUSPENDED, assigned to the job, then resumed,
// so it is in the job before it runs any code (the order cordon's backend
// must use too; see the package documentation).
//
// Nothing may hang CI: every wait has a timeout (waitTimeout), helpers exit
// by themselves after helperSleep, every process a test starts or opens is
// killed when the test ends, and a watchdog per test (testTimeout) kills
// them and panics if a job call itself hangs.

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
	"unicode/utf16"
	"unsafe"

	"golang.org/x/sys/windows"

	"github.com/cordon-sandbox/cordon/internal/jobobject"
	"github.com/cordon-sandbox/cordon/internal/testutil"
)

const (
	helperEnv    = "CORDON_JOBOBJECT_HELPER"    // helper mode: "sleep" or "spawn"
	reportEnv    = "CORDON_JOBOBJECT_REPORT"    // file the spawn helper writes its report to
	spawnEnv     = "CORDON_JOBOBJECT_SPAWN"     // how many sleepers "spawn" starts (default 1)
	breakawayEnv = "CORDON_JOBOBJECT_BREAKAWAY" // "1": "spawn" uses CREATE_BREAKAWAY_FROM_JOB

	helperSleep = 60 * time.Second // a helper nobody kills exits after this
	waitTimeout = 30 * time.Second // the longest a test waits for any one event
	testTimeout = 2 * time.Minute  // watchdog for a whole test
)

func TestMain(m *testing.M) {
	if mode := os.Getenv(helperEnv); mode != "" {
		os.Exit(runHelper(mode))
	}
	os.Exit(m.Run())
}

// runHelper is the child side. "sleep" sleeps. "spawn" starts sleepers of
// its own (the grandchildren), writes one report line per attempt, "pid N"
// or "error MESSAGE", then sleeps.
func runHelper(mode string) int {
	switch mode {
	case "sleep":
		time.Sleep(helperSleep)
		return 0
	case "spawn":
		n, err := strconv.Atoi(os.Getenv(spawnEnv))
		if err != nil {
			n = 1
		}
		exe, err := os.Executable()
		if err != nil {
			return 3
		}
		var report strings.Builder
		for range n {
			cmd := exec.Command(exe)
			cmd.Env = append(os.Environ(), helperEnv+"=sleep")
			// DETACHED_PROCESS for the reason given in harness.start:
			// a conhost.exe would count against ProcessLimit.
			cmd.SysProcAttr = &syscall.SysProcAttr{CreationFlags: windows.DETACHED_PROCESS}
			if os.Getenv(breakawayEnv) == "1" {
				cmd.SysProcAttr.CreationFlags |= windows.CREATE_BREAKAWAY_FROM_JOB
			}
			if err := cmd.Start(); err != nil {
				fmt.Fprintf(&report, "error %v\n", err)
				continue
			}
			fmt.Fprintf(&report, "pid %d\n", cmd.Process.Pid)
		}
		// Write then rename, so the test never reads half a report.
		path := os.Getenv(reportEnv)
		if err := os.WriteFile(path+".tmp", []byte(report.String()), 0o644); err != nil {
			return 3
		}
		if err := os.Rename(path+".tmp", path); err != nil {
			return 3
		}
		time.Sleep(helperSleep)
		return 0
	}
	fmt.Fprintf(os.Stderr, "unknown helper mode %q\n", mode)
	return 2
}

// harness tracks the processes of one test and bounds its duration.
type harness struct {
	t   *testing.T
	dir string

	mu    sync.Mutex
	procs []windows.Handle // terminated and closed when the test ends
	n     int              // helpers started, for report file names
}

func newHarness(t *testing.T) *harness {
	t.Helper()
	h := &harness{t: t, dir: testutil.TempDir(t)}
	watchdog := time.AfterFunc(testTimeout, func() {
		h.kill(false)
		panic(fmt.Sprintf("%s did not finish within %v (a job call hanging under Wine?); its processes were killed", t.Name(), testTimeout))
	})
	t.Cleanup(func() {
		watchdog.Stop()
		h.kill(true)
	})
	return h
}

// kill terminates every tracked process that still runs, waits (bounded)
// for it to exit, and with closeHandles also closes the handles.
func (h *harness) kill(closeHandles bool) {
	h.mu.Lock()
	defer h.mu.Unlock()
	for _, p := range h.procs {
		_ = windows.TerminateProcess(p, 1) // fails harmlessly if it has exited
		_, _ = windows.WaitForSingleObject(p, 5000)
		if closeHandles {
			_ = windows.CloseHandle(p)
		}
	}
	if closeHandles {
		h.procs = nil
	}
}

func (h *harness) track(p windows.Handle) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.procs = append(h.procs, p)
}

type child struct {
	pid    uint32
	handle windows.Handle
	report string // where a "spawn" helper writes its report
}

// start creates a helper CREATE_SUSPENDED, assigns it to job unless job is
// nil, and resumes it.
func (h *harness) start(job *jobobject.Job, mode string, env ...string) child {
	h.t.Helper()
	exe, err := os.Executable()
	if err != nil {
		h.t.Fatal(err)
	}
	h.mu.Lock()
	h.n++
	report := filepath.Join(h.dir, fmt.Sprintf("report%d.txt", h.n))
	h.mu.Unlock()
	block := envBlock(append([]string{helperEnv + "=" + mode, reportEnv + "=" + report}, env...))
	exe16, err := windows.UTF16PtrFromString(exe)
	if err != nil {
		h.t.Fatal(err)
	}
	cmdline16, err := windows.UTF16PtrFromString(windows.ComposeCommandLine([]string{exe}))
	if err != nil {
		h.t.Fatal(err)
	}
	si := windows.StartupInfo{Cb: uint32(unsafe.Sizeof(windows.StartupInfo{}))}
	var pi windows.ProcessInformation
	// DETACHED_PROCESS: no console, hence no conhost.exe. A console child
	// without a console to share gets one, and its conhost.exe joins the
	// job (seen under Wine), showing up in Pids and counting against
	// ProcessLimit.
	flags := uint32(windows.CREATE_SUSPENDED | windows.CREATE_UNICODE_ENVIRONMENT | windows.DETACHED_PROCESS)
	if err := windows.CreateProcess(exe16, cmdline16, nil, nil, false, flags, &block[0], nil, &si, &pi); err != nil {
		h.t.Fatalf("CreateProcess(%s): %v", mode, err)
	}
	h.track(pi.Process)
	defer windows.CloseHandle(pi.Thread)
	if job != nil {
		if err := job.Assign(pi.Process); err != nil {
			h.t.Fatalf("Assign(%s helper): %v", mode, err)
		}
	}
	if _, err := windows.ResumeThread(pi.Thread); err != nil {
		h.t.Fatalf("ResumeThread: %v", err)
	}
	return child{pid: pi.ProcessId, handle: pi.Process, report: report}
}

// envBlock is this process's environment without our helper variables,
// plus extra, as a CREATE_UNICODE_ENVIRONMENT block.
func envBlock(extra []string) []uint16 {
	var block []uint16
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(strings.ToUpper(kv), "CORDON_JOBOBJECT_") {
			block = append(block, utf16.Encode([]rune(kv))...)
			block = append(block, 0)
		}
	}
	for _, kv := range extra {
		block = append(block, utf16.Encode([]rune(kv))...)
		block = append(block, 0)
	}
	return append(block, 0)
}

// open opens a process by ID (say, a grandchild) and tracks the handle.
// Holding the handle keeps the ID from being reused.
func (h *harness) open(pid uint32) windows.Handle {
	h.t.Helper()
	// PROCESS_QUERY_INFORMATION, not just ..._LIMITED_...: Wine 8's
	// IsProcessInJob refuses a handle without it (access denied).
	p, err := windows.OpenProcess(windows.SYNCHRONIZE|windows.PROCESS_QUERY_INFORMATION|windows.PROCESS_TERMINATE, false, pid)
	if err != nil {
		h.t.Fatalf("OpenProcess(%d): %v", pid, err)
	}
	h.track(p)
	return p
}

// running reports whether process has not exited.
func running(p windows.Handle) bool {
	ev, err := windows.WaitForSingleObject(p, 0)
	return err == nil && ev == uint32(windows.WAIT_TIMEOUT)
}

// waitExit waits (bounded) for process to exit and returns its exit code.
func (h *harness) waitExit(p windows.Handle, what string) uint32 {
	h.t.Helper()
	ev, err := windows.WaitForSingleObject(p, uint32(waitTimeout/time.Millisecond))
	if err != nil || ev != windows.WAIT_OBJECT_0 {
		h.t.Fatalf("%s still running %v later (wait: %#x, %v)", what, waitTimeout, ev, err)
	}
	var code uint32
	if err := windows.GetExitCodeProcess(p, &code); err != nil {
		h.t.Fatalf("GetExitCodeProcess(%s): %v", what, err)
	}
	return code
}

// readReport waits (bounded) for the report of a "spawn" helper.
func (h *harness) readReport(c child) []string {
	h.t.Helper()
	for deadline := time.Now().Add(waitTimeout); ; {
		data, err := os.ReadFile(c.report)
		if err == nil {
			return strings.Split(strings.TrimSpace(string(data)), "\n")
		}
		if !running(c.handle) {
			var code uint32
			_ = windows.GetExitCodeProcess(c.handle, &code)
			h.t.Fatalf("spawn helper exited (code %d) without a report", code)
		}
		if time.Now().After(deadline) {
			h.t.Fatalf("no report from the spawn helper after %v", waitTimeout)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// spawnTree starts a "spawn" helper in job and returns it with a handle to
// its grandchild.
func (h *harness) spawnTree(job *jobobject.Job) (c child, grandchild windows.Handle) {
	h.t.Helper()
	c = h.start(job, "spawn")
	report := h.readReport(c)
	var pid uint32
	if _, err := fmt.Sscanf(report[0], "pid %d", &pid); err != nil {
		h.t.Fatalf("spawn helper: %q", report)
	}
	return c, h.open(pid)
}

// imageName names the executable of process pid, for error messages.
func imageName(pid uint32) string {
	p, err := windows.OpenProcess(windows.PROCESS_QUERY_LIMITED_INFORMATION, false, pid)
	if err != nil {
		return "?"
	}
	defer windows.CloseHandle(p)
	buf := make([]uint16, windows.MAX_LONG_PATH)
	n := uint32(len(buf))
	if err := windows.QueryFullProcessImageName(p, 0, &buf[0], &n); err != nil {
		return "?"
	}
	return filepath.Base(windows.UTF16ToString(buf[:n]))
}
