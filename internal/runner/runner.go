// Package runner is the runner of cordon's Windows elevated mode: the
// process cordon starts as a sandbox user (CordonSandboxOffline or
// CordonSandboxOnline) through `cordon runner`, which connects back to
// cordon's pipe (internal/runnerpipe), receives the command (Spawn),
// builds the restricted token from its own token exactly as the
// restricted-token backend builds it from the user's, starts the command
// in a job on a private desktop, streams its output, and reports its exit.
//
// The conversation (Serve) is portable and tested on Linux against a fake
// Launcher; the launcher that makes the token and starts the process is
// Windows code (runner_windows.go). What the runner refuses to do is as
// important as what it does:
//
//   - it speaks only after checking the pipe's server is the cordon that
//     started it (runnerpipe.Dial) and proves it read its launch
//     parameters (the nonce in Hello);
//   - it takes the token's capability and run SIDs from the Spawn, which
//     runnerpipe validated (S-1-5-21-… only, canonical, no duplicates),
//     and restrictedtoken.Model refuses any of them its own token already
//     holds;
//   - when the pipe breaks, or cordon says Terminate, or the Spawn's
//     timeout passes, or its context ends, it kills the command's whole
//     job: nothing outlives a cordon that went away.
package runner

import (
	"context"
	"errors"
	"fmt"
	"io"
	"sync"
	"time"

	"github.com/cordon-sandbox/cordon/internal/restrictedtoken"
	"github.com/cordon-sandbox/cordon/internal/runnerpipe"
	"github.com/cordon-sandbox/cordon/ntsec"
)

// Stable codes of the Error frames the runner sends, which cordon turns
// into its own error codes.
const (
	CodeSpec   = "spec"   // the Spawn's SIDs do not make a token spec
	CodeToken  = "token"  // the restricted token could not be made
	CodeLaunch = "launch" // the command could not be started
	CodeWait   = "wait"   // waiting for the command failed
)

// TokenSpec is the restricted token's spec for sp, the same the
// restricted-token backend gives restrictedtoken for its own runs: the
// run's capability SIDs, its run SID, and Low integrity unless Medium was
// asked for. The SIDs were validated by runnerpipe (Spawn.validate);
// they are parsed again here so that a Spawn built in memory, never
// decoded, is checked too.
func TokenSpec(sp *runnerpipe.Spawn) (restrictedtoken.Spec, error) {
	if len(sp.Caps) == 0 {
		return restrictedtoken.Spec{}, errors.New("runner: the spawn carries no capability SID")
	}
	spec := restrictedtoken.Spec{LowIntegrity: sp.LowIntegrity}
	for _, c := range sp.Caps {
		sid, err := ntsec.ParseSID(c)
		if err != nil {
			return restrictedtoken.Spec{}, fmt.Errorf("runner: capability SID %q: %w", c, err)
		}
		spec.Caps = append(spec.Caps, sid)
	}
	run, err := ntsec.ParseSID(sp.Run)
	if err != nil {
		return restrictedtoken.Spec{}, fmt.Errorf("runner: run SID %q: %w", sp.Run, err)
	}
	spec.Run = run
	return spec, nil
}

// Command is a started command, as a Launcher returns it.
type Command interface {
	// PID is the command's process ID, for Ready.
	PID() uint32
	// Wait waits for the command to exit and its output to be copied,
	// and returns its exit code.
	Wait() (uint32, error)
	// Kill ends the command and everything it started (its job). It may
	// be called any number of times, before or after Wait returned.
	Kill() error
}

// Launcher starts the command a Spawn describes, with its standard
// streams connected to stdin (nil: the NUL device), stdout and stderr.
// An error whose type is *LaunchError carries the code sent to cordon.
type Launcher interface {
	Launch(sp *runnerpipe.Spawn, stdin io.Reader, stdout, stderr io.Writer) (Command, error)
}

// LaunchError is a launch failure with the stable code the Error frame
// carries (CodeSpec, CodeToken, CodeLaunch).
type LaunchError struct {
	Code string
	Err  error
}

func (e *LaunchError) Error() string { return e.Code + ": " + e.Err.Error() }
func (e *LaunchError) Unwrap() error { return e.Err }

// ErrNoSpawn is wrapped by Serve when cordon's first message is not a
// Spawn, or the pipe ends before one.
var ErrNoSpawn = errors.New("runner: no spawn from cordon")

// Serve speaks the runner's side of the conversation over conn: Hello
// with nonce, one Spawn, Ready (or Error), Output, and Exit (or Error).
// It returns once the command ended and Exit was sent, or on the first
// failure; the command is killed on every path that does not end in its
// own exit: cordon's Terminate, a broken pipe or any frame cordon may not
// send (the Session refuses it), the Spawn's timeout, or ctx's end.
// Serve does not close conn. base is the runner's own token, which Hello
// describes so that cordon proves its plan against the token the command's
// is made from (nil describes none).
func Serve(ctx context.Context, conn io.ReadWriter, nonce string, base *ntsec.Token, l Launcher) error {
	c := &conv{r: runnerpipe.NewReader(conn), w: runnerpipe.NewWriter(conn)}
	hello := &runnerpipe.Hello{Nonce: nonce}
	describe(hello, base)
	if err := c.send(hello); err != nil {
		return fmt.Errorf("runner: sending hello: %w", err)
	}
	m, err := c.recv()
	if err != nil {
		return fmt.Errorf("%w: %w", ErrNoSpawn, err)
	}
	sp := m.(*runnerpipe.Spawn) // the Session admits nothing else after Hello
	var stdinR *io.PipeReader
	var stdinW *io.PipeWriter
	if sp.StdinOpen {
		stdinR, stdinW = io.Pipe()
	}
	// The command may write before Ready is sent; its output waits.
	ready := make(chan struct{})
	stdout := &chunker{c: c, stream: runnerpipe.Stdout, ready: ready}
	stderr := &chunker{c: c, stream: runnerpipe.Stderr, ready: ready}
	var in io.Reader
	if stdinR != nil {
		in = stdinR
	}
	cmd, err := l.Launch(sp, in, stdout, stderr)
	if err != nil {
		code := CodeLaunch
		var le *LaunchError
		if errors.As(err, &le) {
			code = le.Code
		}
		return errors.Join(err, c.fail(code, err))
	}
	err = c.send(&runnerpipe.Ready{PID: cmd.PID()})
	close(ready) // after a failure, the output's sends fail too
	if err != nil {
		cmd.Kill()
		cmd.Wait()
		return fmt.Errorf("runner: sending ready: %w", err)
	}
	var (
		mu       sync.Mutex
		timedOut bool
	)
	// Every way the command is ended early goes through kill.
	kill := func(timeout bool) {
		mu.Lock()
		if timeout {
			timedOut = true
		}
		mu.Unlock()
		cmd.Kill()
	}
	stop := context.AfterFunc(ctx, func() { kill(false) })
	defer stop()
	if sp.TimeoutMS > 0 {
		t := time.AfterFunc(time.Duration(sp.TimeoutMS)*time.Millisecond, func() { kill(true) })
		defer t.Stop()
	}
	done := make(chan struct{})
	defer close(done)
	go c.control(done, stdinW, func() { kill(false) })
	code, err := cmd.Wait()
	if err != nil {
		return errors.Join(fmt.Errorf("runner: waiting for the command: %w", err), c.fail(CodeWait, err))
	}
	mu.Lock()
	exit := &runnerpipe.Exit{Code: code, TimedOut: timedOut}
	mu.Unlock()
	if err := c.send(exit); err != nil {
		return fmt.Errorf("runner: sending exit: %w", err)
	}
	return nil
}

// control reads cordon's messages while the command runs: Stdin and
// StdinClose feed the command's input, Terminate kills it, and so does
// the end of the pipe or anything out of order, since a cordon that went
// away or misbehaves must not leave the command running unwatched. It
// returns when the pipe ends; done says the command has already ended, so
// that a pipe closed by cordon after Exit kills nothing that matters.
func (c *conv) control(done <-chan struct{}, stdin *io.PipeWriter, kill func()) {
	var q *inputQueue
	if stdin != nil {
		q = newInputQueue(stdin)
		defer q.close(io.EOF)
	}
	for {
		m, err := c.recv()
		if err != nil {
			select {
			case <-done:
			default:
				kill()
			}
			return
		}
		switch m := m.(type) {
		case *runnerpipe.Stdin:
			q.push(m.Data)
		case *runnerpipe.StdinClose:
			q.close(io.EOF)
		case *runnerpipe.Terminate:
			kill()
		}
	}
}

// inputQueue feeds the command's input from a goroutine of its own, so
// that a command that stops reading its input blocks only that goroutine
// and never the reading of cordon's Terminate. What it holds is what
// cordon sent and the command has not read: cordon, the real user's
// process, bounds it.
type inputQueue struct {
	mu     sync.Mutex
	cond   *sync.Cond
	chunks [][]byte
	closed error // set by close: no more chunks are taken
	w      *io.PipeWriter
}

func newInputQueue(w *io.PipeWriter) *inputQueue {
	q := &inputQueue{w: w}
	q.cond = sync.NewCond(&q.mu)
	go q.run()
	return q
}

func (q *inputQueue) push(b []byte) {
	q.mu.Lock()
	if q.closed == nil {
		q.chunks = append(q.chunks, b)
		q.cond.Signal()
	}
	q.mu.Unlock()
}

// close ends the input once what was pushed before has been written.
func (q *inputQueue) close(err error) {
	q.mu.Lock()
	if q.closed == nil {
		q.closed = err
		q.cond.Signal()
	}
	q.mu.Unlock()
}

func (q *inputQueue) run() {
	for {
		q.mu.Lock()
		for len(q.chunks) == 0 && q.closed == nil {
			q.cond.Wait()
		}
		if len(q.chunks) == 0 {
			err := q.closed
			q.mu.Unlock()
			q.w.CloseWithError(err)
			return
		}
		b := q.chunks[0]
		q.chunks = q.chunks[1:]
		q.mu.Unlock()
		if _, err := q.w.Write(b); err != nil {
			// The command closed its input: drop the rest.
			q.mu.Lock()
			q.chunks = nil
			if q.closed == nil {
				q.closed = err
			}
			q.mu.Unlock()
		}
	}
}

// conv is one conversation: its frames, checked against the Session in
// both directions.
type conv struct {
	r  *runnerpipe.Reader
	w  *runnerpipe.Writer
	mu sync.Mutex // orders check-then-write of concurrent senders
	s  runnerpipe.Session
}

// send and recv are the runner's side: it sends as the runner and
// receives from cordon.
func (c *conv) send(m runnerpipe.Message) error { return c.sendAs(runnerpipe.Runner, m) }

func (c *conv) recv() (runnerpipe.Message, error) { return c.recvFrom(runnerpipe.Cordon) }

// fail sends an Error frame for err with code.
func (c *conv) fail(code string, err error) error {
	msg := err.Error()
	if len(msg) > 4096 {
		msg = msg[:4096]
	}
	return c.send(&runnerpipe.Error{Code: code, Message: msg})
}

// chunker turns the command's output into Output frames of at most
// runnerpipe.MaxChunk bytes, once ready is closed (Output may not precede
// Ready). A failed send (the pipe broke) is returned to the copy, which
// then stops reading the command's output.
type chunker struct {
	c      *conv
	stream runnerpipe.Stream
	ready  <-chan struct{}
}

func (k *chunker) Write(p []byte) (int, error) {
	<-k.ready
	n := 0
	for len(p) > 0 {
		chunk := p[:min(len(p), runnerpipe.MaxChunk)]
		// A copy: the frame is encoded at once, but the caller may reuse p.
		if err := k.c.send(&runnerpipe.Output{Stream: k.stream, Data: append([]byte(nil), chunk...)}); err != nil {
			return n, err
		}
		n += len(chunk)
		p = p[len(chunk):]
	}
	return n, nil
}
