package termfilter

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"strings"
	"sync"
	"testing"
)

// filter runs in through a new Writer in one Write and closes it.
func filter(t testing.TB, in []byte) ([]byte, Stats) {
	t.Helper()
	var out bytes.Buffer
	f := NewWriter(&out)
	if n, err := f.Write(in); n != len(in) || err != nil {
		t.Fatalf("Write(%q) = %d, %v", in, n, err)
	}
	if err := f.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
	return out.Bytes(), f.Dropped()
}

// filterChunks runs in through a new Writer in Writes of the given sizes
// (the last chunk takes the rest) and closes it.
func filterChunks(t testing.TB, in []byte, sizes []int) ([]byte, Stats) {
	t.Helper()
	var out bytes.Buffer
	f := NewWriter(&out)
	for _, n := range sizes {
		n = min(n, len(in))
		if _, err := f.Write(in[:n]); err != nil {
			t.Fatalf("Write: %v", err)
		}
		in = in[n:]
	}
	if _, err := f.Write(in); err != nil {
		t.Fatalf("Write: %v", err)
	}
	if err := f.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
	return out.Bytes(), f.Dropped()
}

// An attack is dropped while the text around it is kept: before+attack+after
// filters to before+keep+after.
var attacks = []struct {
	name   string
	attack string
	keep   string
	after  string // "" when the attack swallows the rest (an unterminated string)
	want   Stats
}{
	{"OSC 52 clipboard, BEL", "\x1b]52;c;ZWNobyBwd25lZAo=\x07", "", " after\n", Stats{Strings: 1}},
	{"OSC 52 clipboard, ST", "\x1b]52;c;ZWNobyBwd25lZAo=\x1b\\", "", " after\n", Stats{Strings: 1}},
	{"OSC 52 clipboard, raw ST", "\x1b]52;c;ZWNobyBwd25lZAo=\x9c", "", " after\n", Stats{Strings: 1}},
	{"OSC 52 clipboard, raw OSC", "\x9d52;c;ZWNobyBwd25lZAo=\x07", "", " after\n", Stats{Strings: 1}},
	{"OSC 52 clipboard, UTF-8 OSC", "\xc2\x9d52;c;ZWNobyBwd25lZAo=\x07", "", " after\n", Stats{Strings: 1}},
	{"OSC 1337 File=", "\x1b]1337;File=name=LmJhc2hyYw==;size=9;inline=0:ZXZpbCBjb2RlCg==\x07", "", " after\n", Stats{Strings: 1}},
	{"OSC 8 hyperlink", "\x1b]8;;https://evil.example/\x1b\\click\x1b]8;;\x1b\\", "click", " after\n", Stats{Strings: 2}},
	{"OSC 0 title", "\x1b]0;fake title\x07", "", " after\n", Stats{Strings: 1}},
	{"OSC 4 colour query", "\x1b]4;1;?\x07", "", " after\n", Stats{Strings: 1}},
	{"DCS $ q DECRQSS", "\x1bP$qm\x1b\\", "", " after\n", Stats{Strings: 1}},
	{"DCS raw DECRQSS", "\x90$q\"p\x9c", "", " after\n", Stats{Strings: 1}},
	{"DCS kitty remote control", "\x1bP@kitty-cmd{\"cmd\":\"launch\",\"version\":[0,26,0],\"payload\":{\"args\":[\"sh\",\"-c\",\"id\"]}}\x1b\\", "", " after\n", Stats{Strings: 1}},
	{"DCS tmux passthrough", "\x1bPtmux;\x1b\x1b]52;c;AAAA\x07\x1b\\", "", " after\n", Stats{Strings: 2, Other: 2}},
	{"APC kitty graphics file", "\x1b_Ga=T,t=f;L2V0Yy9wYXNzd2Q=\x1b\\", "", " after\n", Stats{Strings: 1}},
	{"APC raw", "\x9fGa=q,t=f;AAAA\x9c", "", " after\n", Stats{Strings: 1}},
	{"PM", "\x1b^private\x1b\\", "", " after\n", Stats{Strings: 1}},
	{"SOS", "\x1bXstart of string\x1b\\", "", " after\n", Stats{Strings: 1}},
	{"OSC cancelled by CAN", "\x1b]52;c;AAAA\x18", "", " after\n", Stats{Strings: 1}},
	{"OSC cancelled by SUB", "\x1b]52;c;AAAA\x1a", "", " after\n", Stats{Strings: 1}},
	{"OSC ended by a new sequence", "\x1b]52;c;AAAA\x1b[31m", "\x1b[31m", " after\n", Stats{Strings: 1}},
	{"OSC unterminated, then Close", "\x1b]52;c;ZWNobyBwd25lZAo= and the rest", "", "", Stats{Strings: 1}},
	{"DSR cursor position", "\x1b[6n", "", " after\n", Stats{Queries: 1}},
	{"DSR status", "\x1b[5n", "", " after\n", Stats{Queries: 1}},
	{"DECXCPR", "\x1b[?6n", "", " after\n", Stats{Queries: 1}},
	{"DA primary", "\x1b[c", "", " after\n", Stats{Queries: 1}},
	{"DA primary 0", "\x1b[0c", "", " after\n", Stats{Queries: 1}},
	{"DA secondary", "\x1b[>c", "", " after\n", Stats{Queries: 1}},
	{"DA tertiary", "\x1b[=c", "", " after\n", Stats{Queries: 1}},
	{"window title report", "\x1b[21t", "", " after\n", Stats{Queries: 1}},
	{"window size report", "\x1b[14t", "", " after\n", Stats{Queries: 1}},
	{"window resize", "\x1b[8;1;1t", "", " after\n", Stats{Queries: 1}},
	{"DECREQTPARM", "\x1b[x", "", " after\n", Stats{Queries: 1}},
	{"DECRQM private", "\x1b[?2004$p", "", " after\n", Stats{Queries: 1}},
	{"DECRQM ANSI", "\x1b[4$p", "", " after\n", Stats{Queries: 1}},
	{"XTVERSION", "\x1b[>q", "", " after\n", Stats{Queries: 1}},
	{"XTVERSION 0", "\x1b[>0q", "", " after\n", Stats{Queries: 1}},
	{"kitty keyboard query", "\x1b[?u", "", " after\n", Stats{Queries: 1}},
	{"XTSMGRAPHICS", "\x1b[?1;1S", "", " after\n", Stats{Queries: 1}},
	{"kitty keyboard push", "\x1b[>1u", "", " after\n", Stats{Other: 1}},
	{"kitty keyboard pop", "\x1b[<u", "", " after\n", Stats{Other: 1}},
	{"kitty keyboard set", "\x1b[=1u", "", " after\n", Stats{Other: 1}},
	{"modifyOtherKeys", "\x1b[>4;2m", "", " after\n", Stats{Other: 1}},
	{"DECSTR soft reset", "\x1b[!p", "", " after\n", Stats{Other: 1}},
	{"ENQ answerback", "\x05", "", " after\n", Stats{Controls: 1}},
	{"NUL", "\x00", "", " after\n", Stats{Controls: 1}},
	{"DECID", "\x1bZ", "", " after\n", Stats{Queries: 1}},
	{"8-bit CSI DSR", "\x9b6n", "", " after\n", Stats{Queries: 1}},
	{"8-bit CSI SGR", "\x9b31m", "", " after\n", Stats{Other: 1}},
	{"UTF-8 CSI DSR", "\xc2\x9b6n", "", " after\n", Stats{Queries: 1}},
	{"UTF-8 NEL", "\xc2\x85", "", " after\n", Stats{Controls: 1}},
	{"ESC % @", "\x1b%@", "", " after\n", Stats{Other: 1}},
	{"ESC % G", "\x1b%G", "", " after\n", Stats{Other: 1}},
	{"ESC SP F", "\x1b F", "", " after\n", Stats{Other: 1}},
	{"lone ST", "\x1b\\", "", " after\n", Stats{Other: 1}},
	{"ESC with many intermediates", "\x1b((((((((((((B", "", " after\n", Stats{Other: 1}},
	{"CSI of 100 bytes", "\x1b[" + strings.Repeat("1;", 48) + "1m", "", " after\n", Stats{Other: 1}},
	{"CSI of 100 bytes, a query", "\x1b[" + strings.Repeat("0", 97) + "n", "", " after\n", Stats{Queries: 1}},
	{"C0 inside a CSI", "\x1b[6\x0bn", "", " after\n", Stats{Other: 1}},
	{"C0 inside an allowed CSI", "\x1b[3\x0a1m", "", " after\n", Stats{Other: 1}},
	{"private parameter mid-way", "\x1b[1?h", "", " after\n", Stats{Other: 1}},
	{"parameter after intermediate", "\x1b[ 1q", "", " after\n", Stats{Other: 1}},
}

func TestAttacksDropped(t *testing.T) {
	const before = "before "
	for _, tc := range attacks {
		t.Run(tc.name, func(t *testing.T) {
			in := before + tc.attack + tc.after
			got, stats := filter(t, []byte(in))
			if want := before + tc.keep + tc.after; string(got) != want {
				t.Errorf("filter(%q) = %q, want %q", in, got, want)
			}
			if stats != tc.want {
				t.Errorf("filter(%q) dropped %+v, want %+v", in, stats, tc.want)
			}
		})
	}
}

// Output that passes byte for byte.
var passes = []struct{ name, in string }{
	{"SGR", "\x1b[0m\x1b[1;31mred bold\x1b[0m \x1b[mplain \x1b[4;7munder\x1b[24;27m"},
	{"SGR 24-bit", "\x1b[38;2;255;128;0morange\x1b[48;2;0;0;64mon navy\x1b[39;49m"},
	{"SGR colon forms", "\x1b[38:5:208m256\x1b[38:2::10:20:30mrgb\x1b[4:3mcurly\x1b[m"},
	{"cursor moves", "\x1b[H\x1b[2;5H\x1b[3A\x1b[2B\x1b[10C\x1b[D\x1b[2E\x1b[F\x1b[5G\x1b[7d\x1b[3;4f\x1b[2e\x1b[3a\x1b[4`\x1b[I\x1b[Z"},
	{"erase and edit", "\x1b[2J\x1b[3J\x1b[H\x1b[K\x1b[1K\x1b[2L\x1b[M\x1b[3P\x1b[4@\x1b[5X"},
	{"scroll and margins", "\x1b[1;20r\x1b[2S\x1b[T\x1b[s\x1b[u\x1b[3g\x1b[r"},
	{"alternate screen", "\x1b[?1049hfull screen app\x1b[?1049l"},
	{"bracketed paste and cursor", "\x1b[?2004h\x1b[?25l\x1b[?25h\x1b[?2004l\x1b[?1J\x1b[?2K"},
	{"cursor shape", "\x1b[2 q\x1b[6 q\x1b[ q"},
	{"ESC sequences", "\x1b7\x1b8\x1bD\x1bE\x1bH\x1bM\x1b=\x1b>\x1bc"},
	{"charsets and line size", "\x1b(0lqqk\x1b(B\x1b)0\x1b*B\x1b+A\x1b#3big\x1b#4big\x1b#5\x1b#6\x1b#8"},
	{"layout controls", "a\tb\r\nc\bd\x07e\x0bf\x0cg\x0eh\x0fi\x7fj"},
	{"Latin", "héllo wörld, ça va? ñ ß Ø æ \u00a0nbsp ¡¿"},
	{"Cyrillic and Greek", "Привет, мир! Ελληνικά"},
	{"CJK", "こんにちは世界 中文 한국어"},
	{"RTL", "مرحبا بالعالم שלום עולם"},
	{"emoji", "👋🏽 🇫🇷 👨‍👩‍👧 ✅ ❌ 🚀"},
	{"replacement character", "\uFFFD"},
	{"git diff --color", "\x1b[1mdiff --git a/x.go b/x.go\x1b[m\n\x1b[1mindex 3b18e51..a9c2f0e 100644\x1b[m\n" +
		"\x1b[1m--- a/x.go\x1b[m\n\x1b[1m+++ b/x.go\x1b[m\n\x1b[36m@@ -1,3 +1,3 @@\x1b[m \x1b[mfunc main() {\x1b[m\n" +
		"\x1b[31m-\tfmt.Println(\"old\")\x1b[m\n\x1b[32m+\x1b[m\x1b[32m\tfmt.Println(\"new\")\x1b[m\n"},
	{"ls --color", "\x1b[0m\x1b[01;34mdir\x1b[0m  \x1b[01;32mrun.sh\x1b[0m  \x1b[01;36mlink\x1b[0m  \x1b[40;31;01mbroken\x1b[0m  plain.txt\n"},
	{"progress bar", "\r\x1b[K 10% [=>        ]\r\x1b[K 50% [=====>    ]\r\x1b[K100% [==========]\n"},
}

func TestPassesByteForByte(t *testing.T) {
	for _, tc := range passes {
		t.Run(tc.name, func(t *testing.T) {
			got, stats := filter(t, []byte(tc.in))
			if string(got) != tc.in {
				t.Errorf("filter(%q) = %q", tc.in, got)
			}
			if stats != (Stats{}) {
				t.Errorf("filter(%q) dropped %+v", tc.in, stats)
			}
		})
	}
}

// Input that is neither dropped nor passed as it is.
func TestRewrites(t *testing.T) {
	for _, tc := range []struct {
		name, in, want string
		stats          Stats
	}{
		{"invalid byte", "a\xffb", "a\uFFFDb", Stats{Controls: 1}},
		{"invalid lead then ASCII", "\xe2\x28\xa1", "\uFFFD(\uFFFD", Stats{Controls: 2}},
		{"surrogate", "\xed\xa0\x80x", "\uFFFD\uFFFD\uFFFDx", Stats{Controls: 3}},
		{"raw C1 non-introducer", "a\x85b\x9cc", "a\uFFFDb\uFFFDc", Stats{Controls: 2}},
		{"incomplete rune at Close", "ok \xe2\x82", "ok \uFFFD\uFFFD", Stats{Controls: 2}},
		{"incomplete rune at Close, then a raw CSI", "ok \xe2\x9b", "ok \uFFFD", Stats{Controls: 1, Other: 1}},
		{"incomplete lead then ESC", "\xe2\x1b[1m", "\uFFFD\x1b[1m", Stats{Controls: 1}},
		{"incomplete CSI at Close", "ok \x1b[1;3", "ok ", Stats{Other: 1}},
		{"ESC at Close", "ok \x1b", "ok ", Stats{Other: 1}},
		{"CSI cut by ESC", "\x1b[1;\x1b[2m", "\x1b[2m", Stats{Other: 1}},
		{"CSI cut by CAN", "\x1b[1\x18m", "m", Stats{Other: 1, Controls: 1}},
		{"CSI cut by DEL", "\x1b[1\x7fm", "\x7fm", Stats{Other: 1}},
		{"CSI cut by UTF-8", "\x1b[1émx", "émx", Stats{Other: 1}},
		{"ESC cut by LF", "\x1b\n[6n", "\n[6n", Stats{Other: 1}},
		{"ESC ESC", "\x1b\x1b7", "\x1b7", Stats{Other: 1}},
		{"string ended by ESC ESC", "\x1b]0;t\x1b\x1b[1m", "\x1b[1m", Stats{Strings: 1, Other: 1}},
		{"CSI of 64 bytes passes", "\x1b[" + strings.Repeat("0", 61) + "m", "\x1b[" + strings.Repeat("0", 61) + "m", Stats{}},
		{"CSI of 65 bytes is dropped", "\x1b[" + strings.Repeat("0", 62) + "m", "", Stats{Other: 1}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, stats := filter(t, []byte(tc.in))
			if string(got) != tc.want {
				t.Errorf("filter(%q) = %q, want %q", tc.in, got, tc.want)
			}
			if stats != tc.stats {
				t.Errorf("filter(%q) dropped %+v, want %+v", tc.in, stats, tc.stats)
			}
		})
	}
}

// Away from C1 controls, invalid UTF-8 is replaced exactly as Go's own
// decoding replaces it: one U+FFFD per byte that begins no valid rune.
func TestInvalidUTF8AsGoDecodes(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 4))
	for range 2000 {
		in := make([]byte, r.IntN(24))
		for i := range in {
			if r.IntN(3) == 0 {
				in[i] = byte(0x20 + r.IntN(0x5f))
			} else {
				in[i] = byte(0xa0 + r.IntN(0x60))
			}
		}
		got, _ := filter(t, in)
		if want := string([]rune(string(in))); string(got) != want {
			t.Fatalf("filter(%q) = %q, want %q", in, got, want)
		}
	}
}

// randomInput mixes the tables' inputs, bytes that matter to the parser and
// random bytes.
func randomInput(r *rand.Rand) []byte {
	const special = "\x1b\x1b\x1b[]P_^XZ%#( \\;:?>=<$0123456789mnqhltu\x07\x18\x1a\x05\n\r\x7f\x9b\x9c\x9d\x90\xc2\xe2\x82\xac\xf0\x9f"
	var b []byte
	for range r.IntN(12) {
		switch r.IntN(4) {
		case 0:
			b = append(b, attacks[r.IntN(len(attacks))].attack...)
		case 1:
			b = append(b, passes[r.IntN(len(passes))].in...)
		case 2:
			for range r.IntN(16) {
				b = append(b, special[r.IntN(len(special))])
			}
		default:
			for range r.IntN(16) {
				b = append(b, byte(r.Uint32()))
			}
		}
	}
	return b
}

// randomSizes splits n bytes into chunks of random sizes.
func randomSizes(r *rand.Rand, n int) []int {
	var sizes []int
	for n > 0 {
		k := 1 + r.IntN(min(n, 8))
		if r.IntN(4) == 0 {
			k = 1 + r.IntN(n)
		}
		sizes = append(sizes, k)
		n -= k
	}
	return sizes
}

func TestSplitInvariance(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	for range 3000 {
		in := randomInput(r)
		sizes := randomSizes(r, len(in))
		whole, wholeStats := filter(t, in)
		got, gotStats := filterChunks(t, in, sizes)
		if !bytes.Equal(got, whole) || gotStats != wholeStats {
			t.Fatalf("input %q in chunks %v:\n got %q %+v\nwant %q %+v", in, sizes, got, gotStats, whole, wholeStats)
		}
	}
}

// Every split point of every table entry, written a byte at a time too.
func TestSplitTables(t *testing.T) {
	var ins []string
	for _, a := range attacks {
		ins = append(ins, "x"+a.attack+a.after)
	}
	for _, p := range passes {
		ins = append(ins, p.in)
	}
	for _, in := range ins {
		whole, wholeStats := filter(t, []byte(in))
		ones := make([]int, len(in))
		for i := range ones {
			ones[i] = 1
		}
		for _, sizes := range [][]int{ones, {len(in) / 2}, {len(in) / 3, len(in) / 3}} {
			got, gotStats := filterChunks(t, []byte(in), sizes)
			if !bytes.Equal(got, whole) || gotStats != wholeStats {
				t.Fatalf("input %q in chunks %v: got %q %+v, want %q %+v", in, sizes, got, gotStats, whole, wholeStats)
			}
		}
	}
}

func TestStatsString(t *testing.T) {
	for _, tc := range []struct {
		s    Stats
		want string
	}{
		{Stats{}, ""},
		{Stats{Strings: 2, Queries: 1}, "2 control strings (OSC, DCS, APC, PM, SOS), 1 query"},
		{Stats{Strings: 1, Controls: 3, Other: 1}, "1 control string (OSC, DCS, APC, PM, SOS), 3 control bytes, 1 other escape sequence"},
		{Stats{Queries: 2, Controls: 1, Other: 4}, "2 queries, 1 control byte, 4 other escape sequences"},
	} {
		if got := tc.s.String(); got != tc.want {
			t.Errorf("%+v.String() = %q, want %q", tc.s, got, tc.want)
		}
		if got, want := tc.s.Total(), tc.s.Strings+tc.s.Queries+tc.s.Controls+tc.s.Other; got != want {
			t.Errorf("%+v.Total() = %d, want %d", tc.s, got, want)
		}
	}
}

type failWriter struct{ calls int }

func (w *failWriter) Write(p []byte) (int, error) {
	w.calls++
	return 0, errors.New("pipe closed")
}

func TestWriteErrorIsSticky(t *testing.T) {
	fw := &failWriter{}
	f := NewWriter(fw)
	n, err := f.Write([]byte("hello"))
	if n != 5 || err == nil || !strings.Contains(err.Error(), "pipe closed") {
		t.Fatalf("Write = %d, %v; want 5 and the writer's error", n, err)
	}
	if _, err2 := f.Write([]byte("again")); err2 != err {
		t.Errorf("second Write error %v, want %v", err2, err)
	}
	if fw.calls != 1 {
		t.Errorf("underlying writer called %d times after failing, want 1", fw.calls)
	}
}

type shortWriter struct{}

func (shortWriter) Write(p []byte) (int, error) { return len(p) - 1, nil }

func TestShortWrite(t *testing.T) {
	if _, err := NewWriter(shortWriter{}).Write([]byte("ab")); !errors.Is(err, io.ErrShortWrite) {
		t.Errorf("Write to a short writer: %v, want io.ErrShortWrite", err)
	}
}

type closeRecorder struct {
	bytes.Buffer
	closed bool
}

func (c *closeRecorder) Close() error { c.closed = true; return nil }

func TestCloseLeavesWriterOpen(t *testing.T) {
	var w closeRecorder
	f := NewWriter(&w)
	if _, err := f.Write([]byte("a\xe2")); err != nil {
		t.Fatal(err)
	}
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
	if w.closed {
		t.Error("Close closed the underlying writer")
	}
	if w.String() != "a\uFFFD" {
		t.Errorf("output %q, want %q", w.String(), "a\uFFFD")
	}
	if err := f.Close(); err != nil {
		t.Errorf("second Close: %v", err)
	}
	if _, err := f.Write([]byte("b")); !errors.Is(err, ErrClosed) {
		t.Errorf("Write after Close: %v, want ErrClosed", err)
	}
}

// Dropped is read while another goroutine writes (go test -race checks the
// synchronisation); once the writes are done it holds every drop.
func TestDroppedConcurrent(t *testing.T) {
	f := NewWriter(io.Discard)
	var wg sync.WaitGroup
	stop := make(chan struct{})
	wg.Add(1)
	go func() {
		defer wg.Done()
		last := 0
		for {
			select {
			case <-stop:
				return
			default:
			}
			if n := f.Dropped().Total(); n < last {
				t.Errorf("Dropped went back from %d to %d", last, n)
				return
			} else {
				last = n
			}
		}
	}()
	const n = 500
	for range n {
		if _, err := f.Write([]byte("text \x1b[6n\x1b]52;c;AA\x07\x05")); err != nil {
			t.Fatal(err)
		}
	}
	close(stop)
	wg.Wait()
	if got, want := f.Dropped(), (Stats{Strings: n, Queries: n, Controls: n}); got != want {
		t.Errorf("Dropped = %+v, want %+v", got, want)
	}
}

// lsOutput is about size bytes of output shaped like ls --color -l.
func lsOutput(size int) []byte {
	var b bytes.Buffer
	colours := []string{"01;34", "01;32", "01;36", "00", "01;31", "40;33;01"}
	for i := 0; b.Len() < size; i++ {
		fmt.Fprintf(&b, "-rw-r--r-- 1 user group %8d Dec  3 09:%02d \x1b[0m\x1b[%smfile_%05d.go\x1b[0m\n",
			i*37%100000, i%60, colours[i%len(colours)], i)
	}
	return b.Bytes()[:size]
}

// BenchmarkFilter writes 1 MiB of coloured ls-like output a pipe's worth
// at a time into a buffer, directly and through the filter, side by side.
func BenchmarkFilter(b *testing.B) {
	in := lsOutput(1 << 20)
	var sink bytes.Buffer
	sink.Grow(len(in))
	for _, bc := range []struct {
		name string
		w    io.Writer
	}{{"direct", &sink}, {"filtered", NewWriter(&sink)}} {
		b.Run(bc.name, func(b *testing.B) {
			b.SetBytes(int64(len(in)))
			for b.Loop() {
				sink.Reset()
				for p := in; len(p) > 0; {
					n := min(len(p), 32<<10)
					if _, err := bc.w.Write(p[:n]); err != nil {
						b.Fatal(err)
					}
					p = p[n:]
				}
			}
		})
	}
}

// A control string is dropped as it streams: a megabyte of kitty graphics
// payload written in pieces leaves nothing held and nothing written.
func TestLongStringHoldsNothing(t *testing.T) {
	var out bytes.Buffer
	f := NewWriter(&out)
	write := func(s string) {
		t.Helper()
		if _, err := f.Write([]byte(s)); err != nil {
			t.Fatal(err)
		}
	}
	write("a\x1b_Ga=T,f=100,t=d;")
	chunk := strings.Repeat("QUFBQUFBQUFBQUFB", 256)
	for range 256 {
		write(chunk)
		if f.nheld != 0 || out.Len() != 1 {
			t.Fatalf("while streaming: %d bytes held, %q written", f.nheld, out.String())
		}
	}
	write("\x1b\\b")
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
	if out.String() != "ab" || f.Dropped() != (Stats{Strings: 1}) {
		t.Errorf("got %q, dropped %+v; want \"ab\", one string", out.String(), f.Dropped())
	}
}
