package termguard

import (
	"bytes"
	"errors"
	"io"
	"os"
	"strings"
	"testing"
	"time"

	"golang.org/x/sys/unix"
	"golang.org/x/term"
)

// Without a pseudo-terminal, a terminal among the streams is reached only
// through a copy (input) or the filter (output); other streams are given
// as they are.
func TestFilterOnly(t *testing.T) {
	master, tty, err := OpenPTY()
	if err != nil {
		t.Skipf("no pseudo-terminals here: %v", err)
	}
	defer master.Close()
	defer tty.Close()
	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	defer w.Close()
	g := filterOnly(tty, tty, w)
	if _, ok := g.Stdin().(*os.File); ok {
		t.Error("the command would get the terminal as its stdin")
	}
	if _, ok := g.Stdout().(*os.File); ok {
		t.Error("the command would get the terminal as its stdout")
	}
	if g.Stderr() != w {
		t.Error("a pipe was not given as it is")
	}
	g.Stdout().Write([]byte("a\x1b]52;c;eA==\x07b\x1b[31m\n"))
	st, err := g.Close()
	if err != nil || st.Strings != 1 {
		t.Errorf("Close: %+v, %v", st, err)
	}
	var got string
	buf := make([]byte, 256)
	master.SetReadDeadline(time.Now().Add(time.Second))
	for !strings.Contains(got, "\x1b[?25h") {
		n, err := master.Read(buf)
		got += string(buf[:n])
		if err != nil {
			break
		}
	}
	if strings.Contains(got, "]52") || !strings.Contains(got, "ab") || !strings.Contains(got, "\x1b[0m") {
		t.Errorf("the terminal got %q", got)
	}
}

// A command that puts its terminal in raw mode and reads nothing while you
// paste more than the pseudo-terminal holds leaves the input relay blocked
// writing: stop ends it all the same, so cordon does not hang after the
// command exits.
func TestInputRelayStopsWhenBlocked(t *testing.T) {
	outerM, outerS, err := OpenPTY()
	if err != nil {
		t.Skipf("no pseudo-terminals here: %v", err)
	}
	defer outerM.Close()
	defer outerS.Close()
	innerM, innerS, err := OpenPTY()
	if err != nil {
		t.Fatal(err)
	}
	defer innerM.Close()
	defer innerS.Close()
	if _, err := term.MakeRaw(int(innerS.Fd())); err != nil {
		t.Fatal(err)
	}
	in, err := startRelay(outerS, innerM, func() {})
	if err != nil {
		t.Fatal(err)
	}
	defer in.restore()
	// Paste until the relay takes no more: it is then blocked writing into
	// the full pseudo-terminal (were it free, it would go on reading).
	paste := bytes.Repeat([]byte("x"), 1024)
	outerM.SetWriteDeadline(time.Now().Add(2 * time.Second))
	stalled := false
	for written := 0; written < 8<<20 && !stalled; {
		n, err := outerM.Write(paste)
		written += n
		stalled = err != nil
	}
	if !stalled {
		t.Fatal("8 MiB went through a pseudo-terminal nobody reads")
	}
	stopped := make(chan error, 1)
	go func() { stopped <- in.stop() }()
	select {
	case err := <-stopped:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("the input relay did not stop: cordon would hang after the command")
	}
}

// The relay reads the terminal through a description of its own: the
// terminal's flags, which the user's shell and cordon's own streams share,
// never become non-blocking (a reader would then fail with EAGAIN), and
// without raw mode the terminal keeps its mode.
func TestRelayLeavesTheSharedDescriptionAlone(t *testing.T) {
	m, s, err := OpenPTY()
	if err != nil {
		t.Skipf("no pseudo-terminals here: %v", err)
	}
	defer m.Close()
	defer s.Close()
	before, err := unix.IoctlGetTermios(int(s.Fd()), unix.TCGETS)
	if err != nil {
		t.Fatal(err)
	}
	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	defer w.Close()
	in, err := startRelay(s, w, nil)
	if err != nil {
		t.Fatal(err)
	}
	flags, err := unix.FcntlInt(s.Fd(), unix.F_GETFL, 0)
	if err != nil {
		t.Fatal(err)
	}
	if flags&unix.O_NONBLOCK != 0 {
		t.Error("the terminal's shared description was made non-blocking")
	}
	if during, _ := unix.IoctlGetTermios(int(s.Fd()), unix.TCGETS); *during != *before {
		t.Error("a relay without raw mode changed the terminal's mode")
	}
	m.Write([]byte("typed\n"))
	buf := make([]byte, 16)
	r.SetReadDeadline(time.Now().Add(5 * time.Second))
	if n, err := r.Read(buf); err != nil || string(buf[:n]) != "typed\n" {
		t.Errorf("relayed %q, %v", buf[:n], err)
	}
	if err := errors.Join(in.stop(), in.restore()); err != nil {
		t.Fatal(err)
	}
}

// Relayed through a pipe, the terminal's end of input (Ctrl-D) is the
// command's: the pipe closes.
func TestPipeRelayPassesEndOfInput(t *testing.T) {
	m, s, err := OpenPTY()
	if err != nil {
		t.Skipf("no pseudo-terminals here: %v", err)
	}
	defer m.Close()
	defer s.Close()
	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	in, err := startRelay(s, w, nil)
	if err != nil {
		t.Fatal(err)
	}
	m.Write([]byte("line\n\x04"))
	r.SetReadDeadline(time.Now().Add(5 * time.Second))
	got, err := io.ReadAll(r)
	if err != nil || string(got) != "line\n" {
		t.Errorf("the command read %q, %v; want the line, then the end of input", got, err)
	}
	if err := errors.Join(in.stop(), in.restore()); err != nil {
		t.Fatal(err)
	}
}

// Only interrupt characters the command's terminal turns into SIGINT, typed
// in a row, count: not in raw mode (an editor reading Ctrl-C as a key),
// and not with other keys between them (a shell handling each).
func TestInterruptsCount(t *testing.T) {
	m, s, err := OpenPTY()
	if err != nil {
		t.Skipf("no pseudo-terminals here: %v", err)
	}
	defer m.Close()
	defer s.Close()
	var c interrupts
	if c.seen(m, []byte{3, 3}) || !c.seen(m, []byte{3}) {
		t.Error("three Ctrl-C in a row did not count")
	}
	c = interrupts{}
	if c.seen(m, []byte{3, 3, 'x', 3}) || c.seen(m, []byte{'\r', 3}) {
		t.Error("Ctrl-C with keys between them counted")
	}
	if _, err := term.MakeRaw(int(s.Fd())); err != nil {
		t.Fatal(err)
	}
	c = interrupts{}
	if c.seen(m, []byte{3, 3, 3}) {
		t.Error("Ctrl-C counted while the command's terminal is raw")
	}
}
