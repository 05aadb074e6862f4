//go:build windows

package sandboxusers

import (
	"context"
	"errors"
	"os"
	"strings"
	"testing"

	"github.com/cordon-sandbox/cordon/internal/testutil"
)

// These tests change the machine's accounts and registry: they run under
// Wine (a throw-away prefix) or, on Windows, only with CORDON_REAL_WINDOWS=1.
func wineOrRealWindows(t *testing.T) {
	t.Helper()
	if !testutil.UnderWine() {
		testutil.RealWindows(t)
	}
}

func TestHiddenRoundTrip(t *testing.T) {
	wineOrRealWindows(t)
	ctx := context.Background()
	const user = "CordonSandboxHiddenProbe"
	t.Cleanup(func() { SAM{}.SetHidden(ctx, user, false) })
	for _, want := range []bool{true, true, false, false} {
		if err := (SAM{}).SetHidden(ctx, user, want); err != nil {
			t.Fatalf("SetHidden(%v): %v", want, err)
		}
		got, err := SAM{}.Hidden(ctx, user)
		if err != nil || got != want {
			t.Fatalf("after SetHidden(%v): Hidden = %v, %v", want, got, err)
		}
	}
}

func TestAdminAndUserChecks(t *testing.T) {
	admin, err := IsAdmin()
	if err != nil {
		t.Fatal(err)
	}
	if admin != testutil.Elevated() {
		t.Errorf("IsAdmin = %v, testutil.Elevated = %v", admin, testutil.Elevated())
	}
	me, err := CurrentUserSID()
	if err != nil || !strings.HasPrefix(me, "S-1-5-") {
		t.Fatalf("CurrentUserSID = %q, %v", me, err)
	}
	if err := checkUser(me); err != nil {
		t.Errorf("checkUser(self): %v", err)
	}
	if err := checkUser("S-1-5-18"); ErrorCode(err) != CodeOtherAdmin {
		t.Errorf("checkUser(SYSTEM) = %v, want %s", err, CodeOtherAdmin)
	}
	if _, err := Setup(context.Background(), Options{ForUserSID: "S-1-5-18", StateDir: testutil.TempDir(t), DryRun: true}, nil); ErrorCode(err) != CodeOtherAdmin {
		t.Errorf("Setup for another user = %v, want %s", err, CodeOtherAdmin)
	}
}

// TestSAMUnderWine records what Wine's netapi32 and LogonUser do with a
// sandbox account. Wine 8.0 here: NetLocalGroupGetInfo says every group
// exists; NetUserAdd succeeds (a name over 20 characters fails with
// NERR_BadUsername, 2202, as on Windows) but NetUserGetInfo level 4 of the
// new account then fails with NERR_InternalError (2140); LogonUserW
// accepts any password. The test asserts only what Wine really
// implements, and says loudly what it skips.
func TestSAMUnderWine(t *testing.T) {
	if !testutil.UnderWine() {
		t.Skip("records Wine's behaviour; real Windows runs TestRealWindowsSetup")
	}
	ctx := context.Background()
	const group, user = "CordonSandboxWineGroup", "CordonSandboxWineUsr"
	sam := SAM{}
	exists, err := sam.GroupExists(ctx, group)
	t.Logf("WINE: NetLocalGroupGetInfo(absent group) -> exists=%v err=%v", exists, err)
	err = sam.CreateGroup(ctx, group, "probe")
	exists2, err2 := sam.GroupExists(ctx, group)
	t.Logf("WINE: NetLocalGroupAdd -> %v; then exists=%v err=%v", err, exists2, err2)
	defer sam.DeleteGroup(ctx, group)

	info, err := sam.User(ctx, user)
	t.Logf("WINE: NetUserGetInfo(absent user, 4) -> %+v err=%v", info, err)
	if err != nil {
		t.Errorf("NetUserGetInfo of an absent user must say absent, not fail: %v", err)
	}
	pw := "Aa0!" + strings.Repeat("x", 28)
	err = sam.CreateUser(ctx, user, pw, RequiredFlags)
	info, err2 = sam.User(ctx, user)
	t.Logf("WINE: NetUserAdd(level 1) -> %v; then NetUserGetInfo -> %+v err=%v", err, info, err2)
	defer sam.DeleteUser(ctx, user)
	good, gerr := sam.Logon(ctx, user, pw)
	bad, berr := sam.Logon(ctx, user, "wrong")
	t.Logf("WINE: LogonUserW(right) -> %s %v; LogonUserW(wrong) -> %s %v", good, gerr, bad, berr)
	if !info.Exists {
		t.Skipf("WINE STUB: NetUserAdd returned %v and the account cannot be read back; "+
			"account creation, flags, memberships and logon are tested on real Windows only (TestRealWindowsSetup)", err)
	}
	member, err := sam.IsMember(ctx, BuiltinUsers, user)
	t.Logf("WINE: IsMember(Users) -> %v %v", member, err)
}

// TestDryRunObservesWithoutChanging runs the Windows Setup in dry-run mode:
// it must plan the whole setup on a machine without sandbox accounts and
// change nothing (no state directory created).
func TestDryRunObservesWithoutChanging(t *testing.T) {
	wineOrRealWindows(t)
	dir := testutil.TempDir(t)
	var out strings.Builder
	r, err := Setup(context.Background(), Options{DryRun: true, StateDir: dir}, &out)
	if err != nil {
		t.Fatalf("dry run: %v\n%s", err, out.String())
	}
	t.Logf("dry run:\n%s", out.String())
	if _, err := os.Stat(dir + `\` + SubDir); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("a dry run created the state directory: %v", err)
	}
	if testutil.UnderWine() {
		// No account exists under Wine, so both are created (the group,
		// which Wine claims exists, may not be).
		var created []string
		for _, a := range r.Planned {
			if a.Kind == CreateUser {
				created = append(created, a.User)
			}
		}
		if strings.Join(created, ",") != OfflineUser+","+OnlineUser || r.Planned[len(r.Planned)-1].Kind != WriteMarker {
			t.Errorf("plan %v", r.Planned)
		}
	}
}
