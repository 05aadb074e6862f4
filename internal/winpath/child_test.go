package winpath

import "testing"

// Child keeps a listed name exactly, where Join reads it as typed text:
// the entry "x " of C:\ws is not C:\ws\x, and its spelling must say so.
func TestChild(t *testing.T) {
	ws, err := Parse(`C:\ws`)
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name, want string
	}{
		{"x", `C:\ws\x`},
		{"x ", `\\?\C:\ws\x `},
		{"x.", `\\?\C:\ws\x.`},
		{".git ", `\\?\C:\ws\.git `},
		{"nul", `\\?\C:\ws\nul`},
		{"con.txt", `\\?\C:\ws\con.txt`},
		{"a b", `C:\ws\a b`},
	} {
		c, err := ws.Child(tc.name)
		if err != nil {
			t.Errorf("Child(%q): %v", tc.name, err)
			continue
		}
		if c.String() != tc.want || c.Base() != tc.name {
			t.Errorf("Child(%q) = %s (base %q), want %s", tc.name, c, c.Base(), tc.want)
		}
		back, err := Parse(c.String())
		if err != nil || back.Key() != c.Key() {
			t.Errorf("Child(%q): %s does not parse back to itself: %v", tc.name, c, err)
		}
		if j, err := ws.Join(tc.name); err == nil && j.Base() != tc.name && j.Key() == c.Key() {
			t.Errorf("Child(%q) and Join agree on %s though Join trimmed the name", tc.name, c)
		}
	}
	for _, bad := range []string{"", ".", "..", `a\b`, "a/b", "a\x00", "x:s", "\xff"} {
		if c, err := ws.Child(bad); err == nil {
			t.Errorf("Child(%q) = %s, want an error", bad, c)
		}
	}
	dev, _ := Parse(`\\.\NUL`)
	if _, err := dev.Child("x"); err == nil {
		t.Error("a child below a device was accepted")
	}
}
