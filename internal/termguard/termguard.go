// Package termguard keeps a sandboxed command away from the user's
// terminal.
//
// A terminal emulator runs outside the sandbox with the user's rights and
// interprets what is written to it: a command holding the terminal could
// set the clipboard (OSC 52), make a terminal download a file or run one
// (iTerm2's and kitty's private protocols), or make it answer a query whose
// reply is typed into the terminal's input and read by the user's shell
// after the sandbox is gone. A command holding the terminal device could
// also push input into it (TIOCSTI, TIOCLINUX: the Linux backend's seccomp
// refuses both) or change its settings.
//
// Start therefore stands between the two. On Linux, a standard stream that
// is a terminal is replaced by the slave of a new pseudo-terminal whose
// master cordon reads: the command still sees a terminal (colours, line
// editing, full-screen programs, Ctrl-C as its own SIGINT), but the only
// thing that reaches the user's terminal is what cordon copies there, through
// termfilter's allowlist. Elsewhere (Windows, where the backends connect the
// command through pipes and never hand it the console), output bound for a
// terminal goes through the same filter.
//
// Preconditions: the caller passes its own standard streams, starts the
// command with Stdin, Stdout and Stderr, and calls Close once the command
// has exited and before it writes to the terminal itself.
package termguard

import (
	"io"
	"os"
	"sync"

	"golang.org/x/term"

	"github.com/cordon-sandbox/cordon/internal/termfilter"
)

// Guard stands between a command and the user's terminal for one run.
type Guard struct {
	stdin          io.Reader
	stdout, stderr io.Writer
	filters        []filtered
	close          func() error

	intrOnce    sync.Once
	interrupted chan struct{}
}

// Interrupted is closed when the user has typed the interrupt character
// (Ctrl-C) interruptsToCancel times during the run: the caller should then
// end the run, which the command's own handling of SIGINT has not.
func (g *Guard) Interrupted() <-chan struct{} { return g.interrupted }

func newGuard(stdin io.Reader, stdout, stderr io.Writer) *Guard {
	return &Guard{stdin: stdin, stdout: stdout, stderr: stderr, interrupted: make(chan struct{})}
}

func (g *Guard) interrupt() { g.intrOnce.Do(func() { close(g.interrupted) }) }

// filtered is a filter and the terminal it writes to.
type filtered struct {
	f   *termfilter.Writer
	tty io.Writer
}

// filter returns a filter writing to tty, closed and reset by Close.
func (g *Guard) filter(tty io.Writer) *termfilter.Writer {
	f := termfilter.NewWriter(tty)
	g.filters = append(g.filters, filtered{f, tty})
	return f
}

// Stdin, Stdout and Stderr are the streams to give the command: each is
// the caller's own unless that is a terminal.
func (g *Guard) Stdin() io.Reader  { return g.stdin }
func (g *Guard) Stdout() io.Writer { return g.stdout }
func (g *Guard) Stderr() io.Writer { return g.stderr }

// Close ends the guard after the command has exited: it copies what the
// command wrote last, puts the terminal back as it was (its settings, and
// the modes and rendition the command's output changed: termfilter's
// Reset), and reports what the filter dropped.
func (g *Guard) Close() (termfilter.Stats, error) {
	var err error
	if g.close != nil {
		err = g.close()
	}
	var st termfilter.Stats
	for _, x := range g.filters {
		cerr := x.f.Close()
		if r := x.f.Reset(); cerr == nil && len(r) > 0 {
			_, cerr = x.tty.Write(r)
		}
		if err == nil {
			err = cerr
		}
		d := x.f.Dropped()
		st.Strings += d.Strings
		st.Queries += d.Queries
		st.Controls += d.Controls
		st.Other += d.Other
	}
	return st, err
}

// filterOnly is the guard without a pseudo-terminal: an output stream that
// is a terminal is reached through the filter, and an input stream that is
// one through a copy, so that the command holds neither (the backend gives
// it pipes for streams that are not files).
func filterOnly(stdin io.Reader, stdout, stderr io.Writer) *Guard {
	g := newGuard(stdin, stdout, stderr)
	// stdout and stderr may be one console: one lock across each whole
	// write, so that no write of the other lands inside a sequence that
	// os.File split into several system calls.
	var mu sync.Mutex
	wrap := func(w io.Writer) io.Writer {
		if !isTerminal(w) {
			return w
		}
		return g.filter(&lockedWriter{mu: &mu, w: w})
	}
	g.stdout, g.stderr = wrap(stdout), wrap(stderr)
	if isTerminal(stdin) {
		g.stdin = struct{ io.Reader }{stdin}
	}
	return g
}

func isTerminal(s any) bool {
	f, ok := s.(*os.File)
	return ok && f != nil && term.IsTerminal(int(f.Fd()))
}

// lockedWriter serialises whole writes to a terminal shared by two filters.
type lockedWriter struct {
	mu *sync.Mutex
	w  io.Writer
}

func (l *lockedWriter) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.w.Write(p)
}
