//go:build windows

package sandboxusers

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/cordon-sandbox/cordon/internal/testutil"
)

// Under Wine a real Setup stops at an account step: Wine's NetUserAdd
// keeps the account in the calling process only, and NetUserGetInfo level
// 4 then fails (NERR_InternalError, 2140); wine.md §7. That is a useful
// crash: it shows that the Windows wiring (private directory, lock, DPAPI)
// stores the password before the account call (pending if the call
// failed, committed once it succeeded), writes no marker, and reports a
// coded error naming the step.
func TestSetupUnderWineStopsAtTheStubAndKeepsTheSecret(t *testing.T) {
	if !testutil.UnderWine() {
		t.Skip("relies on Wine's account stubs; real Windows runs TestRealWindowsSetup")
	}
	dir := testutil.TempDir(t)
	var out strings.Builder
	_, err := Setup(context.Background(), Options{StateDir: dir}, &out)
	t.Logf("WINE: Setup -> %v\n%s", err, out.String())
	var e *Error
	if !errors.As(err, &e) || e.Code == "" || e.Hint() == "" || !strings.Contains(e.Op, OfflineUser) {
		t.Fatalf("Setup under Wine = %v, want a coded error at a step for %s", err, OfflineUser)
	}
	sub := filepath.Join(dir, SubDir)
	s, err := FileSecrets{Dir: sub, P: DPAPI{}}.Load(OfflineUser)
	if err != nil || len(s.Password) != passwordLen {
		t.Fatalf("secret after the failed setup: %+v, %v; want a %d-character password", s, err, passwordLen)
	}
	if created := !strings.HasPrefix(e.Op, "create user"); s.Pending == created {
		t.Errorf("secret pending=%v, but the create step %s", s.Pending, map[bool]string{true: "succeeded", false: "failed"}[created])
	}
	if _, err := (FileMarkers{Dir: sub}).Read(); !errors.Is(err, ErrMarkerMissing) {
		t.Errorf("marker after a failed setup: %v", err)
	}
	if _, err := os.Stat(filepath.Join(sub, "setup.lock")); err != nil {
		t.Errorf("setup did not take its lock file: %v", err)
	}
	t.Log("WINE STUB: repair and --remove need NetUserGetInfo level 4 on the new account; tested on real Windows only (TestRealWindowsSetup)")
}
