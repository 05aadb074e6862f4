package cachelayer

import (
	"encoding/json"
	"os"
	"path/filepath"
	"slices"
	"testing"

	"github.com/cordon-sandbox/cordon/internal/testutil"
	"github.com/cordon-sandbox/cordon/policy"
)

// The variables' directories kept elsewhere in the state directory (the
// Windows backend's, below the workspace's own temp directory) are listed
// and cleared with the workspace; the temp directory itself stays.
func TestVarsElsewhere(t *testing.T) {
	state := testutil.TempDir(t)
	temp := filepath.Join(state, "tmp", "0123456789abcdef")
	w := Open(state, `C:\src\a`)
	w.Vars = filepath.Join(temp, "cache")
	mkdir(t, w.Dir)
	if err := w.Record([]policy.Cache{{Name: "go-build", Path: `C:\Users\me\AppData\Local\go-build`, Var: "GOCACHE"}}); err != nil {
		t.Fatal(err)
	}
	if got := w.VarDir("GOCACHE"); got != filepath.Join(temp, "cache", "GOCACHE") {
		t.Errorf("VarDir = %s", got)
	}
	write(t, filepath.Join(w.VarDir("GOCACHE"), "00", "entry"), "12345")
	write(t, filepath.Join(w.VarDir("npm_config_cache"), "x"), "1")
	write(t, filepath.Join(temp, "build.log"), "the command's own temp file")

	us, err := List(state)
	if err != nil || len(us) != 1 {
		t.Fatalf("List = %+v, %v", us, err)
	}
	var names []string
	for _, l := range us[0].Layers {
		names = append(names, l.Name)
	}
	if us[0].Workspace != `C:\src\a` || us[0].Bytes != 6 || !slices.Equal(names, []string{"vars/GOCACHE", "vars/npm_config_cache"}) ||
		us[0].Layers[0].Cache != `C:\Users\me\AppData\Local\go-build` {
		t.Errorf("List = %+v", us[0])
	}
	cleared, err := Clear(state, w.Key)
	if err != nil || !slices.Equal(cleared, []string{w.Key}) {
		t.Fatalf("Clear = %v, %v", cleared, err)
	}
	for _, gone := range []string{w.Vars, w.Dir} {
		if _, err := os.Lstat(gone); !os.IsNotExist(err) {
			t.Errorf("%s left: %v", gone, err)
		}
	}
	if _, err := os.Stat(filepath.Join(temp, "build.log")); err != nil {
		t.Errorf("the temp directory's own file went too: %v", err)
	}
}

// Record refuses a variables' directory outside the state directory, and
// Clear removes nothing outside it, whatever workspace.json says.
func TestVarsOutsideTheStateDirectory(t *testing.T) {
	state, outside := testutil.TempDir(t), testutil.TempDir(t)
	w := Open(state, "/work/a")
	w.Vars = outside
	mkdir(t, w.Dir)
	if err := w.Record(nil); err == nil {
		t.Error("Record took a directory outside the state directory")
	}
	write(t, filepath.Join(outside, "GOCACHE", "keep"), "x")
	for _, vars := range []string{"../" + filepath.Base(outside), filepath.ToSlash(outside)} {
		b, _ := json.Marshal(info{Workspace: "/work/a", Caches: map[string]string{}, Vars: vars})
		write(t, filepath.Join(w.Dir, "workspace.json"), string(b))
		if us, _ := List(state); len(us) != 1 || len(us[0].Layers) != 0 {
			t.Errorf("vars %q: List = %+v", vars, us)
		}
		if _, err := Clear(state, w.Key); err != nil {
			t.Fatal(err)
		}
		if _, err := os.Stat(filepath.Join(outside, "GOCACHE", "keep")); err != nil {
			t.Fatalf("vars %q: Clear removed a file outside the state directory: %v", vars, err)
		}
		mkdir(t, w.Dir)
	}
}
