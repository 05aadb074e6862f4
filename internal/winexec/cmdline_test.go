package winexec

import (
	"math/rand"
	"slices"
	"strings"
	"testing"
	"testing/quick"
)

func TestCommandLine(t *testing.T) {
	tests := []struct {
		args []string
		want string
	}{
		{[]string{"prog"}, `prog`},
		{[]string{`C:\Program Files\x.exe`, "a"}, `"C:\Program Files\x.exe" a`},
		{[]string{""}, `""`},
		{[]string{"tab\tprog"}, "\"tab\tprog\""},
		{[]string{"ctl\x01prog"}, "\"ctl\x01prog\""},
		{[]string{`C:\dir\prog.exe`}, `C:\dir\prog.exe`},
		{[]string{`C:\dir\`}, `C:\dir\`}, // unquoted: a trailing '\' is harmless
		{[]string{"p", ""}, `p ""`},
		{[]string{"p", "a b"}, `p "a b"`},
		{[]string{"p", `a\b`}, `p a\b`},
		{[]string{"p", `a\\b`}, `p a\\b`},
		{[]string{"p", `\`}, `p \`},
		{[]string{"p", `a b\`}, `p "a b\\"`},
		{[]string{"p", `a b\\`}, `p "a b\\\\"`},
		{[]string{"p", `"`}, `p "\""`},
		{[]string{"p", `a"b`}, `p "a\"b"`},
		{[]string{"p", `a\"b`}, `p "a\\\"b"`},
		{[]string{"p", `a\\"b`}, `p "a\\\\\"b"`},
		{[]string{"p", `\"`}, `p "\\\""`},
		{[]string{"p", `""`}, `p "\"\""`},
		{[]string{"p", "a\tb"}, "p \"a\tb\""},
		{[]string{"p", "a\nb"}, "p \"a\nb\""},
		{[]string{"p", "a\vb"}, "p \"a\vb\""},
		{[]string{"p", "héllo wörld"}, `p "héllo wörld"`},
		{[]string{"p", "日本語"}, `p 日本語`},
		{[]string{"p", `\\server\share\`}, `p \\server\share\`},
		{[]string{"p", `C:\Program Files\`}, `p "C:\Program Files\\"`},
		{[]string{"p", "%PATH%", "a&b", "^"}, `p %PATH% a&b ^`},
		{[]string{"p", "a", "b", "c"}, `p a b c`},
	}
	for _, tt := range tests {
		got, err := CommandLine(tt.args)
		if err != nil {
			t.Errorf("CommandLine(%q): %v", tt.args, err)
			continue
		}
		if got != tt.want {
			t.Errorf("CommandLine(%q) = %#q, want %#q", tt.args, got, tt.want)
		}
		if back := SplitCommandLine(got); !slices.Equal(back, tt.args) {
			t.Errorf("SplitCommandLine(%#q) = %q, want %q", got, back, tt.args)
		}
	}
}

func TestCommandLineErrors(t *testing.T) {
	tests := []struct {
		name    string
		args    []string
		wantErr string
	}{
		{"no args", nil, "no program name"},
		{"quote in program", []string{`a"b`, "x"}, `contains '"'`},
		{"leading quote in program", []string{`"a`}, `contains '"'`},
		{"quoted program ends in backslash", []string{`C:\Program Files\`}, `ends with '\'`},
		{"NUL in program", []string{"a\x00b"}, "argument 0 \"a\\x00b\": contains NUL"},
		{"NUL in argument", []string{"p", "x", "a\x00"}, "argument 2 \"a\\x00\": contains NUL"},
		{"invalid UTF-8", []string{"p", "\xff"}, "argument 1 \"\\xff\": is not valid UTF-8"},
		{"too long", []string{"p", strings.Repeat("x", MaxCommandLine)}, "at most 32766"},
		{"too long in UTF-16", []string{"p", strings.Repeat("😀", MaxCommandLine/2)}, "at most 32766"},
	}
	for _, tt := range tests {
		got, err := CommandLine(tt.args)
		if err == nil {
			t.Errorf("%s: CommandLine(%q) = %#q, want error", tt.name, tt.args, got)
			continue
		}
		if !strings.Contains(err.Error(), tt.wantErr) {
			t.Errorf("%s: CommandLine error = %q, want it to contain %q", tt.name, err, tt.wantErr)
		}
	}
	// The longest allowed line is accepted.
	long := []string{"p", strings.Repeat("x", MaxCommandLine-1-2)}
	if _, err := CommandLine(long); err != nil {
		t.Errorf("CommandLine of %d code units: %v", MaxCommandLine-1, err)
	}
}

func TestSplitCommandLine(t *testing.T) {
	tests := []struct {
		line string
		want []string
	}{
		// The examples of "Parsing C++ command-line arguments" (Microsoft Learn).
		{`p "abc" d e`, []string{"p", "abc", "d", "e"}},
		{`p a\\b d"e f"g h`, []string{"p", `a\\b`, "de fg", "h"}},
		{`p a\\\"b c d`, []string{"p", `a\"b`, "c", "d"}},
		{`p a\\\\"b c" d e`, []string{"p", `a\\b c`, "d", "e"}},
		{`p a"b"" c d`, []string{"p", `ab" c d`}}, // post-2008 "" rule
		// argv[0] rule: quotes toggle, backslashes are literal.
		{`"C:\a\"b c`, []string{`C:\a\b`, "c"}},
		{`p"x y" z`, []string{"px y", "z"}},
		{`"C:\Program Files\x.exe" a`, []string{`C:\Program Files\x.exe`, "a"}},
		{`"unterminated prog`, []string{"unterminated prog"}},
		{" a b", []string{"", "a", "b"}},
		{"", []string{""}},
		{"p", []string{"p"}},
		{"p ", []string{"p"}},
		{"p \t a \t", []string{"p", "a"}},
		// Only space and tab separate.
		{"p a\nb\vc", []string{"p", "a\nb\vc"}},
		// Backslashes not before a quote, including at the end.
		{`p a\ b\\`, []string{"p", `a\`, `b\\`}},
		{`p "a`, []string{"p", "a"}},
		{`p "a b\`, []string{"p", `a b\`}},
		{`p "a b\\"`, []string{"p", `a b\`}},
		{`p ""`, []string{"p", ""}},
		{`p "" ""`, []string{"p", "", ""}},
		{`p """"`, []string{"p", `"`}},
		{`p """""" x`, []string{"p", `""`, "x"}},
		{`p \"`, []string{"p", `"`}},
		{`p a"b c"d`, []string{"p", "ab cd"}},
		{`p 日本 "語 😀"`, []string{"p", "日本", "語 😀"}},
	}
	for _, tt := range tests {
		if got := SplitCommandLine(tt.line); !slices.Equal(got, tt.want) {
			t.Errorf("SplitCommandLine(%#q) = %q, want %q", tt.line, got, tt.want)
		}
	}
}

// TestSplitCommandLineVariants pins the two points where parsers differ.
func TestSplitCommandLineVariants(t *testing.T) {
	tests := []struct {
		line                string
		argv0Rule, post2008 bool
		want                []string
	}{
		{`p a"b"" c d`, true, false, []string{"p", `ab"`, "c", "d"}},
		{`p "a""b c"`, true, false, []string{"p", `a"b`, "c"}},
		{`p "a""b c"`, true, true, []string{"p", `a"b c`}},
		{`"C:\dir\" a b`, false, true, []string{`C:\dir" a b`}},
		{`"C:\dir\" a b`, true, true, []string{`C:\dir\`, "a", "b"}},
		{`"a b"c d`, false, true, []string{"a bc", "d"}},
		{"", false, true, nil},
	}
	for _, tt := range tests {
		got := splitCommandLine(tt.line, tt.argv0Rule, tt.post2008)
		if !slices.Equal(got, tt.want) {
			t.Errorf("splitCommandLine(%#q, argv0Rule=%v, post2008=%v) = %q, want %q", tt.line, tt.argv0Rule, tt.post2008, got, tt.want)
		}
	}
}

// roundTrips checks that every parser variant reads CommandLine(args) as args.
func roundTrips(t *testing.T, args []string) bool {
	t.Helper()
	line, err := CommandLine(args)
	if err != nil {
		t.Errorf("CommandLine(%q): %v", args, err)
		return false
	}
	for _, argv0Rule := range []bool{true, false} {
		for _, post2008 := range []bool{true, false} {
			if got := splitCommandLine(line, argv0Rule, post2008); !slices.Equal(got, args) {
				t.Errorf("CommandLine(%q) = %#q, read back (argv0Rule=%v, post2008=%v) as %q", args, line, argv0Rule, post2008, got)
				return false
			}
		}
	}
	return true
}

// trickyRunes is the alphabet of the random tests: everything the quoting
// rules treat specially, several times over, plus ordinary and non-ASCII
// characters.
var trickyRunes = []rune(`\\\\\""" ` + "\t\n\v\x01" + `ab^&%!é世😀`)

func randomString(r *rand.Rand, max int) string {
	b := make([]rune, r.Intn(max+1))
	for i := range b {
		b[i] = trickyRunes[r.Intn(len(trickyRunes))]
	}
	return string(b)
}

// randomProgram returns a random program name CommandLine accepts.
func randomProgram(r *rand.Rand) string {
	p := strings.ReplaceAll(randomString(r, 8), `"`, "")
	if needsQuote(p) && strings.HasSuffix(p, `\`) {
		p += "x"
	}
	return p
}

func TestCommandLineRoundTripRandom(t *testing.T) {
	for seed := int64(1); seed <= 20; seed++ {
		r := rand.New(rand.NewSource(seed))
		for i := 0; i < 500; i++ {
			args := []string{randomProgram(r)}
			for n := r.Intn(6); n > 0; n-- {
				args = append(args, randomString(r, 10))
			}
			if !roundTrips(t, args) {
				t.Fatalf("seed %d, case %d", seed, i)
			}
		}
	}
}

func TestCommandLineRoundTripQuick(t *testing.T) {
	f := func(prog string, rest []string) bool {
		args := append([]string{prog}, rest...)
		_, err := CommandLine(args)
		invalid := strings.ContainsRune(prog, '"') ||
			(needsQuote(prog) && strings.HasSuffix(prog, `\`)) ||
			slices.ContainsFunc(args, func(a string) bool { return checkArg(a) != nil })
		if invalid {
			return err != nil
		}
		return roundTrips(t, args)
	}
	if err := quick.Check(f, &quick.Config{MaxCount: 2000, Rand: rand.New(rand.NewSource(7))}); err != nil {
		t.Error(err)
	}
}

func FuzzCommandLine(f *testing.F) {
	f.Add("p", `a\"b`, "c d\\")
	f.Add(`C:\Program Files\x.exe`, `""`, "\t")
	f.Add("", "", `\\\"`)
	f.Fuzz(func(t *testing.T, prog, a, b string) {
		args := []string{prog, a, b}
		if _, err := CommandLine(args); err != nil {
			return
		}
		roundTrips(t, args)
	})
}

func FuzzSplitCommandLine(f *testing.F) {
	f.Add(`p a"b"" c\\" d`)
	f.Fuzz(func(t *testing.T, line string) {
		// Never panics; and re-quoting what it read reads back the same.
		args := SplitCommandLine(line)
		if len(args) == 0 {
			t.Fatalf("SplitCommandLine(%#q) returned no program name", line)
		}
		if _, err := CommandLine(args); err == nil {
			roundTrips(t, args)
		}
	})
}

func TestCmdQuote(t *testing.T) {
	tests := []struct{ arg, want string }{
		{"plain", "plain"},
		{"", `^"^"`},
		{"a b", `^"a b^"`},
		{"a&b", `a^&b`},
		{"a|b<c>d", `a^|b^<c^>d`},
		{"(x)", `^(x^)`},
		{"^", `^^`},
		{`a"b`, `^"a\^"b^"`},
		{`C:\Program Files\`, `^"C:\Program Files\\^"`},
		{"a & echo pwned", `^"a ^& echo pwned^"`},
		{"日本 語", `^"日本 語^"`},
	}
	for _, tt := range tests {
		got, err := CmdQuote(tt.arg)
		if err != nil {
			t.Errorf("CmdQuote(%q): %v", tt.arg, err)
			continue
		}
		if got != tt.want {
			t.Errorf("CmdQuote(%q) = %#q, want %#q", tt.arg, got, tt.want)
		}
		checkCmdQuoted(t, tt.arg, got)
	}
}

func TestCmdQuoteErrors(t *testing.T) {
	tests := []struct{ arg, wantErr string }{
		{"%PATH%", "cannot be escaped reliably"},
		{"50%", "contains '%'"},
		{"hi!", "contains '!'"},
		{"a\nb", "line break"},
		{"a\rb", "line break"},
		{"a\x00b", "contains NUL"},
		{"\xfe", "not valid UTF-8"},
	}
	for _, tt := range tests {
		got, err := CmdQuote(tt.arg)
		if err == nil {
			t.Errorf("CmdQuote(%q) = %#q, want error", tt.arg, got)
			continue
		}
		if !strings.Contains(err.Error(), tt.wantErr) {
			t.Errorf("CmdQuote(%q) error = %q, want it to contain %q", tt.arg, err, tt.wantErr)
		}
	}
}

func TestCmdQuoteRandom(t *testing.T) {
	r := rand.New(rand.NewSource(3))
	for i := 0; i < 5000; i++ {
		arg := randomString(r, 10)
		got, err := CmdQuote(arg)
		if strings.ContainsAny(arg, "%!\r\n") {
			if err == nil {
				t.Fatalf("CmdQuote(%q) = %#q, want error", arg, got)
			}
			continue
		}
		if err != nil {
			t.Fatalf("CmdQuote(%q): %v", arg, err)
		}
		checkCmdQuoted(t, arg, got)
	}
}

// checkCmdQuoted models the part of cmd.exe's parsing CmdQuote relies on:
// outside quotes, ^ makes the next character literal and is removed, and
// any other metacharacter would be interpreted. It checks that no
// metacharacter is left unescaped and that, after cmd.exe removes the
// carets, the program reads back arg.
func checkCmdQuoted(t *testing.T, arg, quoted string) {
	t.Helper()
	var seen []byte
	for i := 0; i < len(quoted); i++ {
		c := quoted[i]
		if c == '^' {
			if i+1 == len(quoted) {
				t.Errorf("CmdQuote(%q) = %#q ends with a lone caret", arg, quoted)
				return
			}
			i++
			seen = append(seen, quoted[i])
			continue
		}
		if strings.IndexByte(cmdMeta+"%!", c) >= 0 {
			t.Errorf("CmdQuote(%q) = %#q leaves %q unescaped for cmd.exe", arg, quoted, c)
			return
		}
		seen = append(seen, c)
	}
	if got := SplitCommandLine("p " + string(seen)); !slices.Equal(got, []string{"p", arg}) {
		t.Errorf("CmdQuote(%q) = %#q; after cmd.exe the program reads %q", arg, quoted, got[1:])
	}
}
