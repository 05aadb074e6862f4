package termguard

import (
	"os"
	"strings"
	"testing"
	"time"
)

// Without a pseudo-terminal, a terminal among the streams is reached only
// through a copy (input) or the filter (output); other streams are given
// as they are.
func TestFilterOnly(t *testing.T) {
	master, tty, err := OpenPTY()
	if err != nil {
		t.Skipf("no pseudo-terminals here: %v", err)
	}
	defer master.Close()
	defer tty.Close()
	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	defer w.Close()
	g := filterOnly(tty, tty, w)
	if _, ok := g.Stdin().(*os.File); ok {
		t.Error("the command would get the terminal as its stdin")
	}
	if _, ok := g.Stdout().(*os.File); ok {
		t.Error("the command would get the terminal as its stdout")
	}
	if g.Stderr() != w {
		t.Error("a pipe was not given as it is")
	}
	g.Stdout().Write([]byte("a\x1b]52;c;eA==\x07b\x1b[31m\n"))
	st, err := g.Close()
	if err != nil || st.Strings != 1 {
		t.Errorf("Close: %+v, %v", st, err)
	}
	var got string
	buf := make([]byte, 256)
	master.SetReadDeadline(time.Now().Add(time.Second))
	for !strings.Contains(got, "\x1b[?25h") {
		n, err := master.Read(buf)
		got += string(buf[:n])
		if err != nil {
			break
		}
	}
	if strings.Contains(got, "]52") || !strings.Contains(got, "ab") || !strings.Contains(got, "\x1b[0m") {
		t.Errorf("the terminal got %q", got)
	}
}
