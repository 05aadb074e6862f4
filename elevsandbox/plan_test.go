package elevsandbox

import (
	"errors"
	"reflect"
	"strings"
	"testing"

	"github.com/cordon-sandbox/cordon/internal/aclplan"
	"github.com/cordon-sandbox/cordon/ntsec"
	"github.com/cordon-sandbox/cordon/policy"
	"github.com/cordon-sandbox/cordon/sandbox"
)

func mustSID(t *testing.T, s string) ntsec.SID {
	t.Helper()
	v, err := ntsec.ParseSID(s)
	if err != nil {
		t.Fatal(err)
	}
	return v
}

// The elevated plan names you as the user, both accounts as the sandbox,
// proves the runner's account with the runner's own token and the other
// with the assumed one, and leaves no token of the runner's standing in
// for yours.
func TestSandboxPlan(t *testing.T) {
	real, offline, online, group := mustSID(t, "S-1-5-21-9-9-9-1001"), mustSID(t, "S-1-5-21-9-9-9-1010"), mustSID(t, "S-1-5-21-9-9-9-1011"), mustSID(t, "S-1-5-21-9-9-9-1012")
	acct := account{Name: UserFor(false), SID: offline, Group: group}
	runnerCalls := 0
	runnerTok := &ntsec.Token{User: offline}
	in := aclplan.Input{User: aclplan.User{SID: offline, MediumIntegrity: true}, Token: func(...ntsec.SID) (*ntsec.Token, error) {
		runnerCalls++
		return runnerTok, nil
	}}
	thenRan := false
	sandboxPlan(real, acct, online, func(in *aclplan.Input) { thenRan = in.Sandbox.Group == group })(&in)
	if in.User.SID != real || !in.User.MediumIntegrity {
		t.Fatalf("User = %+v; want you (%s), Medium kept", in.User, real)
	}
	if in.Token != nil {
		t.Fatal("the runner's token still stands for yours (Input.Token)")
	}
	if in.Sandbox.Group != group || !reflect.DeepEqual(in.Sandbox.Users, []ntsec.SID{offline, online}) {
		t.Fatalf("Sandbox = %+v", in.Sandbox)
	}
	if tok, err := in.Sandbox.Token(offline, mustSID(t, "S-1-15-3-1")); err != nil || tok != runnerTok || runnerCalls != 1 {
		t.Fatalf("the runner's account is not proven with the runner's token: %v %v %d", tok, err, runnerCalls)
	}
	tok, err := in.Sandbox.Token(online, mustSID(t, "S-1-15-3-1"))
	if err != nil || tok.User != online || runnerCalls != 1 {
		t.Fatalf("the other account's token: %+v %v (runner asked %d times)", tok, err, runnerCalls)
	}
	if !thenRan {
		t.Fatal("Options.PlanHook did not run after the elevated input was set")
	}
}

func TestReadHelperArgs(t *testing.T) {
	r := &policy.Resolved{Mode: policy.WorkspaceWrite, Cwd: `C:\w`,
		Roots:    []policy.Root{{Path: `C:\w`}, {Path: `C:\extra`}},
		DenyRead: []string{`C:\Users\me\.ssh`}}
	want := []string{"--cwd", `C:\w`, "--writable-root", `C:\extra`, "--deny-read", `C:\Users\me\.ssh`}
	if got := readHelperArgs(r); !reflect.DeepEqual(got, want) {
		t.Fatalf("args %q, want %q", got, want)
	}
	r = &policy.Resolved{Mode: policy.ReadOnly, Cwd: `C:\w`}
	if got := readHelperArgs(r); !reflect.DeepEqual(got, []string{"--cwd", `C:\w`, "--policy", "read-only"}) {
		t.Fatalf("read-only args %q", got)
	}
}

func TestMediumRefused(t *testing.T) {
	if err := mediumRefused(true, false, false); !errors.Is(err, sandbox.ErrUnavailable) || !strings.Contains(err.Error(), "logon SID") {
		t.Errorf("Medium without best effort: %v, want unavailable naming the logon SID", err)
	}
	for _, c := range [][3]bool{{false, false, false}, {true, false, true}, {true, true, false}} {
		if err := mediumRefused(c[0], c[1], c[2]); err != nil {
			t.Errorf("mediumRefused(medium %v, plumbing %v, best effort %v) = %v", c[0], c[1], c[2], err)
		}
	}
}
