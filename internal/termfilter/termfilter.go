package termfilter

import (
	"errors"
	"fmt"
	"io"
	"sort"
	"strconv"
	"strings"
	"sync"
	"unicode/utf8"
)

// ErrClosed is returned by a Write after Close.
var ErrClosed = errors.New("termfilter: write after close")

// state is where the filter stands in the stream.
type state uint8

const (
	ground    state = iota // text
	escape                 // after ESC: held holds ESC and any intermediates
	escDrop                // an ESC sequence too long to hold, dropped up to its final
	control                // a CSI; held holds it unless it is being dropped
	str                    // a control string, dropped as it streams
	strEscape              // an ESC inside a control string
)

var replacement = []byte(string(utf8.RuneError))

// Writer filters a byte stream bound for a terminal emulator: it passes
// text and the allowlisted controls and sequences to the underlying writer
// and drops the rest (see the package documentation). A Writer is not safe
// for concurrent Writes; Dropped may be called concurrently with them.
type Writer struct {
	w   io.Writer
	st  state
	seq csi
	osc bool // the control string is an OSC, which BEL also ends

	held  [maxCSI]byte // the escape or control sequence being read
	nheld int
	hold  bool // the CSI may pass, so its bytes are kept

	rbuf [utf8.UTFMax]byte // an incomplete UTF-8 encoding
	nr   int

	out    []byte // this Write's output
	counts Stats  // this Write's drops, added to dropped when it ends
	err    error  // the underlying writer's first error, or ErrClosed

	mu      sync.Mutex
	dropped Stats

	styled bool         // an escape or control sequence passed
	modes  map[int]bool // DEC private modes a passing CSI ? … h set
}

// NewWriter returns a Writer that writes the filtered stream to w.
func NewWriter(w io.Writer) *Writer { return &Writer{w: w} }

// Write filters p and writes what passes to the underlying writer in one
// call. A sequence left incomplete at the end of p is held for the next
// Write. It reports len(p) once p has been filtered, even when the
// underlying writer then fails: p is consumed either way, and writing it
// again would filter it twice. After a failure every Write returns the same
// error.
func (f *Writer) Write(p []byte) (int, error) {
	if f.err != nil {
		return 0, f.err
	}
	f.feed(p)
	return len(p), f.flush()
}

// Close ends the stream: an incomplete UTF-8 rune is written as U+FFFD, one
// per byte as utf8.DecodeRune reads it at the end of input, and an
// incomplete escape sequence is dropped. It does not close the
// underlying writer.
func (f *Writer) Close() error {
	if f.err == ErrClosed {
		return nil
	}
	if f.err != nil {
		return f.err
	}
	if f.nr > 0 {
		// At the end of input utf8.DecodeRune replaces each byte of an
		// incomplete encoding, so the lead byte becomes U+FFFD and the rest
		// (continuation bytes, each invalid alone) are read afresh.
		var rest [utf8.UTFMax]byte
		n := copy(rest[:], f.rbuf[1:f.nr])
		f.nr = 0
		f.counts.Controls++
		f.out = append(f.out, replacement...)
		for _, c := range rest[:n] {
			f.step(c)
		}
	}
	switch f.st {
	case escape, escDrop, control:
		f.counts.Other++
	}
	f.st, f.nheld = ground, 0
	err := f.flush()
	if err == nil {
		f.err = ErrClosed
	}
	return err
}

// Dropped returns what has been dropped so far.
func (f *Writer) Dropped() Stats {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.dropped
}

func (f *Writer) flush() error {
	f.mu.Lock()
	f.dropped.add(f.counts)
	f.mu.Unlock()
	f.counts = Stats{}
	if len(f.out) == 0 {
		return nil
	}
	n, err := f.w.Write(f.out)
	if err == nil && n < len(f.out) {
		err = io.ErrShortWrite
	}
	f.out = f.out[:0]
	if cap(f.out) > 1<<16 { // one huge Write should not pin its size for good
		f.out = nil
	}
	if err != nil {
		f.err = fmt.Errorf("termfilter: write: %w", err)
	}
	return f.err
}

// feed runs p through the filter. Runs of plain text and the insides of
// control strings are handled a run at a time; everything else goes
// through step a byte at a time.
func (f *Writer) feed(p []byte) {
	for i := 0; i < len(p); {
		switch {
		case f.st == ground && f.nr == 0:
			j := i
			for j < len(p) && passByte[p[j]] {
				j++
			}
			f.out = append(f.out, p[i:j]...)
			if i = j; i == len(p) {
				return
			}
			if p[i] < utf8.RuneSelf {
				f.step(p[i])
				i++
				continue
			}
			if !utf8.FullRune(p[i:]) { // the rest of p begins a rune
				f.nr = copy(f.rbuf[:], p[i:])
				return
			}
			r, size := utf8.DecodeRune(p[i:])
			f.rune(r, p[i:i+size])
			i += size
		case f.st == str:
			for i < len(p) && !f.endsString(p[i]) {
				i++
			}
			if i < len(p) {
				f.step(p[i])
				i++
			}
		default:
			f.step(p[i])
			i++
		}
	}
}

// step runs one byte through the filter.
func (f *Writer) step(b byte) {
	switch f.st {
	case ground:
		f.ground(b)
	case escape:
		f.escape(b)
	case escDrop:
		switch {
		case b >= 0x20 && b <= 0x2f:
		case b >= 0x30 && b <= 0x7e:
			f.counts.Other++
			f.st = ground
		default:
			f.abort(b)
		}
	case control:
		f.control(b)
	case str:
		if f.endsString(b) {
			switch b {
			case esc:
				f.st = strEscape
			default: // BEL, ST, CAN or SUB: dropped with the string
				f.st = ground
			}
		}
	case strEscape:
		if b == '\\' { // ST
			f.st = ground
			return
		}
		// Any other byte ends the string, and the ESC begins a sequence.
		f.st, f.held[0], f.nheld = escape, esc, 1
		f.escape(b)
	}
}

// endsString reports whether b ends the control string being dropped (or,
// for ESC, may end it).
func (f *Writer) endsString(b byte) bool {
	switch b {
	case esc, c1ST, can, sub:
		return true
	case bel:
		return f.osc
	}
	return false
}

func (f *Writer) ground(b byte) {
	switch {
	case f.nr > 0 || b >= utf8.RuneSelf:
		f.rbuf[f.nr] = b
		f.nr++
		if !utf8.FullRune(f.rbuf[:f.nr]) {
			return
		}
		var enc [utf8.UTFMax]byte
		n := copy(enc[:], f.rbuf[:f.nr])
		f.nr = 0
		r, size := utf8.DecodeRune(enc[:n])
		f.rune(r, enc[:size])
		// An invalid lead byte is replaced alone; what followed it is
		// read afresh, as utf8.DecodeRune would read it.
		for _, c := range enc[size:n] {
			f.step(c)
		}
	case passByte[b]:
		f.out = append(f.out, b)
		if b == 0x0e { // SO: the G1 set, which Reset shifts back from
			f.styled = true
		}
	case b == esc:
		f.st, f.held[0], f.nheld = escape, esc, 1
	default:
		f.counts.Controls++
	}
}

// rune handles one decoded rune and its encoding enc; an invalid byte comes
// as utf8.RuneError with a one-byte enc.
func (f *Writer) rune(r rune, enc []byte) {
	switch {
	case r == utf8.RuneError && len(enc) == 1:
		if b := enc[0]; b >= 0x80 && b <= 0x9f {
			f.c1(b, true)
			return
		}
		f.counts.Controls++
		f.out = append(f.out, replacement...)
	case r < 0xa0:
		f.c1(byte(r), false)
	default:
		f.out = append(f.out, enc...)
	}
}

// c1 handles a C1 control, raw (an invalid UTF-8 byte) or UTF-8 encoded.
// The introducers begin the sequence an 8-bit terminal would read, so that
// all of it is dropped; the other C1 controls are dropped alone, a raw one
// replaced by U+FFFD as any invalid byte is.
func (f *Writer) c1(b byte, raw bool) {
	switch b {
	case c1CSI:
		f.startCSI(csi{length: 2 - boolInt(raw), c1: true})
	case c1OSC, c1DCS, c1SOS, c1PM, c1APC:
		f.startString(b == c1OSC)
	default:
		f.counts.Controls++
		if raw {
			f.out = append(f.out, replacement...)
		}
	}
}

func boolInt(b bool) int {
	if b {
		return 1
	}
	return 0
}

func (f *Writer) startString(osc bool) {
	f.counts.Strings++
	f.st, f.osc, f.nheld = str, osc, 0
}

func (f *Writer) startCSI(c csi) {
	f.st, f.seq = control, c
	f.hold = !c.c1
}

// abort drops the sequence being read, cut short by b, and reads b afresh.
func (f *Writer) abort(b byte) {
	f.counts.Other++
	f.st, f.nheld = ground, 0
	f.step(b)
}

// escape reads the byte after ESC and its intermediates.
func (f *Writer) escape(b byte) {
	switch {
	case b >= 0x20 && b <= 0x2f: // intermediate
		if f.nheld == maxEsc {
			f.st, f.nheld = escDrop, 0
			return
		}
		f.held[f.nheld] = b
		f.nheld++
	case b >= 0x30 && b <= 0x7e: // final
		inter := f.held[1:f.nheld]
		f.st, f.nheld = ground, 0
		if len(inter) == 0 {
			switch b {
			case '[':
				f.held[0], f.held[1], f.nheld = esc, '[', 2
				f.startCSI(csi{length: 2})
				return
			case ']':
				f.startString(true)
				return
			case 'P', 'X', '^', '_':
				f.startString(false)
				return
			case 'Z': // DECID, an older DA
				f.counts.Queries++
				return
			}
		}
		if escAllowed(inter, b) {
			f.styled = true
			f.out = append(f.out, esc)
			f.out = append(f.out, inter...)
			f.out = append(f.out, b)
			return
		}
		f.counts.Other++
	default: // a control, DEL or a non-ASCII byte cuts the sequence short
		f.abort(b)
	}
}

// control reads a byte of a CSI.
func (f *Writer) control(b byte) {
	c := &f.seq
	switch {
	case b >= 0x40 && b <= 0x7e: // final
		f.st = ground
		ok := f.hold && c.allowed(b)
		var modes []int
		if ok && c.prefix == '?' && (b == 'h' || b == 'l') {
			modes, ok = parseModes(f.held[3:f.nheld])
		}
		if ok {
			f.out = append(f.out, f.held[:f.nheld]...)
			f.out = append(f.out, b)
			f.styled = true
			for _, m := range modes {
				if f.modes == nil {
					f.modes = map[int]bool{}
				}
				f.modes[m] = b == 'h'
			}
		} else if !c.c0 && c.query(b) {
			f.counts.Queries++
		} else {
			f.counts.Other++
		}
		f.nheld = 0
		return
	case b >= 0x30 && b <= 0x3f: // parameter
		switch {
		case c.ninter > 0:
			c.bad = true
		case b >= 0x3c && !c.params:
			c.prefix = b
		case b >= 0x3c:
			c.bad = true
		}
		c.params = true
	case b >= 0x20 && b <= 0x2f: // intermediate
		if c.ninter == 0 {
			c.inter = b
		}
		c.ninter++
		if b == '$' {
			c.dollar = true
		}
	case b == esc || b == can || b == sub || b >= del:
		f.abort(b)
		return
	default: // another C0 control, which the terminal would execute mid-sequence
		c.c0 = true
		f.hold = false
	}
	c.length++
	if c.length >= maxCSI {
		f.hold = false // with its final it would pass the cap
	}
	if f.hold {
		f.held[f.nheld] = b
		f.nheld++
	} else {
		f.nheld = 0
	}
}

// parseModes reads the parameters of a DECSET or DECRST ("1;1049"): each
// must be a mode of decModes, written in one to five digits. A terminal
// reads other spellings (sub-parameters, leading zeros past the count)
// in ways the filter would have to guess, so they do not pass.
func parseModes(params []byte) ([]int, bool) {
	var out []int
	for _, p := range strings.Split(string(params), ";") {
		if len(p) == 0 || len(p) > 5 || strings.Trim(p, "0123456789") != "" {
			return nil, false
		}
		n, _ := strconv.Atoi(p)
		if _, ok := decModes[n]; !ok {
			return nil, false
		}
		out = append(out, n)
	}
	return out, true
}

// Reset returns what puts the terminal back after the stream, to be written
// once the Writer is closed: each DEC private mode the stream left other
// than its default put back (mouse or focus reporting, which the terminal
// would otherwise go on typing into the user's shell, an alternate screen,
// a bracketed paste the shell did not ask for, a hidden cursor, autowrap
// turned off), and, if any sequence or SO passed, the G0 character set
// shifted in and designated ASCII, the numeric keypad and the default
// rendition. Nil when the stream was plain text.
func (f *Writer) Reset() []byte {
	if !f.styled {
		return nil
	}
	var on, off []int
	for m, set := range f.modes {
		switch def := decModes[m]; {
		case set && !def:
			off = append(off, m)
		case !set && def:
			on = append(on, m)
		}
	}
	var b []byte
	for _, g := range []struct {
		modes []int
		final byte
	}{{off, 'l'}, {on, 'h'}} {
		if len(g.modes) == 0 {
			continue
		}
		sort.Ints(g.modes)
		b = append(b, "\x1b[?"...)
		for i, m := range g.modes {
			if i > 0 {
				b = append(b, ';')
			}
			b = strconv.AppendInt(b, int64(m), 10)
		}
		b = append(b, g.final)
	}
	return append(b, "\x0f\x1b(B\x1b>\x1b[0m"...)
}
