package winexec

import (
	"bytes"
	"slices"
	"testing"

	"github.com/cordon-sandbox/cordon/internal/envlist"
)

// wantNetworkOff is the list of lockdown variables, written
// out again rather than taken from networkOffVars.
var wantNetworkOff = []string{
	"SBX_NONET_ACTIVE=1",
	"HTTP_PROXY=http://127.0.0.1:9",
	"HTTPS_PROXY=http://127.0.0.1:9",
	"ALL_PROXY=http://127.0.0.1:9",
	"GIT_HTTP_PROXY=http://127.0.0.1:9",
	"GIT_HTTPS_PROXY=http://127.0.0.1:9",
	"NO_PROXY=localhost,127.0.0.1,::1",
	"PIP_NO_INDEX=1",
	"PIP_DISABLE_PIP_VERSION_CHECK=1",
	"NPM_CONFIG_OFFLINE=true",
	"CARGO_NET_OFFLINE=true",
	"GIT_SSH_COMMAND=cmd /c exit 1",
	"GIT_ALLOW_PROTOCOLS=",
}

func TestNetworkOff(t *testing.T) {
	if got := NetworkOff(nil); !slices.Equal(got, wantNetworkOff) {
		t.Errorf("NetworkOff(nil) =\n%q\nwant\n%q", got, wantNetworkOff)
	}

	// Set variables are kept, whatever their case, and even when empty.
	env := []string{"http_proxy=http://corp:8080", "Pip_No_Index=", "PATH=C:\\x"}
	got := NetworkOff(env)
	want := append(slices.Clone(env), slices.DeleteFunc(slices.Clone(wantNetworkOff), func(e string) bool {
		return e == "HTTP_PROXY=http://127.0.0.1:9" || e == "PIP_NO_INDEX=1"
	})...)
	if !slices.Equal(got, want) {
		t.Errorf("NetworkOff(%q) =\n%q\nwant\n%q", env, got, want)
	}
	if v, _ := envlist.Windows.Lookup(got, "HTTP_PROXY"); v != "http://corp:8080" {
		t.Errorf("NetworkOff replaced the caller's proxy: HTTP_PROXY = %q", v)
	}

	// The result goes into a block as is.
	block, err := EnvBlock(got)
	if err != nil {
		t.Fatalf("EnvBlock(NetworkOff(...)): %v", err)
	}
	entries, _ := ParseEnvBlock(block)
	if !slices.Contains(entries, "GIT_ALLOW_PROTOCOLS=") || !slices.Contains(entries, "GIT_SSH_COMMAND=cmd /c exit 1") {
		t.Errorf("block from NetworkOff lacks the git variables: %q", entries)
	}
}

func TestPagerEnv(t *testing.T) {
	want := []string{"GIT_PAGER=more.com", "PAGER=more.com", "LESS="}
	if got := PagerEnv(nil); !slices.Equal(got, want) {
		t.Errorf("PagerEnv(nil) = %q, want %q", got, want)
	}
	env := []string{"less=-R", "Git_Pager=cat"}
	if got, want := PagerEnv(env), []string{"less=-R", "Git_Pager=cat", "PAGER=more.com"}; !slices.Equal(got, want) {
		t.Errorf("PagerEnv(%q) = %q, want %q", env, got, want)
	}
}

// TestHelpersDoNotModifyInput gives every helper a slice with spare
// capacity, so an append that reused it would show in the backing array.
func TestHelpersDoNotModifyInput(t *testing.T) {
	helpers := map[string]func([]string) []string{
		"NetworkOff":     NetworkOff,
		"PagerEnv":       PagerEnv,
		"PrependPath":    func(e []string) []string { return PrependPath(e, `D:\stubs`) },
		"PreferBatchExt": PreferBatchExt,
	}
	for name, f := range helpers {
		backing := make([]string, 4, 10)
		copy(backing, []string{"Path=C:\\a", "PATHEXT=.EXE;.BAT", "X=1", "Y=2"})
		orig := slices.Clone(backing[:cap(backing)])
		f(backing[:4])
		if !slices.Equal(backing[:cap(backing)], orig) {
			t.Errorf("%s modified its input: %q, was %q", name, backing[:cap(backing)], orig)
		}
	}
}

func TestDenyStubs(t *testing.T) {
	want := []byte{
		'@', 'e', 'c', 'h', 'o', ' ', 'o', 'f', 'f', 0x0D, 0x0A,
		'e', 'x', 'i', 't', ' ', '/', 'b', ' ', '1', 0x0D, 0x0A,
	}
	stubs := DenyStubs()
	names := make([]string, 0, len(stubs))
	for name, content := range stubs {
		names = append(names, name)
		if !bytes.Equal(content, want) {
			t.Errorf("stub %s = %q, want %q", name, content, want)
		}
		if bytes.IndexByte(content, '\\') >= 0 {
			t.Errorf("stub %s contains a backslash (a literal \\r\\n instead of CR LF): %q", name, content)
		}
	}
	slices.Sort(names)
	if wantNames := []string{"scp.bat", "scp.cmd", "ssh.bat", "ssh.cmd"}; !slices.Equal(names, wantNames) {
		t.Errorf("DenyStubs names = %q, want %q", names, wantNames)
	}
	// Each call returns fresh memory.
	stubs["ssh.bat"][0] = 'X'
	delete(stubs, "scp.cmd")
	again := DenyStubs()
	if again["ssh.bat"][0] != '@' || again["scp.cmd"] == nil {
		t.Error("DenyStubs shares state between calls")
	}
}

func TestPrependPath(t *testing.T) {
	tests := []struct {
		env  []string
		dir  string
		want []string
	}{
		{[]string{`Path=C:\a;C:\b`, "X=1"}, `D:\s`, []string{`Path=D:\s;C:\a;C:\b`, "X=1"}},
		{[]string{"X=1"}, `D:\s`, []string{"X=1", `PATH=D:\s`}},
		{nil, `D:\s`, []string{`PATH=D:\s`}},
		{[]string{"PATH="}, `D:\s`, []string{`PATH=D:\s`}},
		{[]string{`PATH=C:\a`, `path=C:\b`}, `D:\s`, []string{`PATH=C:\a`, `path=D:\s;C:\b`}},
		{[]string{`PATH=C:\a`}, `D:\odd;dir`, []string{`PATH="D:\odd;dir";C:\a`}},
		{[]string{`PATH=C:\a`}, "", []string{`PATH=C:\a`}},
	}
	for _, tt := range tests {
		got := PrependPath(tt.env, tt.dir)
		if !slices.Equal(got, tt.want) {
			t.Errorf("PrependPath(%q, %q) = %q, want %q", tt.env, tt.dir, got, tt.want)
		}
		if tt.dir == "" {
			continue
		}
		path, _ := envlist.Windows.Lookup(got, "PATH")
		if dirs := SplitPathList(path); len(dirs) == 0 || dirs[0] != tt.dir {
			t.Errorf("PrependPath(%q, %q): PATH %q splits into %q", tt.env, tt.dir, path, dirs)
		}
	}
}

func TestPreferBatchExt(t *testing.T) {
	tests := []struct {
		env  []string
		want []string
	}{
		{nil, []string{"PATHEXT=.BAT;.CMD;.COM;.EXE"}},
		{[]string{"PATHEXT="}, []string{"PATHEXT=.BAT;.CMD;.COM;.EXE"}},
		{[]string{"PathExt=.COM;.EXE;.BAT;.CMD;.VBS;.PY"}, []string{"PathExt=.BAT;.CMD;.COM;.EXE;.VBS;.PY"}},
		{[]string{"PATHEXT=.exe;.cmd;.bat"}, []string{"PATHEXT=.BAT;.CMD;.exe"}},
		{[]string{"PATHEXT=.EXE"}, []string{"PATHEXT=.BAT;.CMD;.EXE"}},
		{[]string{"PATHEXT=.EXE", "X=1", "pathext=.COM;.CMD"}, []string{"PATHEXT=.EXE", "X=1", "pathext=.BAT;.CMD;.COM"}},
	}
	for _, tt := range tests {
		if got := PreferBatchExt(tt.env); !slices.Equal(got, tt.want) {
			t.Errorf("PreferBatchExt(%q) = %q, want %q", tt.env, got, tt.want)
		}
	}
}

// TestStubsWin puts the pieces together as a launcher would: the stubs'
// directory first on PATH, batch extensions first, and ssh resolves to the
// stub even though ssh.exe exists where Windows ships it.
func TestStubsWin(t *testing.T) {
	const stubDir = `C:\Users\sbx\.sbx-denybin`
	var files []string
	for name := range DenyStubs() {
		files = append(files, stubDir+`\`+name)
	}
	files = append(files, `C:\Windows\System32\OpenSSH\ssh.exe`, stubDir+`\ssh.exe`)
	env := []string{`Path=C:\Windows\System32\OpenSSH;C:\Windows`, "PATHEXT=.COM;.EXE;.BAT;.CMD"}
	env = PreferBatchExt(PrependPath(NetworkOff(env), stubDir))
	fs := &fakeFS{files: files}
	for prog, want := range map[string]string{"ssh": stubDir + `\ssh.bat`, "scp": stubDir + `\scp.bat`} {
		if got, err := LookPath(prog, env, fs.isFile); err != nil || got != want {
			t.Errorf("LookPath(%q) = %q, %v; want %q", prog, got, err, want)
		}
	}
	if _, err := EnvBlock(env); err != nil {
		t.Errorf("EnvBlock: %v", err)
	}
}
