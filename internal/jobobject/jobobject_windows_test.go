//go:build windows

package jobobject_test

// Tiers (see internal/testutil): most tests check plumbing and run under
// Wine. Tests that check a limit is enforced, or read limits back, call
// testutil.RealWindows first: Wine 8 accepts the ACTIVE_PROCESS and memory
// limits but does not enforce them, and reports LimitFlags=0 (and zero
// limits) when they are queried; with the gates removed, those two tests
// fail under Wine. Wine does refuse CREATE_BREAKAWAY_FROM_JOB, but that
// test is a security claim too and stays gated.
//
// The process harness (helpers, timeouts, cleanup) is in
// helper_windows_test.go.

import (
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"
	"unsafe"

	"golang.org/x/sys/windows"

	"github.com/cordon-sandbox/cordon/internal/jobobject"
	"github.com/cordon-sandbox/cordon/internal/testutil"
)

// newJob creates a job that is closed when the test ends.
func newJob(t *testing.T, opts jobobject.Options) *jobobject.Job {
	t.Helper()
	job, err := jobobject.Create(opts)
	if err != nil {
		t.Fatalf("Create(%+v): %v", opts, err)
	}
	t.Cleanup(func() { _ = job.Close() })
	return job
}

func contains(t *testing.T, job *jobobject.Job, p windows.Handle) bool {
	t.Helper()
	in, err := job.Contains(p)
	if err != nil {
		t.Fatalf("Contains: %v", err)
	}
	return in
}

func TestCreateAndClose(t *testing.T) {
	job, err := jobobject.Create(jobobject.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if job.Handle() == 0 {
		t.Fatal("Handle() = 0 on an open job")
	}
	if err := job.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
	if err := job.Close(); err != nil {
		t.Errorf("second Close: %v, want nil", err)
	}
	if h := job.Handle(); h != 0 {
		t.Errorf("Handle() after Close = %#x, want 0", h)
	}
	if err := job.Assign(windows.CurrentProcess()); !errors.Is(err, jobobject.ErrClosed) {
		t.Errorf("Assign after Close: %v, want ErrClosed", err)
	}
	if err := job.Terminate(1); !errors.Is(err, jobobject.ErrClosed) {
		t.Errorf("Terminate after Close: %v, want ErrClosed", err)
	}
	if _, err := job.Pids(); !errors.Is(err, jobobject.ErrClosed) {
		t.Errorf("Pids after Close: %v, want ErrClosed", err)
	}
	if _, err := job.Contains(windows.CurrentProcess()); !errors.Is(err, jobobject.ErrClosed) {
		t.Errorf("Contains after Close: %v, want ErrClosed", err)
	}
}

// Plumbing only: the limits are accepted and the job works with them.
// Whether Windows enforces them is TestProcessLimitEnforced's and
// TestLimitsReadBack's business.
func TestCreateWithLimits(t *testing.T) {
	h := newHarness(t)
	job := newJob(t, jobobject.Options{MemoryLimit: 1 << 30, ProcessLimit: 4})
	c := h.start(job, "sleep")
	if !contains(t, job, c.handle) {
		t.Error("Contains = false for a process assigned to a job with limits")
	}
	if err := job.Terminate(3); err != nil {
		t.Fatal(err)
	}
	if code := h.waitExit(c.handle, "helper"); code != 3 {
		t.Errorf("exit code %d, want 3", code)
	}
}

func TestTerminateKillsTree(t *testing.T) {
	h := newHarness(t)
	job := newJob(t, jobobject.Options{})
	c, grandchild := h.spawnTree(job)
	if !contains(t, job, grandchild) {
		t.Fatal("the grandchild is not in the job: children do not inherit it")
	}
	if err := job.Terminate(42); err != nil {
		t.Fatalf("Terminate: %v", err)
	}
	if code := h.waitExit(c.handle, "child"); code != 42 {
		t.Errorf("child exit code %d, want 42", code)
	}
	if code := h.waitExit(grandchild, "grandchild"); code != 42 {
		t.Errorf("grandchild exit code %d, want 42", code)
	}
	waitEmpty(t, job)
	// Idempotent: nothing left to terminate is not an error.
	if err := job.Terminate(42); err != nil {
		t.Errorf("Terminate on the emptied job: %v", err)
	}
	// The job stays usable after Terminate.
	again := h.start(job, "sleep")
	if err := job.Terminate(7); err != nil {
		t.Fatal(err)
	}
	if code := h.waitExit(again.handle, "helper started after Terminate"); code != 7 {
		t.Errorf("exit code %d, want 7", code)
	}
}

// waitEmpty waits (bounded) until Pids reports no process: the list may lag
// a moment behind the processes' exit.
func waitEmpty(t *testing.T, job *jobobject.Job) {
	t.Helper()
	for deadline := time.Now().Add(waitTimeout); ; time.Sleep(20 * time.Millisecond) {
		pids, err := job.Pids()
		if err != nil {
			t.Fatalf("Pids: %v", err)
		}
		if len(pids) == 0 {
			if pids == nil {
				t.Error("Pids returned nil, want an empty slice")
			}
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("Pids = %v %v after all processes exited, want none", pids, waitTimeout)
		}
	}
}

func TestTerminateEmptyJob(t *testing.T) {
	job := newJob(t, jobobject.Options{})
	for i := range 2 {
		if err := job.Terminate(1); err != nil {
			t.Fatalf("Terminate #%d on a job that never had processes: %v", i+1, err)
		}
	}
}

func TestCloseKillsTree(t *testing.T) {
	h := newHarness(t)
	job := newJob(t, jobobject.Options{})
	c, grandchild := h.spawnTree(job)
	if err := job.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
	// KILL_ON_JOB_CLOSE does not promise an exit code; only that they die.
	t.Logf("exit codes after Close: child %d, grandchild %d",
		h.waitExit(c.handle, "child"), h.waitExit(grandchild, "grandchild"))
}

func TestPids(t *testing.T) {
	defer jobobject.SetPidsInitialCapacity(1)()
	h := newHarness(t)
	job := newJob(t, jobobject.Options{})
	waitEmpty(t, job)
	var want []uint32
	for range 3 {
		want = append(want, h.start(job, "sleep").pid)
	}
	outside := h.start(nil, "sleep")
	got, err := job.Pids()
	if err != nil {
		t.Fatalf("Pids: %v", err)
	}
	slices.Sort(got)
	slices.Sort(want)
	if !slices.Equal(got, want) {
		var names []string
		for _, pid := range got {
			names = append(names, fmt.Sprintf("%d=%s", pid, imageName(pid)))
		}
		t.Errorf("Pids = %v, want %v (%d is not in the job)", names, want, outside.pid)
	}
}

func TestContains(t *testing.T) {
	h := newHarness(t)
	job := newJob(t, jobobject.Options{})
	in := h.start(job, "sleep")
	out := h.start(nil, "sleep")
	if !contains(t, job, in.handle) {
		t.Error("Contains = false for the assigned process")
	}
	if contains(t, job, out.handle) {
		t.Error("Contains = true for a process never assigned")
	}
	if contains(t, job, windows.CurrentProcess()) {
		t.Error("Contains = true for the test process itself")
	}
}

// Real Windows only: Wine does not enforce JOB_OBJECT_LIMIT_ACTIVE_PROCESS
// (a third process starts).
func TestProcessLimitEnforced(t *testing.T) {
	testutil.RealWindows(t)
	h := newHarness(t)
	job := newJob(t, jobobject.Options{ProcessLimit: 2})
	c := h.start(job, "spawn", spawnEnv+"=2")
	report := h.readReport(c)
	if len(report) != 2 || !strings.HasPrefix(report[0], "pid ") || !strings.HasPrefix(report[1], "error ") {
		t.Fatalf("with ProcessLimit 2, the child started %q; want its first child to start and its second (a third process) to fail", report)
	}
	t.Logf("third process refused: %s", report[1])
	if pids, err := job.Pids(); err != nil || len(pids) != 2 {
		t.Errorf("Pids = %v, %v; want 2 processes", pids, err)
	}
}

// Real Windows only: Wine reports LimitFlags=0 for any job.
func TestLimitsReadBack(t *testing.T) {
	testutil.RealWindows(t)
	opts := jobobject.Options{MemoryLimit: 256 << 20, ProcessLimit: 3}
	job := newJob(t, opts)
	var info windows.JOBOBJECT_EXTENDED_LIMIT_INFORMATION
	if err := windows.QueryInformationJobObject(job.Handle(), windows.JobObjectExtendedLimitInformation,
		uintptr(unsafe.Pointer(&info)), uint32(unsafe.Sizeof(info)), nil); err != nil {
		t.Fatalf("QueryInformationJobObject: %v", err)
	}
	const wantFlags = windows.JOB_OBJECT_LIMIT_KILL_ON_JOB_CLOSE | windows.JOB_OBJECT_LIMIT_DIE_ON_UNHANDLED_EXCEPTION |
		windows.JOB_OBJECT_LIMIT_JOB_MEMORY | windows.JOB_OBJECT_LIMIT_ACTIVE_PROCESS
	basic := info.BasicLimitInformation
	if basic.LimitFlags != wantFlags {
		t.Errorf("LimitFlags = %#x, want %#x", basic.LimitFlags, wantFlags)
	}
	if uint64(info.JobMemoryLimit) != opts.MemoryLimit {
		t.Errorf("JobMemoryLimit = %d, want %d", info.JobMemoryLimit, opts.MemoryLimit)
	}
	if basic.ActiveProcessLimit != opts.ProcessLimit {
		t.Errorf("ActiveProcessLimit = %d, want %d", basic.ActiveProcessLimit, opts.ProcessLimit)
	}
}

// Real Windows only: no BREAKAWAY_OK limit, so a process in the job cannot
// start a child outside it. (Wine 8 refuses it too, but a sandbox property
// is only taken as proven on Windows.)
func TestBreakawayRefused(t *testing.T) {
	testutil.RealWindows(t)
	h := newHarness(t)
	job := newJob(t, jobobject.Options{})
	c := h.start(job, "spawn", breakawayEnv+"=1")
	report := h.readReport(c)
	var escaped uint32
	if _, err := fmt.Sscanf(report[0], "pid %d", &escaped); err == nil {
		h.open(escaped) // outside the job: only the harness will kill it
	}
	if len(report) != 1 || !strings.HasPrefix(report[0], "error ") {
		t.Fatalf("CREATE_BREAKAWAY_FROM_JOB inside the job gave %q, want an error", report)
	}
}
