package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"

	"github.com/cordon-sandbox/cordon/internal/cachelayer"
	"github.com/cordon-sandbox/cordon/internal/testutil"
	"github.com/cordon-sandbox/cordon/policy"
)

// cordon cache list shows a workspace's variable directories kept outside
// cache/<key> (the Windows backend's, below the workspace's own temp
// directory), and clear --workspace finds the workspace by the path the
// backends key it by, through a link to it too, and removes them.
func TestCacheCLIVarsElsewhere(t *testing.T) {
	state := testutil.TempDir(t)
	t.Setenv("CORDON_STATE_DIR", state)
	ws := testutil.TempDir(t)
	w := cachelayer.Open(state, layerKeyPath(ws))
	w.Vars = filepath.Join(state, "tmp", "0123456789abcdef", "cache")
	if err := os.MkdirAll(w.Dir, 0o700); err != nil {
		t.Fatal(err)
	}
	if err := w.Record([]policy.Cache{{Name: "go-build", Path: filepath.Join(ws, "..", "go-build"), Var: "GOCACHE"}}); err != nil {
		t.Fatal(err)
	}
	if err := os.MkdirAll(w.VarDir("GOCACHE"), 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(w.VarDir("GOCACHE"), "entry"), []byte("1234"), 0o600); err != nil {
		t.Fatal(err)
	}
	code, out, errOut := runCLI(t, "", "cache", "list", "--json")
	var got struct {
		Workspaces []cachelayer.Usage `json:"workspaces"`
	}
	if code != 0 || json.Unmarshal([]byte(out), &got) != nil || len(got.Workspaces) != 1 || got.Workspaces[0].Bytes != 4 ||
		len(got.Workspaces[0].Layers) != 1 || got.Workspaces[0].Layers[0].Name != "vars/GOCACHE" {
		t.Fatalf("cache list: exit %d %s%s", code, out, errOut)
	}
	dir := ws
	if runtime.GOOS != "windows" {
		dir = filepath.Join(testutil.TempDir(t), "link")
		if err := os.Symlink(ws, dir); err != nil {
			t.Fatal(err)
		}
	}
	code, out, errOut = runCLI(t, "", "cache", "clear", "--workspace", dir)
	if code != 0 || strings.TrimSpace(out) != "cleared "+w.Key {
		t.Errorf("cache clear --workspace: exit %d %s%s", code, out, errOut)
	}
	for _, gone := range []string{w.Vars, w.Dir} {
		if _, err := os.Stat(gone); !os.IsNotExist(err) {
			t.Errorf("%s left: %v", gone, err)
		}
	}
}
