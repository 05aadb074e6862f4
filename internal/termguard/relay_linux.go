package termguard

import (
	"errors"
	"fmt"
	"os"
	"sync"
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
}

// interruptsToCancel is how many interrupt characters typed during one run
// make cordon end it: a command that ignores SIGINT (and SIGQUIT, and
// whose process group cannot be stopped, being orphaned) must not leave
// the user without a key that ends it.
const interruptsToCancel = 3

// startRelay copies the terminal in into to. With onInterrupt set the
// terminal goes into raw mode, keeping its output processing (other
// programs writing to it, such as a pipeline's, still get CR before NL),
// and onInterrupt is called at the interruptsToCancel-th interrupt
// character typed.
//
// It reads through a new open file description of the terminal, opened
// non-blocking: stop can then end the read without taking a keystroke
// meant for the user's shell, and the O_NONBLOCK flag never touches the
// description the shell and cordon's own standard streams share (a
// duplicate would: fcntl(2) flags belong to the open file description).
func startRelay(in, to *os.File, onInterrupt func()) (*relay, error) {
	fd := int(in.Fd())
	r := &relay{fd: fd, to: to, done: make(chan struct{})}
	var intr byte = 3
	if onInterrupt != nil {
		orig, err := unix.IoctlGetTermios(fd, unix.TCGETS)
		if err != nil {
			return nil, fmt.Errorf("termguard: terminal settings: %w", err)
		}
		if orig.Cc[unix.VINTR] != 0 {
			intr = orig.Cc[unix.VINTR]
		}
		if r.state, err = term.MakeRaw(fd); err != nil {
			return nil, fmt.Errorf("termguard: raw mode: %w", err)
		}
		if t, err := unix.IoctlGetTermios(fd, unix.TCGETS); err == nil {
			t.Oflag = orig.Oflag
			_ = unix.IoctlSetTermios(fd, unix.TCSETS, t)
		}
	}
	nfd, err := unix.Open(fmt.Sprintf("/proc/self/fd/%d", fd), unix.O_RDONLY|unix.O_NOCTTY|unix.O_NONBLOCK|unix.O_CLOEXEC, 0)
	if err != nil {
		r.restore()
		return nil, fmt.Errorf("termguard: open the terminal anew: %w", err)
	}
	r.src = os.NewFile(uintptr(nfd), "terminal")
	go func() {
		defer close(r.done)
		buf := make([]byte, 4096)
		seen := 0
		for {
			n, err := r.src.Read(buf)
			if onInterrupt != nil {
				for _, b := range buf[:n] {
					if b == intr {
						if seen++; seen == interruptsToCancel {
							onInterrupt()
						}
					}
				}
			}
			if n > 0 {
				if _, werr := r.to.Write(buf[:n]); werr != nil {
					return
				}
			}
			if err != nil {
				return
			}
		}
	}()
	return r, nil
}

// stop ends the copy, whether it waits for the user's typing or for room
// on the command's side (a command that read none of a large paste).
func (r *relay) stop() error {
	err := errors.Join(r.src.SetReadDeadline(time.Now()), r.to.SetWriteDeadline(time.Now()))
	if err == nil {
		<-r.done
	}
	return err
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
