package smoke

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// The harness pieces of the escape rows (linux_escape_*_test.go): an
// unprivileged caller, host commands and host objects made before a row
// and checked after it, and the checks the rows share.

// unprivUID is the uid and gid (nobody, nogroup on Debian) of rows with
// asUser: an ordinary caller, without root's ways around permissions.
const unprivUID = 65534

// userPath is the PATH of rows with asUser.
const userPath = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"

// procAttr makes a command run as the row's user.
func (w *ws) procAttr() *syscall.SysProcAttr {
	if !w.user {
		return nil
	}
	return &syscall.SysProcAttr{Credential: &syscall.Credential{Uid: unprivUID, Gid: unprivUID}}
}

// giveToUser makes the unprivileged uid own the row's whole world, as a
// user owns the checkout an agent works in.
func (w *ws) giveToUser(t *testing.T) {
	t.Helper()
	err := filepath.WalkDir(w.base, func(p string, _ fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		return os.Lchown(p, unprivUID, unprivUID)
	})
	if err != nil {
		t.Fatal(err)
	}
}

// hostRun runs a command on the host, as the row's user and with cordon's
// environment, and returns its combined output.
func (w *ws) hostRun(t *testing.T, args ...string) string {
	t.Helper()
	out, err := w.hostOut(args...)
	if err != nil {
		t.Fatalf("on the host: %q: %v\n%s", args, err, out)
	}
	return out
}

// hostOut is hostRun for checks: it returns the error.
func (w *ws) hostOut(args ...string) (string, error) {
	cmd := exec.Command(w.program(args[0]), args[1:]...)
	cmd.Dir, cmd.Env, cmd.SysProcAttr = w.base, w.environ(nil), w.procAttr()
	out, err := cmd.CombinedOutput()
	return string(out), err
}

// ranCommand: cordon ran the command (exit not 125-127), so the host
// checks that follow are about what the command did.
func ranCommand() check {
	return check{what: "cordon ran the command (exit not 125-127)", fn: func(_ *ws, r *result) error {
		if r.code >= 125 && r.code <= 127 {
			return fmt.Errorf("exit %d: stderr %q", r.code, r.stderr)
		}
		return nil
	}}
}

// program is the path of the program name as the row's user finds it:
// the test's own PATH may run through root's home, which the
// unprivileged uid cannot read (see userPath).
func (w *ws) program(name string) string {
	if !w.user || strings.Contains(name, "/") {
		return name
	}
	for _, d := range filepath.SplitList(userPath) {
		if p := filepath.Join(d, name); unix.Access(p, unix.X_OK) == nil {
			return p
		}
	}
	return name
}

// countProcs records in w.peakProcs, until the returned stop is called,
// the largest number of host processes seen at once with the MARK
// argument.
func (w *ws) countProcs() (stop func()) {
	quit, done := make(chan struct{}), make(chan struct{})
	go func() {
		defer close(done)
		for {
			if n := int64(len(procsWith(w.mark))); n > w.peakProcs.Load() {
				w.peakProcs.Store(n)
			}
			select {
			case <-quit:
				return
			case <-time.After(250 * time.Millisecond):
			}
		}
	}()
	return func() { close(quit); <-done }
}

// peakBelow: fewer than n processes with the MARK argument ever ran at
// once (needs countProcs).
func peakBelow(n int64) check {
	return check{what: fmt.Sprintf("fewer than %d processes with the MARK argument at once", n), fn: func(w *ws, _ *result) error {
		if got := w.peakProcs.Load(); got >= n {
			return fmt.Errorf("%d ran at once", got)
		}
		return nil
	}}
}

// asUserToo returns rows, each followed by a copy run by the unprivileged
// uid (name suffix "-as-nobody").
func asUserToo(rows ...tc) []tc {
	var out []tc
	for _, r := range rows {
		u := r
		u.name += "-as-nobody"
		u.asUser = true
		out = append(out, r, u)
	}
	return out
}

// hostTmpDir is a fresh directory in the host's /tmp, where a user's
// tmux and ssh-agent keep their sockets; removed after the row.
func hostTmpDir(t *testing.T, prefix string) string {
	t.Helper()
	d, err := os.MkdirTemp("/tmp", prefix)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(d) })
	return d
}

// removeAfter removes a host path the row may create, after the row.
func removeAfter(rel string) func(*testing.T, *ws) {
	return func(t *testing.T, w *ws) {
		p := w.path(rel)
		t.Cleanup(func() { os.RemoveAll(p) })
	}
}

// setups runs several setups in order.
func setups(fs ...func(*testing.T, *ws)) func(*testing.T, *ws) {
	return func(t *testing.T, w *ws) {
		for _, f := range fs {
			f(t, w)
		}
	}
}

// fileLacks: the host file at rel, if it exists, matches none of the
// regexps (${VAR} expanded, then quoted).
func fileLacks(rel string, res ...string) check {
	return check{what: fmt.Sprintf("%s has none of %q", rel, res), fn: func(w *ws, _ *result) error {
		b, err := os.ReadFile(w.path(rel))
		if errors.Is(err, fs.ErrNotExist) {
			return nil
		} else if err != nil {
			return err
		}
		for _, re := range res {
			if loc := regexp.MustCompile(w.expand(re)).FindIndex(b); loc != nil {
				return fmt.Errorf("it has %q:\n%s", b[loc[0]:loc[1]], b)
			}
		}
		return nil
	}}
}

// noSetIDFiles: no file in the workspace on the host, after the run, has
// the set-user-ID or set-group-ID bit or file capabilities
// (security.capability): any of them would let another user of the host
// run the sandbox's code with the caller's rights, or more.
func noSetIDFiles() check {
	return check{what: "no file in the workspace is set-uid, set-gid or has file capabilities", fn: func(w *ws, _ *result) error {
		var bad []string
		filepath.WalkDir(w.dir, func(p string, d fs.DirEntry, err error) error {
			if err != nil || d.IsDir() {
				return nil
			}
			var st unix.Stat_t
			if unix.Lstat(p, &st) == nil && st.Mode&(unix.S_ISUID|unix.S_ISGID) != 0 {
				bad = append(bad, fmt.Sprintf("%s mode %o uid %d", p, st.Mode&0o7777, st.Uid))
			}
			if _, err := unix.Lgetxattr(p, "security.capability", nil); err == nil {
				bad = append(bad, p+" has security.capability")
			}
			return nil
		})
		if len(bad) > 0 {
			return errors.New(strings.Join(bad, "; "))
		}
		return nil
	}}
}

// lockedDir takes, for the whole row, an exclusive flock(2) on the
// directory at rel (created if missing, and then removed after the row),
// as another user's long-running `flock -x DIR ...` would.
func lockedDir(rel string) func(*testing.T, *ws) {
	return func(t *testing.T, w *ws) {
		p := w.path(rel)
		switch err := os.Mkdir(p, 0o755); {
		case err == nil:
			t.Cleanup(func() { os.Remove(p) })
		case !errors.Is(err, fs.ErrExist):
			t.Fatal(err)
		case filepath.IsAbs(w.expand(rel)):
			t.Skipf("%s exists already and is not this row's to lock", p)
		}
		fd, err := unix.Open(p, unix.O_RDONLY|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { unix.Close(fd) })
		if err := unix.Flock(fd, unix.LOCK_EX|unix.LOCK_NB); err != nil {
			t.Skipf("%s is locked by someone else already: %v", p, err)
		}
	}
}

// endedWithin: cordon ended within d of its start.
func endedWithin(d time.Duration) check {
	return check{what: fmt.Sprintf("cordon ended within %s", d), fn: func(_ *ws, r *result) error {
		if r.dur > d {
			return fmt.Errorf("it took %s", r.dur.Round(time.Millisecond))
		}
		return nil
	}}
}

// gaveUp: cordon gave up with exit 124 or 125 and said it was busy or
// timed out.
func gaveUp() check {
	return check{what: `exit 124 or 125 with "busy" or "timed out" on stderr`, fn: func(_ *ws, r *result) error {
		if r.code != 124 && r.code != 125 || !regexp.MustCompile(`(?i)busy|timed out|timeout`).MatchString(r.stderr) {
			return fmt.Errorf("exit %d, stderr %q", r.code, r.stderr)
		}
		return nil
	}}
}

// pySpawn runs its arguments on a new pseudo-terminal, copying what they
// write there to stdout, and exits with their status: a user's terminal.
const pySpawn = `import os, pty, sys
sys.exit(os.waitstatus_to_exitcode(pty.spawn(sys.argv[1:])))
`
