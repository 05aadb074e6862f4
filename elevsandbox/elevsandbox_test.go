package elevsandbox

import (
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/cordon-sandbox/cordon/internal/readacl"
	"github.com/cordon-sandbox/cordon/internal/restrictedtoken"
	"github.com/cordon-sandbox/cordon/internal/sandboxusers"
	"github.com/cordon-sandbox/cordon/internal/testutil"
	"github.com/cordon-sandbox/cordon/ntsec"
	"github.com/cordon-sandbox/cordon/sandbox"
)

func sid(t *testing.T, subs ...uint32) ntsec.SID {
	t.Helper()
	s, err := ntsec.NewSID(5, subs...)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func TestUserFor(t *testing.T) {
	if UserFor(false) != "CordonSandboxOffline" || UserFor(true) != "CordonSandboxOnline" {
		t.Errorf("UserFor(false), UserFor(true) = %s, %s", UserFor(false), UserFor(true))
	}
}

// The token the proof is made for, restrictedtoken.Model over
// SandboxBase, is readacl's assumed sandbox token with the run SID added
// to the restricting SIDs: the write and the read proofs speak of one
// token.
func TestSandboxBaseModelsReadaclsToken(t *testing.T) {
	user, group := sid(t, 21, 9, 9, 9, 1001), sid(t, 21, 9, 9, 9, 1003)
	capSID, run := sid(t, 21, 1, 2, 3, 4), sid(t, 21, 1, 2, 3, 5)
	base := SandboxBase(user, group)
	if len(base.RestrictedSIDs) != 0 || base.WriteRestricted {
		t.Fatalf("the base is restricted: %+v", base)
	}
	got, err := restrictedtoken.Model(base, restrictedtoken.Spec{Caps: []ntsec.SID{capSID}, Run: run})
	if err != nil {
		t.Fatal(err)
	}
	want := readacl.SandboxToken(user, group, capSID)
	if got.User != want.User || !slices.Equal(got.Groups, want.Groups) || !got.WriteRestricted {
		t.Errorf("model %+v\nwant  %+v", got, want)
	}
	wantRestricted := append(slices.Clone(want.RestrictedSIDs), run)
	if !sameSet(got.RestrictedSIDs, wantRestricted) {
		t.Errorf("restricting SIDs %v, want %v", got.RestrictedSIDs, wantRestricted)
	}
	low, err := restrictedtoken.Model(base, restrictedtoken.Spec{Caps: []ntsec.SID{capSID}, Run: run, LowIntegrity: true})
	if err != nil || low.IntegrityRID() != 0x1000 {
		t.Errorf("Low model: integrity %#x, %v", low.IntegrityRID(), err)
	}
	// The sandbox user's SID cannot be a capability: Model refuses a SID
	// the base already holds.
	if _, err := restrictedtoken.Model(base, restrictedtoken.Spec{Caps: []ntsec.SID{group}, Run: run}); err == nil {
		t.Error("the group accepted as a capability SID")
	}
}

func sameSet(a, b []ntsec.SID) bool {
	if len(a) != len(b) {
		return false
	}
	for _, x := range a {
		if !slices.Contains(b, x) {
			return false
		}
	}
	return true
}

func TestNotSetUpIsUnavailableAndSaysWhatToDo(t *testing.T) {
	inner := &sandboxusers.Error{Code: sandboxusers.CodeNotSetUp, Op: "checking the setup marker", Err: errors.New("no marker")}
	err := notSetUp(inner)
	if !errors.Is(err, ErrNotSetUp) || !errors.Is(err, sandbox.ErrNotSetUp) || !errors.Is(err, sandbox.ErrUnavailable) || sandboxusers.ErrorCode(err) != sandboxusers.CodeNotSetUp {
		t.Errorf("%v: want ErrNotSetUp, ErrUnavailable and the setup_required code", err)
	}
	if want := "run `cordon setup`"; !strings.Contains(err.Error(), want) {
		t.Errorf("%q does not say %q", err, want)
	}
}

// SetUp is true exactly when setup's marker, of this version, is in the
// state directory: what --sandbox auto reads before preferring the backend.
func TestSetUp(t *testing.T) {
	dir := testutil.TempDir(t)
	if SetUp(dir) {
		t.Fatal("an empty state directory counts as set up")
	}
	d := sandboxusers.Default()
	m := sandboxusers.FileMarkers{Dir: filepath.Join(dir, sandboxusers.SubDir)}
	if err := os.MkdirAll(m.Dir, 0o700); err != nil {
		t.Fatal(err)
	}
	if err := m.Write(sandboxusers.Marker{Version: sandboxusers.Version - 1, Group: d.Group, Users: d.Users}); err != nil {
		t.Fatal(err)
	}
	if SetUp(dir) {
		t.Fatal("a marker of an older setup version counts as set up")
	}
	if err := m.Write(sandboxusers.Marker{Version: sandboxusers.Version, Group: d.Group, Users: d.Users}); err != nil {
		t.Fatal(err)
	}
	if !SetUp(dir) {
		t.Fatal("a current marker does not count as set up")
	}
}
