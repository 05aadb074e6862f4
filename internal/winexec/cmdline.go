package winexec

import (
	"errors"
	"fmt"
	"strings"
	"unicode/utf16"
	"unicode/utf8"
)

// MaxCommandLine is the longest command line CreateProcessW accepts, in
// UTF-16 code units including the terminating NUL. CommandLine fails rather
// than producing a longer one, so the caller gets a clear error instead of
// CreateProcess's ERROR_FILENAME_EXCED_RANGE.
const MaxCommandLine = 32767

// CommandLine composes the command line that makes a Windows program see
// args as its argv, for CreateProcessW's lpCommandLine. args[0] is the
// program name as the child should see it; it is not looked up (see
// LookPath, and pass the resolved path as lpApplicationName).
//
// Windows passes a program one string, and the program splits it itself,
// almost always with the Microsoft C runtime's rules or CommandLineToArgvW
// (see SplitCommandLine). CommandLine produces text those parsers split back
// into args:
//
//   - An argument is quoted when it is empty or contains a space, a tab, a
//     newline, a vertical tab or another ASCII control character, or a '"'.
//     (Quoting is never wrong, so all control characters are quoted: Go's
//     windows.ComposeCommandLine notes that CommandLineToArgvW drops
//     unquoted ones from the program name.)
//   - Inside an argument, backslashes are doubled only where they precede a
//     '"' or the closing quote, and every '"' is written as \".
//   - args[0] follows the argv[0] rule: parsers read the program name up to
//     the next '"' (if it starts with one) or the next space or tab, with no
//     backslash escapes. So it is quoted when empty or when it contains a
//     space or control character, and it may not contain '"' at all. When it
//     is quoted it may not end with '\' either: the argv[0] rule would read
//     it correctly, but parsers that treat argv[0] like any other argument
//     (Go's own os package, for one) would read \" as a literal quote and
//     swallow the next arguments. No real program path ends with '\'.
//
// The output never contains "" inside a quoted argument, the one construct
// on which C runtimes of different years disagree (see SplitCommandLine), so
// every parser mentioned here reads it the same way.
//
// It is an error if args is empty, if any argument contains NUL (it would
// end the string) or is not valid UTF-8 (it would turn into U+FFFD on the
// way to UTF-16, so the child would see a different argument), if args[0]
// cannot be represented, or if the result would exceed MaxCommandLine.
//
// cmd.exe is not such a parser. It reads the line first and interprets
// ^ & | < > ( ) % and ! before the program ever runs, so CommandLine does
// NOT make an argument safe for "cmd /c" (or for a .bat or .cmd program,
// which runs under cmd.exe). Use CmdQuote for arguments that pass through
// cmd.exe.
func CommandLine(args []string) (string, error) {
	if len(args) == 0 {
		return "", errors.New("winexec: CommandLine: no program name (empty argument list)")
	}
	for i, a := range args {
		if err := checkArg(a); err != nil {
			return "", fmt.Errorf("winexec: CommandLine: argument %d %q: %w", i, a, err)
		}
	}
	b, err := appendProgram(nil, args[0])
	if err != nil {
		return "", fmt.Errorf("winexec: CommandLine: program name %q: %w", args[0], err)
	}
	for _, a := range args[1:] {
		b = append(b, ' ')
		b = appendArg(b, a)
	}
	s := string(b)
	if n := utf16Len(s); n >= MaxCommandLine {
		return "", fmt.Errorf("winexec: CommandLine: command line is %d UTF-16 code units, Windows allows at most %d", n, MaxCommandLine-1)
	}
	return s, nil
}

// checkArg rejects what cannot reach a child unchanged.
func checkArg(a string) error {
	if strings.IndexByte(a, 0) >= 0 {
		return errors.New("contains NUL")
	}
	if !utf8.ValidString(a) {
		return errors.New("is not valid UTF-8")
	}
	return nil
}

// needsQuote reports whether a must be quoted: it is empty or contains '"',
// a space or an ASCII control character.
func needsQuote(a string) bool {
	if a == "" {
		return true
	}
	for i := 0; i < len(a); i++ {
		if a[i] <= ' ' || a[i] == '"' {
			return true
		}
	}
	return false
}

// appendProgram appends prog quoted by the argv[0] rule.
func appendProgram(b []byte, prog string) ([]byte, error) {
	if strings.IndexByte(prog, '"') >= 0 {
		return nil, errors.New(`contains '"', which the argv[0] rule cannot represent`)
	}
	if !needsQuote(prog) {
		return append(b, prog...), nil
	}
	if strings.HasSuffix(prog, `\`) {
		return nil, errors.New(`must be quoted and ends with '\', which parsers without the argv[0] rule read as an escaped quote`)
	}
	b = append(b, '"')
	b = append(b, prog...)
	return append(b, '"'), nil
}

// appendArg appends a quoted by the rules for arguments after argv[0]:
// 2n backslashes before a '"' are read as n backslashes, 2n+1 as n
// backslashes and a literal '"'; backslashes elsewhere are literal.
func appendArg(b []byte, a string) []byte {
	if !needsQuote(a) {
		return append(b, a...)
	}
	b = append(b, '"')
	slashes := 0
	for i := 0; i < len(a); i++ {
		c := a[i]
		switch c {
		case '\\':
			slashes++
		case '"':
			// The slashes already written are read as half as many, so
			// write them again, plus one to escape the quote.
			b = appendBackslashes(b, slashes+1)
			slashes = 0
		default:
			slashes = 0
		}
		b = append(b, c)
	}
	// The same for the closing quote, which must not be escaped.
	b = appendBackslashes(b, slashes)
	return append(b, '"')
}

func appendBackslashes(b []byte, n int) []byte {
	for ; n > 0; n-- {
		b = append(b, '\\')
	}
	return b
}

// utf16Len returns the number of UTF-16 code units of the valid UTF-8 s.
func utf16Len(s string) int {
	n := 0
	for _, r := range s {
		n += utf16.RuneLen(r)
	}
	return n
}

// SplitCommandLine splits a command line into arguments the way a program
// built with the Universal CRT (ucrtbase.dll, Visual Studio 2015 and later)
// or any Microsoft C runtime since Visual C++ 2008 (msvcr90.dll) builds argv.
// It is the inverse of CommandLine; see "Parsing C++ command-line arguments"
// on Microsoft Learn.
//
// argv[0] is read first by its own rule: up to the first space or tab
// outside quotes, where every '"' toggles quoting and is dropped and
// backslashes are literal. The remaining arguments are separated by spaces
// and tabs outside quotes and read with these rules:
//
//   - 2n backslashes followed by '"' give n backslashes, and the '"'
//     starts or ends a quoted section;
//   - 2n+1 backslashes followed by '"' give n backslashes and a literal '"';
//   - backslashes not followed by '"' are literal;
//   - "" inside a quoted section gives a literal '"' and the section goes
//     on (the post-2008 rule). C runtimes before Visual C++ 2008, Go's os
//     package and, at least as Wine implements it, CommandLineToArgvW end
//     the section there instead, so "a""b c" is one argument here but two
//     for them. CommandLine never produces this construct.
//
// CommandLineToArgvW reads argv[0] a little differently: a name that starts
// with '"' ends at the next '"', and quotes inside an unquoted name are
// kept. The two agree on every program name CommandLine writes, which has
// quotes only around the whole name.
//
// Only space and tab separate arguments; newlines do not. The empty command
// line yields one empty argument (the program name), as in the CRT;
// CommandLineToArgvW would instead return the path of the running program.
func SplitCommandLine(s string) []string {
	return splitCommandLine(s, true, true)
}

// splitCommandLine is SplitCommandLine with the two points where parsers
// disagree made optional, so tests can check that CommandLine's output
// means the same to all of them: argv0Rule reads argv[0] by its own rule
// (false: like any other argument, as Go's os package does), post2008 keeps
// a quoted section open after "" (false: the older CRTs' rule).
func splitCommandLine(s string, argv0Rule, post2008 bool) []string {
	var args []string
	i := 0
	if argv0Rule {
		var b []byte
		inQuote := false
		for ; i < len(s); i++ {
			c := s[i]
			if c == '"' {
				inQuote = !inQuote
				continue
			}
			if !inQuote && (c == ' ' || c == '\t') {
				i++
				break
			}
			b = append(b, c)
		}
		args = append(args, string(b))
	}
	for {
		for i < len(s) && (s[i] == ' ' || s[i] == '\t') {
			i++
		}
		if i >= len(s) {
			return args
		}
		var b []byte
		inQuote := false
		for i < len(s) {
			n := 0
			for i < len(s) && s[i] == '\\' {
				n++
				i++
			}
			if i < len(s) && s[i] == '"' {
				b = appendBackslashes(b, n/2)
				switch {
				case n%2 == 1:
					b = append(b, '"')
					i++
				case inQuote && i+1 < len(s) && s[i+1] == '"':
					b = append(b, '"')
					i += 2
					inQuote = post2008
				default:
					inQuote = !inQuote
					i++
				}
				continue
			}
			b = appendBackslashes(b, n)
			if i >= len(s) || (!inQuote && (s[i] == ' ' || s[i] == '\t')) {
				break
			}
			b = append(b, s[i])
			i++
		}
		args = append(args, string(b))
	}
}

// cmdMeta are the characters cmd.exe interprets on a command line and that
// a caret makes literal. '"' is among them: an unescaped quote would switch
// cmd.exe into quoted mode, where carets are no longer removed.
const cmdMeta = `^&|<>()"`

// CmdQuote quotes one argument (not the program name) for a command line
// that cmd.exe reads before the program does, as in "cmd /c prog ARG": the
// argument is first quoted as CommandLine does, then every cmd.exe
// metacharacter in the result (^ & | < > ( ) and '"') is prefixed with ^.
// cmd.exe removes the carets and the program receives the text CommandLine
// would have produced. This is the method of Daniel Colascione's "Everyone
// quotes command line arguments the wrong way" (MSDN blogs, 2011).
//
// The result stays correct only if cmd.exe is outside a quoted section when
// it reaches the argument, so the text before it must contain an even number
// of unescaped '"' (a plainly quoted program name is fine). It covers one
// pass of cmd.exe; a .bat or .cmd program that re-expands its arguments with
// %1 parses them again, and no quoting survives that reliably.
//
// It refuses:
//
//   - '%': cmd.exe expands %NAME% before it removes carets; the tricks that
//     avoid it (%% in batch files, %^NAME% on a command line) depend on how
//     the line is read and on which variables happen to exist, so there is
//     no reliable escape;
//   - '!': expanded likewise when delayed expansion is on (cmd /v:on or the
//     DelayedExpansion registry value), which the caller may not control;
//   - CR and LF: cmd.exe ends or continues the command at a line break;
//   - NUL and invalid UTF-8, as CommandLine does.
func CmdQuote(arg string) (string, error) {
	if err := checkArg(arg); err != nil {
		return "", fmt.Errorf("winexec: CmdQuote: argument %q: %w", arg, err)
	}
	if i := strings.IndexAny(arg, "%!"); i >= 0 {
		return "", fmt.Errorf("winexec: CmdQuote: argument %q contains %q: cmd.exe expands environment variables with %% and !, and that expansion cannot be escaped reliably; pass the value without cmd.exe or through a file", arg, arg[i])
	}
	if strings.ContainsAny(arg, "\r\n") {
		return "", fmt.Errorf("winexec: CmdQuote: argument %q contains a line break, which ends or continues the command in cmd.exe", arg)
	}
	q := appendArg(nil, arg)
	b := make([]byte, 0, len(q)+8)
	for _, c := range q {
		if strings.IndexByte(cmdMeta, c) >= 0 {
			b = append(b, '^')
		}
		b = append(b, c)
	}
	return string(b), nil
}
