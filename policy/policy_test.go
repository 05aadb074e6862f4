package policy

import (
	"slices"

	"github.com/cordon-sandbox/cordon/internal/testutil"

	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

func TestParsePresetsAndJSON(t *testing.T) {
	for _, s := range []string{"read-only", "workspace-write", " workspace-write\n"} {
		p, err := Parse(s)
		if err != nil || string(p.Mode) != strings.TrimSpace(s) {
			t.Errorf("Parse(%q) = %+v, %v", s, p, err)
		}
	}
	p, err := Parse(`{"mode":"workspace-write","writable_roots":["../shared"],"exclude_tmp":true,"protected_names":[".env",".GIT"],"network":true}`)
	if err != nil {
		t.Fatal(err)
	}
	want := Policy{Mode: WorkspaceWrite, WritableRoots: []string{"../shared"}, ExcludeTmp: true, ProtectedNames: []string{".env", ".GIT"}, Network: true}
	if !reflect.DeepEqual(p, want) {
		t.Errorf("JSON policy = %+v", p)
	}
	// .GIT is a duplicate of .git on NTFS; the list keeps one.
	if got := p.Protected(); !reflect.DeepEqual(got, append(slices.Clone(DefaultProtectedNames), ".env")) {
		t.Errorf("Protected() = %v", got)
	}
	f := filepath.Join(testutil.TempDir(t), "p.json")
	os.WriteFile(f, []byte(`{"mode":"read-only"}`), 0o644)
	if p, err := Parse("@" + f); err != nil || p.Mode != ReadOnly {
		t.Errorf("@file: %+v %v", p, err)
	}
}

func TestParseErrors(t *testing.T) {
	cases := map[string]string{
		"full-access":                           `want read-only, workspace-write`,
		`{"mode":"workspace-write","colour":1}`: `unknown field "colour"`,
		`{}`:                                    `field "mode" is required`,
		`{"mode":"danger-full-access"}`:         `field "mode": "danger-full-access"`,
		`{"mode":"read-only","writable_roots":["x"]}`:          `field "writable_roots": a read-only policy`,
		`{"mode":"workspace-write","writable_roots":[""]}`:     `field "writable_roots"[0] is empty`,
		`{"mode":"workspace-write","writable_roots":"x"}`:      `field "writable_roots"`,
		`{"mode":"workspace-write","network":"yes"}`:           `field "network": want bool`,
		`{"mode":"workspace-write","protected_names":["a/b"]}`: `field "protected_names"[0]`,
		`{"mode":"workspace-write","protected_names":[".."]}`:  `field "protected_names"[0]`,
		`{"mode":"workspace-write"} x`:                         `trailing data`,
		"@/nonexistent/policy.json":                            `policy file`,
	}
	for in, want := range cases {
		_, err := Parse(in)
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("Parse(%s) = %v, want error containing %q", in, err, want)
		}
	}
}

func TestResolveWindows(t *testing.T) {
	env := Env{Rules: Windows, Cwd: `c:/Users/me/ws`, TempDirs: []string{`C:\Users\me\AppData\Local\Temp`, `c:\users\ME\appdata\local\temp\`}}
	p := Policy{Mode: WorkspaceWrite, WritableRoots: []string{`..\shared`, `D:\data`}}
	r, err := p.Resolve(env)
	if err != nil {
		t.Fatal(err)
	}
	want := []Root{
		{`C:\Users\me\ws`, RootCwd},
		{`C:\Users\me\AppData\Local\Temp`, RootTemp},
		{`C:\Users\me\shared`, RootExtra},
		{`D:\data`, RootExtra},
	}
	if !reflect.DeepEqual(r.Roots, want) {
		t.Errorf("roots = %v", r.Roots)
	}
	if root, ok := r.RootOf(`C:\USERS\ME\WS\src\x.go`); !ok || root.Kind != RootCwd {
		t.Errorf("RootOf = %v %v", root, ok)
	}
	if _, ok := r.RootOf(`C:\Users\me\ws2\x`); ok {
		t.Error("ws2 reported inside ws")
	}
	ro, err := Policy{Mode: ReadOnly}.Resolve(env)
	if err != nil || len(ro.Roots) != 0 || ro.Cwd != `C:\Users\me\ws` {
		t.Errorf("read-only: %+v %v", ro, err)
	}
	ex, _ := Policy{Mode: WorkspaceWrite, ExcludeTmp: true}.Resolve(env)
	if len(ex.Roots) != 1 {
		t.Errorf("exclude_tmp kept %v", ex.Roots)
	}
}

func TestResolveErrors(t *testing.T) {
	env := Env{Rules: Windows, Cwd: `C:\Users\me\ws`, TempDirs: []string{`C:\Users\me\ws\tmp`}}
	cases := []struct {
		p    Policy
		env  Env
		want string
	}{
		{Policy{Mode: WorkspaceWrite, ExcludeTmp: true, WritableRoots: []string{`C:\Users`}}, env, "overlap"},
		{Policy{Mode: WorkspaceWrite, ExcludeTmp: true, WritableRoots: []string{`C:x`}}, env, `field "writable_roots"[0] "C:x"`},
		{Policy{Mode: WorkspaceWrite, ExcludeTmp: true, WritableRoots: []string{`\\.\pipe\x`}}, env, `not a directory path`},
		{Policy{Mode: WorkspaceWrite, Cwd: `ws`}, Env{Rules: Windows}, `cwd "ws"`},
		{Policy{Mode: ReadOnly}, Env{Rules: Windows}, "no cwd"},
		{Policy{Mode: ReadOnly}, Env{}, "no path rules"},
	}
	for _, c := range cases {
		_, err := c.p.Resolve(c.env)
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("Resolve(%+v) = %v, want %q", c.p, err, c.want)
		}
	}
}

// A temp directory may contain the workspace, as TMPDIR=/tmp does for a
// checkout in /tmp; the cwd and extra roots may not overlap.
func TestResolveTempOverlap(t *testing.T) {
	r, err := Policy{Mode: WorkspaceWrite}.Resolve(Env{Rules: POSIX, Cwd: "/tmp/ws", TempDirs: []string{"/tmp"}})
	if err != nil {
		t.Fatal(err)
	}
	if got := r.RootsOf("/tmp/ws/x"); len(got) != 2 || got[0].Path != "/tmp" || got[1].Path != "/tmp/ws" {
		t.Errorf("RootsOf = %v", got)
	}
	if root, _ := r.RootOf("/tmp/ws/x"); root.Kind != RootCwd {
		t.Errorf("RootOf = %v", root)
	}
	if _, err := (Policy{Mode: WorkspaceWrite, WritableRoots: []string{"/tmp/ws/sub"}}).Resolve(Env{Rules: POSIX, Cwd: "/tmp/ws"}); err == nil {
		t.Error("extra root inside the cwd accepted")
	}
}

func TestResolvePOSIX(t *testing.T) {
	r, err := Policy{Mode: WorkspaceWrite, WritableRoots: []string{"../shared/"}}.Resolve(Env{Rules: POSIX, Cwd: "/home/me/ws", TempDirs: []string{"/tmp"}})
	if err != nil {
		t.Fatal(err)
	}
	want := []Root{{"/home/me/ws", RootCwd}, {"/tmp", RootTemp}, {"/home/me/shared", RootExtra}}
	if !reflect.DeepEqual(r.Roots, want) {
		t.Errorf("roots = %v", r.Roots)
	}
	if POSIX.Within("/home/me/wsx", "/home/me/ws") || !POSIX.Within("/home/me/ws/a", "/home/me/ws") || !POSIX.Within("/x", "/") {
		t.Error("POSIX Within")
	}
	if _, err := (Policy{Mode: ReadOnly, Cwd: "rel"}).Resolve(Env{Rules: POSIX}); err == nil {
		t.Error("relative cwd accepted")
	}
}

// Env.Canonical resolves aliases before the overlap checks: a short name
// and a junction that name the same directory as another root are caught,
// and relative extra roots are joined to the cwd as the user gave it.
func TestResolveCanonical(t *testing.T) {
	aliases := map[string]string{
		`C:\Users\RUNNER~1\ws`:  `C:\Users\runneradmin\ws`,
		`C:\link`:               `D:\real\ws`,
		`C:\Users\RUNNER~1\tmp`: `C:\Users\runneradmin\tmp`,
		`C:\extra-link`:         `C:\Users\runneradmin\ws\sub`,
	}
	canon := func(p string) string {
		if c, ok := aliases[p]; ok {
			return c
		}
		return p
	}
	env := Env{Rules: Windows, Cwd: `C:\Users\RUNNER~1\ws`, TempDirs: []string{`C:\Users\RUNNER~1\tmp`}, Canonical: canon}
	r, err := Policy{Mode: WorkspaceWrite}.Resolve(env)
	if err != nil {
		t.Fatal(err)
	}
	if r.Cwd != `C:\Users\runneradmin\ws` || r.Roots[1].Path != `C:\Users\runneradmin\tmp` {
		t.Errorf("roots %v, cwd %s", r.Roots, r.Cwd)
	}
	// An extra root that is the workspace's subdirectory under another
	// name overlaps it.
	if _, err := (Policy{Mode: WorkspaceWrite, WritableRoots: []string{`C:\extra-link`}}).Resolve(env); err == nil || !strings.Contains(err.Error(), "overlap") {
		t.Errorf("aliased overlapping root: %v", err)
	}
	// A cwd that is a junction: ..\x means next to the junction, as typed.
	j := Env{Rules: Windows, Cwd: `C:\link`, Canonical: canon}
	r, err = Policy{Mode: WorkspaceWrite, ExcludeTmp: true, WritableRoots: []string{`..\x`}}.Resolve(j)
	if err != nil || r.Cwd != `D:\real\ws` || r.Roots[1].Path != `C:\x` {
		t.Errorf("junction cwd: %+v, %v", r, err)
	}
}
