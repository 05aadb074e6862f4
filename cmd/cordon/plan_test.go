package main

import (
	"github.com/cordon-sandbox/cordon/internal/testutil"
	"github.com/cordon-sandbox/cordon/policy"

	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

var planFlags = []string{"--cwd", `C:\Users\me\ws`, "--temp", `C:\Users\me\AppData\Local\Temp`, "--tree", "testdata/machine.json",
	"--sid-workspace", "S-1-5-21-11-11-11-11", "--sid-generic", "S-1-5-21-22-22-22-22", "--sid-readonly", "S-1-5-21-33-33-33-33", "--sid-other", "S-1-5-21-44-44-44-44"}

func TestPlanCLI(t *testing.T) {
	code, out, errOut := runCLI(t, "", append([]string{"plan", "--json"}, planFlags...)...)
	if code != 0 {
		t.Fatalf("exit %d: %s%s", code, out, errOut)
	}
	var got struct {
		Edits []struct{ Op, Path, SID, Type, Mask, Flags, ACE, Reason string }
		Audit struct {
			Checked  int
			Flagged  []string
			Complete bool
		}
		Proof struct {
			OK     bool
			Nodes  int
			Writes int
		}
	}
	if err := json.Unmarshal([]byte(out), &got); err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	// The tree's 25 nodes, and a placeholder for each protected name but
	// .git in the workspace and for each in the temp directory.
	nodes := 25 + len(policy.DefaultProtectedNames) - 1 + len(policy.DefaultProtectedNames)
	if len(got.Edits) == 0 || !got.Proof.OK || got.Proof.Nodes != nodes || !got.Audit.Complete {
		t.Errorf("plan: %+v", got)
	}
	last := got.Edits[len(got.Edits)-1]
	if last.Op != "label" || last.Type != "label" || last.ACE != "(ML;OICI;NW;;;LW)" || last.Flags != "OICI" {
		t.Errorf("last edit %+v", last)
	}
	if grant := got.Edits[len(got.Edits)-2]; grant.Type != "allow" || grant.Mask != "0x001301bf" || grant.Flags != "OICI" {
		t.Errorf("grant %+v", grant)
	}
	// Read-only at Low integrity: nothing to write at all, whatever the
	// audit sees.
	code, out, _ = runCLI(t, "", append([]string{"plan", "--policy", "read-only", "--audit-depth", "1"}, planFlags...)...)
	if code != 0 || !strings.Contains(out, "0 edits") || !strings.Contains(out, "proof: PROVEN") {
		t.Errorf("read-only, Low: exit %d\n%s", code, out)
	}
	// At Medium integrity the audit's denies hold world-writable folders,
	// and the proof fails when the audit cannot see the one two levels
	// down.
	code, out, _ = runCLI(t, "", append([]string{"plan", "--policy", "read-only", "--audit-depth", "1", "--medium-integrity", "--hypothesis", "H1/per-right/MA-split"}, planFlags...)...)
	if code != 1 || !strings.Contains(out, "proof: FAILED") || !strings.Contains(out, `C:\Users\Public\Shared`) {
		t.Errorf("shallow audit: exit %d\n%s", code, out)
	}
	code, out, _ = runCLI(t, "", append([]string{"plan", "--policy", "read-only"}, planFlags...)...)
	if code != 0 || strings.Contains(out, "(A;") {
		t.Errorf("read-only plan grants something: exit %d\n%s", code, out)
	}
}

func TestExplainCLI(t *testing.T) {
	code, out, errOut := runCLI(t, "", append([]string{"explain", `C:\Users\me\ws\.GIT\config`}, planFlags...)...)
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	// The Medium label on .git decides first; the capability SID's deny
	// is behind it (a Medium plan shows it deciding).
	if !strings.Contains(out, "read:             yes") || !strings.Contains(out, "write:            no") || !strings.Contains(out, "integrity deny (ML;ID;NW;;;ME)") {
		t.Errorf(".git/config:\n%s", out)
	}
	code, out, _ = runCLI(t, "", append([]string{"explain", `C:\Users\me\ws\.GIT\config`, "--medium-integrity"}, planFlags...)...)
	if code != 0 || !strings.Contains(out, "write:            no") || !strings.Contains(out, "restricted deny") {
		t.Errorf(".git/config, Medium:\n%s", out)
	}
	code, out, _ = runCLI(t, "", append([]string{"explain", `C:\Users\me\ws\README.md`, "--json"}, planFlags...)...)
	var got struct {
		Verdicts []struct {
			Question string
			Allowed  bool
		}
	}
	if code != 0 || json.Unmarshal([]byte(out), &got) != nil || len(got.Verdicts) != 4 || !got.Verdicts[1].Allowed {
		t.Errorf("README.md: exit %d\n%s", code, out)
	}
	code, out, _ = runCLI(t, "", append([]string{"explain", `C:\Users\me\secrets.txt`}, planFlags...)...)
	if code != 0 || !strings.Contains(out, "write:            no") {
		t.Errorf("secrets.txt outside the workspace:\n%s", out)
	}
}

func TestPlanBadInput(t *testing.T) {
	dir := testutil.TempDir(t)
	bad := filepath.Join(dir, "bad.json")
	os.WriteFile(bad, []byte(`[{"path":"C:\\x","type":"directory","sddl":"O:SYD:"}]`), 0o644)
	cases := []struct {
		args []string
		want string
	}{
		{[]string{"plan", "--tree", "testdata/machine.json"}, "usage: --cwd is required"},
		{[]string{"plan", "--cwd", `C:\ws`}, "usage: --tree is required"},
		{[]string{"plan", "--cwd", `C:\Users\me\ws`, "--tree", bad}, `bad_tree: --tree ` + bad + `: snapshot entry 0: add "C:\\x": parent C:\ is not present`},
		{[]string{"plan", "--cwd", `C:\Users\me\ws`, "--tree", "/nonexistent"}, "bad_tree: --tree: open /nonexistent"},
		{[]string{"plan", "--cwd", `C:\Users\me\nope`, "--tree", "testdata/machine.json"}, `bad_tree: cwd C:\Users\me\nope does not exist`},
		{[]string{"plan", "--cwd", `C:\Users\me\ws`, "--tree", "testdata/machine.json", "--policy", `{"mode":"x"}`}, `bad_policy: --policy: policy: field "mode": "x"`},
		{[]string{"plan", "--cwd", `C:\Users\me\ws`, "--tree", "testdata/machine.json", "--writable-root", `C:\Users\me\ws\src`}, "bad_policy: policy: writable roots overlap"},
		{[]string{"plan", "--cwd", `C:\Users\me\ws`, "--tree", "testdata/machine.json", "--policy", "read-only", "--writable-root", `C:\x`}, "a read-only policy has no writable roots"},
		{[]string{"plan", "--cwd", `C:\Users\me\ws`, "--tree", "testdata/machine.json", "--sid-generic", "nope"}, "usage: --sid-generic"},
		{[]string{"plan", "--cwd", "relative", "--tree", "testdata/machine.json"}, `bad_policy: policy: cwd "relative"`},
		{[]string{"explain", "--cwd", `C:\Users\me\ws`, "--tree", "testdata/machine.json"}, "usage: PATH is required"},
		{[]string{"explain", `C:\nope`, "--cwd", `C:\Users\me\ws`, "--tree", "testdata/machine.json"}, `bad_path: C:\nope is not in the tree`},
		{[]string{"sids"}, "sids needs list or gc"},
		{[]string{"sids", "frob"}, `unknown sids command "frob"`},
	}
	for _, c := range cases {
		code, _, errOut := runCLI(t, "", c.args...)
		if code != 2 || !strings.Contains(errOut, c.want) {
			t.Errorf("%v: exit %d, stderr %q, want %q", c.args, code, errOut, c.want)
		}
	}
}

func TestSIDsCLI(t *testing.T) {
	state := testutil.TempDir(t)
	t.Setenv("CORDON_STATE_DIR", state)
	code, out, errOut := runCLI(t, "", "sids", "list")
	if code != 0 || !strings.Contains(out, "generic    (none yet)") {
		t.Fatalf("empty store: exit %d %s%s", code, out, errOut)
	}
	// A store naming a workspace that is gone from the snapshot.
	store := `{"version":1,"generic":"S-1-5-21-22-22-22-22","read_only":"S-1-5-21-33-33-33-33","workspaces":{` +
		`"C:\\USERS\\ME\\WS":{"sid":"S-1-5-21-11-11-11-11","path":"C:\\Users\\me\\ws","created":"2026-11-01T00:00:00Z"},` +
		`"C:\\USERS\\ME\\OLD":{"sid":"S-1-5-21-55-55-55-55","path":"C:\\Users\\me\\old","created":"2026-11-01T00:00:00Z"}}}`
	if err := os.WriteFile(filepath.Join(state, "capsids.json"), []byte(store), 0o644); err != nil {
		t.Fatal(err)
	}
	code, out, errOut = runCLI(t, "", "sids", "list", "--json")
	if code != 0 || !strings.Contains(out, "S-1-5-21-55-55-55-55") {
		t.Fatalf("list: %d %s%s", code, out, errOut)
	}
	code, out, _ = runCLI(t, "", "sids", "gc", "--dry-run", "--tree", "testdata/machine.json")
	if code != 0 || !strings.Contains(out, `would drop 1 workspace SIDs`) || !strings.Contains(out, `C:\Users\me\old`) {
		t.Errorf("gc dry run: %s", out)
	}
	before, _ := os.ReadFile(filepath.Join(state, "capsids.json"))
	if string(before) != store {
		t.Error("dry run changed the store")
	}
	code, out, _ = runCLI(t, "", "sids", "gc", "--tree", "testdata/machine.json", "--json")
	if code != 0 || !strings.Contains(out, `"removed"`) || !strings.Contains(out, "S-1-5-21-55-55-55-55") {
		t.Errorf("gc: %s", out)
	}
	code, out, _ = runCLI(t, "", "sids", "list")
	if code != 0 || strings.Contains(out, "S-1-5-21-55-55-55-55") || !strings.Contains(out, "S-1-5-21-11-11-11-11") {
		t.Errorf("after gc: %s", out)
	}
	os.WriteFile(filepath.Join(state, "capsids.json"), []byte(`{"version":1,`), 0o644)
	if code, _, errOut := runCLI(t, "", "sids", "list"); code != 2 || !strings.Contains(errOut, "bad_store") {
		t.Errorf("corrupt store: %d %s", code, errOut)
	}
}
