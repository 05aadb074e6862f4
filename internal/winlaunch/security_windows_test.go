//go:build windows

package winlaunch_test

import (
	"strings"
	"testing"

	"golang.org/x/sys/windows"

	"github.com/cordon-sandbox/cordon/internal/winlaunch"
)

// TestProcessSecurity starts a process with ProcessSecurity and
// ThreadSecurity and reads the process's DACL back: it is the one given,
// not one built from the token's default DACL. Wine stores kernel-object
// descriptors, so this runs there too.
func TestProcessSecurity(t *testing.T) {
	h := newHarness(t)
	const marker = "S-1-5-21-9-8-7-6"
	me, err := windows.GetCurrentProcessToken().GetTokenUser()
	if err != nil {
		t.Fatal(err)
	}
	sddl := "D:(A;;0x1fffff;;;" + me.User.Sid.String() + ")(A;;0x1fffff;;;SY)(A;;0x1fffff;;;" + marker + ")"
	proc, err := windows.SecurityDescriptorFromString(sddl)
	if err != nil {
		t.Fatal(err)
	}
	thread, err := windows.SecurityDescriptorFromString(sddl)
	if err != nil {
		t.Fatal(err)
	}
	p := h.start(winlaunch.Options{
		Args: []string{exe(t)}, Env: helperEnvFor("sleep", ""), Job: newJob(t),
		ProcessSecurity: proc, ThreadSecurity: thread,
	})
	hp, err := windows.OpenProcess(windows.READ_CONTROL, false, uint32(p.Pid()))
	if err != nil {
		t.Fatalf("OpenProcess(READ_CONTROL): %v", err)
	}
	defer windows.CloseHandle(hp)
	sd, err := windows.GetSecurityInfo(hp, windows.SE_KERNEL_OBJECT, windows.DACL_SECURITY_INFORMATION)
	if err != nil {
		t.Fatalf("GetSecurityInfo: %v", err)
	}
	if got := sd.String(); !strings.Contains(got, marker) {
		t.Errorf("process DACL %s does not hold the given ACE for %s", got, marker)
	} else {
		t.Logf("process DACL: %s", got)
	}
	p.Kill()
	h.wait(p)
}
