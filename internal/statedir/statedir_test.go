package statedir

import (
	"path/filepath"
	"runtime"
	"strings"
	"testing"
)

func TestDir(t *testing.T) {
	base, err := filepath.Abs("statebase") // absolute on the host OS
	if err != nil {
		t.Fatal(err)
	}
	t.Setenv(Env, base)
	if d, err := Dir(); err != nil || d != base {
		t.Errorf("with %s: Dir = %q, %v; want %q", Env, d, err, base)
	}
	t.Setenv(Env, "relative/state")
	if _, err := Dir(); err == nil || !strings.Contains(err.Error(), Env) {
		t.Errorf("relative %s: err = %v", Env, err)
	}
	t.Setenv(Env, "")
	xdg, home, local := filepath.Join(base, "xdg"), filepath.Join(base, "home"), filepath.Join(base, "local")
	t.Setenv("XDG_STATE_HOME", xdg)
	t.Setenv("HOME", home)
	t.Setenv("LOCALAPPDATA", local)
	want := filepath.Join(xdg, "cordon")
	if runtime.GOOS == "windows" {
		want = filepath.Join(local, "cordon")
	}
	if d, err := Dir(); err != nil || d != want {
		t.Errorf("Dir = %q, %v; want %q", d, err, want)
	}

	// Every OS's rules, through the same function with a fake environment.
	for _, c := range []struct {
		goos string
		env  map[string]string
		want string // a path, or the error must mention this variable
		err  bool
	}{
		{"linux", map[string]string{Env: base, "XDG_STATE_HOME": xdg}, base, false},
		{"linux", map[string]string{"XDG_STATE_HOME": xdg, "HOME": home}, filepath.Join(xdg, "cordon"), false},
		{"linux", map[string]string{"XDG_STATE_HOME": "rel", "HOME": home}, filepath.Join(home, ".local", "state", "cordon"), false},
		{"darwin", map[string]string{"HOME": home}, filepath.Join(home, ".local", "state", "cordon"), false},
		{"linux", map[string]string{}, "HOME", true},
		{"linux", map[string]string{"HOME": "rel"}, "HOME", true},
		{"windows", map[string]string{"LOCALAPPDATA": local, "XDG_STATE_HOME": xdg}, filepath.Join(local, "cordon"), false},
		{"windows", map[string]string{Env: base, "LOCALAPPDATA": local}, base, false},
		{"windows", map[string]string{"HOME": home}, "LOCALAPPDATA", true},
	} {
		d, err := dir(c.goos, func(k string) string { return c.env[k] })
		switch {
		case c.err && (err == nil || !strings.Contains(err.Error(), c.want)):
			t.Errorf("%s %v: dir = %q, %v; want an error naming %s", c.goos, c.env, d, err, c.want)
		case !c.err && (err != nil || d != c.want):
			t.Errorf("%s %v: dir = %q, %v; want %q", c.goos, c.env, d, err, c.want)
		}
	}
}
