package winsandbox

import (
	"testing"

	"github.com/cordon-sandbox/cordon/internal/restrictedtoken"
	"github.com/cordon-sandbox/cordon/internal/testutil"
	"github.com/cordon-sandbox/cordon/ntsec"
)

// On real Windows the NUL device's default DACL lets the sandbox token read
// and write it (through Everyone), so ensureNUL changes nothing.
func TestNULUsableWithoutChange(t *testing.T) {
	testutil.RealWindows(t)
	testutil.SkipIfElevated(t)
	base, err := liveToken()
	if err != nil {
		t.Fatal(err)
	}
	logon, err := restrictedtoken.LogonSID(base)
	if err != nil {
		t.Fatal(err)
	}
	c, _ := ntsec.NewSID(5, 21, 0xC0D0, 7, 7, 7)
	run, err := restrictedtoken.NewRunSID()
	if err != nil {
		t.Fatal(err)
	}
	tok, err := restrictedtoken.Model(base, restrictedtoken.Spec{Caps: []ntsec.SID{c}, Run: run})
	if err != nil {
		t.Fatal(err)
	}
	before, err := readNUL(0x20000) // READ_CONTROL
	if err != nil {
		t.Fatal(err)
	}
	if !nulUsable(before, tok) {
		t.Errorf("the default NUL DACL %s refuses the sandbox token", before.SDDL())
	}
	if err := ensureNUL(tok, logon); err != nil {
		t.Fatal(err)
	}
	after, _ := readNUL(0x20000)
	if after.SDDL() != before.SDDL() {
		t.Errorf("ensureNUL changed a usable DACL: %s -> %s", before.SDDL(), after.SDDL())
	}
}
