package aclhelper

import (
	"context"
	"errors"
	"testing"

	"github.com/cordon-sandbox/cordon/internal/testutil"
)

// failingApplier fails on the paths in bad and applies the rest.
type failingApplier struct {
	bad   map[string]bool
	calls []string
}

func (a *failingApplier) Apply(_ context.Context, it Item, _ bool) (bool, error) {
	a.calls = append(a.calls, it.Path)
	if a.bad[it.Path] {
		return false, errors.New("access denied")
	}
	return true, nil
}

// Failures lists what failed, in order; RequeueFailed puts exactly those
// back in the queue, and the next run applies them and nothing else.
func TestFailuresAndRequeue(t *testing.T) {
	dir := testutil.TempDir(t)
	ctx := context.Background()
	if f, err := Failures(dir); err != nil || f != nil {
		t.Fatalf("no journal: %v %v", f, err)
	}
	mu := newMutex(t, dir)
	a := &failingApplier{bad: map[string]bool{`C:\b`: true, `C:\d`: true}}
	err := Run(ctx, Config{Dir: dir, Mutex: mu, Plan: plan([]Item{grant(`C:\a`), grant(`C:\b`), grant(`C:\c`), grant(`C:\d`)}), Applier: a})
	if err == nil {
		t.Fatal("failures not reported")
	}
	f, err := Failures(dir)
	if err != nil || len(f) != 2 || f[0].Path != `C:\b` || f[1].Path != `C:\d` || f[1].Failed != "access denied" {
		t.Fatalf("failures %+v %v", f, err)
	}
	n, err := RequeueFailed(ctx, dir)
	if err != nil || n != 2 {
		t.Fatalf("requeued %d, %v", n, err)
	}
	if st, _ := Status(dir, nil); st.Pending != 2 || st.Failed != 0 || st.Done != 2 {
		t.Errorf("after requeue: %+v", st)
	}
	a.bad, a.calls = nil, nil
	if err := Run(ctx, Config{Dir: dir, Mutex: mu, Applier: a}); err != nil {
		t.Fatal(err)
	}
	if len(a.calls) != 2 || a.calls[0] != `C:\b` || a.calls[1] != `C:\d` {
		t.Errorf("retried %v", a.calls)
	}
	if n, err := RequeueFailed(ctx, dir); err != nil || n != 0 {
		t.Errorf("nothing left to requeue: %d %v", n, err)
	}
	if err := writeGarbage(dir); err != nil {
		t.Fatal(err)
	}
	if f, err := Failures(dir); err != nil || f != nil {
		t.Errorf("corrupt journal: %v %v", f, err)
	}
	if n, err := RequeueFailed(ctx, dir); err != nil || n != 0 {
		t.Errorf("corrupt journal requeue: %d %v", n, err)
	}
}
