//go:build windows

package winlaunch_test

import (
	"strings"
	"testing"

	"golang.org/x/sys/windows"

	"github.com/cordon-sandbox/cordon/internal/jobobject"
	"github.com/cordon-sandbox/cordon/internal/testutil"
	"github.com/cordon-sandbox/cordon/internal/windesktop"
	"github.com/cordon-sandbox/cordon/internal/winlaunch"
)

// newDesktop creates a private desktop granting the current user
// everything, closed when the test ends.
func newDesktop(t *testing.T) *windesktop.Desktop {
	t.Helper()
	me, err := windows.GetCurrentProcessToken().GetTokenUser()
	if err != nil {
		t.Fatal(err)
	}
	sd, err := windows.SecurityDescriptorFromString("D:(A;;GA;;;" + me.User.Sid.String() + ")(A;;GA;;;SY)")
	if err != nil {
		t.Fatal(err)
	}
	d, err := windesktop.Create(sd)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := d.Close(); err != nil {
			t.Error(err)
		}
	})
	return d
}

// TestDesktop starts a child on a private desktop (STARTUPINFO.lpDesktop):
// it reports that desktop's name, not the caller's. Wine implements
// desktops, so this runs there.
func TestDesktop(t *testing.T) {
	h := newHarness(t)
	d := newDesktop(t)
	own, err := windesktop.ThreadDesktopName()
	if err != nil {
		t.Fatal(err)
	}
	_, short, _ := strings.Cut(d.Name(), `\`)
	r := h.run(winlaunch.Options{Job: newJob(t), Desktop: d.Name()}, "desktop", "")
	if r.code != 0 || r.stdout != short {
		t.Errorf("child on %s: exit %d, desktop %q (stderr %q), want %q", d.Name(), r.code, r.stdout, r.stderr, short)
	}
	if own == short {
		t.Errorf("the test itself runs on %s", own)
	}
	// Without Desktop the child shares the caller's.
	if r := h.run(winlaunch.Options{Job: newJob(t)}, "desktop", ""); r.stdout != own {
		t.Errorf("child without Desktop: desktop %q (stderr %q), want the caller's %q", r.stdout, r.stderr, own)
	}
}

// TestUIRestrictionsEnforced: a process in a job with RestrictUI cannot open
// the clipboard (JOB_OBJECT_UILIMIT_READCLIPBOARD), on a private desktop or
// not. Real Windows only: Wine accepts the restrictions and enforces none.
func TestUIRestrictionsEnforced(t *testing.T) {
	testutil.RealWindows(t)
	h := newHarness(t)
	free := h.run(winlaunch.Options{Job: newJob(t)}, "clipboard", "")
	t.Logf("clipboard outside a UI-restricted job: %q", free.stdout)
	for _, desktop := range []string{"", newDesktop(t).Name()} {
		job, err := jobobject.Create(jobobject.Options{RestrictUI: true})
		if err != nil {
			t.Fatal(err)
		}
		defer job.Close()
		r := h.run(winlaunch.Options{Job: job, Desktop: desktop}, "clipboard", "")
		if r.code != 0 || r.stdout == "open" {
			t.Errorf("desktop %q: clipboard in a UI-restricted job: exit %d, %q (stderr %q), want refused", desktop, r.code, r.stdout, r.stderr)
		}
	}
}
