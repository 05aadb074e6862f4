//go:build windows

package restrictedtoken

import (
	"errors"
	"fmt"
	"reflect"
	"runtime"
	"slices"
	"strings"
	"testing"
	"unsafe"

	"golang.org/x/sys/windows"

	"github.com/cordon-sandbox/cordon/internal/capsid"
	"github.com/cordon-sandbox/cordon/internal/testutil"
	"github.com/cordon-sandbox/cordon/internal/winapi"
	"github.com/cordon-sandbox/cordon/ntsec"
)

// Known Wine 8 deviations (wine.md §7). Under Wine each is asserted to
// happen, so a Wine that fixes one fails the test until it is updated; on
// Windows none may happen.
const (
	wineNoRestrictionClasses = "Wine implements neither TokenRestrictedSids, TokenMandatoryPolicy nor TokenAccessInformation (GetTokenInformation fails), so Query cannot tell whether a token is restricted"
	wineElevated             = "Wine's only user is an elevated administrator: Administrators enabled, High integrity"
	wineIntegrityStub        = "Wine reports every token at High integrity; SetTokenInformation(TokenIntegrityLevel) is a stub"
	wineMaxPrivilege         = "Wine's CreateRestrictedToken ignores DISABLE_MAX_PRIVILEGE: every privilege stays"
	wineDropsRestrictingSIDs = "Wine's CreateRestrictedToken drops the restricting SIDs and ignores WRITE_RESTRICTED (unobservable through Query, see the first deviation)"
)

// randomCap draws a capability SID as the store does.
func randomCap(t *testing.T) ntsec.SID {
	s, err := capsid.NewSID()
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func openProcessToken(t *testing.T) windows.Token {
	t.Helper()
	var tok windows.Token
	if err := windows.OpenProcessToken(windows.CurrentProcess(), baseAccess, &tok); err != nil {
		t.Fatalf("OpenProcessToken: %v", err)
	}
	t.Cleanup(func() { tok.Close() })
	return tok
}

// query runs Query. Under Wine it must fail with ErrIncomplete (the known
// deviation) and still return the user, groups, privileges and integrity.
func query(t *testing.T, tok windows.Token, what string) *ntsec.Token {
	t.Helper()
	got, err := Query(tok)
	if testutil.UnderWine() {
		if !errors.Is(err, ErrIncomplete) || got == nil {
			t.Fatalf("Query(%s) under Wine = %v, %v; want the partial token and ErrIncomplete (%s)", what, got, err, wineNoRestrictionClasses)
		}
		t.Logf("Query(%s): known Wine deviation: %s: %v", what, wineNoRestrictionClasses, err)
		return got
	}
	if err != nil {
		t.Fatalf("Query(%s): %v", what, err)
	}
	return got
}

func elevated(m *ntsec.Token) bool { return errors.Is(checkBase(m), ErrElevated) }

// nonElevatedBase returns a base token Model accepts, and its description:
// the process token when it is not elevated, else a copy with
// Administrators deny-only (CreateRestrictedToken's SidsToDisable, which
// Wine implements), as UAC's filtered token has it. Under Wine the process
// token is always elevated.
func nonElevatedBase(t *testing.T) (windows.Token, *ntsec.Token, bool) {
	t.Helper()
	proc := openProcessToken(t)
	m := query(t, proc, "process token")
	if !elevated(m) {
		if testutil.UnderWine() {
			t.Errorf("process token not elevated under Wine; known deviation gone: %s", wineElevated)
		}
		return proc, m, false
	}
	ba := []windows.SIDAndAttributes{{Sid: winSID(ntsec.BuiltinAdministrators)}}
	f, err := winapi.CreateRestrictedToken(proc, 0, ba, nil, nil)
	runtime.KeepAlive(ba)
	if err != nil {
		t.Fatalf("CreateRestrictedToken(disable Administrators): %v", err)
	}
	t.Cleanup(func() { f.Close() })
	fm := query(t, f, "process token, Administrators deny-only")
	if elevated(fm) {
		t.Fatalf("Administrators still enabled after SidsToDisable: %s", tokenText(fm))
	}
	return f, fm, true
}

func tokenText(tok *ntsec.Token) string {
	b, err := tok.MarshalJSON()
	if err != nil {
		return err.Error()
	}
	return string(b)
}

func TestQueryProcessToken(t *testing.T) {
	m := query(t, openProcessToken(t), "process token")
	if m.User.IsZero() || len(m.Groups) == 0 {
		t.Fatalf("no user or groups: %s", tokenText(m))
	}
	if _, err := LogonSID(m); err != nil {
		t.Errorf("%v in %s", err, tokenText(m))
	}
	hasEveryone := slices.ContainsFunc(m.Groups, func(g ntsec.Group) bool {
		return g.SID == ntsec.Everyone && g.Attributes&ntsec.GroupEnabled != 0
	})
	if !hasEveryone {
		t.Errorf("Everyone not enabled in %s", tokenText(m))
	}
	if _, ok := m.Integrity.IntegrityLevel(); !ok {
		t.Errorf("integrity %v is not a label SID", m.Integrity)
	}
	if slices.ContainsFunc(m.Groups, func(g ntsec.Group) bool { return g.SID.Authority() == 16 }) {
		t.Errorf("the integrity label is listed among the groups: %s", tokenText(m))
	}
	if !m.HasPrivilege("SeChangeNotifyPrivilege") {
		t.Errorf("SeChangeNotifyPrivilege not enabled: %v", m.Privileges)
	}
	if len(m.RestrictedSIDs) > 0 || m.WriteRestricted {
		t.Errorf("process token restricted: %s", tokenText(m))
	}
	if testutil.UnderWine() {
		if !elevated(m) || m.Integrity != ntsec.HighLabel {
			t.Errorf("known Wine deviation gone (%s): %s", wineElevated, tokenText(m))
		}
		t.Logf("known Wine deviation: %s", wineElevated)
	}
	t.Logf("process token: %s", tokenText(m))
}

func TestCreate(t *testing.T) {
	tok, err := Create(Spec{Run: runSID, Caps: []ntsec.SID{randomCap(t)}})
	if err == nil {
		defer tok.Close()
	}
	switch {
	case testutil.UnderWine():
		// Create reads the process token first and refuses a partial read.
		if !errors.Is(err, ErrIncomplete) {
			t.Fatalf("Create under Wine: %v; want ErrIncomplete (%s)", err, wineNoRestrictionClasses)
		}
		t.Logf("known Wine deviation: %s: %v", wineNoRestrictionClasses, err)
	case elevated(query(t, openProcessToken(t), "process token")):
		if !errors.Is(err, ErrElevated) {
			t.Fatalf("Create from an elevated process: %v; want ErrElevated", err)
		}
	case err != nil:
		t.Fatalf("Create: %v", err)
	}
	base, bm, _ := nonElevatedBase(t)
	if _, err := create(base, bm, Spec{}); err == nil || !strings.Contains(err.Error(), "no capability SIDs") {
		t.Errorf("create without caps: %v", err)
	}
}

// fieldDiffs lists the fields of got that differ from want. Restricting
// SIDs compare as sets (their order does not change the access check); an
// order difference is only logged.
func fieldDiffs(t *testing.T, want, got *ntsec.Token) map[string]string {
	d := Diff(want, got)
	if _, ok := d["RestrictedSIDs"]; !ok && !reflect.DeepEqual(got.RestrictedSIDs, want.RestrictedSIDs) {
		t.Logf("restricting SIDs in another order: %v, Create passed %v", got.RestrictedSIDs, want.RestrictedSIDs)
	}
	return d
}

// TestCreatePlumbing runs create on a non-elevated base (under Wine and on
// Windows): every call succeeds, and Query of the result matches Model
// field by field except, under Wine, for the named deviations, which must
// show.
func TestCreatePlumbing(t *testing.T) {
	base, bm, _ := nonElevatedBase(t)
	caps := []ntsec.SID{randomCap(t), randomCap(t)}
	logon, err := LogonSID(bm)
	if err != nil {
		t.Fatal(err)
	}
	for _, spec := range []Spec{{Caps: caps, Run: runSID}, {Caps: caps[:1], Run: runSID, LowIntegrity: true}} {
		t.Run(fmt.Sprintf("low=%v", spec.LowIntegrity), func(t *testing.T) {
			tok, err := create(base, bm, spec)
			if err != nil {
				t.Fatalf("create: %v", err)
			}
			defer tok.Close()
			want, err := Model(bm, spec)
			if err != nil {
				t.Fatal(err)
			}
			got := query(t, tok, "sandbox token")
			diffs := fieldDiffs(t, want, got)
			if testutil.UnderWine() {
				expect := map[string]string{
					"RestrictedSIDs":  wineNoRestrictionClasses + "; " + wineDropsRestrictingSIDs,
					"WriteRestricted": wineNoRestrictionClasses + "; " + wineDropsRestrictingSIDs,
				}
				if spec.LowIntegrity {
					expect["Integrity"] = wineIntegrityStub
				}
				for field, why := range expect {
					if _, ok := diffs[field]; !ok {
						t.Errorf("known Wine deviation in %s gone (%s): update the test", field, why)
						continue
					}
					t.Logf("%s: known Wine deviation: %s: %s", field, why, diffs[field])
					delete(diffs, field)
				}
			}
			for field, d := range diffs {
				t.Errorf("%s: Query(created) %s\n got  %s\n want %s", field, d, tokenText(got), tokenText(want))
			}
			// The default DACL reads back exactly (Wine stores it too).
			dacl, err := defaultDACL(tok)
			if err != nil {
				t.Fatal(err)
			}
			if w := DefaultDACL(bm.User, spec.Run); dacl == nil || dacl.SDDL() != w.SDDL() {
				t.Errorf("default DACL %v, want %s", dacl, w.SDDL())
			}
		})
	}
	// Why create removes privileges itself: DISABLE_MAX_PRIVILEGE alone.
	t.Run("DISABLE_MAX_PRIVILEGE", func(t *testing.T) {
		restrict := []windows.SIDAndAttributes{{Sid: winSID(caps[0])}, {Sid: winSID(runSID)}, {Sid: winSID(logon)}, {Sid: winSID(ntsec.Everyone)}}
		raw, err := winapi.CreateRestrictedToken(base, winapi.DISABLE_MAX_PRIVILEGE|winapi.LUA_TOKEN|winapi.WRITE_RESTRICTED, nil, nil, restrict)
		runtime.KeepAlive(restrict)
		if err != nil {
			t.Fatal(err)
		}
		defer raw.Close()
		held, err := privileges(raw)
		if err != nil {
			t.Fatal(err)
		}
		var names []string
		for _, p := range held {
			n, err := winapi.LookupPrivilegeName(p.Luid)
			if err != nil {
				t.Fatal(err)
			}
			names = append(names, fmt.Sprintf("%s(0x%x)", n, p.Attributes))
		}
		switch {
		case testutil.UnderWine():
			if len(held) <= 1 {
				t.Errorf("known Wine deviation gone (%s): %v", wineMaxPrivilege, names)
			}
			t.Logf("known Wine deviation: %s: %d privileges held: %v", wineMaxPrivilege, len(held), names)
		case len(held) > 1 || len(held) == 1 && !strings.HasPrefix(names[0], changeNotify+"("):
			t.Errorf("DISABLE_MAX_PRIVILEGE left %v", names)
		default:
			t.Logf("DISABLE_MAX_PRIVILEGE left %v", names)
		}
	})
}

// winSD copies a self-relative descriptor into pointer-aligned memory.
func winSD(b []byte) *windows.SECURITY_DESCRIPTOR {
	const word = int(unsafe.Sizeof(uintptr(0)))
	n := max(len(b), int(unsafe.Sizeof(windows.SECURITY_DESCRIPTOR{})))
	buf := make([]uintptr, (n+word-1)/word)
	copy(unsafe.Slice((*byte)(unsafe.Pointer(&buf[0])), len(b)), b)
	return (*windows.SECURITY_DESCRIPTOR)(unsafe.Pointer(&buf[0]))
}

// TestRealWindowsMatchesModel checks on real Windows that the live sandbox
// token is the one Model describes: Query(Create(spec)) equals
// Model(Query(process token), spec) field by field, and the kernel's
// AccessCheck with it agrees with ntsec.AccessCheck with the model on the
// descriptor table, right by right.
func TestRealWindowsMatchesModel(t *testing.T) {
	testutil.RealWindows(t)
	base, bm, filtered := nonElevatedBase(t)
	caps := []ntsec.SID{randomCap(t), randomCap(t)}
	other := randomCap(t)
	logon, err := LogonSID(bm)
	if err != nil {
		t.Fatal(err)
	}
	for _, spec := range []Spec{{Caps: caps, Run: runSID}, {Caps: caps, Run: runSID, LowIntegrity: true}} {
		t.Run(fmt.Sprintf("low=%v", spec.LowIntegrity), func(t *testing.T) {
			var tok windows.Token
			if filtered {
				t.Logf("the process is elevated: using its token with Administrators deny-only as the base")
				tok, err = create(base, bm, spec)
			} else {
				tok, err = Create(spec)
			}
			if err != nil {
				t.Fatal(err)
			}
			defer tok.Close()
			want, err := Model(bm, spec)
			if err != nil {
				t.Fatal(err)
			}
			got, err := Query(tok)
			if err != nil {
				t.Fatalf("Query: %v", err)
			}
			for field, d := range fieldDiffs(t, want, got) {
				t.Errorf("%s: %s", field, d)
			}
			var imp windows.Token
			if err := windows.DuplicateTokenEx(tok, windows.TOKEN_QUERY|windows.TOKEN_IMPERSONATE, nil, windows.SecurityImpersonation, windows.TokenImpersonation, &imp); err != nil {
				t.Fatalf("DuplicateTokenEx: %v", err)
			}
			defer imp.Close()
			for name, sddl := range descriptors(bm.User, logon, caps[0], caps[1], other) {
				sd, err := ntsec.ParseSDDL(sddl)
				if err != nil {
					t.Fatalf("%s: %v", name, err)
				}
				b, err := sd.MarshalBinary()
				if err != nil {
					t.Fatalf("%s: %v", name, err)
				}
				wsd := winSD(b)
				for _, r := range append(rights, ntsec.MaximumAllowed) {
					granted, ok, err := winapi.AccessCheck(wsd, imp, uint32(r), &winapi.FileGenericMapping)
					if err != nil {
						t.Fatalf("%s: AccessCheck: %v", name, err)
					}
					res := ntsec.AccessCheck(sd, want, r, ntsec.File)
					if ok != res.Allowed || r == ntsec.MaximumAllowed && ntsec.AccessMask(granted) != res.Granted {
						t.Errorf("%s, right %s: Windows %v (0x%x), model %v (%s)\n  SDDL %s\n%s", name, r, ok, granted, res.Allowed, res.Granted, sddl, res.Explain())
					}
				}
				runtime.KeepAlive(wsd)
			}
		})
	}
}
