package aclplan

import (
	"slices"
	"strings"
	"testing"

	"github.com/cordon-sandbox/cordon/internal/fsview"
	"github.com/cordon-sandbox/cordon/ntsec"
	"github.com/cordon-sandbox/cordon/policy"
)

// NTFS holds names ending in a space or a dot ("vendor ", made through
// \\?\ or with a trailing separator), and a plain path ending in one names
// another entry: Win32 trims C:\ws\vendor  to C:\ws\vendor. The planner
// reaches what a directory lists under the listed name, so such an entry
// gets the edits its plainly named twin would get.

// A directory "vendor " inside the workspace whose DACL keeps the root's
// denial of FILE_DELETE_CHILD from deciding gets the denial itself.
func TestCutOffDirNamedWithTrailingSpace(t *testing.T) {
	m := machine(t)
	b := &builder{t, m}
	odd := `\\?\C:\Users\me\ws\vendor `
	b.add(odd, fsview.Directory, "D:P(A;OICI;FA;;;S-1-5-21-1-2-3-1001)(A;OICI;FA;;;SY)")
	b.add(odd+`\lib.go`, fsview.File, "")
	in := wsInput(t, m, policy.WorkspaceWrite)
	pl := mustMake(t, in)
	if w := `add ` + odd + ` (D;CI;0x40;;;S-1-5-21-1-2-3-1001)`; !contains(edits(pl), w) {
		t.Errorf("missing %s in\n%s", w, strings.Join(edits(pl), "\n"))
	}
	if pr := proveWithout(t, m, in, pl.Edits, func(e Edit) bool { return e.Path == odd }); pr.OK {
		t.Error("without the denial on vendor  the proof passed")
	}
}

// An Everyone-writable directory "Drop " outside the roots is flagged and
// denied to a Medium sandbox, as Public\Shared is.
func TestAuditDirNamedWithTrailingSpace(t *testing.T) {
	m := machine(t)
	b := &builder{t, m}
	odd := `\\?\C:\Users\Public\Drop `
	b.add(odd, fsview.Directory, "D:(A;OICI;FA;;;WD)")
	in := wsInput(t, m, policy.WorkspaceWrite)
	in.User.MediumIntegrity = true
	in.Readings = []ntsec.Reading{ntsec.DefaultReading}
	pl := mustMake(t, in)
	if !slices.Contains(pl.Audit.Flagged, odd) {
		t.Errorf("flagged %v, want %s among them", pl.Audit.Flagged, odd)
	}
	if w := `add ` + odd + ` (D;OICI;0x1f0156;;;S-1-5-21-11-11-11-11)`; !contains(edits(pl), w) {
		t.Errorf("missing %s in\n%s", w, strings.Join(edits(pl), "\n"))
	}
}
