package winpath

import (
	"strings"
	"testing"
)

// protectedNames are the entries the Codex Windows sandbox denies writes to
// below every writable root (reference doc §5-6): .git, .codex, .agents.
var protectedNames = []string{".git", ".codex", ".agents"}

// protectedBelow returns the protected name that the first element of p
// below root spells, if any, using EqualName as a planner would.
func protectedBelow(p, root Path) string {
	rel, ok := p.Rel(root)
	if !ok || len(rel) == 0 {
		return ""
	}
	for _, n := range protectedNames {
		if EqualName(rel[0], n) {
			return n
		}
	}
	return ""
}

// TestEscapes runs the escape spellings from the sandbox smoke tests
// (reference doc §13: ADS writes, \\?\ long-path escape, .GiT case variant,
// \\.\PhysicalDrive0, \\.\pipe\..., UNC and other-drive targets) and their
// relatives against a workspace root, checking what a planner would
// conclude: is the target inside the root, does it reach a protected entry,
// is it a device, does it need short-name resolution.
func TestEscapes(t *testing.T) {
	root := mustParse(t, `C:\Users\me\ws`)
	type want struct {
		within    bool
		protected string // protected entry reached ("" for none)
		kind      Kind
		stream    string
		loopback  bool
		short     bool // some element below the root may be an 8.3 alias
	}
	tests := []struct {
		in string
		want
	}{
		// Plain paths for reference.
		{`C:\Users\me\ws\x.txt`, want{within: true}},
		{`C:\Users\me\ws`, want{within: true}},
		{`C:\Users\me\ws\.git\config`, want{within: true, protected: ".git"}},

		// Case variants: NTFS is case-insensitive, and so are drive letters.
		{`C:\USERS\ME\WS\.GiT\config`, want{within: true, protected: ".git"}},
		{`c:/users/me/ws/.GIT/config`, want{within: true, protected: ".git"}},
		{`C:\Users\me\ws\.CODEX\config.toml`, want{within: true, protected: ".codex"}},
		{`C:\Users\me\ws\.Agents`, want{within: true, protected: ".agents"}},

		// Trailing dots and spaces: Win32 strips one trailing dot from a
		// directory, and all trailing dots/spaces from the last component.
		{`C:\Users\me\ws\.git.\config`, want{within: true, protected: ".git"}},
		{`C:\Users\me\ws\.git \config`, want{within: true, protected: ".git"}}, // a ".git " dir; flagged anyway
		{`C:\Users\me\ws\.git. .`, want{within: true, protected: ".git"}},
		{`C:\Users\me\ws\.git  `, want{within: true, protected: ".git"}},
		{`C:\Users\me\ws.\x`, want{within: true}},
		{`C:\Users\me\ws \x`, want{}}, // a sibling directory named "ws "

		// Alternate data streams: the write lands in the object before the
		// colon, which is what must be judged.
		{`C:\Users\me\ws\.git::$INDEX_ALLOCATION`, want{within: true, protected: ".git", stream: ":$INDEX_ALLOCATION"}},
		{`C:\Users\me\ws\.git:$I30:$INDEX_ALLOCATION`, want{within: true, protected: ".git", stream: "$I30:$INDEX_ALLOCATION"}},
		{`C:\Users\me\ws\.git:evil`, want{within: true, protected: ".git", stream: "evil"}},
		{`C:\Users\me\ws\x.txt:hidden`, want{within: true, stream: "hidden"}},
		{`C:\Users\me\ws\x.txt:hidden:$DATA`, want{within: true, stream: "hidden:$DATA"}},
		{`C:\outside\x.txt:hidden`, want{stream: "hidden"}},

		// ".." escapes and string-prefix traps.
		{`C:\Users\me\ws\..\ws2\x`, want{}},
		{`C:\Users\me\ws2\x`, want{}},
		{`C:\Users\me\wsx`, want{}},
		{`C:\Users\me\ws\..\..\..\..\..\Windows\System32`, want{}},
		{`C:\Users\me\ws\sub\..\.git`, want{within: true, protected: ".git"}},
		{`C:\Users\me\ws\x\..\..\ws\.git\hooks`, want{within: true, protected: ".git"}},
		{`C:\Users\me\ws\sub\..`, want{within: true}},

		// Verbatim long-path prefix: inside the root, but nothing is
		// normalised, so ".git." really is another name (flagged anyway).
		{`\\?\C:\Users\me\ws\x`, want{within: true}},
		{`\\?\c:\USERS\me\ws\.git\config`, want{within: true, protected: ".git"}},
		{`\\?\C:\Users\me\ws\.git.`, want{within: true, protected: ".git"}},
		{`\??\C:\Users\me\ws\.git\config`, want{within: true, protected: ".git"}},

		// Device-namespace spelling of a drive path: normalised like one.
		{`\\.\C:\Users\me\ws\x`, want{within: true}},
		{`//./C:/Users/me/ws/.git/x`, want{within: true, protected: ".git"}},
		{`//?/C:/Users/me/ws/sub/../.git`, want{within: true, protected: ".git"}},
		{`\\.\C:\Users\me\ws\..\..\..\..\D:\Users\me\ws\x`, want{}},

		// Other drives.
		{`D:\Users\me\ws\x`, want{}},
		{`\\?\D:\Users\me\ws\x`, want{}},

		// UNC and admin shares: the same file through the SMB loopback,
		// but never within by path rules.
		{`\\localhost\C$\Users\me\ws\x`, want{kind: KindUNC, loopback: true}},
		{`\\127.0.0.1\c$\Users\me\ws\.git`, want{kind: KindUNC, loopback: true}},
		{`\\.\UNC\localhost\C$\Users\me\ws\x`, want{kind: KindUNC, loopback: true}},
		{`\\?\UNC\127.0.0.1\C$\Users\me\ws\x`, want{kind: KindUNC, loopback: true}},
		{`\\::1\C$\Users\me\ws\x`, want{kind: KindUNC, loopback: true}},
		{`//LocalHost/c$/Users/me/ws/x`, want{kind: KindUNC, loopback: true}},
		{`\\fileserver\share\Users\me\ws\x`, want{kind: KindUNC}},

		// Devices are never within a directory.
		{`\\.\PhysicalDrive0`, want{kind: KindDevice}},
		{`\\.\pipe\codex_testpipe`, want{kind: KindDevice}},
		{`\\.\C:`, want{kind: KindDevice}},
		{`\\.\C:\Users\me\ws\..\..\..`, want{kind: KindDevice}},
		{`\\?\GLOBALROOT\Device\HarddiskVolume3\Users\me\ws\x`, want{kind: KindDevice}},
		{`\\?\Volume{b75e2c83-0000-0000-0000-602f00000000}\Users\me\ws`, want{kind: KindDevice}},

		// Reserved DOS device names open devices, not files in the root.
		{`C:\Users\me\ws\nul`, want{kind: KindDevice}},
		{`C:\Users\me\ws\NUL.txt`, want{kind: KindDevice}},
		{`C:\Users\me\ws\com1`, want{kind: KindDevice}},
		{`C:\Users\me\ws\lpt¹.log`, want{kind: KindDevice}},
		{`C:\Users\me\ws\con \`, want{kind: KindDevice}},
		{`\\?\C:\Users\me\ws\nul`, want{within: true}}, // verbatim: a real file named nul

		// 8.3 short names can alias protected long names.
		{`C:\Users\me\ws\GIT~1\config`, want{within: true, short: true}},
		{`C:\Users\me\ws\CODEX~1`, want{within: true, short: true}},
		{`C:\Users\me\ws\sub\AGENTS~1`, want{within: true, short: true}},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			p := mustParse(t, tt.in)
			if p.Kind != tt.kind {
				t.Errorf("Kind = %v, want %v (%+v)", p.Kind, tt.kind, p)
			}
			if got := p.Within(root); got != tt.within {
				t.Errorf("Within(%s) = %v, want %v (parsed as %s)", root, got, tt.within, p)
			}
			if got := protectedBelow(p, root); got != tt.protected {
				t.Errorf("protected entry = %q, want %q (parsed as %s)", got, tt.protected, p)
			}
			if p.Stream != tt.stream {
				t.Errorf("Stream = %q, want %q", p.Stream, tt.stream)
			}
			if got := IsLoopbackUNC(p); got != tt.loopback {
				t.Errorf("IsLoopbackUNC = %v, want %v", got, tt.loopback)
			}
			short := false
			if rel, ok := p.Rel(root); ok {
				for _, e := range rel {
					short = short || MayBeShortName(e)
				}
			}
			if short != tt.short {
				t.Errorf("short-name candidate = %v, want %v", short, tt.short)
			}
		})
	}
}

// TestEscapesRejected lists spellings Parse refuses outright, so a planner
// never has to guess what Windows would do with them.
func TestEscapesRejected(t *testing.T) {
	for _, in := range []string{
		`\\?\C:\Users\me\ws\..\x`,      // ".." is a literal, invalid name under \\?\
		`\\?\C:\Users\me\ws\.\.git`,    // likewise "."
		`C:\Users\me\ws\a:b\c`,         // colon in the middle
		`C:\Users\me\ws\...\x`,         // dots-only component
		`C:\Users\me\ws\.. \x`,         // ".." look-alike
		`C:Users\me\ws\x`,              // drive-relative
		`\Users\me\ws\x`,               // root-relative
		`..\ws\x`,                      // relative
		"C:\\Users\\me\\ws\x00\\..\\x", // NUL truncation
		`C:\Users\me\ws\*`,             // wildcard
		`\\?\C:\Users\me\ws\\.git`,     // empty component under \\?\
	} {
		if p, err := Parse(in); err == nil {
			t.Errorf("Parse(%q) = %s, want error", in, p)
		}
	}
}

// TestVerbatimDotDotNeverEscapes checks that no \\?\ spelling reaches
// outside the root by way of a literal "..": Parse refuses it rather than
// model a name NTFS would reject.
func TestVerbatimDotDotNeverEscapes(t *testing.T) {
	root := mustParse(t, `C:\Users\me\ws`)
	for _, in := range []string{`\\?\C:\Users\me\ws\..`, `\\?\C:\Users\me\ws\..\..\x`, `\??\C:\Users\me\ws\..\x`} {
		p, err := Parse(in)
		if err == nil {
			t.Errorf("Parse(%q) = %s (within=%v), want error", in, p, p.Within(root))
		} else if !strings.Contains(err.Error(), `".."`) {
			t.Errorf("Parse(%q) error %q does not name the component", in, err)
		}
	}
}
