// Package termfilter filters a sandboxed command's output on its way to the
// user's terminal emulator.
//
// # The threat
//
// A terminal emulator is a program outside the sandbox, running with the
// user's full rights, that interprets the bytes it is given as a rich
// protocol. A hostile command can ask it to write the clipboard (OSC 52),
// save a file (iTerm2's OSC 1337 File=), run kitty's remote control (DCS
// @kitty-cmd, which launches processes when enabled) or read a file by path
// (kitty graphics with t=f). It can also make the terminal answer: a cursor
// position report (CSI 6 n), device attributes (CSI c, ESC Z), window
// reports (CSI 21 t), setting and mode reports (DCS $ q, CSI ? 2004 $ p),
// the terminal's version (CSI > q) or ENQ's answerback. The answer is typed
// into the terminal's input, where the user's shell reads it as keystrokes
// once the sandbox has exited.
//
// # The approach
//
// Writer passes an allowlist and drops everything else: printable text
// (ASCII and valid UTF-8 from U+00A0 up), the layout controls TAB, LF, CR,
// BS, BEL, VT, FF, SO, SI and DEL, the CSI sequences that colour text, move
// the cursor, erase, scroll, set the DEC private modes it knows (CSI ? … h/l,
// see decModes; Reset puts them back afterwards) and shape
// the cursor (CSI SP q), and a few two- and three-byte ESC sequences (save
// and restore cursor, index, keypad modes, reset, charset designation, line
// size). Every control string (OSC, DCS, APC, PM, SOS) is dropped whole,
// whatever it says; so is every query. C1 controls are dropped whether they
// arrive as raw bytes or UTF-8 encoded (a raw 0x9B or 0x9D outside UTF-8
// begins a sequence that is dropped whole). Invalid UTF-8 becomes U+FFFD.
// The stream is taken for UTF-8: a terminal not in UTF-8 mode reads the
// continuation bytes 0x80–0x9F of valid UTF-8 ("Û" is C3 9B) as C1
// controls, which pass (see below). The filter keeps the stream's
// structure across Write calls, so a sequence split between writes is
// handled as if written whole, and it holds at most a short CSI (64 bytes)
// and one incomplete rune. Filtering its output again changes nothing.
//
// # What stays open
//
//   - A terminal that answers an allowed sequence, or reports user events
//     once an allowed DEC private mode enables them (mouse tracking, focus
//     events) while the command runs: such a report is written by the
//     terminal on the user's action and is not chosen by the command.
//   - A terminal in an 8-bit, non-UTF-8 mode (a Latin-1 xterm, a Linux
//     console out of UTF-8 mode): C1 controls hidden in UTF-8 continuation
//     bytes pass.
//   - Sequences in files: the command can write a file holding any
//     sequence, and the filter never sees it when the user later cats it.
//   - Spoofing: the command can still move the cursor, erase the screen,
//     switch to the alternate screen, change charsets and print any Unicode
//     text (bidirectional overrides included), and so draw whatever it likes
//     where cordon's own messages or the user's prompt would be.
package termfilter
