package runner

import (
	"context"
	"fmt"
	"io"

	"github.com/cordon-sandbox/cordon/internal/runnerpipe"
	"github.com/cordon-sandbox/cordon/ntsec"
)

// RunnerError is the runner's Error frame, as cordon's side returns it.
type RunnerError struct {
	Code    string // CodeSpec, CodeToken, CodeLaunch, CodeWait, …
	Message string
}

func (e *RunnerError) Error() string {
	return fmt.Sprintf("the sandbox runner failed (%s): %s", e.Code, e.Message)
}

// Remote is cordon's side of one conversation with a runner, once the
// command runs: it relays the command's output to the writers it was
// given and its input from the reader, and ends with the command's exit.
type Remote struct {
	c              *conv
	pid            uint32
	stdout, stderr io.Writer
}

// Prepare makes the Spawn once the runner has said hello: base is the
// runner's token as it described it (TokenOf; nil if it described none),
// which the command's token will be made from. Its error ends the
// conversation before anything is sent.
type Prepare func(base *ntsec.Token) (*runnerpipe.Spawn, error)

// Fixed is a Prepare that always returns sp.
func Fixed(sp *runnerpipe.Spawn) Prepare {
	return func(*ntsec.Token) (*runnerpipe.Spawn, error) { return sp, nil }
}

// Drive is cordon's side of the handshake, over conn: it waits for the
// runner's Hello with nonce (runnerpipe.ReadHello), makes the Spawn with
// prepare, sends it, and waits for Ready. A runner's Error comes back as a
// *RunnerError. When stdin is not nil, the Spawn's StdinOpen is set and
// stdin is copied to the runner, in chunks, until it ends (then
// StdinClose).
func Drive(ctx context.Context, conn io.ReadWriter, nonce string, prepare Prepare, stdin io.Reader, stdout, stderr io.Writer) (*Remote, error) {
	c := &conv{r: runnerpipe.NewReader(conn), w: runnerpipe.NewWriter(conn)}
	h, err := runnerpipe.ReadHello(c.r, &c.s, nonce)
	if err != nil {
		return nil, err
	}
	base, err := TokenOf(h)
	if err != nil {
		return nil, err
	}
	sp, err := prepare(base)
	if err != nil {
		return nil, err
	}
	sp.StdinOpen = stdin != nil
	if err := c.sendAs(runnerpipe.Cordon, sp); err != nil {
		return nil, fmt.Errorf("runner: sending the spawn: %w", err)
	}
	m, err := c.recvFrom(runnerpipe.Runner)
	if err != nil {
		return nil, fmt.Errorf("runner: waiting for the command to start: %w", err)
	}
	switch m := m.(type) {
	case *runnerpipe.Error:
		return nil, &RunnerError{Code: m.Code, Message: m.Message}
	case *runnerpipe.Ready:
		r := &Remote{c: c, pid: m.PID, stdout: orDiscard(stdout), stderr: orDiscard(stderr)}
		if stdin != nil {
			go r.copyStdin(ctx, stdin)
		}
		return r, nil
	}
	return nil, fmt.Errorf("%w: %s instead of ready", runnerpipe.ErrOrder, m.Type())
}

func orDiscard(w io.Writer) io.Writer {
	if w == nil {
		return io.Discard
	}
	return w
}

// PID is the command's process ID, as the runner said.
func (r *Remote) PID() uint32 { return r.pid }

// Terminate asks the runner to kill the command's job.
func (r *Remote) Terminate() error {
	return r.c.sendAs(runnerpipe.Cordon, &runnerpipe.Terminate{})
}

// Wait relays the command's output until the runner's Exit, which it
// returns, or its Error (a *RunnerError). A pipe that ends before either
// is an error: the runner died, and with it the command's job.
func (r *Remote) Wait() (*runnerpipe.Exit, error) {
	for {
		m, err := r.c.recvFrom(runnerpipe.Runner)
		if err != nil {
			return nil, fmt.Errorf("runner: reading the command's output: %w", err)
		}
		switch m := m.(type) {
		case *runnerpipe.Output:
			w := r.stdout
			if m.Stream == runnerpipe.Stderr {
				w = r.stderr
			}
			w.Write(m.Data) // a writer that fails loses output, not the exit
		case *runnerpipe.Exit:
			return m, nil
		case *runnerpipe.Error:
			return nil, &RunnerError{Code: m.Code, Message: m.Message}
		}
	}
}

// copyStdin sends stdin to the runner until it ends, then StdinClose. It
// stops at the first failed send (the conversation is over).
func (r *Remote) copyStdin(ctx context.Context, stdin io.Reader) {
	buf := make([]byte, runnerpipe.MaxChunk)
	for ctx.Err() == nil {
		n, err := stdin.Read(buf)
		if n > 0 {
			if r.c.sendAs(runnerpipe.Cordon, &runnerpipe.Stdin{Data: append([]byte(nil), buf[:n]...)}) != nil {
				return
			}
		}
		if err != nil {
			break
		}
	}
	r.c.sendAs(runnerpipe.Cordon, &runnerpipe.StdinClose{})
}

// sendAs checks m as sent by side from and writes it.
func (c *conv) sendAs(from runnerpipe.Side, m runnerpipe.Message) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if err := c.s.Check(from, m); err != nil {
		return err
	}
	return c.w.Write(m)
}

// recvFrom reads a message and checks it as sent by side from.
func (c *conv) recvFrom(from runnerpipe.Side) (runnerpipe.Message, error) {
	m, err := c.r.Read()
	if err != nil {
		return nil, err
	}
	if err := c.s.Check(from, m); err != nil {
		return nil, err
	}
	return m, nil
}
