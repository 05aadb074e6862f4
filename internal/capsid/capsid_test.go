package capsid

import (
	"go/parser"
	"go/token"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/cordon-sandbox/cordon/internal/testutil"
	"github.com/cordon-sandbox/cordon/ntsec"
)

func TestNewSID(t *testing.T) {
	const n = 1000
	form := regexp.MustCompile(`^S-1-5-21-(\d+)-(\d+)-(\d+)-(\d+)$`)
	seen := map[ntsec.SID]bool{}
	var ones [128]int
	for range n {
		sid, err := NewSID()
		if err != nil {
			t.Fatal(err)
		}
		str := sid.String()
		if !form.MatchString(str) {
			t.Fatalf("NewSID = %s, want S-1-5-21-a-b-c-d", str)
		}
		subs := sid.SubAuthorities()
		if sid.Authority() != 5 || len(subs) != 5 || subs[0] != 21 {
			t.Fatalf("NewSID = %s: authority %d, sub-authorities %v", str, sid.Authority(), subs)
		}
		if err := checkCapSID(sid); err != nil {
			t.Fatal(err)
		}
		back, err := ntsec.ParseSID(str)
		if err != nil || back != sid {
			t.Fatalf("ParseSID(%s) = %v, %v", str, back, err)
		}
		if seen[sid] {
			t.Fatalf("NewSID returned %s twice", str)
		}
		seen[sid] = true
		for i, v := range subs[1:] {
			for b := range 32 {
				ones[32*i+b] += int(v >> b & 1)
			}
		}
	}
	// Every one of the 128 random bits must vary: each is set in about
	// half of the SIDs (binomial, sd 15.8; the bounds are 7.5 sd away).
	for b, c := range ones {
		if c < n/2-120 || c > n/2+120 {
			t.Errorf("bit %d of the random part was set in %d of %d SIDs", b, c, n)
		}
	}
}

// TestNoMathRand keeps non-cryptographic randomness out of the package: a
// capability SID anyone can predict is a key anyone can copy.
func TestNoMathRand(t *testing.T) {
	files, err := filepath.Glob("*.go")
	if err != nil {
		t.Fatal(err)
	}
	for _, name := range files {
		if strings.HasSuffix(name, "_test.go") {
			continue
		}
		f, err := parser.ParseFile(token.NewFileSet(), name, nil, parser.ImportsOnly)
		if err != nil {
			t.Fatal(err)
		}
		for _, imp := range f.Imports {
			if p, _ := strconv.Unquote(imp.Path.Value); strings.HasPrefix(p, "math/rand") {
				t.Errorf("%s imports %s", name, p)
			}
		}
	}
}

func TestEnsureBase(t *testing.T) {
	s := New()
	changed, err := s.EnsureBase()
	if err != nil || !changed {
		t.Fatalf("EnsureBase = %v, %v; want true, nil", changed, err)
	}
	if s.Generic.IsZero() || s.ReadOnly.IsZero() || s.Generic == s.ReadOnly {
		t.Fatalf("generic %s, read-only %s", s.Generic, s.ReadOnly)
	}
	g, r := s.Generic, s.ReadOnly
	changed, err = s.EnsureBase()
	if err != nil || changed || s.Generic != g || s.ReadOnly != r {
		t.Fatalf("second EnsureBase = %v, %v and changed the SIDs to %s, %s", changed, err, s.Generic, s.ReadOnly)
	}
	if err := s.Validate(); err != nil {
		t.Fatal(err)
	}
}

func TestEnsureWorkspace(t *testing.T) {
	s := New()
	now := time.Date(2025, 10, 7, 12, 30, 45, 123456789, time.FixedZone("X", 3600))
	w, created, err := s.EnsureWorkspace("c:/src/a", `C:\src\A`, now)
	if err != nil || !created {
		t.Fatalf("EnsureWorkspace = %v, %v", created, err)
	}
	if w.Key != "c:/src/a" || w.Path != `C:\src\A` || checkCapSID(w.SID) != nil {
		t.Fatalf("workspace %+v", w)
	}
	if want := time.Date(2025, 10, 7, 11, 30, 45, 0, time.UTC); !w.Created.Equal(want) || w.Created.Location() != time.UTC {
		t.Errorf("Created = %v, want %v (UTC, whole seconds)", w.Created, want)
	}
	again, created, err := s.EnsureWorkspace("c:/src/a", `c:\SRC\a`, now.Add(time.Hour))
	if err != nil || created || again != w {
		t.Fatalf("second EnsureWorkspace = %+v, %v, %v; want the first entry unchanged", again, created, err)
	}
	if _, _, err := s.EnsureWorkspace("", "/x", now); err == nil {
		t.Error("empty key accepted")
	}
	if _, _, err := s.EnsureWorkspace("k", "", now); err == nil {
		t.Error("empty path accepted")
	}
	b, _, err := s.EnsureWorkspace("c:/src/b", `C:\src\b`, now)
	if err != nil || b.SID == w.SID {
		t.Fatalf("second workspace: %+v, %v", b, err)
	}
	var zero Store // EnsureWorkspace must cope with a nil map
	if _, _, err := zero.EnsureWorkspace("k", "/k", now); err != nil {
		t.Fatal(err)
	}
}

func TestListAndGC(t *testing.T) {
	root := testutil.TempDir(t)
	s := New()
	now := time.Now()
	for _, name := range []string{"d", "b", "a", "c"} {
		p := filepath.Join(root, name)
		if err := os.Mkdir(p, 0o700); err != nil {
			t.Fatal(err)
		}
		if _, _, err := s.EnsureWorkspace(name, p, now); err != nil {
			t.Fatal(err)
		}
	}
	if got := keys(s.List()); got != "a b c d" {
		t.Fatalf("List keys = %s, want sorted", got)
	}
	for _, name := range []string{"b", "d"} {
		if err := os.Remove(filepath.Join(root, name)); err != nil {
			t.Fatal(err)
		}
	}
	kept := s.Workspaces["a"]
	if got := keys(s.GC(PathExists)); got != "b d" {
		t.Fatalf("GC removed %q, want b d", got)
	}
	if got := keys(s.List()); got != "a c" {
		t.Fatalf("after GC: %s", got)
	}
	if s.Workspaces["a"] != kept {
		t.Error("GC changed a kept workspace")
	}
	if got := s.GC(PathExists); len(got) != 0 {
		t.Errorf("second GC removed %v", got)
	}
}

func keys(ws []Workspace) string {
	var k []string
	for _, w := range ws {
		k = append(k, w.Key)
	}
	return strings.Join(k, " ")
}

func TestPathExists(t *testing.T) {
	dir := testutil.TempDir(t)
	if !PathExists(dir) {
		t.Error("existing directory reported gone")
	}
	if PathExists(filepath.Join(dir, "nope")) {
		t.Error("missing path reported present")
	}
}

func TestValidate(t *testing.T) {
	sid := func(s string) ntsec.SID {
		v, err := ntsec.ParseSID(s)
		if err != nil {
			t.Fatal(err)
		}
		return v
	}
	now := time.Now()
	ws := func(key, path, s string) map[string]Workspace {
		return map[string]Workspace{key: {Key: key, Path: path, SID: sid(s), Created: now}}
	}
	for _, c := range []struct {
		name  string
		store Store
		want  string
	}{
		{"zero version", Store{}, "unknown version 0"},
		{"well-known generic", Store{Version: 1, Generic: sid("WD")}, `field "generic": S-1-1-0 is not a capability SID`},
		{"key mismatch", Store{Version: 1, Workspaces: map[string]Workspace{"a": {Key: "b", Path: "/a", SID: sid("S-1-5-21-1-2-3-4"), Created: now}}}, `workspace "a": entry has Key "b"`},
		{"zero time", Store{Version: 1, Workspaces: map[string]Workspace{"a": {Key: "a", Path: "/a", SID: sid("S-1-5-21-1-2-3-4")}}}, "zero creation time"},
		{"missing sid", Store{Version: 1, Workspaces: map[string]Workspace{"a": {Key: "a", Path: "/a", Created: now}}}, `field "sid": is empty`},
		{"shared SID", Store{Version: 1, ReadOnly: sid("S-1-5-21-1-2-3-4"), Workspaces: ws("a", "/a", "S-1-5-21-1-2-3-4")}, `duplicate SID S-1-5-21-1-2-3-4: used by field "read_only" and by workspace "a"`},
	} {
		err := c.store.Validate()
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: Validate = %v, want %q", c.name, err, c.want)
		}
	}
	if err := (&Store{Version: 1, Workspaces: ws("a", "/a", "S-1-5-21-1-2-3-4")}).Validate(); err != nil {
		t.Errorf("valid store: %v", err)
	}
}
