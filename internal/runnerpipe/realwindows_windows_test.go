package runnerpipe_test

// Enforcement tests: they need real Windows (testutil.RealWindows), since
// Wine enforces neither DACLs nor labels nor restricted tokens. The pipe
// is created for this process's user as the sandbox user; another token
// then tries to open it, by impersonation on a locked OS thread, which is
// what the open's access check uses.

import (
	"errors"
	"os"
	"runtime"
	"testing"
	"unsafe"

	"golang.org/x/sys/windows"

	"github.com/cordon-sandbox/cordon/internal/restrictedtoken"
	"github.com/cordon-sandbox/cordon/internal/runnerpipe"
	"github.com/cordon-sandbox/cordon/internal/testutil"
	"github.com/cordon-sandbox/cordon/ntsec"
)

// dialAs opens l's pipe while impersonating tok (a primary or
// impersonation token with TOKEN_DUPLICATE) and returns Dial's error.
func dialAs(t *testing.T, l *runnerpipe.Listener, tok windows.Token) error {
	t.Helper()
	var imp windows.Token
	if err := windows.DuplicateTokenEx(tok, windows.TOKEN_QUERY|windows.TOKEN_IMPERSONATE, nil, windows.SecurityImpersonation, windows.TokenImpersonation, &imp); err != nil {
		t.Fatalf("DuplicateTokenEx: %v", err)
	}
	defer imp.Close()
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	if err := windows.SetThreadToken(nil, imp); err != nil {
		t.Fatalf("SetThreadToken: %v", err)
	}
	c, err := runnerpipe.Dial(l.Name(), uint32(os.Getpid()))
	if rerr := windows.RevertToSelf(); rerr != nil {
		panic(rerr) // the thread must not go on as the other token
	}
	if err == nil {
		c.Close()
	}
	return err
}

// processToken opens this process's token with access.
func processToken(t *testing.T, access uint32) windows.Token {
	t.Helper()
	var tok windows.Token
	if err := windows.OpenProcessToken(windows.CurrentProcess(), access, &tok); err != nil {
		t.Fatalf("OpenProcessToken: %v", err)
	}
	t.Cleanup(func() { tok.Close() })
	return tok
}

// TestRealWindowsLowCommandCannotOpen checks the pipe's label: a Low
// integrity copy of this process's own token, the sandbox user, is
// refused, though the DACL grants that user (the model's
// TestLabelIsWhatStopsLowCommands).
func TestRealWindowsLowCommandCannotOpen(t *testing.T) {
	testutil.RealWindows(t)
	l := listen(t)
	var low windows.Token
	if err := windows.DuplicateTokenEx(processToken(t, windows.TOKEN_DUPLICATE|windows.TOKEN_QUERY), windows.TOKEN_DUPLICATE|windows.TOKEN_QUERY|windows.TOKEN_ADJUST_DEFAULT, nil, windows.SecurityImpersonation, windows.TokenImpersonation, &low); err != nil {
		t.Fatalf("DuplicateTokenEx: %v", err)
	}
	defer low.Close()
	lowSID, err := windows.StringToSid(ntsec.LowLabel.String())
	if err != nil {
		t.Fatal(err)
	}
	tml := windows.Tokenmandatorylabel{Label: windows.SIDAndAttributes{Sid: lowSID, Attributes: windows.SE_GROUP_INTEGRITY}}
	if err := windows.SetTokenInformation(low, windows.TokenIntegrityLevel, (*byte)(unsafe.Pointer(&tml)), tml.Size()); err != nil {
		t.Fatalf("SetTokenInformation(TokenIntegrityLevel): %v", err)
	}
	// Positive control: the same token at its own level opens the pipe.
	if err := dialAs(t, l, processToken(t, windows.TOKEN_DUPLICATE|windows.TOKEN_QUERY)); err != nil {
		t.Fatalf("this process's own token cannot open the pipe: %v", err)
	}
	l = listen(t) // the control took the one instance
	if err := dialAs(t, l, low); !errors.Is(err, windows.ERROR_ACCESS_DENIED) {
		t.Errorf("Dial at Low integrity = %v, want ERROR_ACCESS_DENIED", err)
	}
}

// TestRealWindowsRestrictedCommandCannotOpen checks the DACL against the
// token a command gets at Medium integrity: the sandbox user's token made
// write-restricted cannot open the pipe for reading and writing (the
// model's TestMediumCommandResidual).
func TestRealWindowsRestrictedCommandCannotOpen(t *testing.T) {
	testutil.RealWindows(t)
	testutil.SkipIfElevated(t)
	l := listen(t)
	capSID, err := restrictedtoken.NewRunSID()
	if err != nil {
		t.Fatal(err)
	}
	run, err := restrictedtoken.NewRunSID()
	if err != nil {
		t.Fatal(err)
	}
	tok, err := restrictedtoken.Create(restrictedtoken.Spec{Caps: []ntsec.SID{capSID}, Run: run})
	if err != nil {
		t.Fatal(err)
	}
	defer tok.Close()
	if err := dialAs(t, l, tok); !errors.Is(err, windows.ERROR_ACCESS_DENIED) {
		t.Errorf("Dial with the command's write-restricted token = %v, want ERROR_ACCESS_DENIED", err)
	}
}

// TestRealWindowsOtherUserCannotOpen creates the pipe for a sandbox user
// that this process is not, and checks that this process cannot open it:
// the DACL grants that user alone. (A positive control is
// TestExchangeAcrossProcesses, where the pipe is for this process's user.)
// A process of a second real account would be the fuller test; it needs
// that account's password (LogonUser) or a service, which a test machine
// does not have by default.
func TestRealWindowsOtherUserCannotOpen(t *testing.T) {
	testutil.RealWindows(t)
	name, err := runnerpipe.NewName()
	if err != nil {
		t.Fatal(err)
	}
	stranger, err := restrictedtoken.NewRunSID() // a random S-1-5-21-… SID: nobody
	if err != nil {
		t.Fatal(err)
	}
	l, err := runnerpipe.Listen(name, stranger)
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	c, err := runnerpipe.Dial(name, uint32(os.Getpid()))
	if err == nil {
		c.Close()
		t.Fatal("a process of another user opened the pipe")
	}
	if !errors.Is(err, windows.ERROR_ACCESS_DENIED) {
		t.Errorf("Dial = %v, want ERROR_ACCESS_DENIED", err)
	}
}
