package sandboxusers

import (
	"fmt"
	"io"
	"strings"
)

// passwordLen is long enough for any complexity policy's minimum length
// (at most 14 unless "relax minimum password length limits" is on, then
// 128) and far past guessing.
const passwordLen = 32

// The password alphabet: four classes, so that every password meets the
// Windows complexity rule (three of upper, lower, digit, symbol). No
// quote, space or backslash, which some tools mangle.
var passwordClasses = []string{
	"ABCDEFGHIJKLMNOPQRSTUVWXYZ",
	"abcdefghijklmnopqrstuvwxyz",
	"0123456789",
	"!#%*+-.:=?@^_~",
}

// NewPassword returns a passwordLen-character password drawn uniformly
// from the alphabet by rejection sampling on bytes from r (crypto/rand),
// with at least one character of each class. Codex used a seeded
// non-cryptographic generator (SmallRng); these come from the OS CSPRNG.
func NewPassword(r io.Reader) (string, error) {
	alphabet := strings.Join(passwordClasses, "")
	limit := 256 - 256%len(alphabet) // bytes at or above limit would bias
	var buf [64]byte
	for {
		var b strings.Builder
		for b.Len() < passwordLen {
			if _, err := io.ReadFull(r, buf[:]); err != nil {
				return "", fmt.Errorf("reading random bytes: %w", err)
			}
			for _, c := range buf {
				if int(c) < limit && b.Len() < passwordLen {
					b.WriteByte(alphabet[int(c)%len(alphabet)])
				}
			}
		}
		if p := b.String(); hasEveryClass(p) {
			return p, nil
		}
	}
}

func hasEveryClass(p string) bool {
	for _, c := range passwordClasses {
		if !strings.ContainsAny(p, c) {
			return false
		}
	}
	return true
}
