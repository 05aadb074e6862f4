package sandboxusers

import (
	"errors"
	"github.com/cordon-sandbox/cordon/internal/testutil"
	"path/filepath"
	"testing"
)

func TestResultCarriesTheCodeAcross(t *testing.T) {
	path := filepath.Join(testutil.TempDir(t), "result.json")
	r := Report{Planned: []Action{{Kind: CreateGroup, Group: Group{Name: GroupName}}}, Done: 0}
	cause := &Error{Code: CodePasswordPolicy, Op: "create user x", Err: errors.New("too short")}
	if err := WriteResult(path, r, "- create group\n", cause); err != nil {
		t.Fatal(err)
	}
	res, err := ReadResult(path)
	if ErrorCode(err) != CodePasswordPolicy || res.Hint != cause.Hint() || res.Output != "- create group\n" || len(res.Planned) != 1 {
		t.Fatalf("got %+v, %v", res, err)
	}
	if err := WriteResult(path, Report{}, "ok", nil); err != nil {
		t.Fatal(err)
	}
	if _, err := ReadResult(path); err != nil {
		t.Fatalf("success read back as %v", err)
	}
	if _, err := ReadResult(filepath.Join(testutil.TempDir(t), "none")); ErrorCode(err) != CodeFailed {
		t.Fatalf("missing result: %v", err)
	}
}
