package linuxsandbox

import (
	"os"
	"strings"
	"testing"

	"golang.org/x/sys/unix"
)

// TestSpecPipeGoAhead: the stage reads its spec line, then starts nothing
// before the go-ahead byte; a parent that closes the pipe without it (its
// cgroup could not be set up) makes the stage fail, never run unlimited.
func TestSpecPipeGoAhead(t *testing.T) {
	for _, c := range []struct {
		name   string
		send   func(w *os.File) error
		wantOK bool
	}{
		{"go-ahead", func(w *os.File) error { return sendGo(w) }, true},
		{"closed without it", func(w *os.File) error { return w.Close() }, false},
		{"another byte", func(w *os.File) error { w.Write([]byte{'x'}); return w.Close() }, false},
	} {
		t.Run(c.name, func(t *testing.T) {
			r, w, err := os.Pipe()
			if err != nil {
				t.Fatal(err)
			}
			if err := writeSpec(w, execSpec{Args: []string{"true"}, Dir: "/a\nb"}); err != nil {
				t.Fatal(err)
			}
			// readSpec owns the descriptor it is given, as the stage does.
			fd, err := unix.Dup(int(r.Fd()))
			r.Close()
			if err != nil {
				t.Fatal(err)
			}
			var got execSpec
			pipe, err := readSpec(uintptr(fd), &got)
			if err != nil {
				t.Fatal(err)
			}
			if got.Dir != "/a\nb" || len(got.Args) != 1 {
				t.Fatalf("spec read back as %+v", got)
			}
			if err := c.send(w); err != nil {
				t.Fatal(err)
			}
			err = pipe.awaitGo()
			if (err == nil) != c.wantOK {
				t.Errorf("awaitGo: %v, want ok=%v", err, c.wantOK)
			}
			if err != nil && !strings.Contains(err.Error(), "go-ahead") {
				t.Errorf("error %q does not say what was missing", err)
			}
		})
	}
}
