package policy

import (
	"encoding/json"
	"errors"
	"fmt"
	"reflect"
	"sort"
	"strings"

	"github.com/cordon-sandbox/cordon/internal/envlist"
)

// DefaultEnvFilter are the variables a command does not get unless the
// policy keeps or sets them: names that commonly hold credentials, and the
// agent sockets that hand out the user's keys. Each is a pattern in which
// '*' matches any run of characters, matched case-insensitively on every
// platform (github_token is dropped too). There is no allowlist: a harmless
// name that matches (KEYMAP, XKB_DEFAULT_KEYMAP) is dropped as well, and
// EnvPolicy.Keep brings it back.
var DefaultEnvFilter = []string{
	"*KEY*", "*SECRET*", "*TOKEN*", "*PASSWORD*", "*CREDENTIAL*",
	"SSH_AUTH_SOCK", "GPG_AGENT_INFO",
}

// EnvBaseline are the variables EnvPolicy.Clear keeps on every platform:
// what programs need to find each other, their home, their locale, their
// terminal and their temp directory. LC_* is a pattern.
var EnvBaseline = []string{
	"PATH", "HOME", "USER", "LOGNAME", "SHELL",
	"LANG", "LC_*", "TERM", "TZ", "TMPDIR", "TMP", "TEMP",
}

// WindowsEnvBaseline are the variables EnvPolicy.Clear also keeps on
// Windows, where much of the system cannot be found without them. PUBLIC,
// with USERPROFILE, SystemDrive, SystemRoot and ProgramData, is also one of
// the directories the Windows backend's world-writable audit visits.
var WindowsEnvBaseline = []string{
	"SystemRoot", "windir", "ComSpec", "PATHEXT", "SystemDrive",
	"USERNAME", "USERPROFILE", "HOMEDRIVE", "HOMEPATH", "PUBLIC",
	"APPDATA", "LOCALAPPDATA", "ProgramData",
	"ProgramFiles*", "ProgramW6432", "CommonProgramFiles*",
	"NUMBER_OF_PROCESSORS", "PROCESSOR_ARCHITECTURE", "OS",
}

// EnvPolicy is what the policy says about the command's environment, the
// "env" object of a JSON policy:
//
//	"env": {"set": {"GOFLAGS": "-mod=mod"}, "keep": ["NPM_TOKEN", "AWS_*"], "clear": false}
//
// The command's environment starts from the caller's (Request.Env, or
// cordon's own). Then, for each variable:
//
//  1. a variable whose name matches Keep stays;
//  2. otherwise, with Clear, a variable not in the baseline (EnvBaseline,
//     and WindowsEnvBaseline on Windows) is dropped;
//  3. otherwise a variable whose name matches DefaultEnvFilter is dropped.
//
// Last, Set is applied: its variables are added, or replace the caller's,
// and are never dropped. Keep ["*"] turns the default filter off.
type EnvPolicy struct {
	// Set are variables the command gets with these values, whatever the
	// filter says.
	Set map[string]string `json:"set,omitempty"`
	// Keep are names, or patterns in which '*' matches any run of
	// characters, that neither Clear nor DefaultEnvFilter drops. They
	// compare as the platform compares names (EnvRules).
	Keep []string `json:"keep,omitempty"`
	// Clear drops every variable but the baseline and Keep.
	Clear bool `json:"clear,omitempty"`
}

// IsZero reports whether e changes nothing of the default filter.
func (e EnvPolicy) IsZero() bool { return len(e.Set) == 0 && len(e.Keep) == 0 && !e.Clear }

// UnmarshalJSON decodes the "env" object strictly: an unknown field is an
// error naming "env", as the policy's own unknown fields are.
func (e *EnvPolicy) UnmarshalJSON(b []byte) error {
	type plain EnvPolicy // without this method
	p, err := decodeField[plain, EnvPolicy](b, "env")
	*e = EnvPolicy(p)
	return err
}

// decodeField decodes the policy's object field b into a P (a type
// without an UnmarshalJSON of its own, standing for the field's type T):
// an unknown field is an error naming field, as the policy's own unknown
// fields are, and a type error names T.
func decodeField[P, T any](b []byte, field string) (P, error) {
	var p P
	if err := decodeStrict(b, &p); err != nil {
		var typeErr *json.UnmarshalTypeError
		if errors.As(err, &typeErr) {
			// The caller's decoder prefixes the field path ("env.keep").
			if typeErr.Type == reflect.TypeFor[P]() {
				typeErr.Type = reflect.TypeFor[T]()
			}
			return p, typeErr
		}
		return p, fmt.Errorf("field %q: %w", field, err)
	}
	return p, nil
}

// Validate checks Set and Keep; errors name the field and the variable,
// never a value.
func (e EnvPolicy) Validate() error {
	for _, name := range sortedKeys(e.Set) {
		if err := CheckEnvName(name); err != nil {
			return fmt.Errorf("policy: field \"env.set\": %w", err)
		}
		if strings.IndexByte(e.Set[name], 0) >= 0 {
			return fmt.Errorf("policy: field \"env.set\": the value of %q contains NUL", name)
		}
	}
	for i, k := range e.Keep {
		if err := CheckEnvName(k); err != nil {
			return fmt.Errorf("policy: field \"env.keep\"[%d]: %w", i, err)
		}
	}
	return nil
}

// CheckEnvName checks a variable name, or a Keep pattern: not empty, and
// no '=' or NUL, which no environment entry's name can hold.
func CheckEnvName(name string) error {
	switch {
	case name == "":
		return fmt.Errorf("empty variable name")
	case strings.ContainsRune(name, '='):
		return fmt.Errorf("variable name %q contains '='", name)
	case strings.IndexByte(name, 0) >= 0:
		return fmt.Errorf("variable name %q contains NUL", name)
	}
	return nil
}

// EnvRules are a platform's rules for environment variables: how names
// compare, where a name ends, and which names Clear keeps. The zero value
// is POSIXEnv.
type EnvRules struct{ windows bool }

var (
	// POSIXEnv: names are case-sensitive and end at the first '='.
	POSIXEnv = EnvRules{}
	// WindowsEnv: names compare case-insensitively; a leading '=' belongs
	// to the name ("=C:=C:\src", cmd.exe's per-drive directories); Clear
	// also keeps WindowsEnvBaseline.
	WindowsEnv = EnvRules{windows: true}
)

// name returns the name of the entry kv, or false when kv is not
// NAME=VALUE with a non-empty name: where a name ends is envlist's rule.
func (r EnvRules) name(kv string) (string, bool) {
	list := envlist.POSIX
	if r.windows {
		list = envlist.Windows
	}
	name, _, ok := list.Split(kv)
	return name, ok
}

// key is the form of name under which two names are the same variable.
// On Windows it is strings.ToUpper, which maps a few non-ASCII letters to
// ASCII ones (ı to I, ſ to S) where Windows' own comparison
// (envlist.Windows) keeps them apart.
func (r EnvRules) key(name string) string {
	if r.windows {
		return strings.ToUpper(name)
	}
	return name
}

// match reports whether name matches one of patterns, compared as the
// platform compares names.
func (r EnvRules) match(patterns []string, name string) bool {
	for _, p := range patterns {
		if globMatch(r.key(p), r.key(name)) {
			return true
		}
	}
	return false
}

func (r EnvRules) baseline(name string) bool {
	return r.match(EnvBaseline, name) || r.windows && r.match(WindowsEnvBaseline, name)
}

// secret reports whether name matches DefaultEnvFilter, case-insensitively
// on every platform.
func secret(name string) bool {
	for _, p := range DefaultEnvFilter {
		if globMatch(strings.ToUpper(p), strings.ToUpper(name)) {
			return true
		}
	}
	return false
}

// FilteredEnv is an environment after the policy.
type FilteredEnv struct {
	// Env is the command's environment, one entry per variable.
	Env []string
	// Dropped are the names of the input's variables that Env lacks,
	// sorted and unique: names only, never values.
	Dropped []string
	// Malformed are the indexes of input entries that are not NAME=VALUE
	// (no '=', or an empty name). They are left out of Env and not named
	// in Dropped: they name no variable a program could look up.
	Malformed []int
}

// Filter applies e to env (entries NAME=VALUE) by rules. A variable given
// more than once is one variable, and the last entry wins, as os/exec
// documents for a Cmd's Env (glibc's getenv would take the first): Env
// holds it once, where its last entry stood. A variable Set adds goes at
// the end, in name order.
func (e EnvPolicy) Filter(env []string, rules EnvRules) FilteredEnv {
	var f FilteredEnv
	last := map[string]int{} // key -> index of its last entry
	names := make([]string, len(env))
	for i, kv := range env {
		name, ok := rules.name(kv)
		if !ok {
			f.Malformed = append(f.Malformed, i)
			continue
		}
		names[i] = name
		last[rules.key(name)] = i
	}
	dropped := map[string]string{} // key -> name
	at := map[string]int{}         // key -> index in f.Env
	for i, kv := range env {
		name := names[i]
		if name == "" || last[rules.key(name)] != i {
			continue
		}
		k := rules.key(name)
		if !rules.match(e.Keep, name) && (e.Clear && !rules.baseline(name) || secret(name)) {
			dropped[k] = name
			continue
		}
		at[k] = len(f.Env)
		f.Env = append(f.Env, kv)
	}
	for _, name := range sortedKeys(e.Set) {
		kv := name + "=" + e.Set[name]
		k := rules.key(name)
		delete(dropped, k)
		if i, ok := at[k]; ok {
			f.Env[i] = kv
			continue
		}
		at[k] = len(f.Env)
		f.Env = append(f.Env, kv)
	}
	for _, name := range dropped {
		f.Dropped = append(f.Dropped, name)
	}
	sort.Strings(f.Dropped)
	return f
}

// globMatch reports whether s matches pattern, in which '*' matches any
// run of characters (none included) and every other character itself.
func globMatch(pattern, s string) bool {
	first, rest, star := strings.Cut(pattern, "*")
	if !star {
		return pattern == s
	}
	if !strings.HasPrefix(s, first) {
		return false
	}
	s = s[len(first):]
	// Each '*'-separated part must appear in order; the last must end s.
	parts := strings.Split(rest, "*")
	for i, p := range parts {
		if i == len(parts)-1 {
			return strings.HasSuffix(s, p)
		}
		j := strings.Index(s, p)
		if j < 0 {
			return false
		}
		s = s[j+len(p):]
	}
	return true
}

func sortedKeys(m map[string]string) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}
