package policy

import (
	"reflect"
	"strings"
	"testing"
)

func TestGlobMatch(t *testing.T) {
	cases := []struct {
		pattern, s string
		want       bool
	}{
		{"PATH", "PATH", true},
		{"PATH", "PATHS", false},
		{"*", "", true},
		{"*", "ANY", true},
		{"*KEY*", "KEY", true},
		{"*KEY*", "API_KEY_ID", true},
		{"*KEY*", "KE_Y", false},
		{"LC_*", "LC_ALL", true},
		{"LC_*", "LC_", true},
		{"LC_*", "XLC_ALL", false},
		{"A*B*C", "AXBYC", true},
		{"A*B*C", "ABC", true},
		{"A*B*C", "ACB", false},
		{"AB*B", "AB", false},
		{"AB*B", "ABB", true},
		{"*_TOKEN", "GH_TOKEN", true},
		{"*_TOKEN", "GH_TOKENS", false},
	}
	for _, c := range cases {
		if got := globMatch(c.pattern, c.s); got != c.want {
			t.Errorf("globMatch(%q, %q) = %v, want %v", c.pattern, c.s, got, c.want)
		}
	}
}

func TestFilterEnv(t *testing.T) {
	cases := []struct {
		name    string
		pol     EnvPolicy
		rules   EnvRules
		env     []string
		want    []string
		dropped []string
		bad     []int
	}{
		{
			name:    "default filter: the patterns and the agent sockets",
			env:     []string{"PATH=/bin", "GITHUB_TOKEN=t", "AWS_SECRET_ACCESS_KEY=s", "PGPASSWORD=p", "GOOGLE_APPLICATION_CREDENTIALS=c", "SSH_AUTH_SOCK=/s", "GPG_AGENT_INFO=g", "OPENAI_API_KEY=k", "HOME=/h"},
			want:    []string{"PATH=/bin", "HOME=/h"},
			dropped: []string{"AWS_SECRET_ACCESS_KEY", "GITHUB_TOKEN", "GOOGLE_APPLICATION_CREDENTIALS", "GPG_AGENT_INFO", "OPENAI_API_KEY", "PGPASSWORD", "SSH_AUTH_SOCK"},
		},
		{
			name:    "patterns match case-insensitively on POSIX too",
			env:     []string{"github_token=t", "Api_Key=k", "ssh_auth_sock=/s", "lower=ok"},
			want:    []string{"lower=ok"},
			dropped: []string{"Api_Key", "github_token", "ssh_auth_sock"},
		},
		{
			name:    "no allowlist: KEYMAP is dropped too",
			env:     []string{"KEYMAP=us", "XKB_DEFAULT_KEYMAP=us", "MONKEY=1"},
			dropped: []string{"KEYMAP", "MONKEY", "XKB_DEFAULT_KEYMAP"},
		},
		{
			name:    "keep: an exact name and a glob",
			pol:     EnvPolicy{Keep: []string{"NPM_TOKEN", "AWS_*"}},
			env:     []string{"NPM_TOKEN=n", "AWS_SECRET_ACCESS_KEY=s", "GH_TOKEN=g"},
			want:    []string{"NPM_TOKEN=n", "AWS_SECRET_ACCESS_KEY=s"},
			dropped: []string{"GH_TOKEN"},
		},
		{
			name:    "keep compares as POSIX names do: case-sensitively",
			pol:     EnvPolicy{Keep: []string{"npm_token"}},
			env:     []string{"NPM_TOKEN=n"},
			dropped: []string{"NPM_TOKEN"},
		},
		{
			name: "keep * turns the filter off",
			pol:  EnvPolicy{Keep: []string{"*"}},
			env:  []string{"GH_TOKEN=g", "PATH=/bin"},
			want: []string{"GH_TOKEN=g", "PATH=/bin"},
		},
		{
			name:    "clear keeps the baseline only",
			pol:     EnvPolicy{Clear: true},
			env:     []string{"PATH=/bin", "HOME=/h", "USER=u", "LOGNAME=u", "SHELL=/bin/sh", "LANG=C", "LC_ALL=C", "TERM=xterm", "TZ=UTC", "TMPDIR=/t", "TMP=/t", "TEMP=/t", "EDITOR=vi", "GH_TOKEN=g", "SystemRoot=C:\\Windows"},
			want:    []string{"PATH=/bin", "HOME=/h", "USER=u", "LOGNAME=u", "SHELL=/bin/sh", "LANG=C", "LC_ALL=C", "TERM=xterm", "TZ=UTC", "TMPDIR=/t", "TMP=/t", "TEMP=/t"},
			dropped: []string{"EDITOR", "GH_TOKEN", "SystemRoot"},
		},
		{
			name:    "clear compares the POSIX baseline case-sensitively",
			pol:     EnvPolicy{Clear: true},
			env:     []string{"path=/bin", "PATH=/usr/bin"},
			want:    []string{"PATH=/usr/bin"},
			dropped: []string{"path"},
		},
		{
			name:    "clear with keep: kept names survive, secret or not",
			pol:     EnvPolicy{Clear: true, Keep: []string{"EDITOR", "GH_*"}},
			env:     []string{"EDITOR=vi", "GH_TOKEN=g", "PAGER=less", "PATH=/bin"},
			want:    []string{"EDITOR=vi", "GH_TOKEN=g", "PATH=/bin"},
			dropped: []string{"PAGER"},
		},
		{
			name: "set adds, replaces in place, and is never dropped",
			pol:  EnvPolicy{Clear: true, Set: map[string]string{"GH_TOKEN": "fake", "PATH": "/opt/bin", "EDITOR": "ed"}},
			env:  []string{"PATH=/bin", "GH_TOKEN=real", "HOME=/h"},
			want: []string{"PATH=/opt/bin", "HOME=/h", "EDITOR=ed", "GH_TOKEN=fake"},
		},
		{
			name: "set a secret-looking name on purpose",
			pol:  EnvPolicy{Set: map[string]string{"API_KEY": "test", "EMPTY": ""}},
			env:  nil,
			want: []string{"API_KEY=test", "EMPTY="},
		},
		{
			name:    "duplicates: the last entry wins, once, where it stood",
			env:     []string{"A=1", "B=1", "A=2", "GH_TOKEN=x", "GH_TOKEN=y"},
			want:    []string{"B=1", "A=2"},
			dropped: []string{"GH_TOKEN"},
		},
		{
			name: "POSIX names differing in case are two variables",
			env:  []string{"Path=/a", "PATH=/b"},
			want: []string{"Path=/a", "PATH=/b"},
		},
		{
			name: "malformed entries: left out, by index, never named",
			env:  []string{"NOEQUALS", "=value", "A=1", "", "B=x=y"},
			want: []string{"A=1", "B=x=y"},
			bad:  []int{0, 1, 3},
		},
		{
			name:    "Windows: names compare case-insensitively, the last spelling wins",
			rules:   WindowsEnv,
			env:     []string{"PATH=C:\\a", "Path=C:\\b", "gh_token=x", "GH_TOKEN=y"},
			want:    []string{"Path=C:\\b"},
			dropped: []string{"GH_TOKEN"},
		},
		{
			name:    "Windows: the baseline, case-insensitively, and the per-drive directories",
			rules:   WindowsEnv,
			pol:     EnvPolicy{Clear: true},
			env:     []string{"=C:=C:\\src", "Path=C:\\Windows", "SYSTEMROOT=C:\\Windows", "windir=C:\\Windows", "ComSpec=cmd", "PATHEXT=.COM", "USERPROFILE=C:\\Users\\me", "APPDATA=a", "LOCALAPPDATA=l", "ProgramData=p", "ProgramFiles=p", "ProgramFiles(x86)=p", "ProgramW6432=p", "CommonProgramFiles=c", "SystemDrive=C:", "NUMBER_OF_PROCESSORS=8", "PROCESSOR_ARCHITECTURE=AMD64", "OS=Windows_NT", "HOMEDRIVE=C:", "HOMEPATH=\\Users\\me", "PUBLIC=C:\\Users\\Public", "USERNAME=me", "TEMP=t", "tmp=t", "OneDrive=o"},
			want:    []string{"Path=C:\\Windows", "SYSTEMROOT=C:\\Windows", "windir=C:\\Windows", "ComSpec=cmd", "PATHEXT=.COM", "USERPROFILE=C:\\Users\\me", "APPDATA=a", "LOCALAPPDATA=l", "ProgramData=p", "ProgramFiles=p", "ProgramFiles(x86)=p", "ProgramW6432=p", "CommonProgramFiles=c", "SystemDrive=C:", "NUMBER_OF_PROCESSORS=8", "PROCESSOR_ARCHITECTURE=AMD64", "OS=Windows_NT", "HOMEDRIVE=C:", "HOMEPATH=\\Users\\me", "PUBLIC=C:\\Users\\Public", "USERNAME=me", "TEMP=t", "tmp=t"},
			dropped: []string{"=C:", "OneDrive"},
		},
		{
			name:  "Windows: per-drive directories pass the default filter; keep and set compare case-insensitively",
			rules: WindowsEnv,
			pol:   EnvPolicy{Keep: []string{"npm_token"}, Set: map[string]string{"path": "C:\\bin"}},
			env:   []string{"=C:=C:\\src", "NPM_TOKEN=n", "PATH=C:\\Windows", "==x"},
			want:  []string{"=C:=C:\\src", "NPM_TOKEN=n", "path=C:\\bin"},
			bad:   []int{3},
		},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			f := c.pol.Filter(c.env, c.rules)
			if !reflect.DeepEqual(f.Env, c.want) || !reflect.DeepEqual(f.Dropped, c.dropped) || !reflect.DeepEqual(f.Malformed, c.bad) {
				t.Errorf("Filter(%q)\n env       %q, want %q\n dropped   %q, want %q\n malformed %v, want %v", c.env, f.Env, c.want, f.Dropped, c.dropped, f.Malformed, c.bad)
			}
			for _, d := range f.Dropped {
				if name, ok := c.rules.name(d + "=v"); !ok || name != d {
					t.Errorf("dropped %q is not a name", d)
				}
			}
		})
	}
}

func TestParseEnvPolicy(t *testing.T) {
	p, err := Parse(`{"mode":"read-only","env":{"set":{"GOFLAGS":"-mod=mod"},"keep":["NPM_TOKEN","AWS_*"],"clear":true}}`)
	if err != nil {
		t.Fatal(err)
	}
	want := EnvPolicy{Set: map[string]string{"GOFLAGS": "-mod=mod"}, Keep: []string{"NPM_TOKEN", "AWS_*"}, Clear: true}
	if !reflect.DeepEqual(p.Env, want) {
		t.Errorf("env = %+v", p.Env)
	}
	if p, err := Parse(`{"mode":"read-only","env":{}}`); err != nil || !p.Env.IsZero() {
		t.Errorf("empty env: %+v %v", p.Env, err)
	}
	cases := map[string]string{
		`{"mode":"read-only","env":{"colour":1}}`:             `field "env": json: unknown field "colour"`,
		`{"mode":"read-only","env":[]}`:                       `field "env": want policy.EnvPolicy`,
		`{"mode":"read-only","env":{"keep":"X"}}`:             `field "env.keep": want []string`,
		`{"mode":"read-only","env":{"set":{"A":1}}}`:          `field "env.set": want string`,
		`{"mode":"read-only","env":{"clear":"yes"}}`:          `field "env.clear": want bool`,
		`{"mode":"read-only","env":{"set":{"":"x"}}}`:         `field "env.set": empty variable name`,
		`{"mode":"read-only","env":{"set":{"A=B":"x"}}}`:      `field "env.set": variable name "A=B" contains '='`,
		`{"mode":"read-only","env":{"set":{"A":"s\u0000"}}}`:  `field "env.set": the value of "A" contains NUL`,
		`{"mode":"read-only","env":{"keep":["PATH",""]}}`:     `field "env.keep"[1]: empty variable name`,
		`{"mode":"read-only","env":{"keep":["X=1"]}}`:         `field "env.keep"[0]: variable name "X=1" contains '='`,
		`{"mode":"read-only","env":{"keep":["A"]},"envs":{}}`: `unknown field "envs"`,
	}
	for in, want := range cases {
		_, err := Parse(in)
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("Parse(%s) = %v, want error containing %q", in, err, want)
		}
	}
	// A value is never part of an error.
	_, err = Parse(`{"mode":"read-only","env":{"set":{"A":"s3cret\u0000"}}}`)
	if err == nil || strings.Contains(err.Error(), "s3cret") {
		t.Errorf("error %v shows the value", err)
	}
}
