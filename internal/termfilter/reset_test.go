package termfilter

import (
	"strings"
	"testing"
)

// Reset turns off exactly the modes that passed, and restores the
// character set, rendition and cursor only after a sequence passed.
func TestReset(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{"plain text\n", ""},
		{"\x1b]52;c;eA==\a", ""}, // dropped: nothing to undo
		{"\x1b[31mred", "\x1b(B\x1b[0m\x1b[?25h"},
		{"\x1b[?1049h\x1b[?1000;1006hx\x1b[?1049l", "\x1b[?1000;1006;1049l\x1b(B\x1b[0m\x1b[?25h"},
		{"\x1b(0qq", "\x1b(B\x1b[0m\x1b[?25h"},
	} {
		var out strings.Builder
		f := NewWriter(&out)
		f.Write([]byte(tc.in))
		f.Close()
		if got := string(f.Reset()); got != tc.want {
			t.Errorf("%q: Reset %q, want %q", tc.in, got, tc.want)
		}
	}
}
