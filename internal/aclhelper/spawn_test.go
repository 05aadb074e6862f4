package aclhelper

import (
	"context"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"

	"github.com/cordon-sandbox/cordon/internal/testutil"
)

// A helper started detached (this test binary as its own child, "run"
// mode: it queues its items and drains them with the file applier)
// drains the journal without the caller waiting, and exits.
func TestStartDetachedDrains(t *testing.T) {
	dir := testutil.TempDir(t)
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	name := testMutexName()
	t.Setenv(childEnv, "run")
	t.Setenv(dirEnv, dir)
	t.Setenv(nameEnv, name)
	t.Setenv(itemsEnv, `C:\a,C:\b,C:\c`)
	t.Setenv(hangEnv, "-1")
	if err := StartDetached(context.Background(), exe, dir); err != nil {
		t.Fatal(err)
	}
	mu := newMutexNamed(t, name, dir)
	applied := filepath.Join(dir, appliedAs)
	testutil.WaitFor(t, "the detached helper to drain the journal", func() bool {
		b, _ := os.ReadFile(applied)
		st, err := Status(dir, mu)
		return err == nil && st.Pending == 0 && !st.Running && strings.Count(string(b), "\n") == 3
	})
	if runtime.GOOS == "linux" {
		args := append([]string{exe}, helperArgs(dir, nil)...)
		testutil.WaitFor(t, "the detached helper to exit", func() bool { return testutil.ProcessWithArgs(args...) == 0 })
	}
	if st, _ := Status(dir, mu); st.Done != 3 || st.Failed != 0 {
		t.Errorf("status %+v", st)
	}
}

// Started while another helper holds the mutex, a detached helper queues
// its items and leaves them to that one: nothing applied, nothing
// started, and (where processes can be listed) it is gone.
func TestStartDetachedWhileHeld(t *testing.T) {
	dir := testutil.TempDir(t)
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	name := testMutexName()
	mu := newMutexNamed(t, name, dir)
	if ok, _, err := mu.TryLock(); !ok || err != nil {
		t.Fatal(ok, err)
	}
	t.Setenv(childEnv, "run")
	t.Setenv(dirEnv, dir)
	t.Setenv(nameEnv, name)
	t.Setenv(itemsEnv, `C:\x,C:\y`)
	t.Setenv(hangEnv, "-1")
	if err := StartDetached(context.Background(), exe, dir); err != nil {
		t.Fatal(err)
	}
	testutil.WaitFor(t, "the second helper to queue its items", func() bool {
		st, err := Status(dir, nil)
		return err == nil && st.Pending == 2
	})
	if runtime.GOOS == "linux" {
		args := append([]string{exe}, helperArgs(dir, nil)...)
		testutil.WaitFor(t, "the second helper to exit", func() bool { return testutil.ProcessWithArgs(args...) == 0 })
	}
	st, err := Status(dir, nil)
	if err != nil || st.Done != 0 || st.Current != nil {
		t.Errorf("the second helper did work: %+v %v", st, err)
	}
	if _, err := os.Stat(filepath.Join(dir, appliedAs)); !os.IsNotExist(err) {
		t.Errorf("something was applied: %v", err)
	}
	// The holder drains what was queued.
	mu.Unlock()
	a := &fileApplier{path: filepath.Join(dir, appliedAs), hangAt: -1}
	if err := Run(context.Background(), Config{Dir: dir, Mutex: mu, Applier: a}); err != nil || len(a.calls) != 2 {
		t.Errorf("holder's run: %v, calls %+v", err, a.calls)
	}
}

func TestStartDetachedBadInput(t *testing.T) {
	if err := StartDetached(context.Background(), "", testutil.TempDir(t)); err == nil {
		t.Error("no executable: no error")
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if err := StartDetached(ctx, "cordon", testutil.TempDir(t)); err == nil {
		t.Error("cancelled context: no error")
	}
}
