package main

import (
	"bytes"
	"encoding/json"
	"os"
	"strings"
	"testing"

	"github.com/cordon-sandbox/cordon/internal/testutil"
)

// Under Wine nothing can be proven: there is no sandbox user to run the
// probes as (and, until it is built, no elevated backend). The command
// must say so with exit 3 and a code, never report a pass, and leave
// both verdicts unknown.
func TestVerifyNetworkUnderWine(t *testing.T) {
	if !testutil.UnderWine() {
		t.Skip("real Windows is TestRealWindowsVerifyNetwork")
	}
	t.Setenv("CORDON_STATE_DIR", testutil.TempDir(t))
	t.Setenv(asCordonEnv, "1")
	var out, errb bytes.Buffer
	code := run([]string{"verify-network", "--json"}, nil, &out, &errb)
	var r struct {
		OK     bool `json:"ok"`
		Checks []struct {
			Name, Verdict string
		} `json:"checks"`
	}
	if err := json.Unmarshal(out.Bytes(), &r); err != nil {
		t.Fatalf("%v: %s", err, out.String())
	}
	if code != exitUnsupported || r.OK || !strings.HasPrefix(errb.String(), "cordon: ") {
		t.Errorf("exit %d, ok %v, stderr %q", code, r.OK, errb.String())
	}
	for _, c := range r.Checks {
		if c.Verdict == verdictPass {
			t.Errorf("%s passed under Wine", c.Name)
		}
	}
}

// Real Windows, after cordon setup (which must install the fence) and
// with the elevated backend: the offline user is fenced and the online
// user connects. The probes run this test binary as cordon, as the
// sandbox users: it must be readable by them (the read grants of its
// directory applied).
func TestRealWindowsVerifyNetwork(t *testing.T) {
	testutil.RealWindows(t)
	if os.Getenv("CORDON_ELEVATED_TESTS") != "1" {
		t.Skip("needs cordon setup done on this machine (CORDON_ELEVATED_TESTS=1, as the workflow's elevated step sets)")
	}
	t.Setenv(asCordonEnv, "1")
	var out, errb bytes.Buffer
	if code := run([]string{"verify-network"}, nil, &out, &errb); code != exitOK {
		t.Errorf("exit %d\n%s\n%s", code, out.String(), errb.String())
	}
}
