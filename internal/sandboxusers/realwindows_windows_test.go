//go:build windows

package sandboxusers

import (
	"context"
	"strings"
	"testing"

	"github.com/cordon-sandbox/cordon/internal/testutil"
)

// TestRealWindowsSetup runs the whole life of the sandbox accounts on a
// disposable, elevated Windows machine (CORDON_REAL_WINDOWS=1): setup,
// a second setup that changes nothing, a deleted user and a password
// changed behind cordon's back repaired, a user added to Administrators
// taken out, then removal twice. It creates and deletes real accounts
// named CordonSandbox*.
func TestRealWindowsSetup(t *testing.T) {
	testutil.RealWindows(t)
	if admin, _ := IsAdmin(); !admin {
		t.Skip("needs an elevated process")
	}
	ctx := context.Background()
	dir := testutil.TempDir(t)
	run := func(opts Options) Report {
		t.Helper()
		opts.StateDir = dir
		var out strings.Builder
		r, err := Setup(ctx, opts, &out)
		t.Logf("Setup(%+v):\n%s", opts, out.String())
		if err != nil {
			t.Fatalf("Setup(%+v): %v", opts, err)
		}
		return r
	}
	t.Cleanup(func() { Setup(ctx, Options{StateDir: dir, Remove: true}, nil) })

	run(Options{})
	if r := run(Options{}); len(r.Planned) != 0 {
		t.Fatalf("second setup planned %v", r.Planned)
	}
	sam := SAM{}
	for _, name := range Default().Users {
		info, err := sam.User(ctx, name)
		if err != nil || !info.Exists || info.Flags&RequiredFlags != RequiredFlags || info.Flags&ForbiddenFlags != 0 {
			t.Errorf("%s: %+v, %v", name, info, err)
		}
		if hidden, err := sam.Hidden(ctx, name); err != nil || !hidden {
			t.Errorf("%s hidden: %v, %v", name, hidden, err)
		}
		if in, err := sam.IsMember(ctx, BuiltinUsers, name); err != nil || !in {
			t.Errorf("%s in Users: %v, %v", name, in, err)
		}
	}

	if err := sam.DeleteUser(ctx, OnlineUser); err != nil {
		t.Fatal(err)
	}
	if err := sam.SetPassword(ctx, OfflineUser, "Aa0!changed-behind-cordon's-back"); err != nil {
		t.Fatal(err)
	}
	if err := sam.AddMember(ctx, BuiltinAdministrators, OfflineUser); err != nil {
		t.Fatal(err)
	}
	r := run(Options{})
	var kinds []string
	for _, a := range r.Planned {
		kinds = append(kinds, a.String())
	}
	plan := strings.Join(kinds, "\n")
	for _, want := range []string{"create user " + OnlineUser, "set a new random password on " + OfflineUser, "remove " + OfflineUser + " from Administrators"} {
		if !strings.Contains(plan, want) {
			t.Errorf("repair plan lacks %q:\n%s", want, plan)
		}
	}
	if r := run(Options{}); len(r.Planned) != 0 {
		t.Fatalf("setup after the repair planned %v", r.Planned)
	}

	run(Options{Remove: true})
	for _, name := range Default().Users {
		if info, err := sam.User(ctx, name); err != nil || info.Exists {
			t.Errorf("%s after remove: %+v, %v", name, info, err)
		}
	}
	if r := run(Options{Remove: true}); len(r.Planned) != 0 {
		t.Fatalf("second remove planned %v", r.Planned)
	}
}
