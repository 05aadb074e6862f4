package termguard

import (
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"sync"
	"time"

	"golang.org/x/sys/unix"
	"golang.org/x/term"
)

// drainWait bounds how long Close waits for output still held by the
// pseudo-terminal once the command has exited. A process that outlived the
// command and keeps the slave open (possible only without a PID namespace)
// cannot hold cordon longer than this.
const drainWait = 2 * time.Second

// Start puts a new pseudo-terminal in place of every standard stream that is
// a terminal, and copies between its master and the user's terminal: input
// as typed (the terminal in raw mode, so that the command's own line
// discipline edits lines and turns Ctrl-C into its SIGINT), output through
// termfilter. When no stream is a terminal it returns a Guard that changes
// nothing. Where no pseudo-terminal can be opened, the command gets pipes
// instead and its output is filtered all the same.
//
// When stdin is a terminal but cordon is not in its foreground process group
// (started in the background), the command gets an empty input instead: the
// user's terminal is not put in raw mode behind their back, nor handed over.
func Start(stdin io.Reader, stdout, stderr io.Writer) (*Guard, error) {
	g := &Guard{stdin: stdin, stdout: stdout, stderr: stderr}
	in, out, errOut := terminal(stdin), terminal(stdout), terminal(stderr)
	tty := firstOf(out, errOut, in)
	if tty == nil {
		return g, nil
	}
	master, slave, err := OpenPTY()
	if err != nil {
		// No pseudo-terminals here (a container without devpts): the
		// command gets no terminal at all rather than the user's.
		return filterOnly(stdin, stdout, stderr), nil
	}
	if t, err := unix.IoctlGetTermios(int(tty.Fd()), unix.TCGETS); err == nil {
		// The slave edits lines as the user's terminal does (erase and
		// interrupt characters, CR/NL handling).
		_ = unix.IoctlSetTermios(int(slave.Fd()), unix.TCSETS, t)
	}
	resize(tty, master)
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
	var input *relayIn
	if in != nil {
		g.stdin = eofReader{}
		if foreground(in) {
			if input, err = startInput(in, master); err != nil {
				master.Close()
				slave.Close()
				return nil, err
			}
			g.stdin = slave
		}
	}
	winch := make(chan os.Signal, 1)
	signal.Notify(winch, unix.SIGWINCH)
	go func() {
		for range winch {
			resize(tty, master)
		}
	}()
	g.close = func() error {
		signal.Stop(winch)
		close(winch)
		var err error
		if input != nil {
			err = input.stop()
		}
		slave.Close()
		select {
		case <-outDone:
		case <-time.After(drainWait):
			_ = master.SetReadDeadline(time.Now())
			<-outDone
		}
		master.Close()
		if input != nil {
			if rerr := input.restore(); err == nil {
				err = rerr
			}
		}
		return err
	}
	return g, nil
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

// relayIn copies the user's typing into the master.
type relayIn struct {
	fd    int         // the terminal's descriptor, as the caller gave it
	dup   *os.File    // a non-blocking duplicate, read through the poller
	to    *os.File    // the master, written through the poller
	state *term.State // the settings to put back
	done  chan struct{}
	once  sync.Once
}

// startInput puts the terminal in raw mode and copies it into master. It
// reads through a non-blocking duplicate so that stop can end the read
// without consuming a keystroke meant for the user's shell.
func startInput(in, master *os.File) (*relayIn, error) {
	fd := int(in.Fd())
	state, err := term.MakeRaw(fd)
	if err != nil {
		return nil, fmt.Errorf("termguard: raw mode: %w", err)
	}
	d, err := unix.Dup(fd)
	if err != nil {
		_ = term.Restore(fd, state)
		return nil, fmt.Errorf("termguard: dup stdin: %w", err)
	}
	unix.CloseOnExec(d)
	if err := unix.SetNonblock(d, true); err != nil {
		unix.Close(d)
		_ = term.Restore(fd, state)
		return nil, fmt.Errorf("termguard: non-blocking stdin: %w", err)
	}
	r := &relayIn{fd: fd, dup: os.NewFile(uintptr(d), "stdin"), to: master, state: state, done: make(chan struct{})}
	go func() {
		_, _ = io.Copy(master, r.dup)
		close(r.done)
	}()
	return r, nil
}

// stop ends the copy, whether it waits for the user's typing or for room
// in the pseudo-terminal (a command that read none of a large paste).
func (r *relayIn) stop() error {
	err := errors.Join(r.dup.SetReadDeadline(time.Now()), r.to.SetWriteDeadline(time.Now()))
	if err == nil {
		<-r.done
	}
	return err
}

// restore puts the terminal back: blocking (O_NONBLOCK is on the open file
// description the user's shell shares) and in its saved mode.
func (r *relayIn) restore() error {
	var err error
	r.once.Do(func() {
		r.dup.Close()
		err = errors.Join(unix.SetNonblock(r.fd, false), term.Restore(r.fd, r.state))
	})
	return err
}

// eofReader is the input of a command whose cordon runs in the background.
type eofReader struct{}

func (eofReader) Read([]byte) (int, error) { return 0, io.EOF }
