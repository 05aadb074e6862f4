package runner

import (
	"bytes"
	"context"
	"errors"
	"io"
	"net"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/cordon-sandbox/cordon/internal/runnerpipe"
	"github.com/cordon-sandbox/cordon/ntsec"
)

// pair runs Serve with l on one end of an in-memory pipe and returns the
// other end for Drive.
func pair(t *testing.T, l Launcher) (net.Conn, <-chan error) {
	t.Helper()
	a, b := net.Pipe()
	t.Cleanup(func() { a.Close(); b.Close() })
	a.SetDeadline(time.Now().Add(waitFor))
	res := make(chan error, 1)
	go func() { res <- Serve(context.Background(), b, nonce, nil, l) }()
	return a, res
}

func TestDriveAndServe(t *testing.T) {
	l := &fakeLauncher{body: func(sp *runnerpipe.Spawn, stdin io.Reader, stdout, stderr io.Writer, _ <-chan struct{}) uint32 {
		in, _ := io.ReadAll(stdin)
		stdout.Write(in)
		io.WriteString(stderr, sp.Args[1])
		return 7
	}}
	conn, res := pair(t, l)
	input := bytes.Repeat([]byte("0123456789"), runnerpipe.MaxChunk/4) // several chunks
	var stdout, stderr bytes.Buffer
	r, err := Drive(context.Background(), conn, nonce, Fixed(spawn("prog", "to stderr")), bytes.NewReader(input), &stdout, &stderr)
	if err != nil {
		t.Fatal(err)
	}
	if r.PID() != 4242 {
		t.Errorf("PID = %d", r.PID())
	}
	exit, err := r.Wait()
	if err != nil {
		t.Fatal(err)
	}
	if exit.Code != 7 || !bytes.Equal(stdout.Bytes(), input) || stderr.String() != "to stderr" {
		t.Errorf("exit %d, stdout %d bytes (want %d), stderr %q", exit.Code, stdout.Len(), len(input), &stderr)
	}
	if !l.spawned.StdinOpen {
		t.Error("a spawn with input did not open stdin")
	}
	if err := result(t, res); err != nil {
		t.Error(err)
	}
}

func TestDriveTerminate(t *testing.T) {
	l := &fakeLauncher{body: blocker}
	conn, _ := pair(t, l)
	r, err := Drive(context.Background(), conn, nonce, Fixed(spawn("prog")), nil, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	if l.spawned.StdinOpen {
		t.Error("a spawn without input opened stdin")
	}
	if err := r.Terminate(); err != nil {
		t.Fatal(err)
	}
	exit, err := r.Wait()
	if err != nil || exit.Code != killed {
		t.Errorf("Wait = %#v, %v; want exit %d", exit, err, killed)
	}
}

func TestDriveRunnerError(t *testing.T) {
	l := &fakeLauncher{err: &LaunchError{Code: CodeToken, Err: errors.New("refused")}}
	conn, _ := pair(t, l)
	_, err := Drive(context.Background(), conn, nonce, Fixed(spawn("prog")), nil, nil, nil)
	var re *RunnerError
	if !errors.As(err, &re) || re.Code != CodeToken || !strings.Contains(re.Message, "refused") {
		t.Errorf("Drive = %v, want a *RunnerError with code %s", err, CodeToken)
	}
}

func TestDriveWrongNonce(t *testing.T) {
	l := &fakeLauncher{body: blocker}
	conn, _ := pair(t, l)
	_, err := Drive(context.Background(), conn, "ffffffffffffffffffffffffffffffff", Fixed(spawn("prog")), nil, nil, nil)
	if !errors.Is(err, runnerpipe.ErrHandshake) {
		t.Errorf("Drive = %v, want ErrHandshake", err)
	}
	if l.spawned != nil {
		t.Error("the spawn went to a runner that failed the handshake")
	}
}

func TestDriveRunnerDies(t *testing.T) {
	l := &fakeLauncher{body: blocker}
	conn, _ := pair(t, l)
	r, err := Drive(context.Background(), conn, nonce, Fixed(spawn("prog")), nil, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	conn.Close()
	if _, err := r.Wait(); err == nil {
		t.Error("Wait on a dead runner returned no error")
	}
}

func TestParseArgs(t *testing.T) {
	c := Config{Pipe: runnerpipe.NamePrefix + "00ff", Server: 77, Nonce: nonce, WinePlumbing: true}
	got, err := ParseArgs(c.Args(), io.Discard)
	if err != nil || got != c {
		t.Fatalf("ParseArgs(Args()) = %+v, %v; want %+v", got, err, c)
	}
	c.WinePlumbing = false
	if got, _ := ParseArgs(c.Args(), io.Discard); got.WinePlumbing {
		t.Error("plumbing without asking")
	}
	for name, args := range map[string][]string{
		"foreign pipe": {"--pipe", `\\.\pipe\other`, "--server", "77", "--nonce", nonce},
		"bare prefix":  {"--pipe", runnerpipe.NamePrefix, "--server", "77", "--nonce", nonce},
		"no server":    {"--pipe", c.Pipe, "--nonce", nonce},
		"big server":   {"--pipe", c.Pipe, "--server", "4294967296", "--nonce", nonce},
		"short nonce":  {"--pipe", c.Pipe, "--server", "77", "--nonce", "00"},
		"extra":        {"--pipe", c.Pipe, "--server", "77", "--nonce", nonce, "x"},
	} {
		if _, err := ParseArgs(args, io.Discard); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
}

// The runner describes its token in its hello, and cordon's Prepare gets
// it back field for field before any Spawn is made.
func TestDriveGetsTheRunnersToken(t *testing.T) {
	user, _ := ntsec.NewSID(5, 21, 9, 9, 9, 1001)
	group, _ := ntsec.NewSID(5, 21, 9, 9, 9, 1003)
	medium, _ := ntsec.NewSID(16, 0x2000)
	base := &ntsec.Token{
		User: user,
		Groups: []ntsec.Group{
			{SID: ntsec.Everyone, Attributes: ntsec.GroupEnabled | ntsec.GroupMandatory},
			{SID: ntsec.LogonSID(0, 77), Attributes: ntsec.GroupEnabled | ntsec.GroupLogonID},
			{SID: group, Attributes: ntsec.GroupDenyOnly},
		},
		Integrity: medium,
	}
	l := &fakeLauncher{body: func(*runnerpipe.Spawn, io.Reader, io.Writer, io.Writer, <-chan struct{}) uint32 { return 0 }}
	a, b := net.Pipe()
	t.Cleanup(func() { a.Close(); b.Close() })
	a.SetDeadline(time.Now().Add(waitFor))
	go Serve(context.Background(), b, nonce, base, l)
	var got *ntsec.Token
	r, err := Drive(context.Background(), a, nonce, func(tok *ntsec.Token) (*runnerpipe.Spawn, error) {
		got = tok
		return spawn("prog"), nil
	}, nil, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	r.Wait()
	if got == nil || got.User != base.User || !slices.Equal(got.Groups, base.Groups) || got.Integrity != base.Integrity {
		t.Errorf("Prepare got %+v\nwant %+v", got, base)
	}
}

func TestDrivePrepareFailureSendsNothing(t *testing.T) {
	l := &fakeLauncher{body: blocker}
	conn, res := pair(t, l)
	_, err := Drive(context.Background(), conn, nonce, func(*ntsec.Token) (*runnerpipe.Spawn, error) {
		return nil, errors.New("the plan fails its proof")
	}, nil, nil, nil)
	if err == nil || !strings.Contains(err.Error(), "fails its proof") {
		t.Fatalf("Drive = %v", err)
	}
	conn.Close() // as StartRemote does: the runner then gives up
	if err := result(t, res); !errors.Is(err, ErrNoSpawn) {
		t.Errorf("Serve = %v, want ErrNoSpawn", err)
	}
	if l.spawned != nil {
		t.Error("the launcher was called")
	}
}
