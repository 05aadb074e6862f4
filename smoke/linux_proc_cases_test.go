package smoke

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"sort"
	"strings"
	"syscall"
	"testing"
	"time"
)

// Linux rows, part 2: network, system-call filter, processes, exit codes,
// tools and the --json output.

func py(code string) []string { return []string{"python3", "-c", code} }

const (
	pyFamilies = `import socket
for name, kind in (("AF_INET", socket.SOCK_STREAM), ("AF_INET6", socket.SOCK_DGRAM), ("AF_NETLINK", socket.SOCK_RAW)):
    try:
        socket.socket(getattr(socket, name), kind).close()
        print(name, "allowed")
    except OSError as e:
        print(name, "denied", e.errno)
`
	pyTCP = `import os, socket
s = socket.create_connection(("127.0.0.1", int(os.environ["PORT"])), timeout=5)
s.sendall(b"GET / HTTP/1.0\r\n\r\n")
data = b""
while True:
    b = s.recv(4096)
    if not b:
        break
    data += b
print(data.decode().split("\r\n\r\n", 1)[1], end="")
`
	// A DNS query for example.com, sent to the host's UDP echo server.
	pyDNS = `import os, socket, struct
q = struct.pack(">HHHHHH", 0x1234, 0x0100, 1, 0, 0, 0)
q += b"".join(bytes([len(p)]) + p.encode() for p in ("example", "com")) + b"\0" + struct.pack(">HH", 1, 1)
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.settimeout(5)
s.sendto(q, ("127.0.0.1", int(os.environ["UDP_PORT"])))
r, _ = s.recvfrom(2048)
print("reply", r == q)
`
	pyUnixPair = `import socket
a, b = socket.socketpair()
a.sendall(b"unix ok\n")
print(b.recv(100).decode(), end="")
`
	pyUnixServer = `import os, socket
srv = socket.socket(socket.AF_UNIX)
srv.bind("s.sock")
srv.listen(1)
c = socket.socket(socket.AF_UNIX)
c.connect("s.sock")
conn, _ = srv.accept()
c.sendall(b"unix ok\n")
print(conn.recv(100).decode(), end="")
os.unlink("s.sock")
`
	// pySyscall prints "denied ERRNO" or "allowed RESULT" for one call.
	pySyscall = `import ctypes, os
libc = ctypes.CDLL(None, use_errno=True)
buf = ctypes.create_string_buffer(120)
ctypes.set_errno(0)
r = %s
print("denied", ctypes.get_errno()) if r == -1 else print("allowed", r)
`
)

func netRows() []tc {
	python := []string{"python3"}
	net := []string{"--network"}
	return []tc{
		{name: "net/off-socket-families-eperm", on: onLinux, needs: python, cmd: py(pyFamilies), want: ok,
			stdout: `\AAF_INET denied 1\nAF_INET6 denied 1\nAF_NETLINK denied 1\n\z`},
		{name: "net/off-read-only-socket-eperm", on: onLinux, policy: "read-only", needs: python, cmd: py(pyFamilies), want: ok,
			stdout: `\AAF_INET denied 1\nAF_INET6 denied 1\nAF_NETLINK denied 1\n\z`},
		{name: "net/off-tcp-to-host-listener-denied", on: onLinux, needs: python, listen: true, cmd: py(pyTCP),
			want: denied, checks: []check{tcpAccepted(0)}, control: true},
		{name: "net/off-udp-dns-query-denied", on: onLinux, needs: python, listen: true, cmd: py(pyDNS),
			want: denied, checks: []check{udpReceived(0)}, control: true},
		{name: "net/off-curl-denied", on: onLinux, needs: []string{"curl"}, listen: true,
			cmd:  sh(`curl -sS --max-time 5 "http://127.0.0.1:$PORT/"`),
			want: denied, stderr: `(?i)curl: \(\d+\)`, checks: []check{tcpAccepted(0)}, control: true},
		{name: "net/off-unix-socketpair-works", on: onLinux, needs: python, cmd: py(pyUnixPair), want: ok, stdout: `\Aunix ok\n\z`},
		{name: "net/off-unix-server-in-cwd-works", on: onLinux, needs: python, cmd: py(pyUnixServer), want: ok,
			stdout: `\Aunix ok\n\z`, checks: []check{noFile("ws/s.sock")}},
		{name: "net/on-socket-families-allowed", on: onLinux, flags: net, needs: python, cmd: py(pyFamilies), want: ok,
			stdout: `\AAF_INET allowed\nAF_INET6 allowed\nAF_NETLINK allowed\n\z`},
		{name: "net/on-tcp-to-host-listener", on: onLinux, flags: net, needs: python, listen: true, cmd: py(pyTCP),
			want: ok, stdout: `\Ahello-from-host\n\z`, checks: []check{tcpAccepted(1)}},
		{name: "net/on-udp-to-host", on: onLinux, flags: net, needs: python, listen: true, cmd: py(pyDNS),
			want: ok, stdout: `\Areply True\n\z`, checks: []check{udpReceived(1)}},
		{name: "net/on-curl", on: onLinux, flags: net, needs: []string{"curl"}, listen: true,
			cmd: sh(`curl -sS --max-time 5 "http://127.0.0.1:$PORT/"`), want: ok, stdout: `\Ahello-from-host\n\z`},
		{name: "net/on-via-policy-json", on: onLinux, policy: `{"mode":"workspace-write","network":true}`, needs: python,
			listen: true, cmd: py(pyTCP), want: ok, stdout: `\Ahello-from-host\n\z`, checks: []check{tcpAccepted(1)}},
		{name: "net/on-still-confines-writes", on: onLinux, flags: net, cmd: sh(`echo x > "$OUT/new.txt"`),
			want: denied, checks: []check{noFile("out/new.txt")}, control: true},
	}
}

func sysRows() []tc {
	python := []string{"python3"}
	call := func(name, expr string) tc {
		return tc{name: "seccomp/" + name + "-denied", on: onLinux, needs: python,
			cmd: py(fmt.Sprintf(pySyscall, expr)), want: ok, stdout: `\Adenied 1\n\z`}
	}
	return []tc{
		call("ptrace", "libc.ptrace(0, 0, None, None)"), // PTRACE_TRACEME
		call("process-vm-readv", "libc.process_vm_readv(os.getpid(), None, 0, None, 0, 0)"),
		call("io-uring-setup", "libc.syscall(425, 1, buf)"),
		{name: "sys/no-new-privs-and-seccomp", on: onLinux, cmd: sh(`grep -E '^(NoNewPrivs|Seccomp):' /proc/self/status`),
			want: ok, stdout: `\ANoNewPrivs:\s+1\nSeccomp:\s+2\n\z`},
		{name: "sys/own-pid-namespace", on: onLinux, cmd: sh(`ls -d /proc/[0-9]* | wc -l`),
			want: ok, stdout: `\A[1-9]\n\z`},
		{name: "sys/minimal-dev", on: onLinux, cmd: sh("ls /dev"), want: ok,
			stdout: `(?ms)^null$.*^urandom$`, noStdout: `(?m)^(vda|sda|nvme0n1|xvda|mem|kmem|port|kmsg|loop0|zram0|fuse)$`},
		{name: "sys/dev-shm-private", on: onLinux, cmd: sh(`echo x > /dev/shm/cordon-smoke-$MARK && cat /dev/shm/cordon-smoke-$MARK`),
			want: ok, stdout: `\Ax\n\z`, checks: []check{noFile("/dev/shm/cordon-smoke-${MARK}")}},
		{name: "sys/raw-disk-read-denied", on: onLinux, cmd: sh(`head -c 512 "$DISK" > /dev/null`),
			setup: func(t *testing.T, w *ws) { w.vars["DISK"] = hostDisk(t) },
			want:  denied, stderr: `(?i)no such file`},
	}
}

// hostDisk is a block device of the host, such as /dev/vda.
func hostDisk(t *testing.T) string {
	ents, _ := os.ReadDir("/sys/block")
	for _, e := range ents {
		n := e.Name()
		if strings.HasPrefix(n, "loop") || strings.HasPrefix(n, "ram") || strings.HasPrefix(n, "zram") {
			continue
		}
		if _, err := os.Stat("/dev/" + n); err == nil {
			return "/dev/" + n
		}
	}
	t.Skip("no block device on this host")
	return ""
}

func procRows() []tc {
	timedOut := `(?m)^cordon: timeout: killed after 1s$`
	fast := custom("cordon returned within 10s", func(_ *ws, r *result) error {
		if r.dur > 10*time.Second {
			return fmt.Errorf("took %s", r.dur)
		}
		return nil
	})
	return []tc{
		{name: "exit/code-7", on: onLinux, cmd: sh("exit 7"), want: exitCode(7)},
		{name: "exit/sigkill-137", on: onLinux, cmd: sh("kill -9 $$"), want: exitCode(137)},
		{name: "exit/sigterm-143", on: onLinux, cmd: sh("kill -TERM $$; sleep 5"), want: exitCode(143)},
		{name: "exit/missing-command-in-shell-127", on: onLinux, cmd: sh("cordon-smoke-no-such-command"), want: exitCode(127)},
		{name: "exit/missing-program-127", on: onLinux, cmd: []string{"cordon-smoke-no-such-program"}, want: exitCode(127)},
		{name: "exit/streams", on: onLinux, cmd: sh("echo out; echo err >&2"), want: ok, stdout: `\Aout\n\z`, stderr: `\Aerr\n\z`},
		{name: "exit/env-passed", on: onLinux, env: map[string]string{"SMOKE_VALUE": "v-${MARK}"}, cmd: sh(`echo "$SMOKE_VALUE" "$PWD"`),
			want: ok, checks: []check{custom("stdout is the value and the cwd", func(w *ws, r *result) error {
				if want := "v-" + w.mark + " " + w.dir + "\n"; r.stdout != want {
					return fmt.Errorf("stdout %q, want %q", r.stdout, want)
				}
				return nil
			})}},
		{name: "timeout/kills-grandchildren", on: onLinux, flags: []string{"--timeout", "1s"},
			cmd: sh("sleep $MARK & sleep $MARK"), want: exitCode(124), stderr: timedOut, checks: []check{fast, noProcs()}, timeout: 20 * time.Second},
		{name: "timeout/kills-setsid-and-ignoring", on: onLinux, flags: []string{"--timeout", "1s"}, needs: []string{"setsid"},
			cmd:  sh(`setsid sleep $MARK & (trap "" TERM HUP INT; sleep $MARK) & sh -c 'sleep $MARK & exit 0'; trap "" TERM HUP INT; sleep $MARK`),
			want: exitCode(124), stderr: timedOut, checks: []check{fast, noProcs()}, timeout: 20 * time.Second},
		{name: "exit/background-children-killed", on: onLinux, cmd: sh("sleep $MARK >/dev/null 2>&1 & echo started"),
			want: ok, stdout: `\Astarted\n\z`, checks: []check{fast, noProcs()}},
		{name: "exit/background-child-holding-stdout", on: onLinux, cmd: sh("sleep $MARK & echo started"),
			want: ok, stdout: `\Astarted\n\z`, checks: []check{fast, noProcs()}},
		{name: "timeout/not-hit", on: onLinux, flags: []string{"--timeout", "20s"}, cmd: sh("echo done"), want: ok, stdout: `\Adone\n\z`, checks: []check{fast}},
		{name: "timeout/json", on: onLinux, flags: []string{"--timeout", "1s", "--json"}, cmd: sh("echo started; exec sleep $MARK"),
			want: exitCode(124), checks: []check{fast, noProcs(), jsonIs(map[string]any{"exit_code": -1, "stdout": "started\n", "stderr": "", "timed_out": true, "truncated": false})},
			timeout: 20 * time.Second},
		// cordon's own SIGTERM ends the tree and cordon says so (125).
		{name: "interrupt/sigterm-to-cordon", on: onLinux, signal: syscall.SIGTERM, signalAfter: time.Second,
			cmd: sh("sleep $MARK & sleep $MARK"), want: exitCode(125), stderr: `(?m)\Acordon: interrupted: [^\n]+\n\z`,
			checks: []check{fast, noProcs()}, timeout: 20 * time.Second},
		// A SIGKILLed cordon cannot clean up: the sandbox dies with it
		// (no survivor), and the next run removes its placeholders.
		{name: "interrupt/sigkill-to-cordon", on: onLinux, signal: syscall.SIGKILL, signalAfter: time.Second,
			cmd: sh("sleep $MARK & sleep $MARK"), want: exitCode(-1), then: []string{"true"},
			checks: []check{fast, noProcs()}, timeout: 20 * time.Second},
		{name: "fd/only-stdio-inherited", on: onLinux, extraFDs: true, cmd: []string{"ls", "/proc/self/fd"}, want: ok, stdout: `\A0\n1\n2\n3\n\z`},
		{name: "json/shape", on: onLinux, flags: []string{"--json"}, cmd: sh("echo out; echo err >&2; exit 3"), want: exitCode(3),
			checks: []check{jsonIs(map[string]any{"exit_code": 3, "stdout": "out\n", "stderr": "err\n", "timed_out": false, "sandbox": "linux", "truncated": false})}},
		{name: "json/sandbox-none", on: onLinux, flags: []string{"--json", "--sandbox", "none"}, cmd: sh(`echo x > "$OUT/new.txt"`), want: ok,
			stderr: `UNSANDBOXED`, checks: []check{hasFile("out/new.txt", "x\n"), jsonIs(map[string]any{"exit_code": 0, "sandbox": "none"})}},
		// The environment filter, through the Linux backend: secrets are
		// dropped, --env-keep and --env bring variables through.
		{name: "env/secrets-dropped", on: onLinux, env: map[string]string{"GITHUB_TOKEN": "s3cret", "SMOKE_API_KEY": "s3cret"},
			cmd: sh(`echo "${GITHUB_TOKEN-unset} ${SMOKE_API_KEY-unset}"`), want: ok, stdout: `\Aunset unset\n\z`},
		{name: "env/keep-and-set", on: onLinux, env: map[string]string{"GITHUB_TOKEN": "s3cret", "NPM_TOKEN": "n"},
			flags: []string{"--env-keep", "NPM_*", "--env", "CI=1"},
			cmd:   sh(`echo "${GITHUB_TOKEN-unset} $NPM_TOKEN $CI"`), want: ok, stdout: `\Aunset n 1\n\z`},
		{name: "env/clear", on: onLinux, env: map[string]string{"SMOKE_EDITOR": "vi"}, flags: []string{"--env-clear"},
			cmd: sh(`echo "${SMOKE_EDITOR-unset} ${PATH:+path}"`), want: ok, stdout: `\Aunset path\n\z`},
	}
}

// jsonIs: stdout is exactly one line, a JSON object with exactly the keys
// of `cordon run --json` (degraded only with --best-effort) and the given
// values; duration_ms is a non-negative integer.
func jsonIs(want map[string]any) check {
	return check{what: "--json output", fn: func(_ *ws, r *result) error {
		if strings.Count(r.stdout, "\n") != 1 || !strings.HasSuffix(r.stdout, "}\n") {
			return fmt.Errorf("not one JSON line: %q", r.stdout)
		}
		var got map[string]any
		if err := json.Unmarshal([]byte(r.stdout), &got); err != nil {
			return err
		}
		var keys []string
		for k := range got {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		if wantKeys := []string{"deny_read", "duration_ms", "env_dropped", "exit_code", "sandbox", "stderr", "stdout", "timed_out", "truncated"}; !reflect.DeepEqual(keys, wantKeys) {
			return fmt.Errorf("keys %v, want %v", keys, wantKeys)
		}
		if d, ok := got["duration_ms"].(float64); !ok || d < 0 || d != float64(int64(d)) {
			return fmt.Errorf("duration_ms %v", got["duration_ms"])
		}
		for k, v := range want {
			if n, isInt := v.(int); isInt {
				v = float64(n)
			}
			if !reflect.DeepEqual(got[k], v) {
				return fmt.Errorf("%s = %#v, want %#v", k, got[k], v)
			}
		}
		return nil
	}}
}

func toolRows() []tc {
	git := []string{"git"}
	return []tc{
		{name: "tools/sh", on: onLinux, cmd: sh("echo $((6*7)) | tr 4 x"), want: ok, stdout: `\Ax2\n\z`},
		{name: "tools/coreutils", on: onLinux, cmd: sh("ls | sort | tr '\\n' ' '; wc -l < hello.txt; sha256sum hello.txt | cut -c1-8"),
			want: ok, stdout: `\Ahello.txt sub 1\n5891b5b5\n\z`},
		{name: "tools/python", on: onLinux, needs: []string{"python3"}, cmd: py(`import sys, json; print(json.dumps({"ok": 6*7}))`),
			want: ok, stdout: `\A\{"ok": 42\}\n\z`},
		{name: "tools/git-version", on: onLinux, needs: git, cmd: []string{"git", "--version"}, want: ok, stdout: `\Agit version `},
		{name: "tools/git-status-reads-protected-repo", on: onLinux, needs: git, cmd: []string{"git", "status", "--porcelain"},
			want: ok, stdout: `(?m)^\?\? hello.txt$`},
		{name: "tools/git-add-to-protected-repo-denied", on: onLinux, needs: git, cmd: []string{"git", "add", "hello.txt"},
			want: denied, checks: []check{noFile("ws/.git/index")}, control: true},
		{name: "tools/git-repo-in-subdir", on: onLinux, needs: git,
			cmd:  sh(`mkdir proj && cd proj && git init -q && echo a > a && git add a && git -c user.name=smoke -c user.email=smoke@example.com commit -qm init && git log --format=%s`),
			want: ok, stdout: `\Ainit\n\z`, checks: []check{hasFile("ws/proj/a", "a\n"), custom("ws/proj/.git/HEAD exists", func(w *ws, _ *result) error {
				_, err := os.Stat(filepath.Join(w.dir, "proj", ".git", "HEAD"))
				return err
			})}},
	}
}

func TestLinuxProcNet(t *testing.T) {
	var rows []tc
	for _, f := range []func() []tc{netRows, sysRows, procRows, toolRows} {
		rows = append(rows, f()...)
	}
	runTable(t, rows)
}
