package winpath

import (
	"errors"
	"reflect"
	"strings"
	"testing"
)

func mustParse(t *testing.T, s string) Path {
	t.Helper()
	p, err := Parse(s)
	if err != nil {
		t.Fatalf("Parse(%q): %v", s, err)
	}
	return p
}

func el(e ...string) []string { return e }

func TestParse(t *testing.T) {
	tests := []struct {
		in     string
		kind   Kind
		vol    string
		elems  []string
		stream string
		str    string // expected String()
	}{
		// Drive paths and separators.
		{`C:\x`, KindDrive, "C:", el("x"), "", `C:\x`},
		{`c:/x`, KindDrive, "C:", el("x"), "", `C:\x`},
		{`C:\`, KindDrive, "C:", nil, "", `C:\`},
		{`c:/`, KindDrive, "C:", nil, "", `C:\`},
		{`C:/a\b//c\\\d\`, KindDrive, "C:", el("a", "b", "c", "d"), "", `C:\a\b\c\d`},
		{`z:\Program Files\x`, KindDrive, "Z:", el("Program Files", "x"), "", `Z:\Program Files\x`},
		// Relative components; ".." is clamped at the root like Win32 does.
		{`C:\a\.\b\..\c`, KindDrive, "C:", el("a", "c"), "", `C:\a\c`},
		{`C:\..\x`, KindDrive, "C:", el("x"), "", `C:\x`},
		{`C:\..\..\..`, KindDrive, "C:", nil, "", `C:\`},
		{`C:\a\b\..`, KindDrive, "C:", el("a"), "", `C:\a`},
		{`C:\a\.`, KindDrive, "C:", el("a"), "", `C:\a`},
		// Trailing dots and spaces.
		{`C:\a.\b`, KindDrive, "C:", el("a", "b"), "", `C:\a\b`},
		{`C:\a..\b`, KindDrive, "C:", el("a.", "b"), "", `\\?\C:\a.\b`},
		{`C:\a \b`, KindDrive, "C:", el("a ", "b"), "", `C:\a \b`},
		{`C:\a. . `, KindDrive, "C:", el("a"), "", `C:\a`},
		{`C:\a \`, KindDrive, "C:", el("a "), "", `\\?\C:\a `},
		{`C:\a.\`, KindDrive, "C:", el("a"), "", `C:\a`},
		{`C:\a \b\..`, KindDrive, "C:", el("a"), "", `C:\a`},
		{`C:\...a`, KindDrive, "C:", el("...a"), "", `C:\...a`},
		// Streams.
		{`C:\ws\file.txt:evil`, KindDrive, "C:", el("ws", "file.txt"), "evil", `C:\ws\file.txt:evil`},
		{`C:\ws\file.txt:evil:$DATA`, KindDrive, "C:", el("ws", "file.txt"), "evil:$DATA", `C:\ws\file.txt:evil:$DATA`},
		{`C:\ws\.git::$INDEX_ALLOCATION`, KindDrive, "C:", el("ws", ".git"), ":$INDEX_ALLOCATION", `C:\ws\.git::$INDEX_ALLOCATION`},
		{`C:\ws\.git:$I30:$INDEX_ALLOCATION`, KindDrive, "C:", el("ws", ".git"), "$I30:$INDEX_ALLOCATION", `C:\ws\.git:$I30:$INDEX_ALLOCATION`},
		{`C:\ws\x.txt:s. `, KindDrive, "C:", el("ws", "x.txt"), "s", `C:\ws\x.txt:s`},
		// DOS device names as the last component of a drive path.
		{`C:\dir\NUL`, KindDevice, "NUL", nil, "", `\\.\NUL`},
		{`C:\dir\nul.txt`, KindDevice, "NUL", nil, "", `\\.\NUL`},
		{`C:\dir\nul .tar.gz`, KindDevice, "NUL", nil, "", `\\.\NUL`},
		{`C:\dir\con `, KindDevice, "CON", nil, "", `\\.\CON`},
		{`C:\dir\Com1.log`, KindDevice, "COM1", nil, "", `\\.\COM1`},
		{`C:\dir\lpt¹`, KindDevice, "LPT¹", nil, "", `\\.\LPT¹`},
		{`C:\dir\nul:x`, KindDevice, "NUL", nil, "", `\\.\NUL`},
		{`C:\dir\x\..\aux`, KindDevice, "AUX", nil, "", `\\.\AUX`},
		{`C:\dir\nul\`, KindDevice, "NUL", nil, "", `\\.\NUL`}, // conservative
		{`C:\dir\nul\x`, KindDrive, "C:", el("dir", "nul", "x"), "", `C:\dir\nul\x`},
		{`C:\dir\com0`, KindDrive, "C:", el("dir", "com0"), "", `C:\dir\com0`},
		{`C:\dir\nulx.txt`, KindDrive, "C:", el("dir", "nulx.txt"), "", `C:\dir\nulx.txt`},
		// UNC.
		{`\\server\share\x`, KindUNC, `\\server\share`, el("x"), "", `\\server\share\x`},
		{`//server/share/x`, KindUNC, `\\server\share`, el("x"), "", `\\server\share\x`},
		{`\/Server\/Share/x\`, KindUNC, `\\Server\Share`, el("x"), "", `\\Server\Share\x`},
		{`\\server\share`, KindUNC, `\\server\share`, nil, "", `\\server\share`},
		{`\\server\share\..\..\x`, KindUNC, `\\server\share`, el("x"), "", `\\server\share\x`},
		{`\\server\share\a \b`, KindUNC, `\\server\share`, el("a ", "b"), "", `\\server\share\a \b`},
		{`\\::1\share\x`, KindUNC, `\\::1\share`, el("x"), "", `\\::1\share\x`},
		{`\\srv\share\nul`, KindUNC, `\\srv\share`, el("nul"), "", `\\srv\share\nul`},
		{`\\.x\share`, KindUNC, `\\.x\share`, nil, "", `\\.x\share`},
		{`\\srv\share\f:s`, KindUNC, `\\srv\share`, el("f"), "s", `\\srv\share\f:s`},
		// Verbatim \\?\ and \??\: nothing is rewritten.
		{`\\?\C:\x`, KindDrive, "C:", el("x"), "", `C:\x`},
		{`\\?\c:\ws\.git.`, KindDrive, "C:", el("ws", ".git."), "", `\\?\C:\ws\.git.`},
		{`\\?\C:\ws\x `, KindDrive, "C:", el("ws", "x "), "", `\\?\C:\ws\x `},
		{`\\?\C:\a/b`, KindDrive, "C:", el("a/b"), "", `\\?\C:\a/b`},
		{`\\?\C:\a<b`, KindDrive, "C:", el("a<b"), "", `\\?\C:\a<b`},
		{`\\?\C:\`, KindDrive, "C:", nil, "", `C:\`},
		{`\\?\C:\a\`, KindDrive, "C:", el("a"), "", `C:\a`},
		{`\\?\C:`, KindDevice, "C:", nil, "", `\\.\C:`},
		{`\\?\C:\dir\nul`, KindDrive, "C:", el("dir", "nul"), "", `\\?\C:\dir\nul`},
		{`\\?\C:\x:s `, KindDrive, "C:", el("x"), "s ", `\\?\C:\x:s `},
		{`\\?\UNC\server\share\x`, KindUNC, `\\server\share`, el("x"), "", `\\server\share\x`},
		{`\\?\unc\Server\Share`, KindUNC, `\\Server\Share`, nil, "", `\\Server\Share`},
		{`\??\C:\x`, KindDrive, "C:", el("x"), "", `C:\x`},
		{`\??\UNC\srv\sh\x.`, KindUNC, `\\srv\sh`, el("x."), "", `\\?\UNC\srv\sh\x.`},
		{`\\?\GLOBALROOT\Device\HarddiskVolume3\x`, KindDevice, "GLOBALROOT", el("Device", "HarddiskVolume3", "x"), "", `\\.\GLOBALROOT\Device\HarddiskVolume3\x`},
		{`\\?\Volume{b75e2c83-0000-0000-0000-602f00000000}\ws`, KindDevice, "VOLUME{B75E2C83-0000-0000-0000-602F00000000}", el("ws"), "", `\\.\VOLUME{B75E2C83-0000-0000-0000-602F00000000}\ws`},
		{`\\?\pipe\x.`, KindDevice, `PIPE\x.`, nil, "", `\\?\PIPE\x.`},
		{`\\?\C:/x`, KindDevice, "C:/X", nil, "", `\\?\C:/X`},
		// Device namespace \\.\ (normalised, no DOS device names).
		{`\\.\C:\x`, KindDrive, "C:", el("x"), "", `C:\x`},
		{`//./c:/x`, KindDrive, "C:", el("x"), "", `C:\x`},
		{`\\.\C:`, KindDevice, "C:", nil, "", `\\.\C:`},
		{`\\.\C:\`, KindDrive, "C:", nil, "", `C:\`},
		{`\\.\C:\x\..`, KindDevice, "C:", nil, "", `\\.\C:`},
		{`\\.\C:\x\..\`, KindDrive, "C:", nil, "", `C:\`},
		{`\\.\C:\..\D:\x`, KindDrive, "D:", el("x"), "", `D:\x`},
		{`\\.\C:\dir\nul`, KindDrive, "C:", el("dir", "nul"), "", `\\?\C:\dir\nul`},
		{`\\.\pipe\name`, KindDevice, `PIPE\name`, nil, "", `\\.\PIPE\name`},
		{`\\.\pipe\a\b`, KindDevice, `PIPE\a\b`, nil, "", `\\.\PIPE\a\b`},
		{`\\.\pipe\a\..\b`, KindDevice, `PIPE\b`, nil, "", `\\.\PIPE\b`},
		{`\\.\PhysicalDrive0`, KindDevice, "PHYSICALDRIVE0", nil, "", `\\.\PHYSICALDRIVE0`},
		{`\\.\NUL`, KindDevice, "NUL", nil, "", `\\.\NUL`},
		{`\\.\UNC\localhost\C$\x`, KindUNC, `\\localhost\C$`, el("x"), "", `\\localhost\C$\x`},
		{`//?/C:/ws/../x`, KindDrive, "C:", el("x"), "", `C:\x`},
		{`\\?/C:/x.`, KindDrive, "C:", el("x"), "", `C:\x`},
		{`\\.\GLOBALROOT\Device\HarddiskVolume1\x`, KindDevice, "GLOBALROOT", el("Device", "HarddiskVolume1", "x"), "", `\\.\GLOBALROOT\Device\HarddiskVolume1\x`},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			p := mustParse(t, tt.in)
			if p.Kind != tt.kind || p.Volume != tt.vol || !reflect.DeepEqual(p.Elems, tt.elems) || p.Stream != tt.stream {
				t.Errorf("Parse(%q) = {%v %q %q %q}, want {%v %q %q %q}",
					tt.in, p.Kind, p.Volume, p.Elems, p.Stream, tt.kind, tt.vol, tt.elems, tt.stream)
			}
			if got := p.String(); got != tt.str {
				t.Errorf("String() = %q, want %q", got, tt.str)
			}
			q := mustParse(t, p.String())
			if !sameFields(p, q) {
				t.Errorf("Parse(String()) = %+v, want %+v", q, p)
			}
		})
	}
}

func TestParseErrors(t *testing.T) {
	long := strings.Repeat("a", 256)
	tests := []struct{ in, want string }{
		{``, "empty path"},
		{`a\b`, "relative path"},
		{`x`, "relative path"},
		{`NUL`, "relative path"},
		{`C:x`, "drive-relative"},
		{`C:`, "drive-relative"},
		{`\x`, "root-relative"},
		{`/x`, "root-relative"},
		{`1:\x`, "invalid drive letter"},
		{`é:\x`, "invalid drive letter"},
		{`C:\a:b\c`, `colon in component "a:b"`},
		{`C:\a:b\..\c`, `colon in component "a:b"`},
		{`C:\ws\x:s\`, `colon in component "x:s"`},
		{`C:\a<b`, "invalid character"},
		{`C:\a>b`, "invalid character"},
		{`C:\a"b`, "invalid character"},
		{`C:\a|b`, "invalid character"},
		{`C:\a?b`, "invalid character"},
		{`C:\a*`, "invalid character"},
		{"C:\\a\x01b", "invalid character"},
		{"C:\\a\tb", "invalid character"},
		{"C:\\a\x00b", "NUL byte"},
		{"\\\\?\\C:\\a\x00b", "NUL byte"},
		{"C:\\\xff", "not valid UTF-8"},
		{`C:\` + long, "longer than 255"},
		{`C:\` + strings.Repeat("𐐀", 128), "longer than 255"},
		{`C:\x:` + long, "stream name"},
		{`C:\ws\...`, "ambiguous component"},
		{`C:\ws\.. \x`, "ambiguous component"},
		{`C:\ws\ \x`, "ambiguous component"},
		{`C:\ws\x:`, "empty stream name"},
		{`C:\ws\:x`, "no name"},
		{`C:\ws\x:a:b`, "not an attribute type"},
		{`C:\ws\x:a:$DATA:z`, "too many colons"},
		{`\\server`, "without share"},
		{`\\server\`, "without share"},
		{`\\server\\`, "without share"},
		{`\\\share`, "without server"},
		{`\\srv\c:\x`, "colon in UNC share"},
		{`\\..\share`, "invalid UNC server"},
		{`\\srv\..\x`, "invalid UNC share"},
		{`\\?x\share`, "invalid character"},
		{`\\?\`, "names nothing"},
		{`\\?\C:\ws\..\x`, `component ".."`},
		{`\\?\C:\ws\.\x`, `component "."`},
		{`\\?\C:\a\\b`, "empty component"},
		{`\\?\UNC\srv`, "without share"},
		{`\\?\C:\a:b\c`, `colon in component "a:b"`},
		{`\\.\`, "names no device"},
		{`\\.`, "names no device"},
		{`\\?`, "names no device"},
		{`\\.\x\..`, "names no device"},
		{`\\.\UNC\srv`, "without share"},
		{`\\.\C:\a:b\c`, `colon in component "a:b"`},
		{`C:\` + strings.Repeat(`a\`, 16384), "longer than 32767"},
	}
	for _, tt := range tests {
		p, err := Parse(tt.in)
		if err == nil {
			t.Errorf("Parse(%q) = %+v, want error containing %q", tt.in, p, tt.want)
			continue
		}
		var pe *ParseError
		if !errors.As(err, &pe) || pe.Path != tt.in {
			t.Errorf("Parse(%q) error %v is not a *ParseError for the input", tt.in, err)
		}
		if !strings.Contains(err.Error(), tt.want) {
			t.Errorf("Parse(%q) error = %q, want it to contain %q", tt.in, err, tt.want)
		}
	}
	// Boundaries of the length limit, in UTF-16 code units.
	for _, ok := range []string{`C:\` + long[:255], `C:\` + strings.Repeat("𐐀", 127) + "a", `C:\x:` + long[:255]} {
		if _, err := Parse(ok); err != nil {
			t.Errorf("Parse(255-unit name): %v", err)
		}
	}
}

func TestVerbatimTrailingDotIsADifferentFile(t *testing.T) {
	plain := mustParse(t, `C:\ws\.git.`)
	verb := mustParse(t, `\\?\C:\ws\.git.`)
	if plain.Base() != ".git" || verb.Base() != ".git." {
		t.Fatalf("Base: plain %q, verbatim %q", plain.Base(), verb.Base())
	}
	if plain.Key() == verb.Key() {
		t.Errorf("Key(%s) == Key(%s); Win32 strips the dot only outside \\\\?\\", plain, verb)
	}
	if verb.Within(plain) || plain.Within(verb) {
		t.Error("a file named .git. is neither .git nor below it")
	}
	if !EqualName(verb.Base(), ".git") {
		t.Error("EqualName must still flag .git. as a spelling of .git")
	}
}

func TestKey(t *testing.T) {
	same := [][2]string{
		{`c:\WS\x`, `C:\ws\X`},
		{`\\?\C:\ws\x`, `C:\ws\x`},
		{`\\.\c:\ws\x`, `C:\ws\x`},
		{`C:\ws\x:s`, `C:\ws\x`},
		{`C:\ws\.git::$INDEX_ALLOCATION`, `C:\ws\.GIT`},
		{`\\SRV\Share\x`, `\\srv\share\x`},
		{`\\?\UNC\srv\share\x`, `\\srv\share\x`},
		{`C:\ws\straße`, `C:\WS\STRAßE`},
		{`C:\ws\ÿ`, `C:\ws\Ÿ`},
		{`C:\a\..\b`, `C:\B`},
		{`\\.\pipe\X`, `\\?\PIPE\X`},
	}
	for _, c := range same {
		a, b := mustParse(t, c[0]), mustParse(t, c[1])
		if a.Key() != b.Key() {
			t.Errorf("Key(%q) = %q, Key(%q) = %q; want equal", c[0], a.Key(), c[1], b.Key())
		}
	}
	differ := [][2]string{
		{`\\?\C:\ws\.git.`, `C:\ws\.git.`},
		{`C:\ws\.git \x`, `C:\ws\.git\x`},
		{`C:\ws`, `C:\wſ`},     // NTFS does not map long s to S
		{`C:\.git`, `C:\.gıt`}, // nor dotless i to I
		{`C:\ß`, `C:\SS`},
		{`C:\𐐨`, `C:\𐐀`}, // supplementary characters are not folded
		{`C:\x`, `D:\x`},
		{`\\.\C:`, `C:\`},
		{`\\.\pipe\x`, `\\.\pipe\y`},
		{`\\.\NUL`, `\\?\C:\NUL`},
	}
	for _, c := range differ {
		a, b := mustParse(t, c[0]), mustParse(t, c[1])
		if a.Key() == b.Key() {
			t.Errorf("Key(%q) == Key(%q) == %q; want different", c[0], c[1], a.Key())
		}
	}
}

func TestObjectParentBase(t *testing.T) {
	p := mustParse(t, `C:\ws\.git:$I30:$INDEX_ALLOCATION`)
	if o := p.Object(); o.String() != `C:\ws\.git` || o.Stream != "" {
		t.Errorf("Object() = %q", o)
	}
	if p.Base() != ".git" {
		t.Errorf("Base() = %q", p.Base())
	}
	par, ok := p.Parent()
	if !ok || par.String() != `C:\ws` {
		t.Errorf("Parent() = %q, %v", par, ok)
	}
	root, ok := par.Parent()
	if !ok || root.String() != `C:\` || root.Base() != "" {
		t.Errorf("Parent(Parent()) = %q, %v", root, ok)
	}
	if _, ok := root.Parent(); ok {
		t.Error("a drive root has no parent")
	}
	if _, ok := mustParse(t, `\\srv\share`).Parent(); ok {
		t.Error("a share root has no parent")
	}
	if _, ok := mustParse(t, `\\.\PhysicalDrive0`).Parent(); ok {
		t.Error("a bare device has no parent")
	}
	// A parent whose last element is a device name must keep naming the
	// directory, which only the verbatim spelling can.
	dir, _ := mustParse(t, `C:\ws\con\x`).Parent()
	if dir.Kind != KindDrive || dir.String() != `\\?\C:\ws\con` {
		t.Errorf("Parent of C:\\ws\\con\\x = %v %q", dir.Kind, dir)
	}
	// Mutating a derived path must not affect the original.
	q := mustParse(t, `C:\a\b\c`)
	par, _ = q.Parent()
	par.Elems[0] = "z"
	if q.Elems[0] != "a" {
		t.Error("Parent shares Elems with its receiver")
	}
}

func TestJoin(t *testing.T) {
	ws := mustParse(t, `C:\Users\me\ws`)
	tests := []struct {
		base  Path
		elems []string
		want  string
		kind  Kind
	}{
		{ws, el("a", "b.txt"), `C:\Users\me\ws\a\b.txt`, KindDrive},
		{ws, el(".git.", "config "), `C:\Users\me\ws\.git\config`, KindDrive},
		{ws, el(".git ", "x"), `C:\Users\me\ws\.git \x`, KindDrive},
		{ws, el("x.txt:evil"), `C:\Users\me\ws\x.txt:evil`, KindDrive},
		{ws, el("nul.txt"), `\\.\NUL`, KindDevice},
		{ws, el("con", "x"), `C:\Users\me\ws\con\x`, KindDrive},
		{ws, nil, `C:\Users\me\ws`, KindDrive},
		{mustParse(t, `\\?\C:\ws\a.`), el("b"), `\\?\C:\ws\a.\b`, KindDrive},
		{mustParse(t, `\\srv\share`), el("nul"), `\\srv\share\nul`, KindUNC},
		{mustParse(t, `\\.\pipe\`), el("x"), `\\.\PIPE\x`, KindDevice},
		{mustParse(t, `\\.\GLOBALROOT\Device`), el("Mup"), `\\.\GLOBALROOT\Device\Mup`, KindDevice},
		{mustParse(t, `\\.\C:`), el("x"), `C:\x`, KindDrive},
		{mustParse(t, `\\.\pipe\a`), el("b"), `\\.\PIPE\a\b`, KindDevice},
		{mustParse(t, `C:\dir\nul`), el("x"), `\\.\NUL\x`, KindDevice},
	}
	for _, tt := range tests {
		got, err := tt.base.Join(tt.elems...)
		if err != nil {
			t.Errorf("%s.Join(%q): %v", tt.base, tt.elems, err)
			continue
		}
		if got.String() != tt.want || got.Kind != tt.kind {
			t.Errorf("%s.Join(%q) = %v %q, want %v %q", tt.base, tt.elems, got.Kind, got, tt.kind, tt.want)
		}
	}
	bad := [][]string{
		{""}, {`a\b`}, {"a/b"}, {"."}, {".."}, {"..."}, {" "}, {"a*"}, {"a:b", "c"},
		{"x:"}, {"a\x00"}, {"\xff"}, {strings.Repeat("n", 256)},
	}
	for _, b := range bad {
		if got, err := ws.Join(b...); err == nil {
			t.Errorf("Join(%q) = %q, want error", b, got)
		}
	}
	if _, err := mustParse(t, `C:\ws\x:s`).Join("y"); err == nil {
		t.Error("Join below a stream must fail")
	}
	// Join must not alias the receiver's Elems.
	base := Path{Kind: KindDrive, Volume: "C:", Elems: make([]string, 1, 4)}
	base.Elems[0] = "a"
	j1, _ := base.Join("x")
	j2, _ := base.Join("y")
	if j1.Base() != "x" || j2.Base() != "y" {
		t.Errorf("Join aliases: %q %q", j1, j2)
	}
}

func TestWithinAndRel(t *testing.T) {
	tests := []struct {
		p, root string
		within  bool
		rel     []string
	}{
		{`C:\ws`, `C:\ws`, true, nil},
		{`C:\ws\a\b`, `C:\ws`, true, el("a", "b")},
		{`c:\WS\A`, `C:\ws`, true, el("A")},
		{`C:\ws2\a`, `C:\ws`, false, nil},
		{`C:\w`, `C:\ws`, false, nil},
		{`C:\ws\a`, `C:\`, true, el("ws", "a")},
		{`D:\ws\a`, `C:\ws`, false, nil},
		{`C:\ws\x:s`, `C:\ws`, true, el("x")},
		{`C:\ws\x:s`, `C:\ws\x`, true, nil},
		{`C:\ws\x`, `C:\ws\x:s`, false, nil},
		{`C:\ws\x:S`, `C:\ws\x:s`, true, nil},
		{`\\SRV\Share\a`, `\\srv\share`, true, el("a")},
		{`\\srv\share2\a`, `\\srv\share`, false, nil},
		{`\\srv\share\a`, `C:\`, false, nil},
		{`\\.\pipe\x`, `\\.\PIPE\X`, true, nil},
		{`\\.\pipe\x\y`, `\\.\pipe\x`, false, nil},
		{`\\?\GLOBALROOT\Device\X\ws\a`, `\\?\GLOBALROOT\Device\X\ws`, false, nil},
		{`\\.\C:`, `C:\`, false, nil},
		{`C:\dir\nul`, `C:\dir`, false, nil},
	}
	for _, tt := range tests {
		p, root := mustParse(t, tt.p), mustParse(t, tt.root)
		if got := p.Within(root); got != tt.within {
			t.Errorf("Within(%q, %q) = %v, want %v", tt.p, tt.root, got, tt.within)
		}
		rel, ok := p.Rel(root)
		if ok != tt.within || !reflect.DeepEqual(rel, tt.rel) {
			t.Errorf("Rel(%q, %q) = %q, %v; want %q, %v", tt.p, tt.root, rel, ok, tt.rel, tt.within)
		}
	}
}

func TestEqualName(t *testing.T) {
	yes := [][2]string{{".GiT ", ".git"}, {".git.", ".GIT"}, {".git. . ", ".git"}, {"Ä", "ä"}, {"x", "x"}}
	no := [][2]string{{".git", ".gitx"}, {" .git", ".git"}, {".gıt", ".git"}, {"ß", "SS"}, {".git", "git"}}
	for _, c := range yes {
		if !EqualName(c[0], c[1]) {
			t.Errorf("EqualName(%q, %q) = false", c[0], c[1])
		}
	}
	for _, c := range no {
		if EqualName(c[0], c[1]) {
			t.Errorf("EqualName(%q, %q) = true", c[0], c[1])
		}
	}
}

func TestIsReservedName(t *testing.T) {
	yes := []string{"CON", "con", "Prn", "aux", "NUL", "nul.txt", "NUL.tar.gz", "nul ", "nul .txt",
		"nul.", "nul:", "nul:stream", "COM1", "com9", "LPT1", "lpt9.log", "COM¹", "com²", "LPT³", "lpt¹.txt"}
	no := []string{"", "CONx", "nulx", "xnul", " nul", "COM0", "LPT0", "COM10", "COM", "LPT", ".nul",
		"COM⁴", "nu l", "NULL", "conin$"}
	for _, n := range yes {
		if !IsReservedName(n) {
			t.Errorf("IsReservedName(%q) = false", n)
		}
	}
	for _, n := range no {
		if IsReservedName(n) {
			t.Errorf("IsReservedName(%q) = true", n)
		}
	}
}

func TestMayBeShortName(t *testing.T) {
	yes := []string{"GIT~1", "git~1", "AGENTS~1", "CODEX~12", "GI5F2D~1.TXT", "PROGRA~1"}
	no := []string{".git", "~", "a~", "a~b", "~x1", "file.txt", ""}
	for _, n := range yes {
		if !MayBeShortName(n) {
			t.Errorf("MayBeShortName(%q) = false", n)
		}
	}
	for _, n := range no {
		if MayBeShortName(n) {
			t.Errorf("MayBeShortName(%q) = true", n)
		}
	}
}

func TestIsLoopbackUNC(t *testing.T) {
	yes := []string{
		`\\localhost\C$\x`, `\\LOCALHOST\c$`, `\\localhost.\c$`, `\\127.0.0.1\c$`, `\\127.1.2.3\share`,
		`\\127.1\c$`, `\\2130706433\c$`, `\\0x7f.1\c$`, `\\0177.0.0.1\c$`, `\\::1\c$`, `\\[::1]\c$`,
		`\\::ffff:127.0.0.1\c$`, `\\0--1.ipv6-literal.net\c$`, `\\localhost@SSL@443\DavWWWRoot`,
		`\\.\UNC\localhost\C$\x`, `\\?\UNC\127.0.0.1\C$\x`, `\\0.0.0.0\c$`, `\\foo.localhost\c$`,
	}
	no := []string{
		`\\server\share`, `\\128.0.0.1\c$`, `\\10.0.0.1\c$`, `\\::2\c$`, `\\localhostx\c$`,
		`\\1\c$`, `C:\x`, `\\.\pipe\localhost`, `\\127.0.0.1.5\c$`,
	}
	for _, s := range yes {
		if !IsLoopbackUNC(mustParse(t, s)) {
			t.Errorf("IsLoopbackUNC(%q) = false", s)
		}
	}
	for _, s := range no {
		if IsLoopbackUNC(mustParse(t, s)) {
			t.Errorf("IsLoopbackUNC(%q) = true", s)
		}
	}
}

func TestFoldRune(t *testing.T) {
	// Folding must be idempotent (Key is built from already-folded device
	// names) and must never map a non-ASCII character onto ASCII.
	for r := rune(0); r <= 0x10FFFF; r++ {
		if r >= 0xD800 && r <= 0xDFFF {
			continue
		}
		u := foldRune(r)
		if foldRune(u) != u {
			t.Fatalf("foldRune not idempotent at %U", r)
		}
		if (r < 0x80) != (u < 0x80) {
			t.Fatalf("foldRune(%U) = %U crosses the ASCII boundary", r, u)
		}
	}
}

func TestKindString(t *testing.T) {
	if KindDrive.String() != "Drive" || KindUNC.String() != "UNC" || KindDevice.String() != "Device" || Kind(7).String() != "Kind(7)" {
		t.Error("Kind.String")
	}
}
