package main

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"testing"

	"github.com/cordon-sandbox/cordon/internal/acelog"
	"github.com/cordon-sandbox/cordon/internal/aclhelper"
	"github.com/cordon-sandbox/cordon/internal/testutil"
)

// Through cordon itself (this test binary, as cordon): a helper started
// detached drains a journal of real directories with the NTFS applier,
// logs it and exits; started while the machine's helper mutex is held, it
// queues nothing new, applies nothing and exits at once. Under Wine the
// NTFS writes are accepted but not stored (wine.md); that the grants land
// is TestRealWindowsNTFSApplier's business.
func TestACLHelperDetachedThroughCordon(t *testing.T) {
	state := testutil.TempDir(t)
	work := testutil.TempDir(t)
	var paths []string
	for _, n := range []string{"src", "docs", "late"} {
		p := filepath.Join(work, n)
		if err := os.Mkdir(p, 0o755); err != nil {
			t.Fatal(err)
		}
		paths = append(paths, p)
	}
	ctx := context.Background()
	if err := aclhelper.Enqueue(ctx, state, testItems(paths[:2]...), nil); err != nil {
		t.Fatal(err)
	}
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	t.Setenv(asCordonEnv, "1")
	log := filepath.Join(state, "cordon.log")
	logHas := func(s string) bool {
		b, _ := os.ReadFile(log)
		return bytes.Contains(b, []byte(s))
	}
	if err := aclhelper.StartDetached(ctx, exe, state); err != nil {
		t.Fatal(err)
	}
	testutil.WaitFor(t, "the detached helper to drain the journal and exit", func() bool {
		st, err := aclhelper.Status(state, nil)
		return err == nil && st.Pending == 0 && st.Done == 2 && logHas("done (2 applied, 0 failed, 0 pending); exiting")
	})
	// Both grants are in cordon's ACE record, for cleanup to undo.
	if rec, err := acelog.Load(ctx, state); err != nil || len(rec) != 2 {
		t.Fatalf("ACE record after the helper: %v, %v; want its 2 grants", rec, err)
	}

	// Now the machine's helper mutex is held (by this test, standing in
	// for a running helper): a second helper must leave at once.
	mu, err := aclhelper.NewMutex(aclhelper.MutexName, state)
	if err != nil {
		t.Fatal(err)
	}
	defer mu.Close()
	if ok, _, err := mu.TryLock(); !ok || err != nil {
		t.Fatalf("take %s: %v %v (is a real helper running?)", aclhelper.MutexName, ok, err)
	}
	if err := aclhelper.Enqueue(ctx, state, testItems(paths[2]), nil); err != nil {
		t.Fatal(err)
	}
	if err := aclhelper.StartDetached(ctx, exe, state); err != nil {
		t.Fatal(err)
	}
	testutil.WaitFor(t, "the second helper to see the mutex held and exit", func() bool {
		return logHas("takes the queued work; exiting")
	})
	st, err := aclhelper.Status(state, nil)
	if err != nil || st.Pending != 1 || st.Current != nil {
		t.Fatalf("the second helper touched the queue: %+v %v", st, err)
	}
	// Released, the queue is drained by the next helper.
	mu.Unlock()
	if err := aclhelper.StartDetached(ctx, exe, state); err != nil {
		t.Fatal(err)
	}
	testutil.WaitFor(t, "a third helper to drain the late item", func() bool {
		st, err := aclhelper.Status(state, nil)
		return err == nil && st.Pending == 0 && logHas("done (1 applied, 0 failed, 0 pending); exiting")
	})
}
