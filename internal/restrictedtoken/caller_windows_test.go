//go:build windows

package restrictedtoken

import (
	"errors"
	"reflect"
	"strings"
	"testing"

	"github.com/cordon-sandbox/cordon/internal/testutil"
	"github.com/cordon-sandbox/cordon/ntsec"
)

// OpenCaller reads the process token once; its Model is what Query reads
// from the process token, and the logon SID is found by its attribute.
// Runs under Wine, where the read is partial (ErrIncomplete) and Create
// therefore refuses.
func TestOpenCaller(t *testing.T) {
	c, err := OpenCaller()
	if c == nil {
		t.Fatalf("OpenCaller: %v", err)
	}
	defer c.Close()
	switch {
	case testutil.UnderWine():
		if !errors.Is(err, ErrIncomplete) {
			t.Fatalf("OpenCaller under Wine: %v; want ErrIncomplete (%s)", err, wineNoRestrictionClasses)
		}
		if _, err := c.Create(Spec{Caps: []ntsec.SID{randomCap(t)}, Run: runSID}); !errors.Is(err, ErrIncomplete) {
			t.Errorf("Create on a partial read: %v, want ErrIncomplete", err)
		}
	case err != nil:
		t.Fatalf("OpenCaller: %v", err)
	}
	again := query(t, openProcessToken(t), "process token")
	if !reflect.DeepEqual(c.Model(), again) {
		t.Errorf("Caller.Model %s, Query %s", tokenText(c.Model()), tokenText(again))
	}
	logon, err := LogonSID(c.Model())
	if err != nil {
		t.Fatal(err)
	}
	if !logon.IsLogonSID() {
		t.Errorf("logon SID %s is not S-1-5-5-x-y", logon)
	}
	if err := c.Close(); err != nil {
		t.Error(err)
	}
	if err := c.Close(); err != nil {
		t.Errorf("second Close: %v", err)
	}
}

// Caller.check is what makes Create prove what it made: the token read back
// must equal the model of the spec it was made for. A token made for one run
// SID fails the check for another. Under Wine the read back is partial, so
// the check fails there for that reason, which the test names.
func TestCallerCheck(t *testing.T) {
	base, bm, _ := nonElevatedBase(t)
	c := &Caller{tok: base, model: bm}
	caps := []ntsec.SID{randomCap(t)}
	other := randomCap(t)
	made := Spec{Caps: caps, Run: runSID}
	tok, err := create(base, bm, made)
	if err != nil {
		t.Fatal(err)
	}
	defer tok.Close()
	errSame := c.check(tok, made)
	errOther := c.check(tok, Spec{Caps: caps, Run: other})
	if testutil.UnderWine() {
		if !errors.Is(errSame, ErrIncomplete) || !errors.Is(errOther, ErrIncomplete) {
			t.Errorf("check under Wine: %v, %v; want ErrIncomplete (%s)", errSame, errOther, wineNoRestrictionClasses)
		}
		return
	}
	if errSame != nil {
		t.Errorf("check against the spec it was made for: %v", errSame)
	}
	if errOther == nil || !strings.Contains(errOther.Error(), "RestrictedSIDs") {
		t.Errorf("check against another run SID: %v, want a RestrictedSIDs difference", errOther)
	}
}

// On real Windows, a non-elevated Caller makes a token whose read-back
// equals the model the proof uses (Caller.Create checks it itself).
func TestRealWindowsCallerCreate(t *testing.T) {
	testutil.RealWindows(t)
	testutil.SkipIfElevated(t)
	c, err := OpenCaller()
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	spec := Spec{Caps: []ntsec.SID{randomCap(t)}, Run: runSID}
	tok, err := c.Create(spec)
	if err != nil {
		t.Fatal(err)
	}
	defer tok.Close()
	want, err := c.Sandbox(spec)
	if err != nil {
		t.Fatal(err)
	}
	for f, d := range fieldDiffs(t, want, query(t, tok, "sandbox token")) {
		t.Errorf("%s: %s", f, d)
	}
}
