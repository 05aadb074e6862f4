package capsid

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/cordon-sandbox/cordon/internal/statedir"
	"github.com/cordon-sandbox/cordon/internal/testutil"
)

// helper is a child process running TestMain's helper mode.
type helper struct {
	cmd   *exec.Cmd
	stdin io.WriteCloser
	out   *bufio.Scanner
}

func startHelper(t *testing.T, dir, mode string, env ...string) *helper {
	t.Helper()
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(exe, "-test.run=^$")
	cmd.Env = append(os.Environ(), helperEnv+"="+mode, statedir.Env+"="+dir)
	cmd.Env = append(cmd.Env, env...)
	cmd.Stderr = os.Stderr
	stdin, err := cmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	h := &helper{cmd: cmd, stdin: stdin, out: bufio.NewScanner(stdout)}
	t.Cleanup(func() {
		cmd.Process.Kill()
		cmd.Wait()
	})
	return h
}

// expect reads the helper's next line and fails unless it is want.
func (h *helper) expect(t *testing.T, want string) {
	t.Helper()
	if !h.out.Scan() {
		t.Fatalf("helper ended before saying %q: %v", want, h.out.Err())
	}
	if got := h.out.Text(); got != want {
		t.Fatalf("helper said %q, want %q", got, want)
	}
}

// TestConcurrentUpdates runs procs processes and goroutines workers at
// once, each adding perWorker workspaces with one Update apiece. Without the
// lock around read-modify-write, workers would overwrite each other's
// additions; every one of them must be in the final store, with its own SID,
// and everybody must have seen the same generic SID.
func TestConcurrentUpdates(t *testing.T) {
	const procs, goroutines, perWorker = 4, 8, 20
	dir := testutil.TempDir(t)

	helpers := make([]*helper, procs)
	for i := range helpers {
		helpers[i] = startHelper(t, dir, "add", fmt.Sprintf("%s=proc%d", prefixEnv, i), fmt.Sprintf("%s=%d", countEnv, perWorker))
	}
	for _, h := range helpers {
		h.expect(t, "ready")
	}

	type result struct {
		sids    map[string]string
		generic string
		err     error
	}
	results := make(chan result, procs+goroutines)
	var wg sync.WaitGroup
	for i := range goroutines {
		wg.Go(func() {
			sids, generic, err := addWorkspaces(dir, fmt.Sprintf("goroutine%d", i), perWorker)
			results <- result{sids, generic, err}
		})
	}
	for _, h := range helpers {
		io.WriteString(h.stdin, "go\n")
	}
	for i, h := range helpers {
		wg.Go(func() {
			r := result{sids: map[string]string{}}
			for h.out.Scan() {
				k, v, _ := strings.Cut(h.out.Text(), " ")
				if k == "generic" {
					r.generic = v
				} else {
					r.sids[k] = v
				}
			}
			if err := h.cmd.Wait(); err != nil {
				r.err = fmt.Errorf("helper process %d: %w", i, err)
			}
			results <- r
		})
	}
	wg.Wait()
	close(results)

	s, err := Load(ctx, dir)
	if err != nil {
		t.Fatal(err)
	}
	if s.Generic.IsZero() || s.ReadOnly.IsZero() {
		t.Fatalf("base SIDs missing: %+v", s)
	}
	for r := range results {
		if r.err != nil {
			t.Error(r.err)
			continue
		}
		if r.generic != s.Generic.String() {
			t.Errorf("a worker saw generic SID %s, the store has %s", r.generic, s.Generic)
		}
		if len(r.sids) != perWorker {
			t.Errorf("a worker reported %d workspaces, want %d", len(r.sids), perWorker)
		}
		for k, sid := range r.sids {
			if got := s.Workspaces[k].SID.String(); got != sid {
				t.Errorf("workspace %s: worker got SID %s, store has %q", k, sid, got)
			}
		}
	}
	if want := (procs + goroutines) * perWorker; len(s.Workspaces) != want {
		t.Errorf("store has %d workspaces, want %d", len(s.Workspaces), want)
	}
	for _, who := range []string{"proc", "goroutine"} {
		n := map[string]int{"proc": procs, "goroutine": goroutines}[who]
		for i := range n {
			for j := range perWorker {
				if k := fmt.Sprintf("%s%d-%02d", who, i, j); s.Workspaces[k].SID.IsZero() {
					t.Errorf("workspace %s lost", k)
				}
			}
		}
	}
	if err := s.Validate(); err != nil { // distinct SIDs among others
		t.Error(err)
	}
	checkDirFiles(t, dir)
}

// TestLockCancel holds the lock in this process and checks that Update and
// Load give up with the context's error, write nothing, and proceed once
// the lock is free.
func TestLockCancel(t *testing.T) {
	dir := testutil.TempDir(t)
	path := filepath.Join(dir, FileName)
	if _, err := Update(ctx, dir, func(s *Store) error { _, err := s.EnsureBase(); return err }); err != nil {
		t.Fatal(err)
	}
	orig, _ := os.ReadFile(path)
	add := func(s *Store) error {
		_, _, err := s.EnsureWorkspace("/w", "/w", time.Now())
		return err
	}

	releaseHeld, err := statedir.Lock(ctx, filepath.Join(dir, LockName), true)
	if err != nil {
		t.Fatal(err)
	}
	cancelled, cancel := context.WithCancel(ctx)
	cancel()
	if _, err := Update(cancelled, dir, add); !errors.Is(err, context.Canceled) || !strings.Contains(err.Error(), LockName) {
		t.Errorf("Update with a cancelled context: %v", err)
	}
	for _, op := range []string{"Update", "Load"} {
		short, cancel := context.WithTimeout(ctx, 60*time.Millisecond)
		start := time.Now()
		if op == "Update" {
			_, err = Update(short, dir, add)
		} else {
			_, err = Load(short, dir)
		}
		cancel()
		if elapsed := time.Since(start); !errors.Is(err, context.DeadlineExceeded) || elapsed < 50*time.Millisecond || elapsed > 30*time.Second {
			t.Errorf("%s with a 60 ms deadline: %v after %v", op, err, elapsed)
		}
	}
	if data, _ := os.ReadFile(path); string(data) != string(orig) {
		t.Error("the store changed while the lock was held")
	}

	// A waiting Update proceeds when the holder lets go.
	done := make(chan error, 1)
	go func() {
		_, err := Update(ctx, dir, add)
		done <- err
	}()
	select {
	case err := <-done:
		t.Fatalf("Update finished while the lock was held: %v", err)
	case <-time.After(100 * time.Millisecond):
	}
	releaseHeld()
	select {
	case err := <-done:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(60 * time.Second):
		t.Fatal("Update still waiting after the lock was released")
	}
	if s, err := Load(ctx, dir); err != nil || s.Workspaces["/w"].SID.IsZero() {
		t.Errorf("after the wait: %+v, %v", s, err)
	}

	// Shared locks coexist: Load works while another reader holds one,
	// and Update waits.
	releaseShared, err := statedir.Lock(ctx, filepath.Join(dir, LockName), false)
	if err != nil {
		t.Fatal(err)
	}
	defer releaseShared()
	short, cancel := context.WithTimeout(ctx, 2*time.Second)
	defer cancel()
	if _, err := Load(short, dir); err != nil {
		t.Errorf("Load beside a shared holder: %v", err)
	}
	short, cancel = context.WithTimeout(ctx, 60*time.Millisecond)
	defer cancel()
	if _, err := Update(short, dir, add); !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("Update beside a shared holder: %v", err)
	}
}

// TestLockOtherProcess checks the lock between processes, and that a holder
// that dies (as a crashed cordon would) leaves the store unlocked.
func TestLockOtherProcess(t *testing.T) {
	dir := testutil.TempDir(t)
	h := startHelper(t, dir, "hold")
	h.expect(t, "locked")
	short, cancel := context.WithTimeout(ctx, 100*time.Millisecond)
	defer cancel()
	if _, err := Update(short, dir, func(s *Store) error { _, err := s.EnsureBase(); return err }); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("Update while another process holds the lock: %v", err)
	}
	if err := h.cmd.Process.Kill(); err != nil {
		t.Fatal(err)
	}
	h.cmd.Wait()
	long, cancel := context.WithTimeout(ctx, 60*time.Second)
	defer cancel()
	if _, err := Update(long, dir, func(s *Store) error { _, err := s.EnsureBase(); return err }); err != nil {
		t.Fatalf("Update after the holder died: %v", err)
	}
}
