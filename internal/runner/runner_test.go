package runner

import (
	"bytes"
	"context"
	"errors"
	"io"
	"net"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/cordon-sandbox/cordon/internal/runnerpipe"
)

const (
	nonce   = "00112233445566778899aabbccddeeff"
	capSID  = "S-1-5-21-1-2-3-4"
	runSID  = "S-1-5-21-1-2-3-5"
	killed  = 137
	waitFor = 30 * time.Second // a bound on every wait, not a timing assertion
)

func spawn(args ...string) *runnerpipe.Spawn {
	return &runnerpipe.Spawn{Args: args, Dir: `C:\w`, Env: []string{"A=1"}, Caps: []string{capSID}, Run: runSID}
}

// fakeCmd is a command run by a function in a goroutine.
type fakeCmd struct {
	pid    uint32
	killed chan struct{}
	once   sync.Once
	done   chan struct{}
	code   uint32
}

func (c *fakeCmd) PID() uint32 { return c.pid }
func (c *fakeCmd) Kill() error {
	c.once.Do(func() { close(c.killed) })
	return nil
}
func (c *fakeCmd) Wait() (uint32, error) {
	select {
	case <-c.done:
		return c.code, nil
	case <-time.After(waitFor):
		return 0, errors.New("fake command never ended")
	}
}

// fakeLauncher runs body as the command. body returns the exit code; it
// should return early once killed is closed, as a job's processes end.
type fakeLauncher struct {
	body    func(sp *runnerpipe.Spawn, stdin io.Reader, stdout, stderr io.Writer, killed <-chan struct{}) uint32
	err     error
	mu      sync.Mutex
	spawned *runnerpipe.Spawn
	cmd     *fakeCmd
}

func (l *fakeLauncher) Launch(sp *runnerpipe.Spawn, stdin io.Reader, stdout, stderr io.Writer) (Command, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.spawned = sp
	if l.err != nil {
		return nil, l.err
	}
	c := &fakeCmd{pid: 4242, killed: make(chan struct{}), done: make(chan struct{})}
	l.cmd = c
	go func() {
		code := l.body(sp, stdin, stdout, stderr, c.killed)
		select {
		case <-c.killed:
			code = killed
		default:
		}
		c.code = code
		close(c.done)
	}()
	return c, nil
}

func (l *fakeLauncher) wasKilled() bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.cmd == nil {
		return false
	}
	select {
	case <-l.cmd.killed:
		return true
	default:
		return false
	}
}

// cordonSide is the test's stand-in for cordon: the server end of the
// conversation, checked by its own Session.
type cordonSide struct {
	t    *testing.T
	conn net.Conn
	r    *runnerpipe.Reader
	w    *runnerpipe.Writer
	s    runnerpipe.Session
}

// start runs Serve with l on one end of an in-memory pipe and returns the
// other end, past the handshake, and Serve's result.
func start(t *testing.T, ctx context.Context, l Launcher) (*cordonSide, <-chan error) {
	t.Helper()
	a, b := net.Pipe()
	t.Cleanup(func() { a.Close(); b.Close() })
	a.SetDeadline(time.Now().Add(waitFor))
	res := make(chan error, 1)
	go func() { res <- Serve(ctx, b, nonce, nil, l) }()
	c := &cordonSide{t: t, conn: a, r: runnerpipe.NewReader(a), w: runnerpipe.NewWriter(a)}
	if err := runnerpipe.AwaitHello(c.r, &c.s, nonce); err != nil {
		t.Fatal(err)
	}
	return c, res
}

func (c *cordonSide) send(m runnerpipe.Message) {
	c.t.Helper()
	if err := c.s.Check(runnerpipe.Cordon, m); err != nil {
		c.t.Fatal(err)
	}
	if err := c.w.Write(m); err != nil {
		c.t.Fatal(err)
	}
}

func (c *cordonSide) recv() runnerpipe.Message {
	c.t.Helper()
	m, err := c.r.Read()
	if err != nil {
		c.t.Fatalf("reading from the runner: %v", err)
	}
	if err := c.s.Check(runnerpipe.Runner, m); err != nil {
		c.t.Fatal(err)
	}
	return m
}

// drain reads Output frames until Exit or Error and returns the output
// by stream and the last message.
func (c *cordonSide) drain() (map[runnerpipe.Stream]*bytes.Buffer, runnerpipe.Message) {
	c.t.Helper()
	out := map[runnerpipe.Stream]*bytes.Buffer{runnerpipe.Stdout: {}, runnerpipe.Stderr: {}}
	for {
		switch m := c.recv().(type) {
		case *runnerpipe.Output:
			if len(m.Data) > runnerpipe.MaxChunk {
				c.t.Errorf("an output frame of %d bytes", len(m.Data))
			}
			out[m.Stream].Write(m.Data)
		default:
			return out, m
		}
	}
}

func result(t *testing.T, res <-chan error) error {
	t.Helper()
	select {
	case err := <-res:
		return err
	case <-time.After(waitFor):
		t.Fatal("Serve did not return")
		return nil
	}
}

func TestServeRunsTheCommand(t *testing.T) {
	l := &fakeLauncher{body: func(sp *runnerpipe.Spawn, stdin io.Reader, stdout, stderr io.Writer, _ <-chan struct{}) uint32 {
		io.WriteString(stdout, strings.Join(sp.Args, "|"))
		in, _ := io.ReadAll(stdin)
		stderr.Write(bytes.ToUpper(in))
		return uint32(len(sp.Args))
	}}
	c, res := start(t, context.Background(), l)
	sp := spawn("prog", "a b", "c")
	sp.StdinOpen = true
	c.send(sp)
	if m, ok := c.recv().(*runnerpipe.Ready); !ok || m.PID != 4242 {
		t.Fatalf("want ready from 4242, got %#v", m)
	}
	c.send(&runnerpipe.Stdin{Data: []byte("hello ")})
	c.send(&runnerpipe.Stdin{Data: []byte("world")})
	c.send(&runnerpipe.StdinClose{})
	out, last := c.drain()
	if got := out[runnerpipe.Stdout].String(); got != "prog|a b|c" {
		t.Errorf("stdout = %q", got)
	}
	if got := out[runnerpipe.Stderr].String(); got != "HELLO WORLD" {
		t.Errorf("stderr = %q, want the input upper-cased", got)
	}
	if e, ok := last.(*runnerpipe.Exit); !ok || e.Code != 3 || e.TimedOut {
		t.Errorf("want exit 3, got %#v", last)
	}
	if err := result(t, res); err != nil {
		t.Errorf("Serve = %v", err)
	}
	if l.spawned.Dir != `C:\w` || l.spawned.Env[0] != "A=1" {
		t.Errorf("the launcher got %#v", l.spawned)
	}
	if l.wasKilled() {
		t.Error("a command that exited by itself was killed")
	}
}

func TestLargeOutputIsChunked(t *testing.T) {
	big := make([]byte, 3*runnerpipe.MaxChunk+5)
	for i := range big {
		big[i] = byte(i * 7)
	}
	l := &fakeLauncher{body: func(_ *runnerpipe.Spawn, _ io.Reader, stdout, _ io.Writer, _ <-chan struct{}) uint32 {
		stdout.Write(big)
		return 0
	}}
	c, res := start(t, context.Background(), l)
	c.send(spawn("prog"))
	c.recv() // ready
	out, last := c.drain()
	if !bytes.Equal(out[runnerpipe.Stdout].Bytes(), big) {
		t.Errorf("stdout: %d bytes, want the %d written", out[runnerpipe.Stdout].Len(), len(big))
	}
	if _, ok := last.(*runnerpipe.Exit); !ok {
		t.Errorf("want exit, got %#v", last)
	}
	if err := result(t, res); err != nil {
		t.Error(err)
	}
}

// blocker is a command that runs until it is killed.
func blocker(_ *runnerpipe.Spawn, _ io.Reader, _, _ io.Writer, killed <-chan struct{}) uint32 {
	select {
	case <-killed:
	case <-time.After(waitFor):
	}
	return 0
}

func TestTerminateKillsTheCommand(t *testing.T) {
	l := &fakeLauncher{body: blocker}
	c, res := start(t, context.Background(), l)
	sp := spawn("prog")
	sp.StdinOpen = true
	c.send(sp)
	c.recv() // ready
	// A command that never reads its input must not hold Terminate up.
	chunk := bytes.Repeat([]byte("x"), runnerpipe.MaxChunk)
	for range 8 {
		c.send(&runnerpipe.Stdin{Data: chunk})
	}
	c.send(&runnerpipe.Terminate{})
	_, last := c.drain()
	if e, ok := last.(*runnerpipe.Exit); !ok || e.Code != killed || e.TimedOut {
		t.Errorf("want exit %d, not timed out, got %#v", killed, last)
	}
	if !l.wasKilled() {
		t.Error("Terminate did not kill the command")
	}
	if err := result(t, res); err != nil {
		t.Error(err)
	}
}

func TestBrokenPipeKillsTheCommand(t *testing.T) {
	l := &fakeLauncher{body: blocker}
	c, res := start(t, context.Background(), l)
	c.send(spawn("prog"))
	c.recv() // ready
	c.conn.Close()
	// Serve fails to send its Exit on the closed pipe; what matters is
	// that the command is gone.
	if err := result(t, res); err == nil {
		t.Error("Serve succeeded on a closed pipe")
	}
	if !l.wasKilled() {
		t.Error("the command outlived the pipe")
	}
}

func TestTimeoutKillsTheCommand(t *testing.T) {
	l := &fakeLauncher{body: blocker}
	c, res := start(t, context.Background(), l)
	sp := spawn("prog")
	sp.TimeoutMS = 1
	c.send(sp)
	c.recv() // ready
	_, last := c.drain()
	if e, ok := last.(*runnerpipe.Exit); !ok || e.Code != killed || !e.TimedOut {
		t.Errorf("want a timed-out exit %d, got %#v", killed, last)
	}
	if err := result(t, res); err != nil {
		t.Error(err)
	}
}

func TestContextEndKillsTheCommand(t *testing.T) {
	l := &fakeLauncher{body: blocker}
	ctx, cancel := context.WithCancel(context.Background())
	c, res := start(t, ctx, l)
	c.send(spawn("prog"))
	c.recv() // ready
	cancel()
	_, last := c.drain()
	if e, ok := last.(*runnerpipe.Exit); !ok || e.Code != killed {
		t.Errorf("want exit %d, got %#v", killed, last)
	}
	if err := result(t, res); err != nil {
		t.Error(err)
	}
}

func TestLaunchFailureIsAnErrorFrame(t *testing.T) {
	l := &fakeLauncher{err: &LaunchError{Code: CodeToken, Err: errors.New("no token for you")}}
	c, res := start(t, context.Background(), l)
	c.send(spawn("prog"))
	m, ok := c.recv().(*runnerpipe.Error)
	if !ok || m.Code != CodeToken || !strings.Contains(m.Message, "no token for you") {
		t.Fatalf("want a token error, got %#v", m)
	}
	if err := result(t, res); err == nil {
		t.Error("Serve succeeded after a failed launch")
	}
	// An error without a code is a launch error.
	l = &fakeLauncher{err: errors.New("plain")}
	c, _ = start(t, context.Background(), l)
	c.send(spawn("prog"))
	if m, ok := c.recv().(*runnerpipe.Error); !ok || m.Code != CodeLaunch {
		t.Fatalf("want a launch error, got %#v", m)
	}
}

func TestNothingRunsWithoutASpawn(t *testing.T) {
	l := &fakeLauncher{body: blocker}
	a, b := net.Pipe()
	defer a.Close()
	a.SetDeadline(time.Now().Add(waitFor))
	res := make(chan error, 1)
	go func() { res <- Serve(context.Background(), b, nonce, nil, l) }()
	if _, err := runnerpipe.NewReader(a).Read(); err != nil { // hello
		t.Fatal(err)
	}
	// Terminate before Spawn is out of order for the runner's Session.
	if err := runnerpipe.NewWriter(a).Write(&runnerpipe.Terminate{}); err != nil {
		t.Fatal(err)
	}
	if err := result(t, res); !errors.Is(err, ErrNoSpawn) || !errors.Is(err, runnerpipe.ErrOrder) {
		t.Errorf("Serve = %v, want ErrNoSpawn wrapping ErrOrder", err)
	}
	if l.spawned != nil {
		t.Error("the launcher was called")
	}
}

func TestTokenSpec(t *testing.T) {
	sp := spawn("prog")
	sp.Caps = []string{capSID, "S-1-5-21-1-2-3-6"}
	sp.LowIntegrity = true
	spec, err := TokenSpec(sp)
	if err != nil {
		t.Fatal(err)
	}
	if len(spec.Caps) != 2 || spec.Caps[0].String() != capSID || spec.Caps[1].String() != "S-1-5-21-1-2-3-6" {
		t.Errorf("Caps = %v, want %s and S-1-5-21-1-2-3-6", spec.Caps, capSID)
	}
	if spec.Run.String() != runSID || !spec.LowIntegrity {
		t.Errorf("spec = %+v", spec)
	}
	sp.LowIntegrity = false
	if spec, _ := TokenSpec(sp); spec.LowIntegrity {
		t.Error("Medium asked, Low given")
	}
	for name, bad := range map[string]func(*runnerpipe.Spawn){
		"no caps": func(s *runnerpipe.Spawn) { s.Caps = nil },
		"bad cap": func(s *runnerpipe.Spawn) { s.Caps = []string{"S-x"} },
		"bad run": func(s *runnerpipe.Spawn) { s.Run = "" },
	} {
		s := spawn("prog")
		bad(s)
		if _, err := TokenSpec(s); err == nil {
			t.Errorf("%s: no error", name)
		}
	}
}
