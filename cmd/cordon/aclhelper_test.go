package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"testing"

	"github.com/cordon-sandbox/cordon/internal/aclhelper"
	"github.com/cordon-sandbox/cordon/internal/testutil"
)

// recApplier records what it applies and fails on the paths in fail.
type recApplier struct {
	mu      sync.Mutex
	fail    map[string]bool
	applied []string
}

func (a *recApplier) Apply(_ context.Context, it aclhelper.Item, _ bool) (bool, error) {
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.fail[it.Path] {
		return false, errors.New("access denied")
	}
	a.applied = append(a.applied, it.Path)
	return true, nil
}

func testItems(paths ...string) []aclhelper.Item {
	var out []aclhelper.Item
	for _, p := range paths {
		out = append(out, aclhelper.Item{Path: p, SID: "S-1-5-21-1-2-3-1009", Mask: 0x1200a9, Flags: 3})
	}
	return out
}

func helperTestMutex() string { return fmt.Sprintf(`Local\CordonReadAclCLITest-%d`, os.Getpid()) }

// The helper drains what was queued, logs its progress and its exit in
// cordon.log, and reports it; a failing grant is reported with its code
// and stays marked failed until --retry-failed queues it again.
func TestACLHelperJob(t *testing.T) {
	dir := testutil.TempDir(t)
	ctx := context.Background()
	if err := aclhelper.Enqueue(ctx, dir, testItems(`C:\a`, `C:\b`, `C:\c`), nil); err != nil {
		t.Fatal(err)
	}
	logf, closeLog := helperLog(dir, &bytes.Buffer{})
	a := &recApplier{fail: map[string]bool{`C:\b`: true}}
	job := aclHelperJob{Dir: dir, MutexName: helperTestMutex(), Applier: a, Logf: logf}
	r, err := runACLHelperJob(ctx, job)
	closeLog()
	if err == nil || !r.Ran || r.Busy || r.State.Pending != 0 || r.State.Failed != 1 || len(r.Failed) != 1 || r.Failed[0].Path != `C:\b` {
		t.Fatalf("result %+v, %v", r, err)
	}
	if strings.Join(a.applied, ",") != `C:\a,C:\c` {
		t.Errorf("applied %v", a.applied)
	}
	var out, errb bytes.Buffer
	if code := printACLHelper(r, err, false, &out, &errb); code != exitNo || !strings.HasPrefix(errb.String(), "cordon: read_acl_failed: ") ||
		!strings.Contains(errb.String(), "--retry-failed") || !strings.Contains(out.String(), "2 applied, 1 failed, 0 pending") {
		t.Errorf("exit %d, stdout %q, stderr %q", code, out.String(), errb.String())
	}
	log, _ := os.ReadFile(filepath.Join(dir, "cordon.log"))
	for _, want := range []string{"component=acl-helper", "started", "2/3", "failed: access denied", "exiting"} {
		if !bytes.Contains(log, []byte(want)) {
			t.Errorf("cordon.log lacks %q:\n%s", want, log)
		}
	}
	// Without --retry-failed a new helper has nothing to do.
	a.fail = nil
	if r, err := runACLHelperJob(ctx, job); err != nil || r.State.Failed != 1 || len(a.applied) != 2 {
		t.Errorf("plain rerun: %+v %v, applied %v", r, err, a.applied)
	}
	job.RetryFailed = true
	r, err = runACLHelperJob(ctx, job)
	if err != nil || r.Requeued != 1 || r.State.Failed != 0 || r.State.Pending != 0 || strings.Join(a.applied, ",") != `C:\a,C:\c,C:\b` {
		t.Fatalf("retry: %+v %v, applied %v", r, err, a.applied)
	}
	out.Reset()
	errb.Reset()
	if code := printACLHelper(r, err, true, &out, &errb); code != exitOK || errb.Len() != 0 {
		t.Errorf("exit %d, stderr %q", code, errb.String())
	}
	var js struct {
		Ran      *bool `json:"ran"`
		Busy     *bool `json:"busy"`
		Requeued int   `json:"requeued"`
		State    struct {
			Done    int `json:"done"`
			Pending int `json:"pending"`
		} `json:"state"`
		Failed []any `json:"failed"`
	}
	if err := json.Unmarshal(out.Bytes(), &js); err != nil || js.Ran == nil || !*js.Ran || js.Busy == nil || *js.Busy ||
		js.Requeued != 1 || js.State.Done != 3 || js.Failed == nil {
		t.Errorf("json %s: %v", out.String(), err)
	}
}

// While another helper holds the mutex, a helper queues its plan and
// leaves: nothing applied, "busy", exit 0.
func TestACLHelperBusy(t *testing.T) {
	dir := testutil.TempDir(t)
	name := helperTestMutex()
	mu, err := aclhelper.NewMutex(name, dir)
	if err != nil {
		t.Fatal(err)
	}
	defer mu.Close()
	if ok, _, err := mu.TryLock(); !ok || err != nil {
		t.Fatal(ok, err)
	}
	a := &recApplier{}
	plan := func(context.Context) ([]aclhelper.Item, error) { return testItems(`C:\x`), nil }
	r, err := runACLHelperJob(context.Background(), aclHelperJob{Dir: dir, MutexName: name, Applier: a, Plan: plan})
	if err != nil || !r.Busy || r.Ran || r.State.Pending != 1 || len(a.applied) != 0 {
		t.Fatalf("%+v %v, applied %v", r, err, a.applied)
	}
	var out, errb bytes.Buffer
	if code := printACLHelper(r, err, false, &out, &errb); code != exitOK || !strings.Contains(out.String(), "Another read-ACL helper is running") {
		t.Errorf("exit %d, stdout %q", code, out.String())
	}
}

// A corrupt journal is replaced even by a helper with nothing to plan,
// or doctor would report it for ever.
func TestACLHelperRebuildsCorruptJournal(t *testing.T) {
	dir := testutil.TempDir(t)
	if err := os.WriteFile(filepath.Join(dir, aclhelper.JournalName), []byte(`{"version":1,"items":[`), 0o600); err != nil {
		t.Fatal(err)
	}
	if st, _ := aclhelper.Status(dir, nil); !st.Corrupt {
		t.Fatal("the journal should read as corrupt")
	}
	r, err := runACLHelperJob(context.Background(), aclHelperJob{Dir: dir, MutexName: helperTestMutex(), Applier: &recApplier{}})
	if err != nil || r.State.Corrupt {
		t.Errorf("%+v %v", r, err)
	}
}

func TestACLHelperBadInput(t *testing.T) {
	for _, args := range [][]string{{"acl-helper", "extra"}, {"acl-helper", "--nope"}, {"acl-helper", "--writable-root", `C:\w`}} {
		var out, errb bytes.Buffer
		if code := run(args, nil, &out, &errb); code != exitBadInput || !strings.HasPrefix(errb.String(), "cordon: usage: ") {
			t.Errorf("%q: exit %d, stderr %q", args, code, errb.String())
		}
	}
	var out, errb bytes.Buffer
	if code := run([]string{"acl-helper", "--cwd", `C:\w`, "--policy", "nonsense"}, nil, &out, &errb); code != exitBadInput ||
		!strings.HasPrefix(errb.String(), "cordon: bad_policy: ") {
		t.Errorf("bad policy: exit %d, stderr %q", code, errb.String())
	}
}

func TestACLHelperUnsupportedOffWindows(t *testing.T) {
	if runtime.GOOS == "windows" {
		t.Skip("Windows has read grants")
	}
	var out, errb bytes.Buffer
	if code := run([]string{"acl-helper", "--state-dir", testutil.TempDir(t)}, nil, &out, &errb); code != exitUnsupported ||
		!strings.HasPrefix(errb.String(), "cordon: elevated_unsupported: ") {
		t.Errorf("exit %d, stderr %q", code, errb.String())
	}
}
