package main

import (
	"bytes"
	"strings"
	"testing"

	"github.com/cordon-sandbox/cordon/internal/testutil"
)

// A dry run plans and creates nothing; under Wine (an administrator whose
// SAM has no CordonSandbox* users) it plans both users.
func TestSetupDryRun(t *testing.T) {
	if !testutil.UnderWine() {
		testutil.RealWindows(t)
	}
	t.Setenv("CORDON_STATE_DIR", testutil.TempDir(t))
	var out, errb bytes.Buffer
	code := run([]string{"setup", "--dry-run"}, nil, &out, &errb)
	if testutil.UnderWine() && (code != exitOK || !strings.Contains(out.String(), "CordonSandboxOffline") || !strings.Contains(out.String(), "CordonSandboxOnline")) {
		t.Errorf("exit %d\nstdout:\n%s\nstderr:\n%s", code, out.String(), errb.String())
	}
	if code != exitOK {
		t.Errorf("dry run: exit %d: %s", code, errb.String())
	}
}
