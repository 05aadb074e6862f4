package aclhelper

import (
	"context"
	"errors"
	"fmt"
	"testing"

	"github.com/cordon-sandbox/cordon/internal/aclplan"
	"github.com/cordon-sandbox/cordon/internal/fsview"
	"github.com/cordon-sandbox/cordon/internal/testutil"
	"github.com/cordon-sandbox/cordon/ntsec"
)

// tree is C:\ with n directories d0..dn-1, each holding a file.
func tree(t *testing.T, n int) *fsview.Memory {
	t.Helper()
	m := fsview.NewMemory()
	root, err := ntsec.ParseSDDL("O:SYD:PAI(A;OICI;FA;;;SY)(A;OICI;FA;;;S-1-5-21-1-2-3-1001)")
	if err != nil {
		t.Fatal(err)
	}
	add := func(path string, typ fsview.Type, parent *ntsec.SecurityDescriptor) *ntsec.SecurityDescriptor {
		nt := ntsec.Directory
		if typ == fsview.File {
			nt = ntsec.File
		}
		sd := root
		if parent != nil {
			sd = ntsec.NewObject(parent, nt, root.Owner, ntsec.SID{}, nil)
		}
		if err := m.Add(fsview.Node{Path: path, Type: typ, SD: sd}); err != nil {
			t.Fatal(err)
		}
		return sd
	}
	add(`C:\`, fsview.Directory, nil)
	for i := 0; i < n; i++ {
		d := add(fmt.Sprintf(`C:\d%d`, i), fsview.Directory, root)
		add(fmt.Sprintf(`C:\d%d\f`, i), fsview.File, d)
	}
	return m
}

func items(n int) []Item {
	var out []Item
	for i := 0; i < n; i++ {
		out = append(out, grant(fmt.Sprintf(`C:\d%d`, i)))
	}
	return out
}

// sddls is every node's descriptor, by path.
func sddls(t *testing.T, m *fsview.Memory) map[string]string {
	out := map[string]string{}
	if err := m.Walk(`C:\`, func(n, _ *fsview.Node) bool { out[n.Path] = n.SD.SDDL(); return true }); err != nil {
		t.Fatal(err)
	}
	return out
}

func plan(its []Item) func(context.Context) ([]Item, error) {
	return func(context.Context) ([]Item, error) { return its, nil }
}

func newMutex(t *testing.T, dir string) Mutex {
	t.Helper()
	mu, err := NewMutex(testMutexName(), dir)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { mu.Close() })
	return mu
}

// A helper that dies at any item, before or after writing it, is resumed
// by the next from that item: nothing before it is applied again, the
// item itself is applied with resumed set (and, if written already,
// writes nothing), and the tree ends as one clean run leaves it. A third
// run finds nothing to do.
func TestCrashAtEveryItem(t *testing.T) {
	const n = 5
	want := tree(t, n)
	var edits []aclplan.Edit
	for _, it := range items(n) {
		e, _ := it.Edit()
		edits = append(edits, e)
	}
	if _, err := aclplan.Apply(want, edits); err != nil {
		t.Fatal(err)
	}
	wantSD := sddls(t, want)
	for k := 0; k < n; k++ {
		for _, after := range []bool{false, true} {
			t.Run(fmt.Sprintf("item%d/after=%v", k, after), func(t *testing.T) {
				dir := testutil.TempDir(t)
				m := tree(t, n)
				dead, err := NewMutex(testMutexName(), dir)
				if err != nil {
					t.Fatal(err)
				}
				first := &memApplier{m: m, crashAt: k, crashAfter: after}
				if err := runToDeath(Config{Dir: dir, Mutex: dead, Plan: plan(items(n)), Applier: first}); !errors.Is(err, errCrash) {
					t.Fatalf("first run: %v", err)
				}
				dead.Close() // what the kernel does for a dead holder
				mu := newMutex(t, dir)
				st, err := Status(dir, mu)
				if err != nil {
					t.Fatal(err)
				}
				if st.Done != k || st.Pending != n-k || st.Current == nil || st.Current.Path != fmt.Sprintf(`C:\d%d`, k) || st.Running {
					t.Fatalf("status after the crash: %+v", st)
				}
				second := &memApplier{m: m, crashAt: -1}
				if err := Run(context.Background(), Config{Dir: dir, Mutex: mu, Applier: second}); err != nil {
					t.Fatal(err)
				}
				if len(second.calls) != n-k {
					t.Fatalf("resumed run: %d calls, want %d: %+v", len(second.calls), n-k, second.calls)
				}
				c := second.calls[0]
				if c.path != fmt.Sprintf(`C:\d%d`, k) || !c.resumed || c.change == after {
					t.Errorf("first resumed call: %+v (crash after the write: %v)", c, after)
				}
				for _, c := range second.calls[1:] {
					if c.resumed || !c.change {
						t.Errorf("later call: %+v", c)
					}
				}
				got := sddls(t, m)
				for p, w := range wantSD {
					if got[p] != w {
						t.Errorf("%s: %s, want %s", p, got[p], w)
					}
				}
				if st, _ := Status(dir, mu); st.Done != n || st.Pending != 0 || st.Current != nil {
					t.Errorf("final status: %+v", st)
				}
				third := &memApplier{m: m, crashAt: -1}
				if err := Run(context.Background(), Config{Dir: dir, Mutex: mu, Applier: third}); err != nil || len(third.calls) != 0 {
					t.Errorf("warm run: %v, %+v", err, third.calls)
				}
			})
		}
	}
}

// A corrupt journal is rebuilt from the helper's plan: the helper still
// applies it all, and says so.
func TestCorruptJournalRebuilt(t *testing.T) {
	dir := testutil.TempDir(t)
	m := tree(t, 3)
	mu := newMutex(t, dir)
	if err := writeGarbage(dir); err != nil {
		t.Fatal(err)
	}
	if st, _ := Status(dir, nil); !st.Corrupt {
		t.Fatalf("status of a corrupt journal: %+v", st)
	}
	var logs []string
	a := &memApplier{m: m, crashAt: -1}
	err := Run(context.Background(), Config{Dir: dir, Mutex: mu, Plan: plan(items(3)), Applier: a,
		Logf: func(f string, args ...any) { logs = append(logs, fmt.Sprintf(f, args...)) }})
	if err != nil {
		t.Fatal(err)
	}
	if len(a.calls) != 3 {
		t.Errorf("calls: %+v", a.calls)
	}
	if len(logs) == 0 || !contains(logs[0], "rebuilding") || !contains(logs[len(logs)-1], "3/3") {
		t.Errorf("log: %q", logs)
	}
}

// A helper that finds the mutex held queues its plan and leaves; the
// holder applies it before it exits.
func TestHeldMutexQueues(t *testing.T) {
	dir := testutil.TempDir(t)
	m := tree(t, 4)
	holder := newMutex(t, dir)
	ok, _, err := holder.TryLock()
	if err != nil || !ok {
		t.Fatalf("TryLock: %v %v", ok, err)
	}
	other := newMutex(t, dir)
	a := &memApplier{m: m, crashAt: -1}
	err = Run(context.Background(), Config{Dir: dir, Mutex: other, Plan: plan(items(4)[2:]), Applier: a})
	if !errors.Is(err, ErrHeld) || len(a.calls) != 0 {
		t.Fatalf("second helper: %v, %+v", err, a.calls)
	}
	if st, _ := Status(dir, other); !st.Running || st.Pending != 2 {
		t.Errorf("status while held: %+v", st)
	}
	if err := holder.Unlock(); err != nil {
		t.Fatal(err)
	}
	if err := Run(context.Background(), Config{Dir: dir, Mutex: holder, Plan: plan(items(4)[:2]), Applier: a}); err != nil {
		t.Fatal(err)
	}
	if len(a.calls) != 4 {
		t.Errorf("the holder applied %+v, want all four", a.calls)
	}
}

// A cancelled helper applies nothing and leaves the mutex free.
func TestCancelStopsBetweenItems(t *testing.T) {
	dir := testutil.TempDir(t)
	m := tree(t, 3)
	mu := newMutex(t, dir)
	ctx, cancel := context.WithCancel(context.Background())
	a := &memApplier{m: m, crashAt: -1}
	cancel()
	if err := Enqueue(context.Background(), dir, items(3), nil); err != nil {
		t.Fatal(err)
	}
	if err := Run(ctx, Config{Dir: dir, Mutex: mu, Applier: a}); !errors.Is(err, context.Canceled) || len(a.calls) != 0 {
		t.Fatalf("cancelled: %v, %+v", err, a.calls)
	}
	if held, _ := mu.Held(); held {
		t.Error("the mutex stayed held")
	}
}

// runToDeath runs the helper until the applier's injected crash, which
// stands for the process dying there: nothing after it runs.
func runToDeath(c Config) (err error) {
	defer func() {
		if r := recover(); r != nil {
			if e, ok := r.(error); ok && errors.Is(e, errCrash) {
				err = errCrash
				return
			}
			panic(r)
		}
	}()
	return Run(context.Background(), c)
}

// An item that fails is marked done with its error and holds up nothing:
// the items after it are applied, Run reports the failure, Status counts
// it, and the next plan may queue it again.
func TestFailedItemDoesNotBlock(t *testing.T) {
	dir := testutil.TempDir(t)
	m := tree(t, 3)
	mu := newMutex(t, dir)
	a := &memApplier{m: m, crashAt: 1, fail: true}
	err := Run(context.Background(), Config{Dir: dir, Mutex: mu, Plan: plan(items(3)), Applier: a})
	if err == nil || !contains(err.Error(), `C:\d1: access denied`) {
		t.Fatalf("Run: %v", err)
	}
	if len(a.calls) != 2 || a.calls[1].path != `C:\d2` {
		t.Errorf("calls: %+v", a.calls)
	}
	st, _ := Status(dir, mu)
	if st.Done != 3 || st.Failed != 1 || st.Pending != 0 {
		t.Errorf("status: %+v", st)
	}
	b := &memApplier{m: m, crashAt: -1}
	if err := Run(context.Background(), Config{Dir: dir, Mutex: mu, Plan: plan(items(3)[1:2]), Applier: b}); err != nil || len(b.calls) != 1 {
		t.Errorf("re-queued: %v, %+v", err, b.calls)
	}
}
