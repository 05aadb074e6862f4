package testutil

import (
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"
)

// WaitDeadline bounds WaitFor. It is never asserted on: it only turns a
// hang into a failure.
const WaitDeadline = 30 * time.Second

// WaitFor polls cond until it holds, and fails the test if it does not
// within WaitDeadline.
func WaitFor(t testing.TB, what string, cond func() bool) {
	t.Helper()
	end := time.Now().Add(WaitDeadline)
	for !cond() {
		if time.Now().After(end) {
			t.Fatalf("%s: not within %s", what, WaitDeadline)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// ProcessWithArgs returns the pid, as this process sees it, of a process
// whose command line is exactly args, or 0. It reads /proc: on systems
// without one it finds nothing. A process in a PID namespace below this
// one is found by its pid here.
func ProcessWithArgs(args ...string) int {
	want := strings.Join(args, "\x00") + "\x00"
	ents, _ := os.ReadDir("/proc")
	for _, e := range ents {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		if b, err := os.ReadFile("/proc/" + e.Name() + "/cmdline"); err == nil && string(b) == want {
			return pid
		}
	}
	return 0
}

// ProcessAlive reports whether pid still runs with the command line args
// (a zombie has none, so a killed process is not alive).
func ProcessAlive(pid int, args ...string) bool {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/cmdline", pid))
	return err == nil && string(b) == strings.Join(args, "\x00")+"\x00"
}

// CanonicalTempDir is TempDir with every link in its path resolved: the
// spelling a program that resolves paths (cordon mcp) reports back.
func CanonicalTempDir(t testing.TB) string {
	t.Helper()
	d, err := filepath.EvalSymlinks(TempDir(t))
	if err != nil {
		t.Fatal(err)
	}
	return d
}

// LoopbackPorts returns two TCP addresses on 127.0.0.1: open, where a
// listener accepts (and at once closes) every connection until the test
// ends, and closed, a port that was just free, so a connection to it is
// refused.
func LoopbackPorts(t testing.TB) (open, closed string) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			c.Close()
		}
	}()
	free, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	closed = free.Addr().String()
	free.Close()
	return ln.Addr().String(), closed
}
