package main

import (
	"bytes"
	"encoding/json"
	"runtime"
	"strings"
	"testing"

	"github.com/cordon-sandbox/cordon/internal/testutil"
)

func TestSetupBadInput(t *testing.T) {
	for _, args := range [][]string{{"setup", "extra"}, {"setup", "--nope"}} {
		var out, errb bytes.Buffer
		if code := run(args, nil, &out, &errb); code != exitBadInput || !strings.HasPrefix(errb.String(), "cordon: usage: ") {
			t.Errorf("%q: exit %d, stderr %q", args, code, errb.String())
		}
	}
}

// Off Windows there are no sandbox users: a coded refusal that says what
// to do, in text and in --json, and nothing is done.
func TestSetupUnsupportedOffWindows(t *testing.T) {
	if runtime.GOOS == "windows" {
		t.Skip("Windows has sandbox users")
	}
	t.Setenv("CORDON_STATE_DIR", testutil.TempDir(t))
	var out, errb bytes.Buffer
	if code := run([]string{"setup"}, nil, &out, &errb); code != exitNo ||
		!strings.HasPrefix(errb.String(), "cordon: setup_unsupported: ") || !strings.Contains(errb.String(), "what to do: ") {
		t.Errorf("exit %d, stderr %q", code, errb.String())
	}
	out.Reset()
	errb.Reset()
	if code := run([]string{"setup", "--json", "--dry-run"}, nil, &out, &errb); code != exitNo {
		t.Errorf("--json: exit %d", code)
	}
	var res struct {
		Planned []string `json:"planned"`
		Done    int      `json:"done"`
	}
	if err := json.Unmarshal(out.Bytes(), &res); err != nil || res.Planned == nil || res.Done != 0 {
		t.Errorf("--json output %q: %v", out.String(), err)
	}
}
