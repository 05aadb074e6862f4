package winexec

import (
	"strings"

	"github.com/cordon-sandbox/cordon/internal/envlist"
)

// This file holds the environment side of the restricted-token backend's
// network lockdown and its launch-time pager defaults.
//
// All of it is a deterrent, not a wall. It makes well-behaved tools (git,
// pip, npm, cargo, curl, anything honouring *_PROXY) fail fast and visibly
// instead of reaching the network, but nothing enforces it: a program can
// ignore proxy variables, open a socket itself, unset the variables for its
// children, or run ssh.exe by its full path. Only a firewall (per-user
// Windows Firewall rules, or WFP filters) stops traffic; a policy
// that promises "no network" must not rely on this file alone.

// DeadProxy is the proxy NetworkOff points HTTP(S) clients at: the
// discard port on loopback, where normally nothing listens, so connections
// are refused at once rather than time out.
const DeadProxy = "http://127.0.0.1:9"

// envDefault is one variable a helper sets where the caller has not.
type envDefault struct{ name, value string }

// networkOffVars are the lockdown variables, in the order
// NetworkOff appends them.
var networkOffVars = []envDefault{
	{"SBX_NONET_ACTIVE", "1"},
	{"HTTP_PROXY", DeadProxy},
	{"HTTPS_PROXY", DeadProxy},
	{"ALL_PROXY", DeadProxy},
	{"GIT_HTTP_PROXY", DeadProxy},
	{"GIT_HTTPS_PROXY", DeadProxy},
	{"NO_PROXY", "localhost,127.0.0.1,::1"},
	{"PIP_NO_INDEX", "1"},
	{"PIP_DISABLE_PIP_VERSION_CHECK", "1"},
	{"NPM_CONFIG_OFFLINE", "true"},
	{"CARGO_NET_OFFLINE", "true"},
	// git runs this instead of ssh for ssh:// and scp-style remotes.
	{"GIT_SSH_COMMAND", "cmd /c exit 1"},
	// Set but empty: git allows no transport protocol at all.
	{"GIT_ALLOW_PROTOCOLS", ""},
}

// pagerVars are the launch-time pager defaults: a sandboxed
// command has no terminal for an interactive pager such as less to wait on,
// and more.com ships with every Windows.
var pagerVars = []envDefault{
	{"GIT_PAGER", "more.com"},
	{"PAGER", "more.com"},
	{"LESS", ""},
}

// NetworkOff returns env plus the network-lockdown variables:
// SBX_NONET_ACTIVE=1; HTTP_PROXY, HTTPS_PROXY, ALL_PROXY, GIT_HTTP_PROXY and
// GIT_HTTPS_PROXY set to DeadProxy; NO_PROXY=localhost,127.0.0.1,::1;
// PIP_NO_INDEX=1; PIP_DISABLE_PIP_VERSION_CHECK=1; NPM_CONFIG_OFFLINE=true;
// CARGO_NET_OFFLINE=true; GIT_SSH_COMMAND=cmd /c exit 1; and an empty
// GIT_ALLOW_PROTOCOLS.
//
// Each is added only where env does not already have the variable (compared
// case-insensitively, as Windows does; an entry with an empty value counts
// as present). So a proxy the caller already set stays
// in force: a caller that wants lockdown must remove its own proxy
// variables first. Because names are case-insensitive on Windows,
// HTTP_PROXY here is also the http_proxy that curl reads.
//
// This is a deterrent, not a wall: without a firewall, a program can ignore
// proxy variables and connect directly. See the note at the top of
// network.go. The pager defaults are separate (PagerEnv) because they apply
// with or without network access.
//
// env is not modified; the result is a new slice.
func NetworkOff(env []string) []string {
	return withDefaults(env, networkOffVars)
}

// PagerEnv returns env plus GIT_PAGER=more.com, PAGER=more.com and an empty
// LESS, each only where env does not already set it (case-insensitively),
// for every launch: a sandboxed command has no terminal
// for an interactive pager to wait on. env is not modified.
func PagerEnv(env []string) []string {
	return withDefaults(env, pagerVars)
}

func withDefaults(env []string, defs []envDefault) []string {
	out := make([]string, len(env), len(env)+len(defs))
	copy(out, env)
	for _, d := range defs {
		if _, ok := envlist.Windows.Lookup(env, d.name); !ok {
			out = append(out, d.name+"="+d.value)
		}
	}
	return out
}

// denyStub is a batch file that does nothing and fails. The line breaks
// are real CR LF bytes: the four characters `\r\n` would be read by
// cmd.exe as part of a one-line command.
const denyStub = "@echo off\r\nexit /b 1\r\n"

// DenyStubs returns the files to write into a directory that PrependPath
// puts first on PATH: ssh.bat, ssh.cmd, scp.bat and scp.cmd, each a batch
// file that exits with status 1. A tool that finds ssh through PATH and
// PATHEXT (see PreferBatchExt) runs the stub and fails at once instead of
// connecting. Like NetworkOff it is a deterrent: CreateProcess("ssh ...")
// looks only for ssh.exe, and a program can run C:\Windows\System32\OpenSSH\
// ssh.exe by path. The map is new on every call.
func DenyStubs() map[string][]byte {
	stubs := make(map[string][]byte, 4)
	for _, name := range []string{"ssh.bat", "ssh.cmd", "scp.bat", "scp.cmd"} {
		stubs[name] = []byte(denyStub)
	}
	return stubs
}

// PrependPath returns env with dir put first on PATH. The PATH entry is
// found case-insensitively (the last one wins, as in EnvBlock) and keeps its
// spelling, usually "Path"; if there is none, PATH=dir is appended. A dir
// containing ';' is quoted, which cmd.exe, Go's filepath.SplitList and
// SplitPathList understand (some other programs do not). An empty dir
// changes nothing. env is not modified.
func PrependPath(env []string, dir string) []string {
	out := append([]string(nil), env...)
	if dir == "" {
		return out
	}
	if strings.IndexByte(dir, ';') >= 0 {
		dir = `"` + dir + `"`
	}
	i := envlist.Windows.Index(out, "PATH")
	if i < 0 {
		return append(out, "PATH="+dir)
	}
	name, old, _ := envlist.Windows.Split(out[i])
	if old == "" {
		out[i] = name + "=" + dir
	} else {
		out[i] = name + "=" + dir + ";" + old
	}
	return out
}

// PreferBatchExt returns env with .BAT and .CMD moved to the front of
// PATHEXT (added if missing; the other extensions keep their order;
// DefaultPathExt if PATHEXT is unset), so that the
// ssh.bat stub beats an ssh.exe even for a searcher that loops over PATHEXT
// outside and PATH inside (LookPath and cmd.exe loop over PATH outside, so
// for them PrependPath alone would do).
// It also means any tool that exists both as x.bat or x.cmd and as x.exe in
// one directory resolves to the batch file. env is not modified.
func PreferBatchExt(env []string) []string {
	out := append([]string(nil), env...)
	v, ok := envlist.Windows.Lookup(out, "PATHEXT")
	if !ok || len(splitExts(v)) == 0 {
		v = DefaultPathExt
	}
	exts := []string{".BAT", ".CMD"}
	for _, e := range splitExts(v) {
		if !strings.EqualFold(e, ".BAT") && !strings.EqualFold(e, ".CMD") {
			exts = append(exts, e)
		}
	}
	value := strings.Join(exts, ";")
	if i := envlist.Windows.Index(out, "PATHEXT"); i >= 0 {
		name, _, _ := envlist.Windows.Split(out[i])
		out[i] = name + "=" + value
		return out
	}
	return append(out, "PATHEXT="+value)
}
