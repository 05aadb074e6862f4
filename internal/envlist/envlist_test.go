package envlist

import (
	"slices"
	"testing"
)

func TestSplit(t *testing.T) {
	tests := []struct {
		r           Rules
		kv          string
		name, value string
		ok          bool
	}{
		{POSIX, "PATH=/bin", "PATH", "/bin", true},
		{POSIX, "X=", "X", "", true},
		{POSIX, "X=a=b", "X", "a=b", true},
		{POSIX, "=C:=C:\\", "", "", false},
		{POSIX, "BROKEN", "", "", false},
		{POSIX, "", "", "", false},
		{Windows, "Path=C:\\a", "Path", "C:\\a", true},
		{Windows, "X=a=b", "X", "a=b", true},
		{Windows, "=C:=C:\\", "=C:", "C:\\", true},
		{Windows, "=ExitCode=00000000", "=ExitCode", "00000000", true},
		{Windows, "=x", "", "", false},
		{Windows, "=", "", "", false},
		{Windows, "==x", "", "", false},
		{Windows, "BROKEN", "", "", false},
	}
	for _, tt := range tests {
		name, value, ok := tt.r.Split(tt.kv)
		if name != tt.name || value != tt.value || ok != tt.ok {
			t.Errorf("%v.Split(%q) = %q, %q, %v; want %q, %q, %v", tt.r, tt.kv, name, value, ok, tt.name, tt.value, tt.ok)
		}
	}
}

func TestLookup(t *testing.T) {
	env := []string{"Path=C:\\a", "BROKEN", "=C:=C:\\", "path=C:\\b", "X=", "PATH=/bin"}
	tests := []struct {
		r          Rules
		name, want string
		ok         bool
	}{
		{Windows, "PATH", `/bin`, true},
		{Windows, "pAtH", `/bin`, true},
		{Windows, "X", "", true},
		{Windows, "=c:", `C:\`, true},
		{Windows, "BROKEN", "", false},
		{Windows, "MISSING", "", false},
		{POSIX, "PATH", "/bin", true},
		{POSIX, "Path", `C:\a`, true},
		{POSIX, "path", `C:\b`, true},
		{POSIX, "pAtH", "", false},
		{POSIX, "X", "", true},
		{POSIX, "=C:", "", false},
		{POSIX, "BROKEN", "", false},
	}
	for _, tt := range tests {
		got, ok := tt.r.Lookup(env, tt.name)
		if got != tt.want || ok != tt.ok {
			t.Errorf("%v.Lookup(%q) = %q, %v; want %q, %v", tt.r, tt.name, got, ok, tt.want, tt.ok)
		}
	}
	// The last entry wins.
	if got, _ := Windows.Lookup([]string{"path=a", "PATH=b", "Path=c"}, "PATH"); got != "c" {
		t.Errorf("Windows.Lookup: %q, want the last entry's value", got)
	}
	if i := Windows.Index(env, "PATH"); i != 5 {
		t.Errorf("Windows.Index(PATH) = %d, want 5", i)
	}
	if i := POSIX.Index(env, "path"); i != 3 {
		t.Errorf("POSIX.Index(path) = %d, want 3", i)
	}
}

// TestWindowsFold: names equal under Windows' table are the same variable,
// and no non-ASCII name stands for an ASCII one.
func TestWindowsFold(t *testing.T) {
	tests := []struct {
		a, b string
		same bool
	}{
		{"Path", "PATH", true},
		{"é", "É", true},
		{"LEſS", "LESS", false},     // long ſ is not S
		{"TMPDıR", "TMPDIR", false}, // dotless ı is not I
		{"\u212A", "K", false},      // Kelvin sign is not K
	}
	for _, tt := range tests {
		if got := Windows.Same(tt.a, tt.b); got != tt.same {
			t.Errorf("Windows.Same(%q, %q) = %v, want %v", tt.a, tt.b, got, tt.same)
		}
	}
	if POSIX.Same("Path", "PATH") {
		t.Errorf("POSIX.Same(Path, PATH) = true")
	}
}

func TestSet(t *testing.T) {
	env := []string{"TEMP=a", "Path=x", "temp=b", "=C:=C:\\", "BROKEN", "TEMPX=c"}
	keep := slices.Clone(env)
	got := Windows.Set(env, "TEMP", "d")
	want := []string{"Path=x", "=C:=C:\\", "BROKEN", "TEMPX=c", "TEMP=d"}
	if !slices.Equal(got, want) {
		t.Errorf("Windows.Set = %q, want %q", got, want)
	}
	got = POSIX.Set(env, "TEMP", "d")
	want = []string{"Path=x", "temp=b", "=C:=C:\\", "BROKEN", "TEMPX=c", "TEMP=d"}
	if !slices.Equal(got, want) {
		t.Errorf("POSIX.Set = %q, want %q", got, want)
	}
	if !slices.Equal(env, keep) {
		t.Errorf("Set modified its input: %q", env)
	}
}

func TestUpperUnit(t *testing.T) {
	tests := []struct{ in, want uint16 }{
		{'a', 'A'}, {'z', 'Z'}, {'A', 'A'}, {'_', '_'}, {'`', '`'}, {'{', '{'},
		{0xE9, 0xC9},     // é -> É
		{0xDF, 0xDF},     // ß has no single upper-case code unit
		{0xFF41, 0xFF21}, // fullwidth a -> A
		{0xFF, 0x178},    // ÿ -> Ÿ, outside Latin-1
		{0x3C3, 0x3A3},   // σ -> Σ
		// Upper case that lowers to something else: left alone.
		{0xB5, 0xB5},     // µ (Σ's neighbour Μ lowers to μ)
		{0x131, 0x131},   // dotless ı (I lowers to i)
		{0x17F, 0x17F},   // long ſ
		{0x3C2, 0x3C2},   // final ς
		{0x1C5, 0x1C5},   // title-case ǅ
		{0xD83D, 0xD83D}, // surrogates are left alone
		{0xDE00, 0xDE00},
	}
	for _, tt := range tests {
		if got := upperUnit(tt.in); got != tt.want {
			t.Errorf("upperUnit(%#04x) = %#04x, want %#04x", tt.in, got, tt.want)
		}
	}
}

func (r Rules) String() string {
	if r.windows {
		return "Windows"
	}
	return "POSIX"
}
