package termfilter

import "strings"

// The bytes and sequences that pass. Everything else is dropped.

const (
	esc = 0x1b
	bel = 0x07
	can = 0x18
	sub = 0x1a
	del = 0x7f

	// The C1 controls that introduce a sequence in an 8-bit terminal.
	c1DCS = 0x90
	c1SOS = 0x98
	c1CSI = 0x9b
	c1ST  = 0x9c
	c1OSC = 0x9d
	c1PM  = 0x9e
	c1APC = 0x9f

	// maxCSI bounds a CSI, introducer and final byte included: a longer one
	// is dropped whole, so the filter never holds more. Real ones are short
	// (the longest common one, a 24-bit colour pair, is under 40 bytes).
	maxCSI = 64
	// maxEsc bounds an ESC sequence with intermediates (ESC I… F).
	maxEsc = 8
)

// passByte is true for the single bytes that pass as they are: printable
// ASCII, DEL, and the C0 controls that only lay text out.
var passByte = func() (t [256]bool) {
	for b := 0x20; b < 0x7f; b++ {
		t[b] = true
	}
	for _, b := range []byte{'\t', '\n', '\r', '\b', bel, '\v', '\f', 0x0e, 0x0f, del} {
		t[b] = true
	}
	return t
}()

// plainCSIFinals are the final bytes of the CSI sequences passed without a
// private prefix or intermediates: SGR (m), cursor movement (A–G, H, f, d,
// e, a, `, I, Z), erase and edit (J, K, L, M, P, @, X), scroll (S, T),
// scroll region (r), save and restore cursor (s, u) and tab clear (g).
const plainCSIFinals = "mABCDEFGHfdea`IZJKLMP@XSTrsug"

// decModes are the DEC private modes a stream may set (DECSET, CSI ? … h)
// and reset (DECRST, CSI ? … l), each with its default, which Reset puts
// back: cursor keys (1), reverse video (5), origin (6), autowrap (7, on),
// autorepeat (8, on), X10 mouse (9), cursor blink (12), cursor visible (25,
// on), the alternate screens (47, 1047, 1049), mouse tracking and its
// encodings (1000, 1002, 1003, 1005, 1006, 1015, 1016), focus reports
// (1004), bracketed paste (2004) and synchronized output (2026). Not among
// them: 1001 (highlight tracking waits for the program's answer), 38
// (xterm's Tektronix mode, where no CSI reset is read), 1048 (its reset
// restores a saved cursor) and 2048 (in-band resize reports at once), and
// every mode the filter does not know.
var decModes = map[int]bool{
	1: false, 5: false, 6: false, 7: true, 8: true, 9: false, 12: false, 25: true,
	47: false, 1047: false, 1049: false,
	1000: false, 1002: false, 1003: false, 1004: false, 1005: false, 1006: false, 1015: false, 1016: false,
	2004: false, 2026: false,
}

// privateCSIFinals are those passed after a '?' prefix: DECSET and DECRST
// (h, l) and selective erase (J, K).
const privateCSIFinals = "hlJK"

// escFinals are the finals of ESC sequences passed without intermediates:
// DECSC and DECRC (7, 8), IND, NEL, HTS, RI (D, E, H, M), DECKPAM and
// DECKPNM (=, >) and RIS (c).
const escFinals = "78DEHM=>c"

// csi describes the control sequence being read.
type csi struct {
	length int  // bytes so far, introducer included
	prefix byte // the private prefix ('<', '=', '>', '?'), or 0
	inter  byte // the first intermediate byte, or 0
	ninter int  // how many intermediate bytes
	dollar bool // a '$' intermediate (DECRQM and the DEC rectangle ops)
	params bool // a parameter byte has been read
	bad    bool // malformed: a parameter after an intermediate, a prefix byte mid-way
	c0     bool // a C0 control inside: the terminal executes it, so drop it all
	c1     bool // introduced by a C1 control, which never passes
}

// allowed reports whether a well-formed CSI ending in final passes.
func (c *csi) allowed(final byte) bool {
	if c.bad || c.c0 || c.c1 || c.length >= maxCSI {
		return false
	}
	switch {
	case c.prefix == 0 && c.ninter == 0:
		return strings.IndexByte(plainCSIFinals, final) >= 0
	case c.prefix == '?' && c.ninter == 0:
		return strings.IndexByte(privateCSIFinals, final) >= 0
	case c.prefix == 0 && c.ninter == 1 && c.inter == ' ':
		return final == 'q' // DECSCUSR, the cursor shape
	}
	return false
}

// query reports whether a CSI ending in final asks the terminal to reply.
func (c *csi) query(final byte) bool {
	switch final {
	case 'n', 'c', 't', 'x': // DSR, DA, window ops and reports, DECREQTPARM
		return true
	case 'p':
		return c.dollar // DECRQM
	case 'q':
		return c.prefix == '>' // XTVERSION
	case 'u', 'S':
		return c.prefix == '?' // kitty keyboard flags, XTSMGRAPHICS
	}
	return false
}

// escAllowed reports whether the ESC sequence ESC inter final passes; inter
// holds its intermediate bytes.
func escAllowed(inter []byte, final byte) bool {
	switch len(inter) {
	case 0:
		return strings.IndexByte(escFinals, final) >= 0
	case 1:
		switch inter[0] {
		case '(', ')', '*', '+': // designate G0–G3; every final names a charset
			return true
		case '#': // DECDHL, DECSWL, DECDWL, DECALN
			return strings.IndexByte("34568", final) >= 0
		}
	}
	return false
}
