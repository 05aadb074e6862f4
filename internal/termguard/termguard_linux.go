package termguard

import (
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"time"

	"golang.org/x/sys/unix"
)

// drainWait bounds how long Close waits for output still held by the
// pseudo-terminal once the command has exited. A process that outlived the
// command and keeps the slave open (possible only without a PID namespace)
// cannot hold cordon longer than this.
const drainWait = 2 * time.Second

// Start puts a new pseudo-terminal in place of every standard stream that is
// a terminal, when stdout or stderr is one, and copies between its master
// and the user's terminal: input as typed (the terminal in raw mode but for
// its output processing, so that the command's own line discipline edits
// lines and turns Ctrl-C into its SIGINT), output through termfilter. When
// only stdin is a terminal (cordon in a pipeline, or --json), the command
// reads it through a pipe instead, in the terminal's own line mode, so that
// the pipeline's other programs keep their keys. When no stream is a
// terminal it returns a Guard that changes nothing. Where no
// pseudo-terminal can be opened, the command gets pipes and its output is
// filtered all the same.
//
// When stdin is a terminal but cordon is not in its foreground process group
// (started in the background), the command gets an empty input instead: the
// user's terminal is not put in raw mode behind their back, nor handed over.
func Start(stdin io.Reader, stdout, stderr io.Writer) (*Guard, error) {
	in, out, errOut := terminal(stdin), terminal(stdout), terminal(stderr)
	tty := firstOf(out, errOut)
	if tty == nil {
		g := newGuard(stdin, stdout, stderr)
		return g, g.pipeInput(in)
	}
	master, slave, err := OpenPTY()
	if err != nil {
		// No pseudo-terminals here (a container without devpts): the
		// command gets no terminal at all rather than the user's.
		g := filterOnly(stdin, stdout, stderr)
		return g, g.pipeInput(in)
	}
	g := newGuard(stdin, stdout, stderr)
	if t, err := unix.IoctlGetTermios(int(tty.Fd()), unix.TCGETS); err == nil {
		// The slave edits lines as the user's terminal does (erase and
		// interrupt characters, CR/NL handling).
		_ = unix.IoctlSetTermios(int(slave.Fd()), unix.TCSETS, t)
	}
	// Notified before the first resize, so that no resize is missed.
	winch := make(chan os.Signal, 1)
	signal.Notify(winch, unix.SIGWINCH)
	resize(tty, master)
	go func() {
		for range winch {
			resize(tty, master)
		}
	}()
	filter := g.filter(tty)
	outDone := make(chan struct{})
	go func() {
		// Ends with EIO once no process holds the slave, or at the read
		// deadline Close sets.
		_, _ = io.Copy(filter, master)
		close(outDone)
	}()
	if out != nil {
		g.stdout = slave
	}
	if errOut != nil {
		g.stderr = slave
	}
	var input *relay
	if in != nil {
		g.stdin = eofReader{}
		if foreground(in) {
			if input, err = startRelay(in, master, g.interrupt); err != nil {
				signal.Stop(winch)
				close(winch)
				master.Close()
				slave.Close()
				return nil, err
			}
			g.stdin = slave
		}
	}
	g.close = func() error {
		signal.Stop(winch)
		close(winch)
		// Output first, while the input relay still takes what the
		// terminal answers to it; then input.
		slave.Close()
		select {
		case <-outDone:
		case <-time.After(drainWait):
			_ = master.SetReadDeadline(time.Now())
			<-outDone
		}
		var err error
		if input != nil {
			err = errors.Join(input.stop(), input.restore())
		}
		master.Close()
		return err
	}
	return g, nil
}

// pipeInput has the command read a terminal stdin through a pipe that
// cordon fills from it, in the terminal's own mode; in the background, an
// empty input. Nothing when in is nil.
func (g *Guard) pipeInput(in *os.File) error {
	if in == nil {
		return nil
	}
	if !foreground(in) {
		g.stdin = eofReader{}
		return nil
	}
	r, w, err := os.Pipe()
	if err != nil {
		return fmt.Errorf("termguard: pipe: %w", err)
	}
	input, err := startRelay(in, w, nil)
	if err != nil {
		r.Close()
		w.Close()
		return err
	}
	g.stdin = r
	prev := g.close
	g.close = func() error {
		err := errors.Join(input.stop(), input.restore())
		w.Close()
		r.Close()
		if prev != nil {
			err = errors.Join(prev(), err)
		}
		return err
	}
	return nil
}

// terminal returns s as a file when it is a terminal, or nil.
func terminal(s any) *os.File {
	if !isTerminal(s) {
		return nil
	}
	return s.(*os.File)
}

func firstOf(fs ...*os.File) *os.File {
	for _, f := range fs {
		if f != nil {
			return f
		}
	}
	return nil
}

// OpenPTY opens a new pseudo-terminal (pty(7)): the master non-blocking, so
// that reads and writes on it go through Go's poller and can be given
// deadlines, and the slave without making it cordon's controlling terminal.
func OpenPTY() (master, slave *os.File, err error) {
	fd, err := unix.Open("/dev/ptmx", unix.O_RDWR|unix.O_NOCTTY|unix.O_CLOEXEC|unix.O_NONBLOCK, 0)
	if err != nil {
		return nil, nil, fmt.Errorf("termguard: open /dev/ptmx: %w", err)
	}
	master = os.NewFile(uintptr(fd), "/dev/ptmx")
	if err := unix.IoctlSetPointerInt(fd, unix.TIOCSPTLCK, 0); err != nil {
		master.Close()
		return nil, nil, fmt.Errorf("termguard: unlock pseudo-terminal: %w", err)
	}
	n, err := unix.IoctlGetUint32(fd, unix.TIOCGPTN)
	if err != nil {
		master.Close()
		return nil, nil, fmt.Errorf("termguard: pseudo-terminal number: %w", err)
	}
	name := fmt.Sprintf("/dev/pts/%d", n)
	slave, err = os.OpenFile(name, os.O_RDWR|unix.O_NOCTTY, 0)
	if err != nil {
		master.Close()
		return nil, nil, fmt.Errorf("termguard: open %s: %w", name, err)
	}
	return master, slave, nil
}

// resize gives the pseudo-terminal the user's terminal's size; the kernel
// then signals SIGWINCH to the command's foreground process group.
func resize(tty, master *os.File) {
	ws, err := unix.IoctlGetWinsize(int(tty.Fd()), unix.TIOCGWINSZ)
	if err != nil {
		return
	}
	rc, err := master.SyscallConn()
	if err != nil {
		return
	}
	_ = rc.Control(func(fd uintptr) { _ = unix.IoctlSetWinsize(int(fd), unix.TIOCSWINSZ, ws) })
}

// foreground reports whether cordon's process group is the terminal's
// foreground group: only then may it take the terminal's input (a
// background read would stop cordon with SIGTTIN).
func foreground(f *os.File) bool {
	pg, err := unix.IoctlGetInt(int(f.Fd()), unix.TIOCGPGRP)
	return err == nil && pg == unix.Getpgrp()
}

// eofReader is the input of a command whose cordon runs in the background.
type eofReader struct{}

func (eofReader) Read([]byte) (int, error) { return 0, io.EOF }
