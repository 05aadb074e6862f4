package linuxsandbox

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/cordon-sandbox/cordon/sandbox"
	"golang.org/x/sys/unix"
)

// rlimitHelperEnv makes the test binary, re-executed, apply the rlimits it
// holds (JSON) with applyRlimits and exec /bin/sh -c os.Args[1], as the
// sandbox does before it starts the command.
const rlimitHelperEnv = "CORDON_TEST_RLIMIT_HELPER"

func init() {
	v, ok := os.LookupEnv(rlimitHelperEnv)
	if !ok {
		return
	}
	var rs []rlimit
	if err := json.Unmarshal([]byte(v), &rs); err != nil {
		fmt.Fprintln(os.Stderr, "rlimit helper:", err)
		os.Exit(3)
	}
	if err := applyRlimits(rs); err != nil {
		fmt.Fprintln(os.Stderr, "rlimit helper:", err)
		os.Exit(3)
	}
	err := syscall.Exec("/bin/sh", []string{"sh", "-c", os.Args[1]}, []string{testPath})
	fmt.Fprintln(os.Stderr, "rlimit helper: exec:", err)
	os.Exit(3)
}

// hostLimiter is a real limiter here, or skips the test when no cgroup
// holds controller.
func hostLimiter(t *testing.T, l sandbox.Limits, controller string) *limiter {
	t.Helper()
	lm, err := newLimiter(l, true)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { lm.close() })
	if !lm.has(controller) {
		t.Skipf("no usable cgroup with %s here: %s; %q", controller, lm.mechanism(), lm.degraded())
	}
	t.Logf("mechanism: %s", lm.mechanism())
	return lm
}

// startAttached starts sh reading script from a pipe, attaches it to lm
// before it reads a byte, and returns it with files holding its output.
func startAttached(t *testing.T, lm *limiter, script string) (cmd *exec.Cmd, stdout, stderr *os.File) {
	t.Helper()
	dir := t.TempDir()
	stdout, _ = os.Create(filepath.Join(dir, "out"))
	stderr, _ = os.Create(filepath.Join(dir, "err"))
	cmd = exec.Command("/bin/sh", "-s")
	cmd.Stdout, cmd.Stderr, cmd.Env = stdout, stderr, []string{testPath}
	in, err := cmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })
	if err := lm.attach(cmd.Process.Pid); err != nil {
		t.Fatal(err)
	}
	if _, err := io.WriteString(in, script); err != nil {
		t.Fatal(err)
	}
	in.Close()
	return cmd, stdout, stderr
}

func fileText(t *testing.T, f *os.File) string {
	t.Helper()
	b, err := os.ReadFile(f.Name())
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// counter is the value of "name N" in a cgroup's key-value file.
func counter(t *testing.T, file, name string) int {
	t.Helper()
	for _, line := range strings.Split(mustRead(t, file), "\n") {
		if k, v, ok := strings.Cut(line, " "); ok && k == name {
			n, _ := strconv.Atoi(v)
			return n
		}
	}
	t.Fatalf("no %s in %s", name, file)
	return 0
}

func TestLimitProcessesCgroup(t *testing.T) {
	lm := hostLimiter(t, sandbox.Limits{Processes: 10}, "pids")
	cg := cgroupOf(t, lm, "pids")
	cmd, stdout, stderr := startAttached(t, lm, "for i in $(seq 60); do sleep 60 & echo started; done\n")
	_ = cmd.Wait() // sh gives up at the first fork that fails; its sleeps live on
	started := strings.Count(fileText(t, stdout), "started")
	// sh stands in for the init here: with it, exactly 10 + the init's
	// allowance tasks fit.
	want := 10 + initAllowance - 1
	t.Logf("started %d of 60 with a cap of 10 (+%d for the init); stderr %q", started, initAllowance, fileText(t, stderr))
	if started != want || !strings.Contains(fileText(t, stderr), "fork") {
		t.Fatalf("started %d sleeps, stderr %q: want %d and a failed fork", started, fileText(t, stderr), want)
	}
	if n := counter(t, filepath.Join(cg.dir, "pids.events"), "max"); n == 0 {
		t.Error("pids.events counts no fork refused at pids.max")
	}
	pids, err := readPids(cg.dir)
	if err != nil || len(pids) != started {
		t.Fatalf("cgroup holds %v (%v), want the %d sleeps", pids, err, started)
	}
	var fds []int
	for _, pid := range pids {
		if fd, err := unix.PidfdOpen(pid, 0); err == nil {
			fds = append(fds, fd)
			defer unix.Close(fd)
		}
	}
	if err := lm.close(); err != nil {
		t.Fatal(err)
	}
	for _, fd := range fds { // readable once the process has exited
		pfd := []unix.PollFd{{Fd: int32(fd), Events: unix.POLLIN}}
		if n, err := unix.Poll(pfd, 2000); n != 1 || err != nil {
			t.Errorf("a sleep survived close (poll %d, %v)", n, err)
		}
	}
	mustBeGone(t, cg.dir)
	if cg.madeParent {
		mustBeGone(t, cg.parent)
	}
	if err := lm.close(); err != nil {
		t.Errorf("second close: %v", err)
	}
}

// close kills an attached process its parent has not reaped yet, and
// still removes the cgroup.
func TestLimitCloseKillsAttached(t *testing.T) {
	lm := hostLimiter(t, sandbox.Limits{}, "pids")
	cg := cgroupOf(t, lm, "pids")
	cmd, _, _ := startAttached(t, lm, "sleep 60 & sleep 60 & exec sleep 60\n")
	for deadline := time.Now().Add(5 * time.Second); ; time.Sleep(10 * time.Millisecond) {
		if pids, _ := readPids(cg.dir); len(pids) == 3 {
			break
		} else if time.Now().After(deadline) {
			t.Fatalf("cgroup holds %v, want 3 processes", pids)
		}
	}
	if err := lm.close(); err != nil {
		t.Fatal(err)
	}
	mustBeGone(t, cg.dir)
	var ee *exec.ExitError
	if err := cmd.Wait(); !errors.As(err, &ee) || ee.Sys().(syscall.WaitStatus).Signal() != syscall.SIGKILL {
		t.Errorf("sh: %v, want killed by SIGKILL", err)
	}
}

func TestLimitMemoryCgroup(t *testing.T) {
	lm := hostLimiter(t, sandbox.Limits{Memory: 64 << 20}, "memory")
	cg := cgroupOf(t, lm, "memory")
	// tail keeps the last 10 lines: 200 MiB without a newline is one.
	cmd, stdout, stderr := startAttached(t, lm, "head -c 200M /dev/zero | tail >/dev/null; echo tail=$?\n")
	if err := cmd.Wait(); err != nil {
		t.Fatalf("sh: %v: %s", err, fileText(t, stderr))
	}
	out := strings.TrimSpace(fileText(t, stdout))
	t.Logf("%s with a 64 MiB limit", out)
	if out == "tail=0" || !strings.HasPrefix(out, "tail=") {
		t.Errorf("tail of 200 MiB under a 64 MiB limit: %q, want it killed", out)
	}
	file, key := filepath.Join(cg.dir, "memory.events"), "oom_kill"
	if cg.version == 1 {
		file = filepath.Join(cg.dir, "memory.oom_control")
	}
	if n := counter(t, file, key); n == 0 {
		t.Errorf("%s counts no OOM kill", file)
	}
	if err := lm.close(); err != nil {
		t.Fatal(err)
	}
	mustBeGone(t, cg.dir)
}

// RLIMIT_NPROC set with applyRlimits in a fresh user namespace counts only
// that namespace's processes (Linux 5.14+): the uid's processes outside do
// not use it up. For a host-root uid it is not enforced at all.
func TestRlimitNprocPerUserNamespace(t *testing.T) {
	if !kernelAtLeast(5, 14) {
		t.Skip("RLIMIT_NPROC is counted per user namespace from Linux 5.14 only")
	}
	uid, gid := os.Getuid(), os.Getgid()
	var cred *syscall.Credential
	if uid == 0 { // an unused unprivileged uid, inside the namespace too
		uid = 200000 + rand.IntN(100000)
		gid = uid
		cred = &syscall.Credential{Uid: uint32(uid), Gid: uint32(gid), NoSetGroups: true}
	}
	const outside, limit = 20, 5
	for range outside {
		c := exec.Command("sleep", "60")
		c.SysProcAttr = &syscall.SysProcAttr{Credential: cred}
		if err := c.Start(); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { c.Process.Kill(); c.Wait() })
	}
	// sh is PID 1 of a PID namespace: its sleeps die with it.
	run := func(userNS bool, hostUID, hostGID int) (started int, stderr string) {
		b, _ := json.Marshal([]rlimit{{Resource: unix.RLIMIT_NPROC, Cur: limit, Max: limit}})
		cmd := exec.Command("/proc/self/exe", "for i in 1 2 3 4 5 6 7 8 9 10; do sleep 60 & echo started; done")
		cmd.Env = []string{rlimitHelperEnv + "=" + string(b)}
		cmd.SysProcAttr = &syscall.SysProcAttr{Cloneflags: syscall.CLONE_NEWPID}
		if userNS {
			cmd.SysProcAttr.Cloneflags |= syscall.CLONE_NEWUSER
			cmd.SysProcAttr.UidMappings = []syscall.SysProcIDMap{{ContainerID: 0, HostID: hostUID, Size: 1}}
			cmd.SysProcAttr.GidMappings = []syscall.SysProcIDMap{{ContainerID: 0, HostID: hostGID, Size: 1}}
			if os.Getuid() == 0 {
				cmd.SysProcAttr.Credential = &syscall.Credential{NoSetGroups: true} // uid 0 inside
			}
		} else {
			cmd.SysProcAttr.Credential = &syscall.Credential{Uid: uint32(hostUID), Gid: uint32(hostGID), NoSetGroups: true}
		}
		var out, errb strings.Builder
		cmd.Stdout, cmd.Stderr = &out, &errb
		err := cmd.Run()
		var ee *exec.ExitError
		if err != nil && !errors.As(err, &ee) {
			t.Skipf("cannot start a process in a new user namespace: %v", err)
		}
		if strings.Contains(errb.String(), "rlimit helper:") {
			t.Fatal(errb.String())
		}
		return strings.Count(out.String(), "started"), errb.String()
	}
	started, stderr := run(true, uid, gid)
	t.Logf("uid %d, %d processes outside, RLIMIT_NPROC %d: %d of 10 sleeps started; %q", uid, outside, limit, started, stderr)
	// The limit counts sh and its sleeps only: the namespace holds limit
	// processes at most, whatever runs outside.
	if started != limit-1 || !strings.Contains(stderr, "fork") {
		t.Errorf("started %d sleeps, want %d (sh + %d = the limit) and a failed fork", started, limit-1, limit-1)
	}
	if os.Getuid() != 0 {
		return
	}
	// Controls: the same uid without a user namespace of its own counts
	// the processes outside, and none can start; host root is exempt.
	if started, stderr := run(false, uid, gid); started != 0 {
		t.Errorf("without a user namespace: started %d sleeps, want 0 (%d processes outside); %q", started, outside, stderr)
	}
	started, stderr = run(true, 0, 0)
	t.Logf("host root in a user namespace, RLIMIT_NPROC %d: %d of 10 sleeps started", limit, started)
	if started != 10 {
		t.Errorf("host root: started %d sleeps under RLIMIT_NPROC %d, want all 10 (not enforced); %q", started, limit, stderr)
	}
}

// The probe agrees with what a run may ask for, and leaves nothing behind.
func TestProbeLimits(t *testing.T) {
	ly := probeLimits()
	t.Logf("%s %v: %s", ly.Name, ly.Available, ly.Detail)
	if ly.Name != LayerLimits || ly.Enforces == "" || ly.Detail == "" {
		t.Fatalf("probe: %+v", ly)
	}
	lm, err := newLimiter(sandbox.Limits{Processes: 10, Memory: 64 << 20}, false)
	if ly.Available != (err == nil) || ly.Available && !strings.HasPrefix(ly.Detail, "cgroup v") {
		t.Fatalf("probe says available %v (%s), a run with both limits: %v", ly.Available, ly.Detail, err)
	}
	if err == nil {
		dirs := []string{}
		for _, cg := range lm.cgroups {
			dirs = append(dirs, cg.dir)
		}
		if err := lm.close(); err != nil {
			t.Fatal(err)
		}
		for _, d := range dirs {
			mustBeGone(t, d)
		}
	}
}
