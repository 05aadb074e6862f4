package linuxsandbox

import (
	"bytes"
	"context"
	"os/exec"
	"syscall"
	"testing"

	"github.com/cordon-sandbox/cordon/internal/termguard"
	"github.com/cordon-sandbox/cordon/policy"
	"github.com/cordon-sandbox/cordon/sandbox"
)

// A library caller that hands the command a terminal some session holds
// (its user's own) has the command run on it as before: the command's
// session does not try to take it, which would fail without
// CAP_SYS_ADMIN. Only a terminal the caller says is the run's own
// (Spec.OwnTerminal) is taken.
func TestTerminalOfAnotherSessionIsNotTaken(t *testing.T) {
	master, slave, err := termguard.OpenPTY()
	if err != nil {
		t.Skipf("no pseudo-terminals here: %v", err)
	}
	defer master.Close()
	defer slave.Close()
	holder := exec.Command("sleep", "60")
	holder.Stdin = slave
	holder.SysProcAttr = &syscall.SysProcAttr{Setsid: true, Setctty: true, Ctty: 0}
	if err := holder.Start(); err != nil {
		t.Fatal(err)
	}
	defer holder.Process.Kill()
	w := newWS(t)
	pol := w.policy(t, policy.Policy{Mode: policy.WorkspaceWrite})
	for _, own := range []bool{false, true} {
		var out bytes.Buffer
		p, err := New().Start(context.Background(), sandbox.Spec{
			Policy: pol, Dir: w.cwd, Env: []string{testPath}, Stdin: slave, Stdout: &out, Stderr: &out,
			OwnTerminal: own, Args: []string{"sh", "-c", "test -t 0 && echo on-a-terminal"},
		})
		if err != nil {
			t.Fatal(err)
		}
		code, err := p.Wait()
		switch {
		case !own && (code != 0 || err != nil || out.String() != "on-a-terminal\n"):
			t.Errorf("not own: exit %d, %v, %q; want the command run on the terminal", code, err, out.String())
		case own && code == 0:
			// Claimed as its own, it is another session's: taking it
			// fails, and so does the start (the claim was false).
			t.Errorf("own: exit 0, %q; want the false claim to fail", out.String())
		}
	}
}
