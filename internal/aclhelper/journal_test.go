package aclhelper

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/cordon-sandbox/cordon/internal/aclplan"
	"github.com/cordon-sandbox/cordon/internal/readacl"
	"github.com/cordon-sandbox/cordon/internal/testutil"
	"github.com/cordon-sandbox/cordon/ntsec"
	"github.com/cordon-sandbox/cordon/policy"
)

var group = mustSID("S-1-5-21-1-2-3-2000")

func mustSID(s string) ntsec.SID {
	v, err := ntsec.ParseSID(s)
	if err != nil {
		panic(err)
	}
	return v
}

func grant(path string) Item {
	it, err := ItemOf(aclplan.Edit{Op: aclplan.AddACE, Path: path, ACE: ntsec.ACE{Type: ntsec.AccessAllowed,
		Flags: ntsec.ObjectInherit | ntsec.ContainerInherit, Mask: ntsec.FileGenericRead | ntsec.FileGenericExecute, SID: group}})
	if err != nil {
		panic(err)
	}
	return it
}

// An item is its edit, back and forth; other ops are refused.
func TestItemRoundTrip(t *testing.T) {
	it := grant(`C:\Users\me\Documents`)
	e, err := it.Edit()
	if err != nil {
		t.Fatal(err)
	}
	if back, _ := ItemOf(e); !back.same(it) || e.ACE.SDDL() != "(A;OICI;0x1200a9;;;S-1-5-21-1-2-3-2000)" {
		t.Errorf("round trip: %+v -> %s", it, e.ACE.SDDL())
	}
	if _, err := ItemOf(aclplan.Edit{Op: aclplan.RemoveACE, Path: `C:\x`}); err == nil {
		t.Error("a removal became an item")
	}
}

// A saved journal reads back; a torn, edited, foreign-version or
// unparsable one is ErrCorrupt.
func TestJournalCorruption(t *testing.T) {
	dir := testutil.TempDir(t)
	p := filepath.Join(dir, JournalName)
	j := Add(nil, []Item{grant(`C:\a`), grant(`C:\b`)})
	if err := j.Save(p, time.Unix(1, 0)); err != nil {
		t.Fatal(err)
	}
	back, err := ReadJournal(p)
	if err != nil || len(back.Items) != 2 || back.Pending() != 0 {
		t.Fatalf("read back: %+v, %v", back, err)
	}
	good, _ := os.ReadFile(p)
	for name, mutate := range map[string]func(string) string{
		"torn":        func(s string) string { return s[:len(s)/2] },
		"edited":      func(s string) string { return strings.Replace(s, `"mask": 1179817`, `"mask": 2032127`, 1) },
		"version":     func(s string) string { return strings.Replace(s, `"version": 1`, `"version": 9`, 1) },
		"not json":    func(string) string { return "\x00\x01garbage" },
		"marked done": func(s string) string { return strings.Replace(s, `"flags": 3`, `"flags": 3, "done": true`, 1) },
	} {
		bad := mutate(string(good))
		if bad == string(good) {
			t.Fatalf("%s: the mutation changed nothing", name)
		}
		if err := os.WriteFile(p, []byte(bad), 0o600); err != nil {
			t.Fatal(err)
		}
		if _, err := ReadJournal(p); !errors.Is(err, ErrCorrupt) {
			t.Errorf("%s: %v, want ErrCorrupt", name, err)
		}
	}
	if j, err := ReadJournal(filepath.Join(dir, "missing")); j != nil || err != nil {
		t.Errorf("missing journal: %v, %v", j, err)
	}
}

// Add keeps a batch in progress, drops a finished one, queues what is
// new once, and queues again an item done earlier that a fresh plan asks
// for (its ACE is gone since).
func TestAdd(t *testing.T) {
	a, b, c := grant(`C:\a`), grant(`C:\b`), grant(`C:\c`)
	j := Add(nil, []Item{a, b})
	j.Items[0].Done = true
	j = Add(j, []Item{b, c})
	if len(j.Items) != 3 || !j.Items[0].Done || j.Items[1].Done || j.Pending() != 1 {
		t.Fatalf("in progress: %+v", j.Items)
	}
	for i := range j.Items {
		j.Items[i].Done = true
	}
	j = Add(j, []Item{a})
	if len(j.Items) != 1 || j.Items[0].Done || j.Items[0].Path != `C:\a` {
		t.Fatalf("after a finished batch: %+v", j.Items)
	}
}

// ReadPlan turns a read plan into items the journal keeps: a plan of the
// cwd alone grants it, and nothing else.
func TestReadPlanItems(t *testing.T) {
	m := tree(t, 2)
	pol := policy.Policy{Mode: policy.ReadOnly, Cwd: `C:\d1`}
	off := false
	pol.DefaultDenyRead = &off
	res, err := pol.Resolve(policy.Env{Rules: policy.Windows})
	if err != nil {
		t.Fatal(err)
	}
	its, err := ReadPlan(readacl.Input{Policy: res, Group: group, View: m})(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if len(its) != 1 || !its[0].same(grant(`C:\d1`)) {
		t.Errorf("items: %+v", its)
	}
}
