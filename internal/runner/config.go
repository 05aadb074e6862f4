package runner

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"strings"

	"github.com/cordon-sandbox/cordon/internal/runnerpipe"
)

// Config is what `cordon runner` is told on its command line by the
// cordon that starts it.
type Config struct {
	// Pipe is cordon's pipe (runnerpipe.NewName).
	Pipe string
	// Server is cordon's process ID: the runner refuses a pipe served by
	// any other process (runnerpipe.Dial).
	Server uint32
	// Nonce is what the runner says in Hello (runnerpipe.NewNonce).
	Nonce string
	// WinePlumbing runs the command with the runner's own token. It is
	// refused outside Wine, so that no command line can turn the token
	// off on Windows; under Wine no token is restricted anyway.
	WinePlumbing bool
}

// Args is the command line for c, after the subcommand's name; ParseArgs
// reads it back.
func (c Config) Args() []string {
	a := []string{"--pipe", c.Pipe, "--server", fmt.Sprint(c.Server), "--nonce", c.Nonce}
	if c.WinePlumbing {
		a = append(a, "--wine-plumbing")
	}
	return a
}

// ParseArgs parses the runner's command line. Every field but
// WinePlumbing is required; the pipe must carry runnerpipe.NamePrefix, so
// that the runner cannot be pointed at another program's pipe.
func ParseArgs(args []string, stderr io.Writer) (Config, error) {
	fs := flag.NewFlagSet("runner", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var c Config
	var server uint
	fs.StringVar(&c.Pipe, "pipe", "", "cordon's pipe")
	fs.UintVar(&server, "server", 0, "cordon's process ID")
	fs.StringVar(&c.Nonce, "nonce", "", "the nonce to say in hello")
	fs.BoolVar(&c.WinePlumbing, "wine-plumbing", false, "under Wine only: run with the runner's own token")
	if err := fs.Parse(args); err != nil {
		return Config{}, err
	}
	switch {
	case fs.NArg() != 0:
		return Config{}, fmt.Errorf("runner: unexpected arguments %q", fs.Args())
	case !strings.HasPrefix(c.Pipe, runnerpipe.NamePrefix) || len(c.Pipe) == len(runnerpipe.NamePrefix):
		return Config{}, fmt.Errorf("runner: --pipe %q is not a runner pipe (%s…)", c.Pipe, runnerpipe.NamePrefix)
	case server == 0 || server > 1<<32-1:
		return Config{}, errors.New("runner: --server: want cordon's process ID")
	case len(c.Nonce) != 2*runnerpipe.NonceSize:
		return Config{}, fmt.Errorf("runner: --nonce: want %d hex digits", 2*runnerpipe.NonceSize)
	}
	c.Server = uint32(server)
	return c, nil
}
