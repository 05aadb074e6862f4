package winexec

import (
	"errors"
	"slices"
	"strings"
	"testing"
)

// fakeFS is a set of files, matched case-insensitively as NTFS does. It
// records every path asked about, so tests can check what was never tried.
type fakeFS struct {
	files []string
	asked []string
}

func (f *fakeFS) isFile(p string) bool {
	f.asked = append(f.asked, p)
	for _, file := range f.files {
		if strings.EqualFold(file, p) {
			return true
		}
	}
	return false
}

func TestLookPath(t *testing.T) {
	const sys = `C:\Windows\System32`
	tests := []struct {
		name  string
		prog  string
		env   []string
		files []string
		want  string
	}{
		{"found in second directory", "git",
			[]string{`PATH=C:\a;C:\Git\cmd`}, []string{`C:\Git\cmd\git.exe`}, `C:\Git\cmd\git.exe`},
		{"directory order beats extension order", "git",
			[]string{`PATH=C:\a;C:\b`}, []string{`C:\a\git.cmd`, `C:\b\git.exe`}, `C:\a\git.cmd`},
		{"default PATHEXT order in one directory", "tool",
			[]string{`PATH=C:\a`}, []string{`C:\a\tool.bat`, `C:\a\tool.exe`, `C:\a\tool.com`}, `C:\a\tool.com`},
		{"PATHEXT order", "tool",
			[]string{`PATH=C:\a`, "PATHEXT=.BAT;.EXE"}, []string{`C:\a\tool.exe`, `C:\a\tool.bat`}, `C:\a\tool.bat`},
		{"PATHEXT without dots, spaces, empty parts", "tool",
			[]string{`PATH=C:\a`, "PATHEXT=;ps1; EXE ;"}, []string{`C:\a\tool.exe`}, `C:\a\tool.exe`},
		{"empty PATHEXT means default", "tool",
			[]string{`PATH=C:\a`, "PATHEXT="}, []string{`C:\a\tool.exe`}, `C:\a\tool.exe`},
		{"names are case-insensitive", "tool",
			[]string{`Path=C:\a`, "PathExt=.CMD"}, []string{`C:\a\tool.cmd`}, `C:\a\tool.cmd`},
		{"last PATH wins", "tool",
			[]string{`PATH=C:\a`, `path=C:\b`}, []string{`C:\a\tool.exe`, `C:\b\tool.exe`}, `C:\b\tool.exe`},
		{"extension given is tried first", "git.exe",
			[]string{`PATH=C:\a`}, []string{`C:\a\git.exe`, `C:\a\git.exe.exe`}, `C:\a\git.exe`},
		{"extension not in PATHEXT, tried as is", "python3.11",
			[]string{`PATH=C:\py`}, []string{`C:\py\python3.11`}, `C:\py\python3.11`},
		{"extension not in PATHEXT, then with PATHEXT", "python3.11",
			[]string{`PATH=C:\py`}, []string{`C:\py\python3.11.exe`}, `C:\py\python3.11.exe`},
		{"quoted PATH entry", "x",
			[]string{`PATH="C:\Program Files\x";C:\b`}, []string{`C:\Program Files\x\x.exe`}, `C:\Program Files\x\x.exe`},
		{"';' inside quotes", "x",
			[]string{`PATH="C:\odd;dir"`}, []string{`C:\odd;dir\x.exe`}, `C:\odd;dir\x.exe`},
		{"empty entries skipped", "x",
			[]string{`PATH=;;C:\a;;`}, []string{`C:\a\x.exe`}, `C:\a\x.exe`},
		{"trailing backslash on directory", "x",
			[]string{`PATH=C:\a\`}, []string{`C:\a\x.exe`}, `C:\a\x.exe`},
		{"forward slashes and UNC", "x",
			[]string{`PATH=C:/a;\\srv\share\bin`}, []string{`\\srv\share\bin\x.exe`}, `\\srv\share\bin\x.exe`},
		{"relative entries skipped", "x",
			[]string{`PATH=.;bin;\tools;C:tools;` + sys}, []string{`.\x.exe`, `bin\x.exe`, `\tools\x.exe`, `C:tools\x.exe`, sys + `\x.exe`}, sys + `\x.exe`},
		{"absolute path used as is", `C:\tools\git`,
			nil, []string{`C:\tools\git`, `C:\tools\git.exe`}, `C:\tools\git`},
		{"absolute path gets PATHEXT", `C:\tools\git`,
			nil, []string{`C:\tools\git.exe`}, `C:\tools\git.exe`},
		{"relative path used as is", `.\build\app`,
			nil, []string{`.\build\app.exe`}, `.\build\app.exe`},
		{"forward-slash path", `tools/git.exe`,
			nil, []string{`tools/git.exe`}, `tools/git.exe`},
		{"drive-relative path", `C:git`,
			nil, []string{`C:git.exe`}, `C:git.exe`},
	}
	for _, tt := range tests {
		fs := &fakeFS{files: tt.files}
		got, err := LookPath(tt.prog, tt.env, fs.isFile)
		if err != nil || got != tt.want {
			t.Errorf("%s: LookPath(%q, %q) = %q, %v; want %q (asked %q)", tt.name, tt.prog, tt.env, got, err, tt.want, fs.asked)
		}
	}
}

func TestLookPathNotFound(t *testing.T) {
	tests := []struct {
		name    string
		prog    string
		env     []string
		files   []string
		wantErr []string
	}{
		{"not on PATH", "git", []string{`PATH=C:\a;C:\b`}, nil,
			[]string{`"git" not found in PATH "C:\\a;C:\\b"`, ".com;.exe;.bat;.cmd"}},
		// The current directory is never searched, even with a relative
		// PATH entry pointing at it.
		{"current directory", "git", []string{`PATH=.;C:\a`}, []string{`git.exe`, `.\git.exe`},
			[]string{`relative PATH entries ignored: ["."]`}},
		{"bare name without extension", "git", []string{`PATH=C:\a`}, []string{`C:\a\git`},
			[]string{`"git" not found`}},
		{"PATH unset", "git", []string{"PATHEXT=.EXE"}, nil, []string{`"git": PATH is not set`}},
		{"path with extension not found", `C:\a\git.exe`, nil, []string{`C:\a\git.exe.exe`},
			[]string{`"C:\\a\\git.exe": executable file not found`}},
		{"path without extension not found", `C:\a\git`, nil, nil,
			[]string{`"C:\\a\\git" (also with extensions .com;.exe;.bat;.cmd)`}},
	}
	for _, tt := range tests {
		fs := &fakeFS{files: tt.files}
		got, err := LookPath(tt.prog, tt.env, fs.isFile)
		if err == nil {
			t.Errorf("%s: LookPath(%q) = %q, want error", tt.name, tt.prog, got)
			continue
		}
		if !errors.Is(err, ErrNotFound) {
			t.Errorf("%s: LookPath error %q does not wrap ErrNotFound", tt.name, err)
		}
		for _, w := range tt.wantErr {
			if !strings.Contains(err.Error(), w) {
				t.Errorf("%s: LookPath error %q, want it to contain %q", tt.name, err, w)
			}
		}
		for _, a := range fs.asked {
			if !isFullyQualified(a) && !strings.ContainsAny(tt.prog, `\/:`) {
				t.Errorf("%s: LookPath asked about %q, relative to the current directory", tt.name, a)
			}
		}
	}
}

func TestLookPathBadInput(t *testing.T) {
	isFile := func(string) bool { return true }
	tests := []struct {
		prog    string
		isFile  func(string) bool
		wantErr string
	}{
		{"", isFile, "empty program name"},
		{"git", nil, "isFile is nil"},
		{"g\x00it", isFile, "contains NUL"},
		{`C:\tools\`, isFile, "names a directory"},
		{`tools/`, isFile, "names a directory"},
	}
	for _, tt := range tests {
		got, err := LookPath(tt.prog, []string{`PATH=C:\a`}, tt.isFile)
		if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
			t.Errorf("LookPath(%q) = %q, %v; want error containing %q", tt.prog, got, err, tt.wantErr)
		}
	}
}

func TestSplitPathList(t *testing.T) {
	tests := []struct {
		path string
		want []string
	}{
		{"", nil},
		{";;", nil},
		{`C:\a;C:\b`, []string{`C:\a`, `C:\b`}},
		{`"C:\Program Files\x";C:\b`, []string{`C:\Program Files\x`, `C:\b`}},
		{`C:\"odd;dir"\bin;x`, []string{`C:\odd;dir\bin`, "x"}},
		{`"unterminated;x`, []string{"unterminated;x"}},
		{`"";C:\a`, []string{`C:\a`}},
	}
	for _, tt := range tests {
		if got := SplitPathList(tt.path); !slices.Equal(got, tt.want) {
			t.Errorf("SplitPathList(%#q) = %q, want %q", tt.path, got, tt.want)
		}
	}
}

func TestIsFullyQualified(t *testing.T) {
	for dir, want := range map[string]bool{
		`C:\`: true, `c:/x`: true, `\\srv\share`: true, `\\?\C:\x`: true, `//srv/s`: true,
		``: false, `.`: false, `bin`: false, `\tools`: false, `C:`: false, `C:tools`: false, `1:\x`: false,
	} {
		if got := isFullyQualified(dir); got != want {
			t.Errorf("isFullyQualified(%#q) = %v, want %v", dir, got, want)
		}
	}
}
