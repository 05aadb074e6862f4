package termfilter

import (
	"fmt"
	"strings"
)

// Stats counts what a Writer dropped, by kind.
type Stats struct {
	// Strings counts control strings (OSC, DCS, APC, PM, SOS), each once
	// however long it was and whether or not it was terminated.
	Strings int
	// Queries counts sequences that make a terminal reply: CSI with final
	// n, c, t or x, CSI $ p (DECRQM), CSI > q (XTVERSION), CSI ? u (kitty
	// keyboard flags), CSI ? S (XTSMGRAPHICS) and ESC Z (DECID).
	Queries int
	// Controls counts lone control bytes: C0 and C1 controls outside any
	// sequence, and each invalid UTF-8 byte (written as U+FFFD).
	Controls int
	// Other counts the other sequences dropped: escape and control
	// sequences off the allowlist, malformed or overlong ones, and those cut
	// short by a byte that cannot belong to them.
	Other int
}

// Total is the number of things dropped.
func (s Stats) Total() int { return s.Strings + s.Queries + s.Controls + s.Other }

func (s *Stats) add(t Stats) {
	s.Strings += t.Strings
	s.Queries += t.Queries
	s.Controls += t.Controls
	s.Other += t.Other
}

// String describes s for a log line, e.g. "2 control strings (OSC, DCS,
// APC, PM, SOS), 1 query"; it is "" when nothing was dropped.
func (s Stats) String() string {
	var parts []string
	add := func(n int, one, many string) {
		switch {
		case n == 1:
			parts = append(parts, "1 "+one)
		case n > 1:
			parts = append(parts, fmt.Sprintf("%d %s", n, many))
		}
	}
	add(s.Strings, "control string (OSC, DCS, APC, PM, SOS)", "control strings (OSC, DCS, APC, PM, SOS)")
	add(s.Queries, "query", "queries")
	add(s.Controls, "control byte", "control bytes")
	add(s.Other, "other escape sequence", "other escape sequences")
	return strings.Join(parts, ", ")
}
