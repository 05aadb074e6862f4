// Package envlist finds and sets variables in an environment held as a list
// of NAME=VALUE entries (a Cmd's Env, sandbox.Spec.Env), by one of two
// rules: POSIX, where names are case-sensitive, and Windows, where they
// compare as Windows compares them. Under both, a name given more than once
// is one variable and its last entry wins, as os/exec documents for a Cmd's
// Env (and as winexec.EnvBlock builds the Windows block); an entry that is
// not NAME=VALUE names no variable.
package envlist

import (
	"slices"
	"strings"
	"unicode"
	"unicode/utf16"
)

// Rules are a platform's rules for the names in an environment list: where
// a name ends and how two names compare. The zero value is POSIX.
type Rules struct{ windows bool }

var (
	// POSIX: names are case-sensitive and end at the first '='.
	POSIX = Rules{}
	// Windows: names compare case-insensitively, each UTF-16 code unit
	// upper-cased as Windows does (UpperUTF16), and a leading '=' belongs to
	// the name ("=C:=C:\src", the per-drive current directories cmd.exe
	// keeps, has the name "=C:").
	Windows = Rules{windows: true}
)

// Split splits the entry kv into its name and value; ok is false when kv is
// not NAME=VALUE with a non-empty name (no '=', or nothing but a Windows
// name's leading '=' before it).
func (r Rules) Split(kv string) (name, value string, ok bool) {
	from := 0
	if r.windows && strings.HasPrefix(kv, "=") {
		from = 1
	}
	i := strings.IndexByte(kv[from:], '=')
	if i <= 0 {
		return "", "", false
	}
	i += from
	return kv[:i], kv[i+1:], true
}

// Same reports whether a and b name the same variable.
func (r Rules) Same(a, b string) bool {
	if !r.windows {
		return a == b
	}
	return a == b || slices.Equal(UpperUTF16(a), UpperUTF16(b))
}

// Index returns the index of the entry that holds name's value in env (the
// last entry of that name), or -1 if there is none.
func (r Rules) Index(env []string, name string) int {
	for i := len(env) - 1; i >= 0; i-- {
		if n, _, ok := r.Split(env[i]); ok && r.Same(n, name) {
			return i
		}
	}
	return -1
}

// Lookup returns the value of name in env, and whether env has it (an
// empty value counts as present).
func (r Rules) Lookup(env []string, name string) (string, bool) {
	i := r.Index(env, name)
	if i < 0 {
		return "", false
	}
	_, value, _ := r.Split(env[i])
	return value, true
}

// Set returns env with name set to value: without any entry of that name,
// and with name=value at the end. env is not modified.
func (r Rules) Set(env []string, name, value string) []string {
	out := make([]string, 0, len(env)+1)
	for _, kv := range env {
		if n, _, ok := r.Split(kv); ok && r.Same(n, name) {
			continue
		}
		out = append(out, kv)
	}
	return append(out, name+"="+value)
}

// UpperUTF16 returns s in UTF-16 with every code unit upper-cased as
// Windows does when it compares names ignoring case (CompareStringOrdinal,
// the environment block's readers): unit by unit, so surrogates map to
// themselves. Two names are the same Windows variable when their
// UpperUTF16 are equal, and the environment block is sorted by it.
func UpperUTF16(s string) []uint16 {
	u := utf16.Encode([]rune(s))
	for i, c := range u {
		u[i] = upperUnit(c)
	}
	return u
}

// upperUnit maps one UTF-16 code unit to upper case. It uses Go's
// unicode.ToUpper but, like the Windows table (as Wine reproduces it), only
// where the mapping goes both ways: a character whose upper case lowers to
// a different character is left alone. That keeps µ, ı, ſ, final ς, the
// title-case letters such as ǅ and a few Greek and Cyrillic variants
// unchanged; mapping them would make names equal that Windows keeps apart.
// envlist_windows_test.go compares it with RtlUpcaseUnicodeChar for every
// code unit.
func upperUnit(c uint16) uint16 {
	switch {
	case c >= 'a' && c <= 'z':
		return c - 'a' + 'A'
	case c < 0x80 || (c >= 0xD800 && c <= 0xDFFF):
		return c
	}
	r := rune(c)
	if u := unicode.ToUpper(r); u != r && u <= 0xFFFF && unicode.ToLower(u) == r {
		return uint16(u)
	}
	return c
}
