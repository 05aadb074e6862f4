package aclhelper

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/cordon-sandbox/cordon/internal/testutil"
)

// The test binary doubles as a helper process: TestMain runs childMain
// when childEnv is set.
const (
	childEnv  = "CORDON_ACLHELPER_CHILD" // "hold" or "run"
	dirEnv    = "CORDON_ACLHELPER_DIR"
	nameEnv   = "CORDON_ACLHELPER_MUTEX"
	itemsEnv  = "CORDON_ACLHELPER_ITEMS" // paths, comma-separated
	hangEnv   = "CORDON_ACLHELPER_HANG"  // the call at which "run" hangs
	appliedAs = "applied.txt"
)

func TestMain(m *testing.M) {
	if mode := os.Getenv(childEnv); mode != "" {
		os.Exit(childMain(mode))
	}
	os.Exit(m.Run())
}

func say(s string) { fmt.Println(s) }

func childMain(mode string) int {
	dir := os.Getenv(dirEnv)
	mu, err := NewMutex(os.Getenv(nameEnv), dir)
	if err != nil {
		say("error: " + err.Error())
		return 1
	}
	switch mode {
	case "hold":
		ok, _, err := mu.TryLock()
		if err != nil || !ok {
			say(fmt.Sprintf("error: TryLock %v %v", ok, err))
			return 1
		}
		say("held")
		blockForever()
	case "run":
		var its []Item
		for _, p := range strings.Split(os.Getenv(itemsEnv), ",") {
			its = append(its, grant(p))
		}
		hang, _ := strconv.Atoi(os.Getenv(hangEnv))
		a := &fileApplier{path: filepath.Join(dir, appliedAs), hangAt: hang, said: say}
		err := Run(context.Background(), Config{Dir: dir, Mutex: mu, Plan: plan(its), Applier: a})
		switch {
		case errors.Is(err, ErrHeld):
			say("busy")
			return 3
		case err != nil:
			say("error: " + err.Error())
			return 1
		}
		say("done")
		return 0
	}
	say("error: unknown mode " + mode)
	return 1
}

type child struct {
	cmd *exec.Cmd
	out *bufio.Scanner
}

func start(t *testing.T, dir, name, mode string, env ...string) *child {
	t.Helper()
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(exe, "-test.run=^$")
	cmd.Env = append(os.Environ(), childEnv+"="+mode, dirEnv+"="+dir, nameEnv+"="+name)
	cmd.Env = append(cmd.Env, env...)
	cmd.Stderr = os.Stderr
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		cmd.Process.Kill()
		cmd.Wait()
	})
	return &child{cmd, bufio.NewScanner(stdout)}
}

func (c *child) expect(t *testing.T, want string) {
	t.Helper()
	if !c.out.Scan() {
		t.Fatalf("child ended before saying %q: %v", want, c.out.Err())
	}
	if got := c.out.Text(); got != want {
		t.Fatalf("child said %q, want %q", got, want)
	}
}

func (c *child) kill(t *testing.T) {
	t.Helper()
	if err := c.cmd.Process.Kill(); err != nil {
		t.Fatal(err)
	}
	c.cmd.Wait()
}

// Two processes: while one holds the mutex the other cannot take it and
// sees it held; once the holder is killed the other takes it and learns
// that its holder died holding it; released cleanly, it is not
// abandoned the next time.
func TestMutexAcrossProcesses(t *testing.T) {
	dir := testutil.TempDir(t)
	name := testMutexName()
	mu := newMutexNamed(t, name, dir)
	h := start(t, dir, name, "hold")
	h.expect(t, "held")
	if ok, _, err := mu.TryLock(); ok || err != nil {
		t.Fatalf("TryLock while another process holds it: %v, %v", ok, err)
	}
	if held, err := mu.Held(); !held || err != nil {
		t.Fatalf("Held: %v, %v", held, err)
	}
	h.kill(t)
	ok, abandoned, err := mu.TryLock()
	if !ok || !abandoned || err != nil {
		t.Fatalf("TryLock after the holder was killed: ok %v, abandoned %v, %v", ok, abandoned, err)
	}
	if err := mu.Unlock(); err != nil {
		t.Fatal(err)
	}
	if held, err := mu.Held(); held || err != nil {
		t.Fatalf("Held after Unlock: %v, %v", held, err)
	}
	other := start(t, dir, name, "hold")
	other.expect(t, "held")
	other.kill(t)
	if ok, abandoned, err := mu.TryLock(); !ok || !abandoned || err != nil {
		t.Fatalf("second holder killed: %v %v %v", ok, abandoned, err)
	}
	mu.Unlock()
	if ok, abandoned, err := mu.TryLock(); !ok || abandoned || err != nil {
		t.Fatalf("after a clean unlock: ok %v, abandoned %v, %v", ok, abandoned, err)
	}
	mu.Unlock()
}

func newMutexNamed(t *testing.T, name, dir string) Mutex {
	t.Helper()
	mu, err := NewMutex(name, dir)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { mu.Close() })
	return mu
}

// A helper process killed mid-batch, with a second helper started while
// it works (it queues its own items and leaves): the next helper resumes
// the first one's batch at the item it died in, then applies the second
// one's items, and every ACE is written exactly once.
func TestKilledHelperResumes(t *testing.T) {
	dir := testutil.TempDir(t)
	name := testMutexName()
	first := start(t, dir, name, "run", itemsEnv+`=C:\d0,C:\d1,C:\d2,C:\d3`, hangEnv+"=2")
	first.expect(t, "hanging")
	second := start(t, dir, name, "run", itemsEnv+`=C:\x0,C:\d3`, hangEnv+"=-1")
	second.expect(t, "busy")
	mu := newMutexNamed(t, name, dir)
	st, err := Status(dir, mu)
	if err != nil {
		t.Fatal(err)
	}
	if !st.Running || st.Done != 2 || st.Pending != 3 || st.Current == nil || st.Current.Path != `C:\d2` {
		t.Fatalf("status while the helper works: %+v", st)
	}
	first.kill(t)
	if st, _ := Status(dir, mu); st.Running {
		t.Fatalf("status after the kill: %+v", st)
	}
	a := &fileApplier{path: filepath.Join(dir, appliedAs), hangAt: -1}
	if err := Run(context.Background(), Config{Dir: dir, Mutex: mu, Applier: a}); err != nil {
		t.Fatal(err)
	}
	want := []call{{`C:\d2`, true, false}, {`C:\d3`, false, true}, {`C:\x0`, false, true}}
	if fmt.Sprint(a.calls) != fmt.Sprint(want) {
		t.Errorf("resumed calls %+v, want %+v", a.calls, want)
	}
	b, err := os.ReadFile(filepath.Join(dir, appliedAs))
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSpace(string(b)), "\n")
	seen := map[string]int{}
	for _, l := range lines {
		seen[strings.Fields(l)[0]]++
	}
	for _, p := range []string{`C:\d0`, `C:\d1`, `C:\d2`, `C:\d3`, `C:\x0`} {
		if seen[p] != 1 {
			t.Errorf("%s applied %d times:\n%s", p, seen[p], b)
		}
	}
	if st, _ := Status(dir, mu); st.Done != 5 || st.Pending != 0 {
		t.Errorf("final status: %+v", st)
	}
}
