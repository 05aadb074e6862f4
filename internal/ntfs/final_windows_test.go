package ntfs

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/cordon-sandbox/cordon/internal/testutil"
)

func TestCanonicalPath(t *testing.T) {
	dir := testutil.TempDir(t)
	sub := filepath.Join(dir, "Sub")
	if err := os.Mkdir(sub, 0o755); err != nil {
		t.Fatal(err)
	}
	// Another spelling of the same directory: other case, a trailing
	// separator, a "." component.
	// (The temp directory may itself be spelt with a short name, as on
	// CI runners, so the answer is compared with the canonical form of
	// the plain spelling, not with it.)
	want := FinalPath(sub)
	got := FinalPath(strings.ToLower(dir) + `\.\sub\`)
	if got != want || strings.HasPrefix(got, `\\?\`) || filepath.Base(got) != "Sub" || !filepath.IsAbs(got) {
		t.Errorf("FinalPath = %q, want %q ending in the stored name Sub", got, want)
	}
	missing := filepath.Join(dir, "missing")
	if got := FinalPath(missing); got != missing {
		t.Errorf("FinalPath(missing) = %q", got)
	}
}
