package linuxsandbox

import (
	"io"
	"os"

	"golang.org/x/sys/unix"
)

// termState is the terminal settings of the command's standard input, saved
// before the run so that a command that leaves the terminal raw, without
// echo, or otherwise changed (stty -echo raw) cannot leave it so for the
// user who typed into it after cordon returns.
type termState struct {
	fd      int
	termios *unix.Termios
}

// saveTerminal returns the settings of stdin when it is a terminal, else nil.
func saveTerminal(stdin io.Reader) *termState {
	f, ok := stdin.(*os.File)
	if !ok || f == nil {
		return nil
	}
	fd := int(f.Fd())
	t, err := unix.IoctlGetTermios(fd, unix.TCGETS)
	if err != nil {
		return nil // not a terminal
	}
	return &termState{fd: fd, termios: t}
}

// restore puts the saved settings back (TCSETS: at once, as the command
// may have left output queued that no one will read). Safe on nil.
func (s *termState) restore() {
	if s == nil {
		return
	}
	_ = unix.IoctlSetTermios(s.fd, unix.TCSETS, s.termios)
}
