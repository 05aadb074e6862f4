package winpath

import "testing"

// FuzzParse checks the invariants callers rely on: Parse never panics, the
// canonical String of a parsed path parses back to the same path (so Key is
// stable), and every path is within itself and within its parent.
func FuzzParse(f *testing.F) {
	for _, s := range []string{
		`C:\Users\me\ws\.git\config`,
		`c:/x/../y/./z. .`,
		`\\server\share\a \b`,
		`\\?\C:\ws\.git.`,
		`\\.\C:\..\D:\x`,
		`\\.\pipe\a\b`,
		`C:\ws\.git:$I30:$INDEX_ALLOCATION`,
		`C:\dir\nul.txt`,
		`\??\UNC\srv\share\x`,
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		p, err := Parse(s)
		if err != nil {
			return
		}
		str := p.String()
		q, err := Parse(str)
		if err != nil {
			t.Fatalf("Parse(%q) = %+v, but Parse(String() = %q) fails: %v", s, p, str, err)
		}
		if !sameFields(p, q) {
			t.Fatalf("Parse(%q) = %+v, Parse(%q) = %+v", s, p, str, q)
		}
		if p.Key() != q.Key() {
			t.Fatalf("Key changed: %q vs %q", p.Key(), q.Key())
		}
		if !p.Within(p) {
			t.Fatalf("%q (%+v) is not within itself", s, p)
		}
		if par, ok := p.Parent(); ok {
			if p.Kind != KindDevice && !p.Within(par) {
				t.Fatalf("%q is not within its parent %q", s, par)
			}
			roundTrip(t, "parent of "+s, par)
		}
		if p.Stream == "" {
			j, err := p.Join("x")
			if err != nil {
				t.Fatalf("%q.Join(x): %v", s, err)
			}
			roundTrip(t, "join below "+s, j)
			if jp, ok := j.Parent(); p.Kind != KindDevice && (!ok || jp.Key() != p.Key()) {
				t.Fatalf("Parent(Join(%q, x)) = %q, want Key %q", s, jp, p.Key())
			}
		}
	})
}

// roundTrip checks that a derived path (Parent, Join) also has a String
// that parses back to it.
func roundTrip(t *testing.T, what string, p Path) {
	t.Helper()
	q, err := Parse(p.String())
	if err != nil {
		t.Fatalf("%s: %+v has unparsable String %q: %v", what, p, p.String(), err)
	}
	if !sameFields(p, q) {
		t.Fatalf("%s: %+v, but Parse(%q) = %+v", what, p, p.String(), q)
	}
}
