package smoke

import (
	"bufio"
	"crypto/sha256"
	"errors"
	"fmt"
	"io/fs"
	"math/rand/v2"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"sort"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

// gitConfig is the workspace's .git/config.
const gitConfig = "[core]\n\trepositoryformatversion = 0\n\tbare = false\n"

// ws is one row's world, fresh per run, all under base:
//
//	ws/       the cwd: .git/{config,HEAD,hooks/,objects/,refs/}, hello.txt, sub/file.txt
//	out/      outside every writable root: outside.txt
//	tmp/      TMPDIR (TEMP and TMP on Windows)
//	extra/    for --writable-root: .git/config, extra.txt
//	state/    CORDON_STATE_DIR (cordon's log)
//
// The command sees BASE, WS, OUT, EXTRA, MARK (a unique number such as
// 300.123456, for sleep) and, with listen, PORT and UDP_PORT.
type ws struct {
	base, dir, out, tmp, extra string
	mark                       string
	vars                       map[string]string
	before                     map[string]string
	user                       bool // every run and host helper as the unprivileged uid (tc.asUser)

	tcpAccepts, udpPackets atomic.Int64
	peakProcs              atomic.Int64 // tc.countProcs
}

func newWS(t *testing.T, c tc) *ws {
	t.Helper()
	base, err := os.MkdirTemp(baseParent(c), "cordon-smoke-")
	if err != nil {
		t.Fatal(err)
	}
	if base, err = filepath.EvalSymlinks(base); err != nil {
		t.Fatal(err)
	}
	w := &ws{base: base, before: map[string]string{}, user: c.asUser}
	w.dir, w.out, w.tmp, w.extra = w.path("ws"), w.path("out"), w.path("tmp"), w.path("extra")
	w.mark = fmt.Sprintf("300.%06d", rand.IntN(1000000))
	w.vars = map[string]string{"BASE": base, "WS": w.dir, "OUT": w.out, "EXTRA": w.extra, "MARK": w.mark, "USERTEMP": w.tmp}
	t.Cleanup(func() {
		if runtime.GOOS == "windows" && cordonBin != "" {
			w.cleanup(t)
		}
		if m := mountsUnder(base); len(m) > 0 {
			t.Errorf("mounts left on the host after the run: %s; NOT removing %s", strings.Join(m, ", "), base)
			return
		}
		if err := os.RemoveAll(base); err != nil {
			t.Logf("cleanup: %v", err)
		}
	})
	for _, d := range []string{"ws/.git/hooks", "ws/.git/objects", "ws/.git/refs/heads", "ws/.git/refs/tags", "ws/sub", "out", "tmp", "extra/.git", "state"} {
		w.mkdir(t, d)
	}
	w.write(t, "ws/.git/config", gitConfig)
	w.write(t, "ws/.git/HEAD", "ref: refs/heads/main\n")
	w.write(t, "ws/hello.txt", "hello\n")
	w.write(t, "ws/sub/file.txt", "sub\n")
	w.write(t, "out/outside.txt", "outside\n")
	w.write(t, "extra/.git/config", gitConfig)
	w.write(t, "extra/extra.txt", "extra\n")
	if c.listen {
		w.listen(t)
	}
	if w.user {
		w.giveToUser(t)
	}
	if c.setup != nil {
		c.setup(t, w)
	}
	if w.user {
		w.giveToUser(t)
	}
	return w
}

// baseParent is where a row's world is created: on Linux not below /tmp or
// /var/tmp, since the sandbox replaces both with private tmpfs mounts
// (keeping only the roots and the cwd below them visible), which would hide
// out/. As root, /var/lib/cordon-smoke, which rows run as an unprivileged
// uid (asUser) can reach; otherwise a directory in the user's cache
// directory, like a workspace in a home directory. Rows with underTmp get
// /tmp.
func baseParent(c tc) string {
	if c.underTmp || runtime.GOOS != "linux" {
		return os.TempDir()
	}
	dir := "/var/lib/cordon-smoke"
	if os.Geteuid() != 0 {
		cache, err := os.UserCacheDir()
		if err != nil {
			return os.TempDir()
		}
		dir = filepath.Join(cache, "cordon-smoke")
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return os.TempDir()
	}
	return dir
}

// path maps a slash-separated path relative to base (or an absolute one),
// after expanding ${VAR}, to a host path.
func (w *ws) path(rel string) string {
	rel = w.expand(rel)
	if filepath.IsAbs(rel) {
		return rel
	}
	return filepath.Join(w.base, filepath.FromSlash(rel))
}

func (w *ws) mkdir(t *testing.T, rel string) {
	t.Helper()
	if err := os.MkdirAll(w.path(rel), 0o755); err != nil {
		t.Fatal(err)
	}
}

func (w *ws) write(t *testing.T, rel, content string) {
	t.Helper()
	if err := os.WriteFile(w.path(rel), []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
}

func (w *ws) symlink(t *testing.T, target, rel string) {
	t.Helper()
	if err := os.Symlink(target, w.path(rel)); err != nil {
		t.Fatal(err)
	}
}

func (w *ws) remove(t *testing.T, rel string) {
	t.Helper()
	if err := os.RemoveAll(w.path(rel)); err != nil {
		t.Fatal(err)
	}
}

// expand replaces ${VAR} in cordon's flags.
func (w *ws) expand(s string) string {
	return os.Expand(s, func(k string) string {
		if v, ok := w.vars[k]; ok {
			return v
		}
		return "${" + k + "}"
	})
}

// environ is cordon's environment: the test's, minus the temp variables,
// plus the workspace's variables and the row's own.
// cleanup runs cordon cleanup for w (the record of what the Windows
// backend added is in w's own state directory), so that nothing a row did
// stays on the machine. Running it twice is harmless: the second has
// nothing left to do.
func (w *ws) cleanup(t *testing.T) {
	cmd := exec.Command(cordonBin, "cleanup")
	cmd.Env = w.environ(nil)
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Errorf("cordon cleanup after the row: %v\n%s", err, out)
	}
}

func (w *ws) environ(extra map[string]string) []string {
	var env []string
	for _, kv := range os.Environ() {
		k, _, _ := strings.Cut(kv, "=")
		switch strings.ToUpper(k) {
		case "TMPDIR", "TEMP", "TMP", "CORDON_STATE_DIR", "CORDON_DEBUG":
			continue
		}
		if _, ok := w.vars[k]; ok {
			continue
		}
		env = append(env, kv)
	}
	if runtime.GOOS == "windows" {
		// auto picks the experimental Windows sandbox only with the flag.
		env = append(env, "TEMP="+w.tmp, "TMP="+w.tmp, "CORDON_EXPERIMENTAL_WINDOWS_SANDBOX=1")
	} else {
		env = append(env, "TMPDIR="+w.tmp)
	}
	env = append(env, "CORDON_STATE_DIR="+w.path("state"))
	if w.user {
		// The test's own PATH may run through root's home, which the
		// unprivileged uid cannot read.
		env = append(env, "PATH="+userPath, "HOME="+w.base)
	}
	for k, v := range w.vars {
		env = append(env, k+"="+v)
	}
	for k, v := range extra {
		if v == "" {
			env = dropVar(env, k)
			continue
		}
		env = append(env, k+"="+w.expand(v))
	}
	return env
}

func dropVar(env []string, name string) []string {
	var out []string
	for _, kv := range env {
		if k, _, _ := strings.Cut(kv, "="); k != name {
			out = append(out, kv)
		}
	}
	return out
}

// snapshot describes a file, link or tree without following links: type,
// permissions, mtime, content hash, link target. "absent" if missing.
func snapshot(root string) string {
	if _, err := os.Lstat(root); errors.Is(err, fs.ErrNotExist) {
		return "absent"
	}
	var b strings.Builder
	filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		rel, _ := filepath.Rel(root, p)
		if err != nil {
			fmt.Fprintf(&b, "%s: error %v\n", rel, err)
			return nil
		}
		fi, err := d.Info()
		if err != nil {
			fmt.Fprintf(&b, "%s: error %v\n", rel, err)
			return nil
		}
		fmt.Fprintf(&b, "%s %s mtime=%d", rel, fi.Mode(), fi.ModTime().UnixNano())
		switch {
		case fi.Mode()&fs.ModeSymlink != 0:
			target, _ := os.Readlink(p)
			fmt.Fprintf(&b, " -> %s", target)
		case fi.Mode().IsRegular():
			data, err := os.ReadFile(p)
			fmt.Fprintf(&b, " sha256=%x err=%v", sha256.Sum256(data), err)
		}
		b.WriteString("\n")
		return nil
	})
	return b.String()
}

// mountsUnder lists the host's mount points at or below dir (Linux only).
func mountsUnder(dir string) []string {
	f, err := os.Open("/proc/self/mountinfo")
	if err != nil {
		return nil
	}
	defer f.Close()
	var out []string
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		fields := strings.Fields(sc.Text())
		if len(fields) < 5 {
			continue
		}
		mp := unescapeMount(fields[4])
		if mp == dir || strings.HasPrefix(mp, dir+"/") {
			out = append(out, mp)
		}
	}
	return out
}

// unescapeMount undoes mountinfo's octal escapes (\040 for a space).
func unescapeMount(s string) string {
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] == '\\' && i+3 < len(s) {
			var v int
			if _, err := fmt.Sscanf(s[i+1:i+4], "%03o", &v); err == nil {
				b.WriteByte(byte(v))
				i += 3
				continue
			}
		}
		b.WriteByte(s[i])
	}
	return b.String()
}

// procsWith lists host processes whose command line contains arg as one
// whole argument (Linux: /proc/*/cmdline).
func procsWith(arg string) []string {
	dirs, _ := filepath.Glob("/proc/[0-9]*")
	var out []string
	for _, d := range dirs {
		b, err := os.ReadFile(d + "/cmdline")
		if err != nil {
			continue
		}
		args := strings.Split(strings.TrimRight(string(b), "\x00"), "\x00")
		for _, a := range args {
			if a == arg {
				out = append(out, filepath.Base(d)+": "+strings.Join(args, " "))
				break
			}
		}
	}
	sort.Strings(out)
	return out
}

// noProcs: no process with the workspace's MARK argument survives (after a
// short grace period for the kernel to reap them).
func noProcs() check {
	return check{what: "no process with the MARK argument survives", fn: func(w *ws, _ *result) error {
		var left []string
		for deadline := time.Now().Add(3 * time.Second); ; time.Sleep(100 * time.Millisecond) {
			if left = procsWith(w.mark); len(left) == 0 {
				return nil
			}
			if time.Now().After(deadline) {
				break
			}
		}
		return fmt.Errorf("still running: %s", strings.Join(left, "; "))
	}}
}

// listen starts the host-side listeners on 127.0.0.1: a TCP server that
// answers any request with a tiny HTTP response, and a UDP echo server.
func (w *ws) listen(t *testing.T) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	pc, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close(); pc.Close() })
	w.vars["PORT"] = fmt.Sprint(ln.Addr().(*net.TCPAddr).Port)
	w.vars["UDP_PORT"] = fmt.Sprint(pc.LocalAddr().(*net.UDPAddr).Port)
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			w.tcpAccepts.Add(1)
			go func() {
				defer c.Close()
				c.SetDeadline(time.Now().Add(5 * time.Second))
				br := bufio.NewReader(c)
				for {
					line, err := br.ReadString('\n')
					if err != nil || strings.TrimSpace(line) == "" {
						break
					}
				}
				fmt.Fprint(c, "HTTP/1.0 200 OK\r\nContent-Length: 16\r\n\r\nhello-from-host\n")
			}()
		}
	}()
	go func() {
		buf := make([]byte, 2048)
		for {
			n, addr, err := pc.ReadFrom(buf)
			if err != nil {
				return
			}
			w.udpPackets.Add(1)
			pc.WriteTo(buf[:n], addr)
		}
	}()
}

// tcpAccepted: the host TCP listener saw n connections (n < 0: at least one).
func tcpAccepted(n int64) check {
	return check{what: fmt.Sprintf("host TCP listener accepted %d connections", n), fn: func(w *ws, _ *result) error {
		time.Sleep(100 * time.Millisecond)
		if got := w.tcpAccepts.Load(); got != n && !(n < 0 && got > 0) {
			return fmt.Errorf("it accepted %d", got)
		}
		return nil
	}}
}

// udpReceived: the host UDP listener saw n packets (n < 0: at least one).
func udpReceived(n int64) check {
	return check{what: fmt.Sprintf("host UDP listener received %d packets", n), fn: func(w *ws, _ *result) error {
		time.Sleep(100 * time.Millisecond)
		if got := w.udpPackets.Load(); got != n && !(n < 0 && got > 0) {
			return fmt.Errorf("it received %d", got)
		}
		return nil
	}}
}
