package capsid

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/cordon-sandbox/cordon/internal/testutil"
	"github.com/cordon-sandbox/cordon/ntsec"
)

var ctx = context.Background()

func TestRoundTrip(t *testing.T) {
	dir := filepath.Join(testutil.TempDir(t), "state") // Update creates it
	now := time.Date(2025, 1, 2, 3, 4, 5, 0, time.UTC)
	paths := map[string]string{"/src/a": "/src/a", "c:/users/me/r&d": `C:\Users\Me\R&D`, "/src/ünï<c>": "/src/ünï<c>"}
	saved, err := Update(ctx, dir, func(s *Store) error {
		if _, err := s.EnsureBase(); err != nil {
			return err
		}
		for k, p := range paths {
			if _, _, err := s.EnsureWorkspace(k, p, now); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	loaded, err := Load(ctx, dir)
	if err != nil {
		t.Fatal(err)
	}
	if loaded.Version != 1 || loaded.Generic != saved.Generic || loaded.ReadOnly != saved.ReadOnly || len(loaded.Workspaces) != len(paths) {
		t.Fatalf("loaded %+v, saved %+v", loaded, saved)
	}
	for k, w := range saved.Workspaces {
		l := loaded.Workspaces[k]
		if l.Key != k || l.Path != paths[k] || l.SID != w.SID || !l.Created.Equal(now) {
			t.Errorf("workspace %q: loaded %+v, saved %+v", k, l, w)
		}
	}

	// The documented file format, readable by anything that reads JSON.
	path := filepath.Join(dir, FileName)
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var raw struct {
		Version    int    `json:"version"`
		Generic    string `json:"generic"`
		ReadOnly   string `json:"read_only"`
		Workspaces map[string]struct {
			SID, Path, Created string
		} `json:"workspaces"`
	}
	if err := json.Unmarshal(data, &raw); err != nil {
		t.Fatal(err)
	}
	if raw.Version != 1 || raw.Generic != saved.Generic.String() || raw.ReadOnly != saved.ReadOnly.String() {
		t.Errorf("file: %s", data)
	}
	if e := raw.Workspaces["c:/users/me/r&d"]; e.Path != `C:\Users\Me\R&D` || e.Created != "2025-01-02T03:04:05Z" || e.SID != saved.Workspaces["c:/users/me/r&d"].SID.String() {
		t.Errorf("entry %+v in %s", e, data)
	}
	if !bytes.Contains(data, []byte("R&D")) || !bytes.Contains(data, []byte("<c>")) {
		t.Errorf("paths HTML-escaped: %s", data)
	}

	// An Update that changes nothing does not rewrite the file.
	before, _ := os.Stat(path)
	if _, err := Update(ctx, dir, func(s *Store) error {
		_, err := s.EnsureBase()
		return err
	}); err != nil {
		t.Fatal(err)
	}
	after, _ := os.Stat(path)
	if !os.SameFile(before, after) {
		t.Error("no-op Update replaced the file")
	}
	checkDirFiles(t, dir)
}

// checkDirFiles fails if dir holds anything but the store and its lock
// (a leftover temporary file, say).
func checkDirFiles(t *testing.T, dir string) {
	t.Helper()
	ents, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range ents {
		if e.Name() != FileName && e.Name() != LockName {
			t.Errorf("unexpected file %s in the state directory", e.Name())
		}
	}
}

func TestMissing(t *testing.T) {
	root := testutil.TempDir(t)
	dir := filepath.Join(root, "absent")
	s, err := Load(ctx, dir)
	if err != nil || s.Version != Version || !s.Generic.IsZero() || !s.ReadOnly.IsZero() || len(s.Workspaces) != 0 {
		t.Fatalf("Load of a missing directory = %+v, %v; want an empty store", s, err)
	}
	if _, err := os.Stat(dir); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("Load created the directory: %v", err)
	}
	s, err = Load(ctx, root)
	if err != nil || !s.Generic.IsZero() || len(s.Workspaces) != 0 {
		t.Fatalf("Load of a directory without a store = %+v, %v", s, err)
	}
	// An Update that adds nothing creates no file.
	if _, err := Update(ctx, root, func(*Store) error { return nil }); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(root, FileName)); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("no-op Update created the store: %v", err)
	}
	if _, err := Load(ctx, ""); err == nil {
		t.Error("Load with an empty directory name succeeded")
	}
}

func TestCorrupt(t *testing.T) {
	const (
		g  = "S-1-5-21-1-2-3-4"
		r  = "S-1-5-21-5-6-7-8"
		w  = "S-1-5-21-9-10-11-12"
		ok = `"created":"2025-01-02T03:04:05Z"`
	)
	entry := func(sid string) string { return `{"sid":"` + sid + `","path":"/w",` + ok + `}` }
	for _, c := range []struct{ name, content, want string }{
		{"empty", "", "file is empty"},
		{"blank", " \n", "file is empty"},
		{"truncated", `{"version":1,`, "bad JSON at offset 13: the file ends inside the top-level object"},
		{"truncated value", `{"version":1,"generic":"S-1-5`, "bad JSON at offset 29: the file ends inside the top-level object"},
		{"syntax", `{"version":1,,}`, "bad JSON at offset 13"},
		{"trailing", `{"version":1} x`, "bad JSON at offset 14: data after the top-level object"},
		{"two values", `{"version":1}{}`, "bad JSON at offset 13: a second value"},
		{"array", `[]`, "want a JSON object at the top level, found an array"},
		{"null", `null`, "want a JSON object at the top level, found null"},
		{"newer version", `{"version":7,"generic":"` + g + `","shiny":{}}`, "unknown version 7"},
		{"version 0", `{"version":0}`, "unknown version 0"},
		{"no version", `{"generic":"` + g + `"}`, `missing or null field "version"`},
		{"string version", `{"version":"1"}`, `field "version": want an integer, found "1"`},
		{"fractional version", `{"version":1.5}`, `field "version": want an integer, found 1.5`},
		{"unknown field", `{"version":1,"extra":true}`, `unknown field "extra"`},
		{"wrong case", `{"version":1,"Generic":"` + g + `"}`, `unknown field "Generic"`},
		{"unknown entry field", `{"version":1,"workspaces":{"k":{"sid":"` + w + `","path":"/w",` + ok + `,"color":"red"}}}`, `unknown field "color" in workspace "k"`},
		{"duplicate top key", `{"version":1,"generic":"` + g + `","generic":"` + r + `"}`, `duplicate key "generic"`},
		{"duplicate workspace", `{"version":1,"workspaces":{"k":` + entry(w) + `,"k":` + entry(r) + `}}`, `duplicate key "k" in workspaces`},
		{"generic not a SID", `{"version":1,"generic":"hello"}`, `field "generic" is not a SID`},
		{"generic empty", `{"version":1,"generic":""}`, `field "generic" is not a SID`},
		{"generic number", `{"version":1,"generic":42}`, `field "generic" at offset`},
		{"generic well-known", `{"version":1,"generic":"S-1-5-32-544"}`, `field "generic": S-1-5-32-544 is not a capability SID`},
		{"read-only alias", `{"version":1,"read_only":"WD"}`, `field "read_only": S-1-1-0 is not a capability SID`},
		{"short SID", `{"version":1,"generic":"S-1-5-21-1-2-3"}`, `field "generic": S-1-5-21-1-2-3 is not a capability SID`},
		{"long SID", `{"version":1,"generic":"S-1-5-21-1-2-3-4-5"}`, `is not a capability SID`},
		{"workspace SID form", `{"version":1,"workspaces":{"k":` + entry("S-1-5-18") + `}}`, `workspace "k": field "sid": S-1-5-18 is not a capability SID`},
		{"workspace SID garbage", `{"version":1,"workspaces":{"k":` + entry("S-1-5-21-x") + `}}`, `workspace "k": field "sid" is not a SID`},
		{"workspaces array", `{"version":1,"workspaces":[]}`, `field "workspaces" at offset`},
		{"missing sid", `{"version":1,"workspaces":{"k":{"path":"/w",` + ok + `}}}`, `workspace "k": missing field "sid"`},
		{"missing path", `{"version":1,"workspaces":{"k":{"sid":"` + w + `",` + ok + `}}}`, `workspace "k": missing field "path"`},
		{"missing created", `{"version":1,"workspaces":{"k":{"sid":"` + w + `","path":"/w"}}}`, `workspace "k": missing field "created"`},
		{"bad created", `{"version":1,"workspaces":{"k":{"sid":"` + w + `","path":"/w","created":"yesterday"}}}`, `workspace "k": field "created": "yesterday" is not an RFC 3339 time`},
		{"empty path", `{"version":1,"workspaces":{"k":{"sid":"` + w + `","path":"",` + ok + `}}}`, `workspace "k": empty path`},
		{"empty key", `{"version":1,"workspaces":{"":` + entry(w) + `}}`, `empty key`},
		{"generic = read_only", `{"version":1,"generic":"` + g + `","read_only":"` + g + `"}`, `duplicate SID ` + g + `: used by field "generic" and by field "read_only"`},
		{"workspace = generic", `{"version":1,"generic":"` + g + `","workspaces":{"k":` + entry(g) + `}}`, `duplicate SID ` + g + `: used by field "generic" and by workspace "k"`},
		{"two workspaces", `{"version":1,"workspaces":{"a":` + entry(w) + `,"b":` + entry(w) + `}}`, `duplicate SID ` + w + `: used by workspace "a" and by workspace "b"`},
		{"same SID spelt twice", `{"version":1,"generic":"` + g + `","read_only":"s-1-5-21-01-2-3-4"}`, `duplicate SID ` + g},
	} {
		t.Run(c.name, func(t *testing.T) {
			dir := testutil.TempDir(t)
			path := filepath.Join(dir, FileName)
			if err := os.WriteFile(path, []byte(c.content), 0o600); err != nil {
				t.Fatal(err)
			}
			_, err := Load(ctx, dir)
			checkCorrupt(t, "Load", err, path, c.want)
			called := false
			_, err = Update(ctx, dir, func(s *Store) error {
				called = true
				_, err := s.EnsureBase()
				return err
			})
			checkCorrupt(t, "Update", err, path, c.want)
			if called {
				t.Error("Update called f on a damaged store")
			}
			if data, err := os.ReadFile(path); err != nil || string(data) != c.content {
				t.Errorf("file changed to %q (%v)", data, err)
			}
			checkDirFiles(t, dir)
		})
	}
}

func checkCorrupt(t *testing.T, op string, err error, path, want string) {
	t.Helper()
	var ce *CorruptError
	switch {
	case err == nil:
		t.Errorf("%s succeeded, want an error containing %q", op, want)
	case !errors.As(err, &ce) || ce.Path != path:
		t.Errorf("%s: %v is not a *CorruptError for %s", op, err, path)
	case !strings.Contains(err.Error(), path) || !strings.Contains(err.Error(), want):
		t.Errorf("%s: error\n\t%v\nwant it to name %s and contain\n\t%s", op, err, path, want)
	}
}

func TestUnreadable(t *testing.T) {
	dir := testutil.TempDir(t)
	path := filepath.Join(dir, FileName)
	if err := os.Mkdir(path, 0o700); err != nil { // a directory cannot be read as a file
		t.Fatal(err)
	}
	for _, op := range []string{"Load", "Update"} {
		var err error
		if op == "Load" {
			_, err = Load(ctx, dir)
		} else {
			_, err = Update(ctx, dir, func(s *Store) error { _, err := s.EnsureBase(); return err })
		}
		if err == nil || !strings.Contains(err.Error(), path) {
			t.Errorf("%s of an unreadable store: %v, want an error naming %s", op, err, path)
		}
	}
	if fi, err := os.Stat(path); err != nil || !fi.IsDir() {
		t.Errorf("the unreadable store was replaced: %v", err)
	}
}

func TestUpdateAborts(t *testing.T) {
	dir := testutil.TempDir(t)
	path := filepath.Join(dir, FileName)
	if _, err := Update(ctx, dir, func(s *Store) error { _, err := s.EnsureBase(); return err }); err != nil {
		t.Fatal(err)
	}
	orig, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	before, _ := os.Stat(path)
	check := func(what string) {
		t.Helper()
		data, _ := os.ReadFile(path)
		after, _ := os.Stat(path)
		if !bytes.Equal(data, orig) || !os.SameFile(before, after) {
			t.Errorf("%s: the store was rewritten", what)
		}
		checkDirFiles(t, dir)
	}

	errStop := errors.New("stop")
	s, err := Update(ctx, dir, func(s *Store) error {
		if _, _, err := s.EnsureWorkspace("/w", "/w", time.Now()); err != nil {
			return err
		}
		return errStop
	})
	if err != errStop || s != nil {
		t.Errorf("Update = %v, %v; want nil and f's error", s, err)
	}
	check("f failed")

	wd, _ := ntsec.ParseSID("WD")
	_, err = Update(ctx, dir, func(s *Store) error { s.Generic = wd; return nil })
	if err == nil || !strings.Contains(err.Error(), "not a capability SID") || !strings.Contains(err.Error(), path) {
		t.Errorf("Update to an invalid store: %v", err)
	}
	check("invalid result")

	_, err = Update(ctx, dir, func(s *Store) error { s.Version = 2; return nil })
	if err == nil || !strings.Contains(err.Error(), "unknown version 2") {
		t.Errorf("Update to version 2: %v", err)
	}
	check("version change")

	// A temporary file left by a crashed writer goes at the next write.
	stale := filepath.Join(dir, FileName+".tmp-123")
	if err := os.WriteFile(stale, []byte("{"), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := Update(ctx, dir, func(s *Store) error {
		_, _, err := s.EnsureWorkspace("/w", "/w", time.Now())
		return err
	}); err != nil {
		t.Fatal(err)
	}
	checkDirFiles(t, dir)
	got, err := Load(ctx, dir)
	if err != nil || !slices.Equal(slices.Collect(maps.Keys(got.Workspaces)), []string{"/w"}) {
		t.Errorf("after the write: %+v, %v", got, err)
	}
}
