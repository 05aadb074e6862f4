package termfilter

import (
	"bytes"
	"fmt"
	"math/rand/v2"
	"regexp"
	"testing"
	"unicode/utf8"
)

// The checker below is written from the policy, apart from the filter's
// own tables, so that a mistake in one is not repeated in the other.

// allowedCSI matches every control sequence the policy lets through.
var allowedCSI = regexp.MustCompile("^\x1b\\[(?:" +
	"[0-9:;]*[mABCDEFGHfdea`IZJKLMP@XSTrsug]" + // plain
	"|\\?[0-9:;]*[hlJK]" + // DECSET, DECRST, selective erase
	"|[0-9:;]* q" + // cursor shape
	")$")

// checkOutput returns why out could not have come from the filter, or "".
func checkOutput(out []byte) string {
	if !utf8.Valid(out) {
		return "not valid UTF-8"
	}
	for i := 0; i < len(out); {
		b := out[i]
		switch {
		case b == 0x1b:
			n, why := checkEscape(out[i:])
			if why != "" {
				return fmt.Sprintf("at %d: %s", i, why)
			}
			i += n
		case b < 0x20:
			switch b {
			case '\t', '\n', '\r', '\b', 0x07, '\v', '\f', 0x0e, 0x0f:
			default:
				return fmt.Sprintf("at %d: C0 control %#x", i, b)
			}
			i++
		case b < 0x80:
			i++
		default:
			r, size := utf8.DecodeRune(out[i:])
			if r >= 0x80 && r <= 0x9f {
				return fmt.Sprintf("at %d: C1 control %U", i, r)
			}
			i += size
		}
	}
	return ""
}

// checkEscape checks the escape sequence at the start of s and returns its
// length.
func checkEscape(s []byte) (int, string) {
	if len(s) < 2 {
		return 0, "lone ESC at the end"
	}
	switch c := s[1]; {
	case c == '[':
		end := 2
		for end < len(s) && s[end] >= 0x20 && s[end] <= 0x3f {
			end++
		}
		if end == len(s) || s[end] < 0x40 || s[end] > 0x7e {
			return 0, fmt.Sprintf("CSI without a final byte: %q", s[:end])
		}
		seq := s[:end+1]
		if len(seq) > 64 {
			return 0, fmt.Sprintf("CSI of %d bytes", len(seq))
		}
		if !allowedCSI.Match(seq) {
			return 0, fmt.Sprintf("CSI off the allowlist: %q", seq)
		}
		return len(seq), ""
	case bytes.IndexByte([]byte("78DEHM=>c"), c) >= 0:
		return 2, ""
	case c == '(' || c == ')' || c == '*' || c == '+':
		if len(s) < 3 || s[2] < 0x30 || s[2] > 0x7e {
			return 0, fmt.Sprintf("bad charset designation %q", s[:min(len(s), 3)])
		}
		return 3, ""
	case c == '#':
		if len(s) < 3 || bytes.IndexByte([]byte("34568"), s[2]) < 0 {
			return 0, fmt.Sprintf("bad ESC # %q", s[:min(len(s), 3)])
		}
		return 3, ""
	}
	return 0, fmt.Sprintf("ESC sequence off the allowlist: %q", s[:2])
}

// TestCheckerRejects shows the checker catching what it is meant to catch,
// so that a fuzz run finding nothing means something.
func TestCheckerRejects(t *testing.T) {
	for _, a := range attacks {
		if checkOutput([]byte(a.attack)) == "" {
			t.Errorf("checker accepts the attack %s: %q", a.name, a.attack)
		}
	}
	for _, s := range []string{"\x1b[?1049h\x1b", "\x1b(\x1f", "\x1b#7", "\x1b[1;2", "\xc2\x80", "\x1b[?1S", "\x1b[ 2 q"} {
		if checkOutput([]byte(s)) == "" {
			t.Errorf("checker accepts %q", s)
		}
	}
	for _, p := range passes {
		if why := checkOutput([]byte(p.in)); why != "" {
			t.Errorf("checker rejects %s: %s", p.name, why)
		}
	}
}

func FuzzFilter(f *testing.F) {
	for _, a := range attacks {
		f.Add([]byte("x"+a.attack+a.after), uint64(1))
	}
	for _, p := range passes {
		f.Add([]byte(p.in), uint64(2))
	}
	r := rand.New(rand.NewPCG(5, 6))
	for range 20 {
		f.Add(randomInput(r), r.Uint64())
	}
	f.Fuzz(func(t *testing.T, in []byte, seed uint64) {
		out, stats := filter(t, in)
		if why := checkOutput(out); why != "" {
			t.Fatalf("filter(%q) = %q: %s", in, out, why)
		}
		again, againStats := filter(t, out)
		if !bytes.Equal(again, out) || againStats != (Stats{}) {
			t.Fatalf("filtering %q again gives %q, dropping %+v", out, again, againStats)
		}
		if len(out) > 3*len(in) { // U+FFFD is three bytes
			t.Fatalf("filter(%q) grew to %d bytes", in, len(out))
		}

		// Written in chunks, with the held state bounded after each.
		r := rand.New(rand.NewPCG(seed, 0))
		var buf bytes.Buffer
		fw := NewWriter(&buf)
		var sizes []int
		for p := in; len(p) > 0; {
			n := 1 + r.IntN(len(p))
			sizes = append(sizes, n)
			if _, err := fw.Write(p[:n]); err != nil {
				t.Fatal(err)
			}
			p = p[n:]
			if fw.nheld > maxCSI || fw.nr >= utf8.UTFMax || len(fw.out) != 0 {
				t.Fatalf("after a write, %d sequence bytes, %d rune bytes and %d output bytes held", fw.nheld, fw.nr, len(fw.out))
			}
		}
		if err := fw.Close(); err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(buf.Bytes(), out) || fw.Dropped() != stats {
			t.Fatalf("input %q in chunks %v: got %q %+v, whole gives %q %+v", in, sizes, buf.Bytes(), fw.Dropped(), out, stats)
		}
	})
}
