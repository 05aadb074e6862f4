//go:build windows

package winexec

// Tests that compare the pure-Go code with the implementations Windows
// ships: shell32!CommandLineToArgvW, CreateProcessW reading an environment
// block, and Go's own windows.ComposeCommandLine and syscall.EscapeArg.
// (envlist_windows_test.go compares the name comparison EnvBlock uses with
// CompareStringOrdinal.) They run under Wine (scripts/wine/go-wine-exec) as
// well as on real Windows: parsing and launching are plumbing, which Wine
// implements, not enforcement.
//
// Where Wine's answer is known to differ from real Windows or from the
// Universal CRT, the case is named in a comment at the table entry and the
// test logs it. None of those cases is something CommandLine produces.

import (
	"encoding/json"
	"math/rand"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"testing"
	"unsafe"

	"golang.org/x/sys/windows"

	"github.com/cordon-sandbox/cordon/internal/testutil"
)

// commandLineToArgv splits line with shell32!CommandLineToArgvW.
func commandLineToArgv(t *testing.T, line string) []string {
	t.Helper()
	p, err := windows.UTF16PtrFromString(line)
	if err != nil {
		t.Fatalf("UTF16PtrFromString(%#q): %v", line, err)
	}
	var argc int32
	argv, err := windows.CommandLineToArgv(p, &argc)
	if err != nil {
		t.Fatalf("CommandLineToArgv(%#q): %v", line, err)
	}
	defer windows.LocalFree(windows.Handle(unsafe.Pointer(argv)))
	args := make([]string, argc)
	for i := range args {
		args[i] = windows.UTF16PtrToString(&argv[i][0])
	}
	return args
}

// trickyArgs are argument lists that exercise every quoting rule.
var trickyArgs = [][]string{
	{"prog"},
	{`C:\Program Files\x.exe`, "a"},
	{""},
	{"prog", ""},
	{"prog", "", ""},
	{"prog", "a b", "c"},
	{"prog", `\`, `\\`, `a\`, `a\\`},
	{"prog", `a b\`, `a b\\`, `C:\Program Files\`},
	{"prog", `"`, `""`, `"""`, `a"b`, `"a b"`},
	{"prog", `\"`, `\\"`, `a\"b`, `a\\"b c`, `\\\"`},
	{"prog", "tab\there", "new\nline", "v\vtab", "ctl\x01"},
	{"prog", "héllo wörld", "日本語", "😀 x"},
	{"prog", "%PATH%", "a&b", "^", "|", "<>", "!x!"},
	{"prog", ` lead`, `trail `, "  "},
	{`C:\dir\sub dir\prog.exe`, `\\server\share\`, `/x:"y z"`},
}

func TestCommandLineToArgvW(t *testing.T) {
	t.Logf("UnderWine() = %v", testutil.UnderWine())
	for _, args := range trickyArgs {
		line, err := CommandLine(args)
		if err != nil {
			t.Fatalf("CommandLine(%q): %v", args, err)
		}
		if got := commandLineToArgv(t, line); !slices.Equal(got, args) {
			t.Errorf("CommandLineToArgvW(%#q) = %q, want %q", line, got, args)
		}
	}
}

func TestCommandLineToArgvWRandom(t *testing.T) {
	r := rand.New(rand.NewSource(11))
	for i := 0; i < 3000; i++ {
		args := []string{randomProgram(r)}
		for n := r.Intn(5); n > 0; n-- {
			args = append(args, randomString(r, 8))
		}
		line, err := CommandLine(args)
		if err != nil {
			t.Fatalf("CommandLine(%q): %v", args, err)
		}
		if got := commandLineToArgv(t, line); !slices.Equal(got, args) {
			t.Fatalf("case %d: CommandLineToArgvW(%#q) = %q, want %q", i, line, got, args)
		}
	}
}

// TestCommandLineToArgvWParserDependent records how CommandLineToArgvW
// reads the inputs on which parsers disagree. CommandLine never produces
// them; the test shows that what SplitCommandLine's documentation says
// about the disagreement is true of the parser at hand, and logs every case
// where CommandLineToArgvW and SplitCommandLine (the UCRT's rules) differ.
func TestCommandLineToArgvWParserDependent(t *testing.T) {
	tests := []struct {
		line string
		want []string // CommandLineToArgvW's answer
		// note names a known difference from SplitCommandLine; empty when
		// they agree.
		note string
		// wineOnly marks a want taken from Wine 8 and not confirmed on
		// real Windows; there a different answer is logged, not failed.
		wineOnly bool
	}{
		// argv[0] rule: backslashes are literal, the name ends at the
		// closing quote.
		{`"C:\dir\" a b`, []string{`C:\dir\`, "a", "b"}, "", false},
		// shell32 documents argv[0] as the quoted part when it starts with
		// a quote; the UCRT toggles quoting within it instead.
		{`"C:\a\"b c`, []string{`C:\a\`, "b", "c"}, `argv[0] "C:\a\"b: shell32 ends argv[0] at the closing quote, the UCRT goes on to the space`, false},
		// Unquoted argv[0] containing a quote: shell32 reads it literally
		// up to whitespace; the UCRT toggles quoting.
		{`p"x y" z`, []string{`p"x`, "y z"}, `argv[0] p"x: shell32 keeps the quote and ends argv[0] at the space, the UCRT drops it and quotes "x y"`, false},
		// "" inside quotes: Wine's CommandLineToArgvW ends the quoted
		// section like the pre-2008 CRTs; the post-2008 CRT does not.
		{`p "a""b c"`, []string{"p", `a"b`, "c"}, `"" inside quotes: Wine's shell32 ends the quoted section, the post-2008 CRT does not`, true},
	}
	for _, tt := range tests {
		got := commandLineToArgv(t, tt.line)
		if !slices.Equal(got, tt.want) {
			if tt.wineOnly && !testutil.UnderWine() {
				t.Logf("real Windows differs from Wine 8 here: CommandLineToArgvW(%#q) = %q, Wine gives %q", tt.line, got, tt.want)
			} else {
				t.Errorf("CommandLineToArgvW(%#q) = %q, want %q", tt.line, got, tt.want)
			}
		}
		split := SplitCommandLine(tt.line)
		switch {
		case tt.note == "" && !slices.Equal(split, got):
			t.Errorf("SplitCommandLine(%#q) = %q, CommandLineToArgvW gives %q", tt.line, split, got)
		case tt.note != "":
			t.Logf("parser-dependent (%s): SplitCommandLine(%#q) = %q, CommandLineToArgvW = %q", tt.note, tt.line, split, got)
		}
	}
}

// TestGoQuoting compares CommandLine with windows.ComposeCommandLine and
// syscall.EscapeArg. They escape the inside of an argument the same way and
// differ only in when they add the surrounding quotes: Go quotes for space
// and tab only, CommandLine also for '"' and other control characters. So
// the text differs exactly for an argument with '"' or a control character
// but no space or tab; both texts are read back correctly.
func TestGoQuoting(t *testing.T) {
	for _, args := range trickyArgs {
		ours, err := CommandLine(args)
		if err != nil {
			t.Fatalf("CommandLine(%q): %v", args, err)
		}
		goLine := windows.ComposeCommandLine(args)
		expectSame := !slices.ContainsFunc(args[1:], quotedOnlyByUs)
		if (ours == goLine) != expectSame {
			t.Errorf("args %q: CommandLine = %#q, ComposeCommandLine = %#q; expected them to be %s", args, ours, goLine, map[bool]string{true: "equal", false: "different"}[expectSame])
		}
		if got := commandLineToArgv(t, goLine); !slices.Equal(got, args) {
			t.Errorf("CommandLineToArgvW(ComposeCommandLine(%q) = %#q) = %q", args, goLine, got)
		}
		for _, a := range args[1:] {
			ourArg := string(appendArg(nil, a))
			for name, goArg := range map[string]string{"syscall.EscapeArg": syscall.EscapeArg(a), "windows.EscapeArg": windows.EscapeArg(a)} {
				same := !quotedOnlyByUs(a)
				if (ourArg == goArg) != same {
					t.Errorf("%s(%q) = %#q, appendArg = %#q; expected them to be %s", name, a, goArg, ourArg, map[bool]string{true: "equal", false: "different"}[same])
				}
			}
		}
	}
	// Where ComposeCommandLine cannot represent argv[0], it drops the
	// quotes silently; CommandLine refuses.
	args := []string{`C:\a"b c.exe`, "x"}
	if _, err := CommandLine(args); err == nil {
		t.Errorf("CommandLine(%q) succeeded", args)
	}
	got := commandLineToArgv(t, windows.ComposeCommandLine(args))
	t.Logf("ComposeCommandLine(%q) is read back as %q", args, got)
	if slices.Equal(got, args) {
		t.Errorf("ComposeCommandLine represented %q after all; revisit CommandLine's error", args)
	}
}

// quotedOnlyByUs reports whether CommandLine quotes a where Go does not.
func quotedOnlyByUs(a string) bool {
	return a != "" && needsQuote(a) && !strings.ContainsAny(a, " \t")
}

const helperOutEnv = "WINEXEC_HELPER_OUT"

type helperReport struct {
	Args []string
	Env  []string
}

// TestHelperProcess is the child of TestCreateProcess, not a test: it
// writes the arguments after "--" and its environment to the file named
// by WINEXEC_HELPER_OUT and exits.
func TestHelperProcess(t *testing.T) {
	out := os.Getenv(helperOutEnv)
	if out == "" {
		t.Skip("helper process for TestCreateProcess")
	}
	i := slices.Index(os.Args, "--")
	b, err := json.Marshal(helperReport{Args: os.Args[i+1:], Env: os.Environ()})
	if err == nil {
		err = os.WriteFile(out, b, 0o600)
	}
	if err != nil {
		os.Exit(3)
	}
	os.Exit(0) // before the testing package prints anything
}

// TestCreateProcess launches this test binary with CreateProcessW, the
// command line from CommandLine and the environment block from EnvBlock,
// and checks what the child sees. The child is a Go program, so its
// arguments are split by Go's os package (no argv[0] rule, pre-2008 ""
// rule): this also checks that CommandLine does not depend on those rules.
func TestCreateProcess(t *testing.T) {
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	out := filepath.Join(testutil.TempDir(t), "report.json")
	extra := []string{"", "a b", `\`, `a\\"b c`, `"`, "tab\there", "new\nline", "héllo 世界 😀", "%PATH%", "a&b|c", ` lead`, `C:\Program Files\`}
	args := append([]string{exe, "-test.run=^TestHelperProcess$", "--"}, extra...)
	line, err := CommandLine(args)
	if err != nil {
		t.Fatal(err)
	}
	env := []string{
		helperOutEnv + "=" + out,
		"winexec_dup=1", "WINEXEC_DUP=2",
		"WINEXEC_U=héllo 世界 😀",
		"WINEXEC_EMPTY=",
		"=Z:=Z:\\winexec",
	}
	for _, name := range []string{"SystemRoot", "PATH", "WINEPREFIX"} {
		if v, ok := os.LookupEnv(name); ok {
			env = append(env, name+"="+v)
		}
	}
	block, err := EnvBlock(env)
	if err != nil {
		t.Fatal(err)
	}
	app, _ := syscall.UTF16PtrFromString(exe)
	cl, _ := syscall.UTF16PtrFromString(line)
	si := syscall.StartupInfo{Cb: uint32(unsafe.Sizeof(syscall.StartupInfo{}))}
	var pi syscall.ProcessInformation
	if err := syscall.CreateProcess(app, cl, nil, nil, false, syscall.CREATE_UNICODE_ENVIRONMENT, &block[0], nil, &si, &pi); err != nil {
		t.Fatalf("CreateProcess: %v", err)
	}
	defer syscall.CloseHandle(pi.Process)
	defer syscall.CloseHandle(pi.Thread)
	if ev, err := syscall.WaitForSingleObject(pi.Process, 120_000); ev != syscall.WAIT_OBJECT_0 {
		syscall.TerminateProcess(pi.Process, 1)
		t.Fatalf("child did not exit: %d, %v", ev, err)
	}
	var code uint32
	if err := syscall.GetExitCodeProcess(pi.Process, &code); err != nil || code != 0 {
		t.Fatalf("child exit code %d, %v", code, err)
	}
	b, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	var rep helperReport
	if err := json.Unmarshal(b, &rep); err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(rep.Args, extra) {
		t.Errorf("child arguments = %q, want %q (command line %#q)", rep.Args, extra, line)
	}
	// Our entries reach the child, in EnvBlock's order, duplicates resolved.
	var ours []string
	for _, e := range rep.Env {
		if strings.HasPrefix(strings.ToUpper(e), "WINEXEC_") || strings.HasPrefix(e, "=Z:") {
			ours = append(ours, e)
		}
	}
	want := []string{"=Z:=Z:\\winexec", "WINEXEC_DUP=2", "WINEXEC_EMPTY=", helperOutEnv + "=" + out, "WINEXEC_U=héllo 世界 😀"}
	if !slices.Equal(ours, want) {
		t.Errorf("child environment has %q, want %q (full: %q)", ours, want, rep.Env)
	}
}
