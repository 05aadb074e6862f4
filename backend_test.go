package cordon

import (
	"strings"
	"testing"
)

// auto picks the Windows sandbox only behind the experimental flag, and
// otherwise refuses with a message saying how to opt in: never a silent
// unsandboxed run.
func TestChooseBackend(t *testing.T) {
	flag := func(v string) func(string) string {
		return func(k string) string {
			if k == "CORDON_EXPERIMENTAL_WINDOWS_SANDBOX" {
				return v
			}
			return ""
		}
	}
	cases := []struct {
		name, goos, flag string
		want, code, msg  string
	}{
		{"auto", "linux", "", "linux", "", ""},
		{"", "linux", "1", "linux", "", ""},
		{"auto", "windows", "1", "restricted-token", "", ""},
		{"auto", "windows", "", "", "unavailable", "CORDON_EXPERIMENTAL_WINDOWS_SANDBOX=1"},
		{"auto", "windows", "yes", "", "unavailable", "--sandbox restricted-token"},
		{"auto", "darwin", "1", "", "unavailable", "--sandbox none"},
		{"restricted-token", "windows", "", "restricted-token", "", ""},
		{"restricted-token", "linux", "", "restricted-token", "", ""},
		{"none", "windows", "", "none", "", ""},
		{"bwrap", "linux", "", "", "bad_request", "restricted-token"},
	}
	for _, c := range cases {
		b, err := chooseBackend(c.name, c.goos, flag(c.flag))
		switch {
		case c.code != "":
			if ErrorCode(err) != c.code || !strings.Contains(err.Error(), c.msg) {
				t.Errorf("%s on %s (flag %q): %v, want %s naming %q", c.name, c.goos, c.flag, err, c.code, c.msg)
			}
		case err != nil:
			t.Errorf("%s on %s (flag %q): %v", c.name, c.goos, c.flag, err)
		case b.Name() != c.want:
			t.Errorf("%s on %s (flag %q) = %s, want %s", c.name, c.goos, c.flag, b.Name(), c.want)
		}
	}
}
