package runnerpipe_test

// These tests start the test binary itself as the pipe's client (the
// runner's stand-in), in a helper mode chosen by an environment variable,
// and exchange frames with it across processes over a real named pipe.
// Under Wine they check the plumbing: Wine enforces neither the pipe's
// DACL nor its label, so only TestRealWindows* says anything about who
// may open the pipe. Every wait is bounded.

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"testing"
	"time"

	"golang.org/x/sys/windows"

	"github.com/cordon-sandbox/cordon/internal/runnerpipe"
	"github.com/cordon-sandbox/cordon/ntsec"
)

const (
	helperEnv = "CORDON_RUNNERPIPE_HELPER" // the helper mode
	nameEnv   = "CORDON_RUNNERPIPE_NAME"   // the pipe
	serverEnv = "CORDON_RUNNERPIPE_SERVER" // the server's process ID
	nonceEnv  = "CORDON_RUNNERPIPE_NONCE"

	waitTimeout = 30 * time.Second // the longest a test waits for one event
)

func TestMain(m *testing.M) {
	if mode := os.Getenv(helperEnv); mode != "" {
		if err := runHelper(mode); err != nil {
			fmt.Fprintf(os.Stderr, "helper %s: %v\n", mode, err)
			os.Exit(3)
		}
		os.Exit(0)
	}
	os.Exit(m.Run())
}

// runHelper is the client side.
func runHelper(mode string) error {
	server, err := strconv.ParseUint(os.Getenv(serverEnv), 10, 32)
	if err != nil {
		return err
	}
	conn, err := runnerpipe.Dial(os.Getenv(nameEnv), uint32(server))
	if mode == "wrong-server" {
		var wp *runnerpipe.WrongPeerError
		if errors.As(err, &wp) {
			fmt.Printf("refused server %d", wp.Got)
			return nil
		}
		return fmt.Errorf("Dial with the wrong server PID = %v, want a *WrongPeerError", err)
	}
	if err != nil {
		return err
	}
	defer conn.Close()
	conn.SetDeadline(time.Now().Add(waitTimeout))
	switch mode {
	case "runner":
		return fakeRunner(conn)
	case "stranger": // says whether anything arrives before the pipe closes
		m, err := runnerpipe.NewReader(conn).Read()
		if err != nil {
			fmt.Printf("no frame: %v", err)
			return nil
		}
		fmt.Printf("got a %s", m.Type())
		return nil
	case "truncated": // a hello, then half a frame, then the end
		if err := runnerpipe.NewWriter(conn).Write(&runnerpipe.Hello{Nonce: os.Getenv(nonceEnv)}); err != nil {
			return err
		}
		_, err := conn.Write([]byte{200, 0, 0, 0, '{'})
		return err
	case "hello-and-close": // a hello, then the end
		return runnerpipe.NewWriter(conn).Write(&runnerpipe.Hello{Nonce: os.Getenv(nonceEnv)})
	case "too-large": // announces a frame one byte over the limit
		hdr := binary.LittleEndian.AppendUint32(nil, runnerpipe.MaxFrameSize+1)
		if _, err := conn.Write(hdr); err != nil {
			return err
		}
		_, err := io.Copy(io.Discard, conn) // until cordon closes the pipe
		return err
	}
	return fmt.Errorf("unknown mode")
}

// fakeRunner speaks the runner's part: hello, then for the spawn a ready,
// its arguments as stdout, its stdin echoed as stderr, and an exit whose
// code is the number of arguments.
func fakeRunner(conn *runnerpipe.Conn) error {
	r, w := runnerpipe.NewReader(conn), runnerpipe.NewWriter(conn)
	var s runnerpipe.Session
	send := func(m runnerpipe.Message) error {
		if err := s.Check(runnerpipe.Runner, m); err != nil {
			return err
		}
		return w.Write(m)
	}
	recv := func() (runnerpipe.Message, error) {
		m, err := r.Read()
		if err != nil {
			return nil, err
		}
		return m, s.Check(runnerpipe.Cordon, m)
	}
	if err := send(&runnerpipe.Hello{Nonce: os.Getenv(nonceEnv)}); err != nil {
		return err
	}
	m, err := recv()
	if err != nil {
		return err
	}
	spawn := m.(*runnerpipe.Spawn) // Session admits nothing else here
	if err := send(&runnerpipe.Ready{PID: uint32(os.Getpid())}); err != nil {
		return err
	}
	if err := send(&runnerpipe.Output{Stream: runnerpipe.Stdout, Data: []byte(strings.Join(spawn.Args, "|"))}); err != nil {
		return err
	}
	for {
		m, err := recv()
		if err != nil {
			return err
		}
		if _, ok := m.(*runnerpipe.StdinClose); ok {
			break
		}
		if err := send(&runnerpipe.Output{Stream: runnerpipe.Stderr, Data: m.(*runnerpipe.Stdin).Data}); err != nil {
			return err
		}
	}
	if err := send(&runnerpipe.Exit{Code: uint32(len(spawn.Args))}); err != nil {
		return err
	}
	_, err = io.Copy(io.Discard, conn) // until cordon closes the pipe
	return err
}

// currentUser is this process's user SID, which the tests use as the
// "sandbox user", so that on real Windows the helper may open the pipe.
func currentUser(t *testing.T) ntsec.SID {
	t.Helper()
	u, err := windows.GetCurrentProcessToken().GetTokenUser()
	if err != nil {
		t.Fatal(err)
	}
	s, err := ntsec.ParseSID(u.User.Sid.String())
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// listen creates a fresh pipe for the current user, closed when the test
// ends.
func listen(t *testing.T) *runnerpipe.Listener {
	t.Helper()
	name, err := runnerpipe.NewName()
	if err != nil {
		t.Fatal(err)
	}
	l, err := runnerpipe.Listen(name, currentUser(t))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { l.Close() })
	return l
}

// helper is a started helper process and its output.
type helper struct {
	cmd    *exec.Cmd
	stdout bytes.Buffer
	stderr bytes.Buffer
}

// startHelper starts the test binary in mode, as the client of l, with
// env added to its environment. It is killed when the test ends if still running.
func startHelper(t *testing.T, l *runnerpipe.Listener, mode, nonce string, env ...string) *helper {
	t.Helper()
	h := &helper{cmd: exec.Command(os.Args[0], "-test.run=^$")}
	h.cmd.Env = append(os.Environ(), helperEnv+"="+mode, nameEnv+"="+l.Name(),
		serverEnv+"="+strconv.Itoa(os.Getpid()), nonceEnv+"="+nonce)
	h.cmd.Env = append(h.cmd.Env, env...) // later entries win
	h.cmd.Stdout, h.cmd.Stderr = &h.stdout, &h.stderr
	if err := h.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { h.cmd.Process.Kill(); h.cmd.Wait() })
	return h
}

// wait waits for the helper, at most waitTimeout, and fails the test
// unless it exited 0.
func (h *helper) wait(t *testing.T) {
	t.Helper()
	done := make(chan error, 1)
	go func() { done <- h.cmd.Wait() }()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("helper: %v\nstdout: %s\nstderr: %s", err, &h.stdout, &h.stderr)
		}
	case <-time.After(waitTimeout):
		h.cmd.Process.Kill()
		t.Fatalf("helper still running after %s\nstderr: %s", waitTimeout, &h.stderr)
	}
}

func accept(t *testing.T, l *runnerpipe.Listener, pid int) (*runnerpipe.Conn, error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), waitTimeout)
	defer cancel()
	c, err := l.Accept(ctx, uint32(pid))
	if err == nil {
		t.Cleanup(func() { c.Close() })
		c.SetDeadline(time.Now().Add(waitTimeout))
	}
	return c, err
}

func TestExchangeAcrossProcesses(t *testing.T) {
	l := listen(t)
	nonce, err := runnerpipe.NewNonce()
	if err != nil {
		t.Fatal(err)
	}
	h := startHelper(t, l, "runner", nonce)
	conn, err := accept(t, l, h.cmd.Process.Pid)
	if err != nil {
		t.Fatal(err)
	}
	if conn.PeerPID() != uint32(h.cmd.Process.Pid) {
		t.Errorf("PeerPID = %d, want %d", conn.PeerPID(), h.cmd.Process.Pid)
	}
	r, w := runnerpipe.NewReader(conn), runnerpipe.NewWriter(conn)
	var s runnerpipe.Session
	if err := runnerpipe.AwaitHello(r, &s, nonce); err != nil {
		t.Fatal(err)
	}
	send := func(m runnerpipe.Message) {
		t.Helper()
		if err := s.Check(runnerpipe.Cordon, m); err != nil {
			t.Fatal(err)
		}
		if err := w.Write(m); err != nil {
			t.Fatal(err)
		}
	}
	recv := func() runnerpipe.Message {
		t.Helper()
		m, err := r.Read()
		if err != nil {
			t.Fatalf("Read: %v\nhelper stderr: %s", err, &h.stderr)
		}
		if err := s.Check(runnerpipe.Runner, m); err != nil {
			t.Fatal(err)
		}
		return m
	}
	send(&runnerpipe.Spawn{
		Args: []string{"prog", "a b", `c"d`}, Dir: `C:\`, Env: []string{"A=1"},
		Caps: []string{"S-1-5-21-1-2-3-4"}, Run: "S-1-5-21-1-2-3-5", StdinOpen: true,
	})
	if m, ok := recv().(*runnerpipe.Ready); !ok || m.PID != uint32(h.cmd.Process.Pid) {
		t.Fatalf("want ready from pid %d, got %#v", h.cmd.Process.Pid, m)
	}
	if m := recv().(*runnerpipe.Output); m.Stream != runnerpipe.Stdout || string(m.Data) != `prog|a b|c"d` {
		t.Errorf("output = %s %q, want the arguments on stdout", m.Stream, m.Data)
	}
	// Chunks of every byte value, at the largest size, cross intact, while
	// cordon writes and reads at once with more in flight than the pipe's
	// buffers hold. On Windows this needs a pending read and a pending
	// write on the one duplex handle to proceed together (overlapped I/O);
	// Wine 8 does not serialise synchronous I/O on a pipe, so there it
	// passes without, and checks only the data.
	const chunks = 32
	big := make([]byte, runnerpipe.MaxChunk)
	for i := range big {
		big[i] = byte(i)
	}
	sent := make(chan error, 1)
	go func() {
		for range chunks {
			if err := s.Check(runnerpipe.Cordon, &runnerpipe.Stdin{Data: big}); err != nil {
				sent <- err
				return
			}
			if err := w.Write(&runnerpipe.Stdin{Data: big}); err != nil {
				sent <- err
				return
			}
		}
		sent <- nil
	}()
	for i := range chunks {
		if m := recv().(*runnerpipe.Output); m.Stream != runnerpipe.Stderr || !bytes.Equal(m.Data, big) {
			t.Fatalf("echoed stdin %d: %s, %d bytes, want stderr, the %d bytes sent", i, m.Stream, len(m.Data), len(big))
		}
	}
	if err := <-sent; err != nil {
		t.Fatal(err)
	}
	send(&runnerpipe.StdinClose{})
	if m, ok := recv().(*runnerpipe.Exit); !ok || m.Code != 3 {
		t.Errorf("want exit 3, got %#v", m)
	}
	conn.Close()
	h.wait(t)
}

func TestAcceptRefusesAnotherProcess(t *testing.T) {
	l := listen(t)
	h := startHelper(t, l, "stranger", "")
	// cordon expects some other process (here itself) to be the runner.
	_, err := accept(t, l, os.Getpid())
	var wp *runnerpipe.WrongPeerError
	if !errors.As(err, &wp) || wp.Got != uint32(h.cmd.Process.Pid) || wp.Want != uint32(os.Getpid()) {
		t.Fatalf("Accept = %v, want a *WrongPeerError naming the helper (%d)", err, h.cmd.Process.Pid)
	}
	h.wait(t)
	if !strings.HasPrefix(h.stdout.String(), "no frame") {
		t.Errorf("the refused client saw: %q, want no frame", &h.stdout)
	}
	// The listener is spent: the run fails rather than wait for another client.
	if _, err := accept(t, l, h.cmd.Process.Pid); err == nil {
		t.Error("Accept after a refusal succeeded")
	}
}

func TestTooLargeFrameAcrossProcesses(t *testing.T) {
	l := listen(t)
	h := startHelper(t, l, "too-large", "")
	conn, err := accept(t, l, h.cmd.Process.Pid)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := runnerpipe.NewReader(conn).Read(); !errors.Is(err, runnerpipe.ErrFrameTooLarge) {
		t.Errorf("Read = %v, want ErrFrameTooLarge", err)
	}
	conn.Close()
	h.wait(t)
}

// TestEndOfStream checks that the pipe tells a clean end (io.EOF, between
// frames) from one inside a frame (ErrTruncated) when the runner exits.
func TestEndOfStream(t *testing.T) {
	for mode, want := range map[string]error{"hello-and-close": io.EOF, "truncated": runnerpipe.ErrTruncated} {
		l := listen(t)
		nonce, err := runnerpipe.NewNonce()
		if err != nil {
			t.Fatal(err)
		}
		h := startHelper(t, l, mode, nonce)
		conn, err := accept(t, l, h.cmd.Process.Pid)
		if err != nil {
			t.Fatal(err)
		}
		r := runnerpipe.NewReader(conn)
		var s runnerpipe.Session
		if err := runnerpipe.AwaitHello(r, &s, nonce); err != nil {
			t.Fatalf("%s: %v", mode, err)
		}
		h.wait(t)
		if _, err := r.Read(); !errors.Is(err, want) {
			t.Errorf("%s: Read after the runner exited = %v, want %v", mode, err, want)
		}
	}
}

func TestDialChecksTheServer(t *testing.T) {
	l := listen(t)
	// The helper is told the server is another process than this one.
	h := startHelper(t, l, "wrong-server", "", serverEnv+"="+strconv.Itoa(os.Getpid()+4))
	h.wait(t)
	if want := fmt.Sprintf("refused server %d", os.Getpid()); h.stdout.String() != want {
		t.Errorf("helper said %q, want %q", &h.stdout, want)
	}
}

func TestListenRefusesATakenName(t *testing.T) {
	l := listen(t)
	if l2, err := runnerpipe.Listen(l.Name(), currentUser(t)); !errors.Is(err, runnerpipe.ErrNameTaken) {
		if l2 != nil {
			l2.Close()
		}
		t.Fatalf("second Listen(%s) = %v, want ErrNameTaken", l.Name(), err)
	}
}

func TestOneClientOnly(t *testing.T) {
	l := listen(t)
	c, err := runnerpipe.Dial(l.Name(), uint32(os.Getpid()))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if _, err := accept(t, l, os.Getpid()); err != nil {
		t.Fatal(err)
	}
	if c2, err := runnerpipe.Dial(l.Name(), uint32(os.Getpid())); err == nil {
		c2.Close()
		t.Fatal("a second client connected to the one-instance pipe")
	}
}

func TestAcceptEndsWithItsContext(t *testing.T) {
	l := listen(t)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := l.Accept(ctx, 1); !errors.Is(err, context.Canceled) {
		t.Errorf("Accept with a cancelled context = %v, want context.Canceled", err)
	}
	// Cancelled while waiting, too.
	l = listen(t)
	ctx, cancel = context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	if _, err := l.Accept(ctx, 1); !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("Accept with no client = %v, want context.DeadlineExceeded", err)
	}
}
