//go:build unix

package gitdir_test

import (
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/cordon-sandbox/cordon/internal/gitdir"
)

// TestOSFIFO checks that a FIFO where git expects a gitfile or a HEAD
// does not hang the resolver: OS opens without blocking and reads regular
// files only.
func TestOSFIFO(t *testing.T) {
	ws, err := filepath.EvalSymlinks(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"fifo", "HEAD"} {
		if err := syscall.Mkfifo(filepath.Join(ws, name), 0o644); err != nil {
			t.Skipf("mkfifo: %v", err)
		}
	}
	if err := os.Symlink("fifo", filepath.Join(ws, ".git")); err != nil {
		t.Fatal(err)
	}
	done := make(chan gitdir.Result, 1)
	go func() { done <- gitdir.Resolve(gitdir.OS(), gitdir.POSIX, []string{ws}) }()
	select {
	case res := <-done:
		t.Logf("%+v", res)
		want := []string{filepath.Join(ws, ".git"), filepath.Join(ws, "HEAD"), filepath.Join(ws, "fifo")}
		for _, w := range want {
			found := false
			for _, f := range res.Protect {
				found = found || f.Path == w
			}
			if !found {
				t.Errorf("%s is not protected", w)
			}
		}
	case <-time.After(10 * time.Second):
		t.Fatal("Resolve hangs on a FIFO")
	}
}

// TestOSReadLimit checks that OS reads at most ReadLimit+1 bytes.
func TestOSReadLimit(t *testing.T) {
	p := filepath.Join(t.TempDir(), "big")
	if err := os.WriteFile(p, []byte(strings.Repeat("x", 2*gitdir.ReadLimit)), 0o644); err != nil {
		t.Fatal(err)
	}
	data, err := gitdir.OS().ReadFile(p)
	if err != nil || len(data) != gitdir.ReadLimit+1 {
		t.Errorf("ReadFile read %d bytes (%v), want %d", len(data), err, gitdir.ReadLimit+1)
	}
}
