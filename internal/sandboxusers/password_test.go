package sandboxusers

import (
	"bytes"
	"crypto/rand"
	"errors"
	"io"
	"strings"
	"testing"
)

func TestNewPassword(t *testing.T) {
	seen := map[string]bool{}
	alphabet := strings.Join(passwordClasses, "")
	for range 200 {
		p, err := NewPassword(rand.Reader)
		if err != nil {
			t.Fatal(err)
		}
		if len(p) != passwordLen || !hasEveryClass(p) {
			t.Fatalf("password %q: length %d or a class missing", p, len(p))
		}
		if strings.Trim(p, alphabet) != "" {
			t.Fatalf("password %q has characters outside the alphabet", p)
		}
		if seen[p] {
			t.Fatalf("password %q drawn twice", p)
		}
		seen[p] = true
	}
}

// Bytes at or above the rejection limit must be skipped, not folded onto
// the alphabet (which would bias it).
func TestNewPasswordRejectsBiasedBytes(t *testing.T) {
	alphabet := strings.Join(passwordClasses, "")
	limit := 256 - 256%len(alphabet)
	// 255 is always rejected; then a byte per class, then 'A' repeated.
	src := bytes.Repeat([]byte{255}, 64)
	src = append(src, 0, 26, 52, 62)
	src = append(src, bytes.Repeat([]byte{0}, 124)...)
	p, err := NewPassword(bytes.NewReader(src))
	if err != nil {
		t.Fatal(err)
	}
	if limit > 255 || !strings.HasPrefix(p, "Aa0!") {
		t.Fatalf("got %q: a rejected byte was used", p)
	}
}

func TestNewPasswordReaderFails(t *testing.T) {
	if _, err := NewPassword(io.LimitReader(rand.Reader, 10)); !errors.Is(err, io.ErrUnexpectedEOF) {
		t.Fatalf("got %v, want the reader's error", err)
	}
}
