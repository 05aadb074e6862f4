//go:build !linux

package termguard

import "io"

// Start filters output bound for a terminal. The backends outside Linux
// connect the command through pipes (Windows gives it a console of its own,
// CREATE_NO_WINDOW), so the command never holds the user's terminal; what
// it writes reaches the terminal only through cordon, and through the
// filter.
func Start(stdin io.Reader, stdout, stderr io.Writer) (*Guard, error) {
	return filterOnly(stdin, stdout, stderr), nil
}
