//go:build windows

package jobobject_test

import (
	"testing"
	"unsafe"

	"golang.org/x/sys/windows"

	"github.com/cordon-sandbox/cordon/internal/jobobject"
	"github.com/cordon-sandbox/cordon/internal/testutil"
)

// TestRestrictUI creates a job with every UI restriction and reads them
// back (JobObjectBasicUIRestrictions). Whether a process in the job is
// really refused the clipboard is checked by winlaunch's
// TestUIRestrictionsEnforced, on real Windows.
func TestRestrictUI(t *testing.T) {
	const want = 0xff // the eight JOB_OBJECT_UILIMIT_* flags of winnt.h
	if jobobject.UILimits != want {
		t.Errorf("UILimits = 0x%x, want 0x%x", jobobject.UILimits, want)
	}
	job, err := jobobject.Create(jobobject.Options{RestrictUI: true})
	if err != nil {
		t.Fatal(err)
	}
	defer job.Close()
	if testutil.UnderWine() {
		t.Skip("Wine 8 accepts JobObjectBasicUIRestrictions (Create succeeded) but answers the query with ERROR_INVALID_FUNCTION and enforces nothing")
	}
	var ui windows.JOBOBJECT_BASIC_UI_RESTRICTIONS
	if err := windows.QueryInformationJobObject(job.Handle(), windows.JobObjectBasicUIRestrictions,
		uintptr(unsafe.Pointer(&ui)), uint32(unsafe.Sizeof(ui)), nil); err != nil {
		t.Fatalf("QueryInformationJobObject(JobObjectBasicUIRestrictions): %v", err)
	}
	if ui.UIRestrictionsClass != want {
		t.Errorf("UI restrictions read back 0x%x, want 0x%x", ui.UIRestrictionsClass, want)
	}
}
