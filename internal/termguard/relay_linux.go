package termguard

import (
	"errors"
	"fmt"
	"io"
	"os"
	"sync"
	"sync/atomic"
	"time"

	"golang.org/x/sys/unix"
	"golang.org/x/term"
)

// relay copies what the user types into the command's side: a
// pseudo-terminal's master (raw), or a pipe (the terminal's own mode).
type relay struct {
	fd    int         // the terminal's descriptor, as the caller gave it
	src   *os.File    // the terminal opened anew, non-blocking, read through the poller
	to    *os.File    // the master or the pipe, written through the poller
	state *term.State // the settings to put back, when raw
	done  chan struct{}
	once  sync.Once
	eof   atomic.Bool // the pipe was closed at the terminal's end of input
}

// interruptsToCancel is how many interrupt characters typed in a row make
// cordon end the run: a command that ignores SIGINT (and SIGQUIT, and
// whose process group cannot be stopped, being orphaned) must not leave
// the user without a key that ends it.
const interruptsToCancel = 3

// startRelay copies the terminal in into to. With onInterrupt set, to is a
// pseudo-terminal's master: the user's terminal goes into raw mode, and
// onInterrupt is called when the user types the pseudo-terminal's own
// interrupt character interruptsToCancel times in a row within
// interruptWindow while that terminal turns it into SIGINT (ISIG): a
// program that reads Ctrl-C as a key (an editor in raw mode) or handles
// an occasional one (an interactive shell) is not ended. Without
// onInterrupt, to is a pipe: the terminal keeps its own mode, and the pipe
// is closed at the terminal's end of input (Ctrl-D), so the command sees
// it.
//
// It reads through a new open file description of the terminal, opened
// non-blocking (see reopen): stop can then end the read without taking a
// keystroke meant for the user's shell, and the O_NONBLOCK flag never
// touches the description the shell and cordon's own standard streams
// share (a duplicate would: fcntl(2) flags belong to the open file
// description).
func startRelay(in, to *os.File, onInterrupt func()) (*relay, error) {
	fd := int(in.Fd())
	r := &relay{fd: fd, to: to, done: make(chan struct{})}
	if onInterrupt != nil {
		var err error
		if r.state, err = term.MakeRaw(fd); err != nil {
			return nil, fmt.Errorf("termguard: raw mode: %w", err)
		}
	}
	src, err := reopen(fd)
	if err != nil {
		r.restore()
		return nil, err
	}
	r.src = src
	go func() {
		defer close(r.done)
		var intr interrupts
		buf := make([]byte, 4096)
		for {
			n, err := r.src.Read(buf)
			if onInterrupt != nil && n > 0 && intr.seen(to, buf[:n]) {
				onInterrupt()
			}
			if n > 0 {
				if _, werr := r.to.Write(buf[:n]); werr != nil {
					return
				}
			}
			if err != nil {
				if onInterrupt == nil && errors.Is(err, io.EOF) {
					r.eof.Store(true) // before the close: stop tells by it
					r.to.Close()      // the command's end of input
				}
				return
			}
		}
	}()
	return r, nil
}

// reopen opens the terminal at descriptor fd anew, read-only and
// non-blocking: through /dev/tty, cordon's controlling terminal (any user may
// open it, as after su the terminal's own node may not be), when that is
// the same device, else through /proc/self/fd.
func reopen(fd int) (*os.File, error) {
	var want unix.Stat_t
	if err := unix.Fstat(fd, &want); err != nil {
		return nil, fmt.Errorf("termguard: terminal: %w", err)
	}
	const flags = unix.O_RDONLY | unix.O_NOCTTY | unix.O_NONBLOCK | unix.O_CLOEXEC
	var errs []error
	for _, name := range []string{"/dev/tty", fmt.Sprintf("/proc/self/fd/%d", fd)} {
		nfd, err := unix.Open(name, flags, 0)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		var got unix.Stat_t
		if err := unix.Fstat(nfd, &got); err != nil || got.Rdev != want.Rdev {
			unix.Close(nfd)
			errs = append(errs, fmt.Errorf("%s is another terminal", name))
			continue
		}
		return os.NewFile(uintptr(nfd), name), nil
	}
	return nil, fmt.Errorf("termguard: open the terminal anew: %w", errors.Join(errs...))
}

// interruptWindow is how close together the interrupts must come.
const interruptWindow = 2 * time.Second

// interrupts counts interrupt characters typed in a row.
type interrupts struct {
	n     int
	first time.Time
}

// seen counts the interrupt characters in p that the pseudo-terminal whose
// master is pty turns into SIGINT now, and reports whether the count just
// reached interruptsToCancel. Any other byte starts the count again.
func (c *interrupts) seen(pty *os.File, p []byte) bool {
	var t *unix.Termios
	if rc, err := pty.SyscallConn(); err == nil {
		// On Linux the master reads the pseudo-terminal's settings.
		rc.Control(func(fd uintptr) { t, _ = unix.IoctlGetTermios(int(fd), unix.TCGETS) })
	}
	if t == nil || t.Lflag&unix.ISIG == 0 || t.Cc[unix.VINTR] == 0 {
		c.n = 0
		return false
	}
	hit := false
	for _, b := range p {
		if b != t.Cc[unix.VINTR] {
			c.n = 0
			continue
		}
		if c.n == 0 || time.Since(c.first) > interruptWindow {
			c.n, c.first = 0, time.Now()
		}
		if c.n++; c.n == interruptsToCancel {
			hit = true
		}
	}
	return hit
}

// stop ends the copy, whether it waits for the user's typing or for room
// on the command's side (a command that read none of a large paste).
func (r *relay) stop() error {
	rerr := r.src.SetReadDeadline(time.Now())
	werr := r.to.SetWriteDeadline(time.Now())
	if werr != nil && r.eof.Load() {
		werr = nil // the relay closed the pipe itself at the end of input
	}
	if err := errors.Join(rerr, werr); err != nil {
		return err
	}
	<-r.done
	return nil
}

// restore closes the relay's own description of the terminal and puts the
// terminal's saved mode back.
func (r *relay) restore() error {
	var err error
	r.once.Do(func() {
		if r.src != nil {
			r.src.Close()
		}
		if r.state != nil {
			err = term.Restore(r.fd, r.state)
		}
	})
	return err
}
