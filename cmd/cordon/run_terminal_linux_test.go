package main

import (
	"bytes"
	"errors"
	"os"
	"os/exec"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/cordon-sandbox/cordon/internal/termguard"
	"github.com/cordon-sandbox/cordon/internal/testutil"
)

// userTerminal is cordon run started as from a shell on a terminal: its
// standard streams are the slave of a pseudo-terminal whose session and
// foreground process group it leads; the test is the terminal emulator,
// reading what reaches the master and typing into it.
type userTerminal struct {
	master, slave *os.File
	cmd           *exec.Cmd
	mu            sync.Mutex
	seen          bytes.Buffer
	done          chan struct{}
}

func startOnTerminal(t *testing.T, args ...string) *userTerminal {
	t.Helper()
	master, slave, err := termguard.OpenPTY()
	if err != nil {
		t.Skipf("no pseudo-terminals here: %v", err)
	}
	if err := unix.IoctlSetWinsize(int(master.Fd()), unix.TIOCSWINSZ, &unix.Winsize{Row: 33, Col: 101}); err != nil {
		t.Fatal(err)
	}
	u := &userTerminal{master: master, slave: slave, done: make(chan struct{})}
	u.cmd = exec.Command(os.Args[0], args...)
	u.cmd.Env = append(os.Environ(), asCordonEnv+"=1", "CORDON_STATE_DIR="+testutil.CanonicalTempDir(t), "TERM=xterm-256color")
	u.cmd.Stdin, u.cmd.Stdout, u.cmd.Stderr = slave, slave, slave
	u.cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true, Setctty: true, Ctty: 0}
	if err := u.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() {
		defer close(u.done)
		buf := make([]byte, 4096)
		for {
			n, err := master.Read(buf)
			u.mu.Lock()
			u.seen.Write(buf[:n])
			u.mu.Unlock()
			if err != nil {
				return
			}
		}
	}()
	t.Cleanup(func() {
		u.cmd.Process.Kill()
		master.Close()
		slave.Close()
	})
	return u
}

func (u *userTerminal) output() string {
	u.mu.Lock()
	defer u.mu.Unlock()
	return u.seen.String()
}

func (u *userTerminal) waitFor(t *testing.T, s string) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for !strings.Contains(u.output(), s) {
		if time.Now().After(deadline) {
			t.Fatalf("the terminal did not show %q within 30s: %q", s, u.output())
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// wait waits for cordon to exit and for what it wrote last, and returns
// its exit status.
func (u *userTerminal) wait(t *testing.T) int {
	t.Helper()
	err := u.cmd.Wait()
	var ee *exec.ExitError
	if err != nil && !errors.As(err, &ee) {
		t.Fatal(err)
	}
	u.master.SetReadDeadline(time.Now().Add(500 * time.Millisecond))
	<-u.done
	return u.cmd.ProcessState.ExitCode()
}

// A hostile command writes to what it takes for your terminal: the
// clipboard (OSC 52), a cursor-position query whose answer your terminal
// would type into your shell, a DECRQSS query. It gets a terminal (its
// streams are terminals of your terminal's size, and it reads what you
// type), but none of those sequences reaches yours, cordon says what it
// kept back, and your terminal's settings and modes are as they were.
func TestRunTerminalGuarded(t *testing.T) {
	ws := testutil.CanonicalTempDir(t)
	script := `test -t 0 && test -t 1 && test -t 2 && echo tty-ok; stty size; ` +
		`printf '\033[?1000h'; printf 'A\033]52;c;ZXZpbA==\007B\033[6nC\033P$q m\033\\D\n'; IFS= read -r line; echo "got:$line"`
	u := startOnTerminal(t, "run", "--cwd", ws, "--", "sh", "-c", script)
	outer, err := unix.IoctlGetTermios(int(u.slave.Fd()), unix.TCGETS)
	if err != nil {
		t.Fatal(err)
	}
	u.waitFor(t, "ABCD")
	u.master.Write([]byte("hello\r"))
	code := u.wait(t)
	out := u.output()
	if code != 0 {
		t.Errorf("exit %d; the terminal showed %q", code, out)
	}
	// The mouse reporting it turned on is turned off again.
	for _, want := range []string{"tty-ok", "33 101", "ABCD", "got:hello", "cordon: kept from your terminal:", "\x1b[?1000l"} {
		if !strings.Contains(out, want) {
			t.Errorf("the terminal did not show %q: %q", want, out)
		}
	}
	for _, bad := range []string{"\x1b]52", "\x1b[6n", "\x1bP"} {
		if strings.Contains(out, bad) {
			t.Errorf("%q reached the terminal: %q", bad, out)
		}
	}
	after, err := unix.IoctlGetTermios(int(u.slave.Fd()), unix.TCGETS)
	if err != nil {
		t.Fatal(err)
	}
	if *after != *outer {
		t.Errorf("the terminal's settings changed: %+v, were %+v", *after, *outer)
	}
}

// Ctrl-C typed at the terminal is the command's own SIGINT, delivered by
// its terminal: the command's handler runs, and cordon reports its exit
// status.
func TestRunTerminalInterrupt(t *testing.T) {
	ws := testutil.CanonicalTempDir(t)
	script := `trap 'echo got-int; exit 7' INT; echo ready; while :; do sleep 0.1; done`
	u := startOnTerminal(t, "run", "--cwd", ws, "--", "sh", "-c", script)
	u.waitFor(t, "ready")
	u.master.Write([]byte{0x03})
	if code := u.wait(t); code != 7 || !strings.Contains(u.output(), "got-int") {
		t.Errorf("exit %d; the terminal showed %q; want the command's handler and 7", code, u.output())
	}
}

// A command that ignores SIGINT and SIGQUIT is still ended from the
// keyboard: the third Ctrl-C typed ends the run, as cordon's own interrupt.
func TestRunTerminalThirdInterruptEndsTheRun(t *testing.T) {
	ws := testutil.CanonicalTempDir(t)
	u := startOnTerminal(t, "run", "--cwd", ws, "--", "sh", "-c", `trap '' INT QUIT; echo ready; sleep 60`)
	u.waitFor(t, "ready")
	for range 3 {
		u.master.Write([]byte{0x03})
		time.Sleep(100 * time.Millisecond)
	}
	exited := make(chan int, 1)
	go func() { exited <- u.wait(t) }()
	select {
	case code := <-exited:
		if code != exitSetup || !strings.Contains(u.output(), "cordon: interrupted") {
			t.Errorf("exit %d; the terminal showed %q", code, u.output())
		}
	case <-time.After(20 * time.Second):
		t.Fatalf("still running 20s after the third Ctrl-C; the terminal showed %q", u.output())
	}
}
