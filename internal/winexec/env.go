package winexec

import (
	"errors"
	"fmt"
	"slices"
	"strings"
	"unicode/utf16"
	"unicode/utf8"

	"github.com/cordon-sandbox/cordon/internal/envlist"
)

// EnvBlock builds the environment block for CreateProcessW with
// CREATE_UNICODE_ENVIRONMENT: every entry "NAME=value" in UTF-16 followed by
// a NUL, and one more NUL after the last entry. An empty env gives the block
// {0, 0}, which Windows reads as an empty environment.
//
// Windows names are case-insensitive, and the CreateProcess documentation
// requires the block to be sorted by name, case-insensitively, in Unicode
// order, without regard to locale. Readers of the block (the C runtime,
// GetEnvironmentVariable) stop at the first match. EnvBlock therefore:
//
//   - resolves names that differ only in case (PATH and Path) by keeping the
//     last entry, as os/exec does for a Cmd's Env; passing both would leave
//     the choice to whoever reads the block;
//   - sorts by the names compared as CompareStringOrdinal(..., bIgnoreCase=
//     TRUE) does: each UTF-16 code unit is mapped to upper case and the
//     units compared as numbers. Upper, not lower, case matters for ASCII
//     punctuation: '_' (0x5F) sorts after the letters ('Z' is 0x5A), where a
//     lower-case comparison would put it before them. Code units, not code
//     points, matter beyond the BMP: surrogates (0xD800-0xDFFF) sort before
//     U+E000-U+FFFF. The upper-case mapping is Go's unicode.ToUpper
//     restricted to mappings that go both ways (envlist.UpperUTF16, which
//     is checked against RtlUpcaseUnicodeChar for every code unit). Names
//     are ASCII in practice.
//   - keeps entries whose name starts with '=' (the per-drive current
//     directories "=C:=C:\dir" that cmd.exe maintains, and "=ExitCode") and
//     puts them first, where they stand in the blocks Windows builds (a
//     plain ordinal sort would put names starting with a digit or one of
//     !"#$%&'()*+,-./:;< before them). The name is everything up to the
//     second '=' in that case.
//
// It is an error, naming the entry by index and name (never its value), if
// an entry has no '=', has an empty name ("=x", "==x"), contains NUL, or is
// not valid UTF-8.
func EnvBlock(env []string) ([]uint16, error) {
	type entry struct {
		key   []uint16 // upper-cased name, the sort key
		text  string   // the whole entry, as given
		equal bool     // the name starts with '='
	}
	var entries []entry
	byKey := make(map[string]int, len(env)) // upper-cased name -> index in entries
	for i, e := range env {
		name, _, ok := envlist.Windows.Split(e)
		switch {
		case !ok && !strings.Contains(e, "="):
			// The whole entry is the name: there is no value to hide.
			return nil, fmt.Errorf("winexec: EnvBlock: environment entry %d (%q): %w", i, e, errNoEqual)
		case !ok:
			// "=x" or "=" (no second '='), or "==x": nothing but '=' before
			// the separator.
			return nil, fmt.Errorf("winexec: EnvBlock: environment entry %d: %w", i, errEmptyName)
		}
		if strings.IndexByte(e, 0) >= 0 {
			return nil, fmt.Errorf("winexec: EnvBlock: environment entry %d (%q): contains NUL", i, name)
		}
		if !utf8.ValidString(e) {
			return nil, fmt.Errorf("winexec: EnvBlock: environment entry %d (%q): not valid UTF-8", i, name)
		}
		key := envlist.UpperUTF16(name)
		ks := string(utf16.Decode(key))
		if j, ok := byKey[ks]; ok {
			entries[j].text = e // last one wins
			continue
		}
		byKey[ks] = len(entries)
		entries = append(entries, entry{key: key, text: e, equal: name[0] == '='})
	}
	slices.SortFunc(entries, func(a, b entry) int {
		if a.equal != b.equal {
			if a.equal {
				return -1
			}
			return 1
		}
		return slices.Compare(a.key, b.key)
	})
	if len(entries) == 0 {
		return []uint16{0, 0}, nil
	}
	var block []uint16
	for _, e := range entries {
		for _, r := range e.text {
			block = utf16.AppendRune(block, r)
		}
		block = append(block, 0)
	}
	return append(block, 0), nil
}

var (
	errNoEqual   = errors.New("no '=' between name and value")
	errEmptyName = errors.New("empty name")
)

// ParseEnvBlock is the inverse of EnvBlock: it returns the entries of a
// CREATE_UNICODE_ENVIRONMENT block in block order. It reads the forms
// Windows does: entries each ended by NUL, then one more NUL; an empty
// environment may be {0} or {0, 0}.
//
// It is strict, because it exists to check blocks: it is an error if the
// block is empty, if the last entry or the block is not terminated, if
// anything follows the terminating NUL, or if the block is not valid UTF-16
// (an unpaired surrogate).
func ParseEnvBlock(block []uint16) ([]string, error) {
	if len(block) == 0 {
		return nil, errors.New("winexec: ParseEnvBlock: empty block (even an empty environment needs a terminating NUL)")
	}
	if len(block) == 2 && block[0] == 0 && block[1] == 0 {
		return []string{}, nil
	}
	entries := []string{}
	i := 0
	for {
		if i >= len(block) {
			return nil, fmt.Errorf("winexec: ParseEnvBlock: block of %d code units has no terminating empty entry", len(block))
		}
		n := slices.Index(block[i:], 0)
		if n < 0 {
			return nil, fmt.Errorf("winexec: ParseEnvBlock: entry %d (at code unit %d) is not NUL-terminated", len(entries), i)
		}
		if n == 0 {
			i++
			break
		}
		e := block[i : i+n]
		if j := unpairedSurrogate(e); j >= 0 {
			return nil, fmt.Errorf("winexec: ParseEnvBlock: entry %d: unpaired surrogate 0x%04X at code unit %d", len(entries), e[j], i+j)
		}
		entries = append(entries, string(utf16.Decode(e)))
		i += n + 1
	}
	if i != len(block) {
		return nil, fmt.Errorf("winexec: ParseEnvBlock: %d code units after the terminating NUL", len(block)-i)
	}
	return entries, nil
}

// unpairedSurrogate returns the index of the first surrogate in u that is
// not part of a high-low pair, or -1.
func unpairedSurrogate(u []uint16) int {
	for i := 0; i < len(u); i++ {
		switch c := u[i]; {
		case c >= 0xD800 && c <= 0xDBFF:
			if i+1 >= len(u) || u[i+1] < 0xDC00 || u[i+1] > 0xDFFF {
				return i
			}
			i++
		case c >= 0xDC00 && c <= 0xDFFF:
			return i
		}
	}
	return -1
}
