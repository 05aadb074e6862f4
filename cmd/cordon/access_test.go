package main

import (
	"github.com/cordon-sandbox/cordon/internal/testutil"

	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

const (
	sandboxTok = `{"user":"S-1-5-21-1-2-3-1001","groups":["WD","BU",{"sid":"S-1-5-5-0-4660","attributes":["enabled","logon_id"]}],"restricted_sids":["S-1-5-21-7-7-7-7","S-1-5-5-0-4660","WD"],"write_restricted":true}`
	workspace  = `O:S-1-5-21-1-2-3-1001D:(A;OICI;FA;;;S-1-5-21-7-7-7-7)(A;OICI;FA;;;S-1-5-21-1-2-3-1001)`
	gitDir     = `O:S-1-5-21-1-2-3-1001D:(D;OICI;0xd0156;;;S-1-5-21-7-7-7-7)(A;OICI;FA;;;S-1-5-21-7-7-7-7)(A;OICI;FA;;;S-1-5-21-1-2-3-1001)`
)

func runCLI(t *testing.T, stdin string, args ...string) (int, string, string) {
	t.Helper()
	var out, errb bytes.Buffer
	code := run(args, strings.NewReader(stdin), &out, &errb)
	return code, out.String(), errb.String()
}

func TestAccessExitCodes(t *testing.T) {
	code, out, _ := runCLI(t, "", "access", "--sddl", workspace, "--token", sandboxTok, "--desired", "FW")
	if code != 0 || !strings.HasPrefix(out, "ALLOWED") {
		t.Errorf("workspace write: code %d\n%s", code, out)
	}
	code, out, _ = runCLI(t, "", "access", "--sddl", gitDir, "--token", sandboxTok, "--desired", "0x4", "--object", "directory")
	if code != 1 || !strings.HasPrefix(out, "DENIED") || !strings.Contains(out, "ADD_SUBDIRECTORY") || !strings.Contains(out, "restricted deny by ACE 0 (D;OICI;") {
		t.Errorf(".git mkdir: code %d\n%s", code, out)
	}
	code, out, _ = runCLI(t, "", "access", "--sddl", gitDir, "--token", sandboxTok, "--desired", "MA")
	if code != 0 || !strings.Contains(out, "granted 0x001200a9") {
		t.Errorf("maximum allowed on .git: code %d\n%s", code, out)
	}
}

func TestAccessJSON(t *testing.T) {
	code, out, errOut := runCLI(t, "", "access", "--sddl", gitDir, "--token", sandboxTok, "--desired", "FR", "--json")
	if code != 0 {
		t.Fatalf("code %d, stderr %s", code, errOut)
	}
	var got struct {
		Granted, Desired string
		Allowed          bool
		Trace            []struct {
			Right   string
			Granted bool
			Steps   []struct {
				Pass, Effect string
				ACE          int
			}
		}
	}
	if err := json.Unmarshal([]byte(out), &got); err != nil {
		t.Fatalf("bad JSON %v:\n%s", err, out)
	}
	if got.Granted != "0x00120089" || got.Desired != "0x00120089" || !got.Allowed || len(got.Trace) != 5 {
		t.Errorf("JSON result: %+v", got)
	}
	if s := got.Trace[0].Steps[0]; got.Trace[0].Right != "READ_DATA" || s.Pass != "dacl" || s.Effect != "grant" || s.ACE != 2 {
		t.Errorf("first trace entry: %+v", got.Trace[0])
	}
}

func TestAccessFilesAndStdin(t *testing.T) {
	dir := testutil.TempDir(t)
	sdFile := filepath.Join(dir, "sd.sddl")
	if err := os.WriteFile(sdFile, []byte(workspace+"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	code, out, errOut := runCLI(t, sandboxTok, "access", "--sddl", "@"+sdFile, "--token", "@-", "--desired", "SD")
	if code != 0 {
		t.Errorf("@file and @-: code %d\n%s%s", code, out, errOut)
	}
}

func TestAccessBadInput(t *testing.T) {
	cases := []struct {
		args []string
		want string
	}{
		{[]string{"access"}, "usage: --sddl is required"},
		{[]string{"access", "--sddl", "D:", "--token", sandboxTok}, "usage: --desired is required"},
		{[]string{"access", "--sddl", "D:(A;;FA;;;SY", "--token", sandboxTok, "--desired", "FR"}, "bad_sddl: --sddl: SDDL D: unterminated ACE"},
		{[]string{"access", "--sddl", "D:(AU;SA;FA;;;SY)", "--token", sandboxTok, "--desired", "FR"}, "bad_sddl"},
		{[]string{"access", "--sddl", "@/nonexistent/sd", "--token", sandboxTok, "--desired", "FR"}, "bad_sddl: --sddl: open /nonexistent/sd"},
		{[]string{"access", "--sddl", "D:", "--token", `{"user":"SY","groups":[{"sid":"WD","attributes":["sticky"]}]}`, "--desired", "FR"}, "bad_token: --token: token: groups[0]: unknown attribute \"sticky\""},
		{[]string{"access", "--sddl", "D:", "--token", `{"usr":"SY"}`, "--desired", "FR"}, "unknown field \"usr\""},
		{[]string{"access", "--sddl", "D:", "--token", `{"user":"SY"}`, "--desired", "QQ"}, "bad_rights: --desired: access rights \"QQ\": unknown right \"QQ\""},
		{[]string{"access", "--sddl", "D:", "--token", `{"user":"SY"}`, "--desired", "0x0"}, "bad_rights"},
		{[]string{"access", "--sddl", "D:", "--token", `{"user":"SY"}`, "--desired", "FR", "--object", "pipe"}, "--object: \"pipe\""},
		{[]string{"access", "--bogus"}, "usage: flag provided but not defined: -bogus"},
		{[]string{"access", "--sddl", "D:", "--token", `{"user":"SY"}`, "--desired", "FR", "extra"}, "unexpected argument \"extra\""},
		{[]string{"frobnicate"}, "unknown command \"frobnicate\""},
		{nil, "usage: cordon"},
	}
	for _, c := range cases {
		code, out, errOut := runCLI(t, "", c.args...)
		if code != 2 {
			t.Errorf("%v: exit %d, want 2 (stdout %q)", c.args, code, out)
		}
		if !strings.Contains(errOut, c.want) {
			t.Errorf("%v: stderr %q does not contain %q", c.args, errOut, c.want)
		}
		if first := strings.SplitN(errOut, "\n", 2)[0]; c.args != nil && !strings.HasPrefix(first, "cordon: ") {
			t.Errorf("%v: first stderr line %q lacks the cordon: CODE: prefix", c.args, first)
		}
	}
	if code, out, _ := runCLI(t, "", "access", "-h"); code != 0 || !strings.Contains(out, "--desired RIGHTS") {
		t.Errorf("access -h: %d %q", code, out)
	}
}
