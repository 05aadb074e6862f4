package termfilter

import (
	"strings"
	"testing"
)

// Reset puts back each DEC mode the stream left other than its default,
// and the charset, keypad and rendition once a sequence or SO passed;
// modes the filter does not know, or spells it would have to guess, never
// pass, so there is nothing to put back for them.
func TestReset(t *testing.T) {
	const tail = "\x0f\x1b(B\x1b>\x1b[0m"
	for _, tc := range []struct{ in, out, reset string }{
		{"plain text\n", "plain text\n", ""},
		{"\x1b]52;c;eA==\a", "", ""},
		{"\x1b[31mred", "\x1b[31mred", tail},
		{"\x1b[?1049h\x1b[?1000;1006hx\x1b[?1049l", "\x1b[?1049h\x1b[?1000;1006hx\x1b[?1049l", "\x1b[?1000;1006l" + tail},
		{"\x1b[?7l\x1b[?25l", "\x1b[?7l\x1b[?25l", "\x1b[?7;25h" + tail},
		{"\x1b[?7h\x1b[?25h", "\x1b[?7h\x1b[?25h", tail}, // defaults: nothing to undo
		{"\x1b)0\x0eqq", "\x1b)0\x0eqq", tail},
		{"\x1b[?1000:1h", "", ""},     // a sub-parameter
		{"\x1b[?38h", "", ""},         // Tektronix mode
		{"\x1b[?2048h", "", ""},       // in-band resize reports
		{"\x1b[?001000h", "", ""},     // six digits
		{"\x1b[?1000;99999h", "", ""}, // one unknown mode drops all
		{"\x1b[?;1000h", "", ""},      // an empty parameter
	} {
		var out strings.Builder
		f := NewWriter(&out)
		f.Write([]byte(tc.in))
		f.Close()
		if out.String() != tc.out {
			t.Errorf("%q: passed %q, want %q", tc.in, out.String(), tc.out)
		}
		if got := string(f.Reset()); got != tc.reset {
			t.Errorf("%q: Reset %q, want %q", tc.in, got, tc.reset)
		}
	}
}
