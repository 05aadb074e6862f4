package main

import (
	"context"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"

	"github.com/cordon-sandbox/cordon/internal/acelog"
	"github.com/cordon-sandbox/cordon/internal/aclplan"
	"github.com/cordon-sandbox/cordon/internal/testutil"
	"github.com/cordon-sandbox/cordon/ntsec"
)

func TestCleanupCLI(t *testing.T) {
	state := testutil.TempDir(t)
	t.Setenv("CORDON_STATE_DIR", state)
	if code, out, errOut := runCLI(t, "", "cleanup"); code != 0 || !strings.Contains(out, "nothing to clean up") {
		t.Fatalf("empty record: exit %d %s%s", code, out, errOut)
	}
	if code, _, errOut := runCLI(t, "", "cleanup", "now"); code != 2 || !strings.Contains(errOut, "cordon: usage:") {
		t.Errorf("extra argument: exit %d %s", code, errOut)
	}
	ws, err := ntsec.ParseSID("S-1-5-21-11-11-11-11")
	if err != nil {
		t.Fatal(err)
	}
	// Objects that do not exist (any more): cleanup has nothing to undo
	// on them, and must still empty the record.
	gone := `C:\cordon-test-gone\ws`
	edits := []aclplan.Edit{
		{Op: aclplan.CreateDir, Path: gone + `\.codex`, ACE: ntsec.ACE{Type: ntsec.AccessDenied, Flags: ntsec.ObjectInherit | ntsec.ContainerInherit, Mask: aclplan.DenyWriteMask, SID: ws}, Owner: ws},
		{Op: aclplan.AddACE, Path: gone, ACE: ntsec.ACE{Type: ntsec.AccessAllowed, Flags: ntsec.ObjectInherit | ntsec.ContainerInherit, Mask: aclplan.AllowMask, SID: ws}},
	}
	if _, err := acelog.Record(context.Background(), state, edits); err != nil {
		t.Fatal(err)
	}
	record := filepath.Join(state, acelog.FileName)
	before, _ := os.ReadFile(record)
	code, out, errOut := runCLI(t, "", "cleanup", "--dry-run")
	if code != 0 || !strings.Contains(out, "3 edits (dry run") ||
		strings.Index(out, "remove "+gone) > strings.Index(out, "remove-dir "+gone+`\.codex`) {
		t.Errorf("dry run: exit %d\n%s%s", code, out, errOut)
	}
	if code, out, _ := runCLI(t, "", "cleanup", "--dry-run", "--json"); code != 0 || !strings.Contains(out, `"dry_run": true`) || !strings.Contains(out, `"op": "remove-dir"`) {
		t.Errorf("dry run --json: exit %d\n%s", code, out)
	}
	if after, _ := os.ReadFile(record); string(after) != string(before) {
		t.Error("the dry run changed the record")
	}
	code, out, errOut = runCLI(t, "", "cleanup")
	left, err := acelog.Load(context.Background(), state)
	if err != nil {
		t.Fatal(err)
	}
	if runtime.GOOS == "windows" {
		if code != 0 || len(left) != 0 {
			t.Errorf("cleanup: exit %d, %d entries left\n%s%s", code, len(left), out, errOut)
		}
	} else if code != 1 || !strings.Contains(errOut, "cordon: unavailable:") || len(left) != 2 {
		t.Errorf("cleanup off Windows: exit %d, %d entries left (want 1, all kept)\n%s", code, len(left), errOut)
	}
	os.WriteFile(record, []byte("{"), 0o600)
	if code, _, errOut := runCLI(t, "", "cleanup"); code != 2 || !strings.Contains(errOut, "bad_record") {
		t.Errorf("damaged record: exit %d %s", code, errOut)
	}
}
