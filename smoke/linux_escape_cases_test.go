//go:build linux

package smoke

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"golang.org/x/sys/unix"
)

// Escape rows, part 1: what the sandbox reaches on the host besides files
// (System V IPC, POSIX message queues, the caller's keyrings, the sockets of
// the user's tmux and ssh-agent) and the secrets in its environment. Each
// row is an attack found against the Linux backend; its checks look at the
// host after the run, whatever the fix's design.
//
// Debian packages the escape rows (all linux_escape_*_test.go) need, each
// skipped with its reason where the program is missing:
//
//	util-linux (ipcmk, ipcs, ipcrm, unshare), keyutils (keyctl), tmux,
//	openssh-client (ssh-agent, ssh-add, ssh-keygen), libcap2-bin (setcap),
//	git, python3, passwd and login (set-uid /usr/bin/passwd, su)
//
// Rows with asUser run as uid 65534 (nobody), which Debian always has.

// pyIPC attacks the host's System V objects named by SHMID, MSGID and
// IPC_ID_BASE, printing "allowed" or "denied ERRNO" for each call.
const pyIPC = `import ctypes, os, sys
libc = ctypes.CDLL(None, use_errno=True)
libc.shmat.restype = ctypes.c_void_p
def report(what, ok):
    print(what, "allowed" if ok else "denied %d" % ctypes.get_errno())
op = sys.argv[1]
if op == "shm-write":
    p = libc.shmat(int(os.environ["SHMID"]), None, 0)
    ok = p is not None and p != ctypes.c_void_p(-1).value
    if ok:
        ctypes.memmove(p, b"planted by the sandbox", 22)
    report(op, ok)
elif op == "msg-send":
    class Msg(ctypes.Structure):
        _fields_ = [("mtype", ctypes.c_long), ("mtext", ctypes.c_char * 16)]
    report(op, libc.msgsnd(int(os.environ["MSGID"]), ctypes.byref(Msg(1, b"planted")), 7, 0o4000) == 0)  # IPC_NOWAIT
elif op == "plant":
    key = int(os.environ["IPC_ID_BASE"])
    report("shmget", libc.shmget(key, 4096, 0o1666) != -1)  # IPC_CREAT|0666
    report("msgget", libc.msgget(key, 0o1666) != -1)
    report("semget", libc.semget(key, 1, 0o1666) != -1)
`

// pyMQ runs one POSIX message queue call (create, open or unlink) on the
// queue /cordon-smoke-WHICH-MARK and prints "allowed" or "denied ERRNO".
const pyMQ = `import ctypes, os, sys
rt = ctypes.CDLL("librt.so.1", use_errno=True)
op, name = sys.argv[1], ("/cordon-smoke-%s-%s" % (sys.argv[2], os.environ["MARK"])).encode()
if op == "create":
    r = rt.mq_open(name, os.O_CREAT | os.O_RDONLY, ctypes.c_uint(0o600), None)
elif op == "open":
    r = rt.mq_open(name, os.O_RDONLY)
else:
    r = rt.mq_unlink(name)
print(op, "allowed" if r != -1 else "denied %d" % ctypes.get_errno())
`

// ranPy: a pyIPC or pyMQ script ran to its end.
const ranPy = `\A(\S+ (allowed|denied \d+)\n)+\z`

func ipcRows() []tc {
	tools := []string{"python3", "ipcmk", "ipcs", "ipcrm"}
	ro := func(name string, cmd []string, setup func(*testing.T, *ws), checks ...check) tc {
		return tc{name: name, on: onLinux, policy: "read-only", needs: tools, setup: setup, cmd: cmd,
			want: anyExit, stdout: ranPy, checks: append(checks, ranCommand())}
	}
	return asUserToo(
		// A read-only run attaches to the user's shared-memory segment
		// by id and writes into it.
		ro("ipc/shm-write-host-segment", []string{"python3", "-c", pyIPC, "shm-write"}, hostIPC, shmUntouched()),
		// It queues a message on the user's message queue.
		ro("ipc/msg-send-host-queue", []string{"python3", "-c", pyIPC, "msg-send"}, hostIPC, msgQueueEmpty()),
		// It plants a segment, a queue and a semaphore set that outlive
		// the run.
		ro("ipc/plant-objects", []string{"python3", "-c", pyIPC, "plant"}, ipcKey, noIPCKey()),
		// ipcrm deletes the user's objects (by id here: ipcrm -a would
		// also delete the objects of rows running alongside).
		tc{name: "ipc/remove-host-objects", on: onLinux, policy: "read-only", needs: tools, setup: hostIPC,
			cmd: sh(`ipcrm -m "$SHMID" -q "$MSGID" -s "$SEMID"`), want: anyExit, control: true,
			checks: []check{ipcAlive("-m", "SHMID"), ipcAlive("-q", "MSGID"), ipcAlive("-s", "SEMID"), ranCommand()}},
		// POSIX message queues: a read-only run plants a queue on the
		// host and unlinks one of the user's.
		ro("mq/plant-queue", []string{"python3", "-c", pyMQ, "create", "planted"}, mqCleanup, mqState("planted", false)),
		ro("mq/unlink-host-queue", []string{"python3", "-c", pyMQ, "unlink", "host"}, hostMQ, mqState("host", true)),
	)
}

// hostIPC creates, as the row's user, a shared-memory segment, a message
// queue and a semaphore set with ipcmk, and names their ids SHMID, MSGID
// and SEMID; they are removed after the row.
func hostIPC(t *testing.T, w *ws) {
	mk := func(v, kind string, args ...string) {
		out := w.hostRun(t, append([]string{"ipcmk", "-p", "0600"}, args...)...)
		m := regexp.MustCompile(`id: (\d+)`).FindStringSubmatch(out)
		if m == nil {
			t.Fatalf("ipcmk %q: %q", args, out)
		}
		w.vars[v] = m[1]
		t.Cleanup(func() { exec.Command("ipcrm", kind, m[1]).Run() })
	}
	mk("SHMID", "-m", "-M", "4096")
	mk("MSGID", "-q", "-Q")
	mk("SEMID", "-s", "-S", "1")
}

// ipcKey names IPC_ID_BASE a System V key of this row's own, and removes
// whatever has that key on the host after the row.
func ipcKey(t *testing.T, w *ws) {
	n, _ := strconv.Atoi(w.mark[strings.IndexByte(w.mark, '.')+1:])
	key := fmt.Sprintf("0x%08x", 0x5c000000+n)
	w.vars["IPC_ID_BASE"] = fmt.Sprint(0x5c000000 + n)
	t.Cleanup(func() {
		for _, f := range []string{"-M", "-Q", "-S"} {
			exec.Command("ipcrm", f, key).Run()
		}
	})
}

// shmUntouched: the host segment SHMID still holds only zeros.
func shmUntouched() check {
	return check{what: "the host segment ${SHMID} holds only zeros", fn: func(w *ws, _ *result) error {
		id, _ := strconv.Atoi(w.vars["SHMID"])
		b, err := unix.SysvShmAttach(id, 0, unix.SHM_RDONLY)
		if err != nil {
			return fmt.Errorf("attach: %v", err)
		}
		defer unix.SysvShmDetach(b)
		for i, c := range b {
			if c != 0 {
				return fmt.Errorf("byte %d is %q: %q", i, c, strings.TrimRight(string(b[i:min(i+32, len(b))]), "\x00"))
			}
		}
		return nil
	}}
}

// msgQueueEmpty: the host queue MSGID holds no message.
func msgQueueEmpty() check {
	return check{what: "the host queue ${MSGID} is empty", fn: func(w *ws, _ *result) error {
		out, _ := exec.Command("ipcs", "-q", "-i", w.vars["MSGID"]).CombinedOutput()
		if !regexp.MustCompile(`\bqnum=0\b`).Match(out) {
			return fmt.Errorf("ipcs -q -i %s:\n%s", w.vars["MSGID"], out)
		}
		return nil
	}}
}

// ipcAlive: the host object of kind (-m, -q, -s) whose id is in v exists.
func ipcAlive(kind, v string) check {
	return check{what: "the host IPC object " + kind + " ${" + v + "} still exists", fn: func(w *ws, _ *result) error {
		out, _ := exec.Command("ipcs", kind, "-i", w.vars[v]).CombinedOutput()
		if !regexp.MustCompile(`id=` + w.vars[v] + `\b`).Match(out) {
			return fmt.Errorf("ipcs %s -i %s:\n%s", kind, w.vars[v], out)
		}
		return nil
	}}
}

// noIPCKey: no System V object on the host has the key IPC_ID_BASE.
func noIPCKey() check {
	return check{what: "no host IPC object has the key ${IPC_ID_BASE}", fn: func(w *ws, _ *result) error {
		n, _ := strconv.Atoi(w.vars["IPC_ID_BASE"])
		key := fmt.Sprintf("0x%08x", n)
		for _, kind := range []string{"-m", "-q", "-s"} {
			out, err := exec.Command("ipcs", kind).CombinedOutput()
			if err != nil {
				return fmt.Errorf("ipcs %s: %v", kind, err)
			}
			if strings.Contains(string(out), key) {
				return fmt.Errorf("ipcs %s lists %s:\n%s", kind, key, out)
			}
		}
		return nil
	}}
}

// hostMQ creates, as the row's user, the queue /cordon-smoke-host-MARK.
func hostMQ(t *testing.T, w *ws) {
	mqCleanup(t, w)
	if out := w.hostRun(t, "python3", "-c", pyMQ, "create", "host"); out != "create allowed\n" {
		t.Fatalf("creating the host queue: %q", out)
	}
}

// mqCleanup unlinks the row's queues from the host after the row.
func mqCleanup(t *testing.T, w *ws) {
	t.Cleanup(func() {
		for _, which := range []string{"host", "planted"} {
			w.hostOut("python3", "-c", pyMQ, "unlink", which)
		}
	})
}

// mqState: the host queue /cordon-smoke-WHICH-MARK exists, or not.
func mqState(which string, exists bool) check {
	want := map[bool]string{true: "open allowed\n", false: "open denied 2\n"}[exists]
	return check{what: fmt.Sprintf("host queue /cordon-smoke-%s-${MARK}: %q", which, want), fn: func(w *ws, _ *result) error {
		if out, _ := w.hostOut("python3", "-c", pyMQ, "open", which); out != want {
			return fmt.Errorf("on the host: %q", out)
		}
		return nil
	}}
}

// keyringWrap runs cordon in a fresh session keyring holding the key
// cordon-smoke-MARK (secret host-secret-MARK), as the caller's login
// session would, then writes to BASE what the host sees afterwards: the
// key's value (key-after) and whether a key planted-MARK appeared
// (planted-after).
const keyringWrap = `keyctl add user "cordon-smoke-$MARK" "host-secret-$MARK" @s > /dev/null || exit 99
"$@"
rc=$?
k=$(keyctl search @s user "cordon-smoke-$MARK") && keyctl pipe "$k" > "$BASE/key-after"
keyctl search @s user "planted-$MARK" > /dev/null 2>&1 && echo planted > "$BASE/planted-after"
exit $rc`

func keyringRows() []tc {
	return asUserToo(
		// The caller's session keyring is inherited: the sandbox reads
		// a host key's secret, changes it and adds a key.
		tc{name: "keyring/session-key-read-update-add", on: onLinux, policy: "read-only", needs: []string{"keyctl"},
			wrap: []string{"keyctl", "session", "-", "sh", "-c", keyringWrap, "sh"},
			cmd:  sh(`k=$(keyctl search @s user "cordon-smoke-$MARK"); keyctl print "$k"; keyctl update "$k" changed-by-sandbox; keyctl add user "planted-$MARK" x @s`),
			want: anyExit, noStdout: `host-secret-`, checks: []check{ranCommand(), noFile("planted-after"),
				custom("the host key still holds host-secret-${MARK}", func(w *ws, _ *result) error {
					if b, err := os.ReadFile(w.path("key-after")); err != nil || string(b) != "host-secret-"+w.mark {
						return fmt.Errorf("key-after: %q %v", b, err)
					}
					return nil
				})}},
	)
}

func socketRows() []tc {
	tmpRoot := map[string]string{"TMPDIR": ""}
	tmux := sh(`tmux -S "$HOSTSOCK" run-shell "touch $OUT/pwned-by-tmux"`)
	agent := sh(`echo "challenge-$MARK" | SSH_AUTH_SOCK="$AGENT" ssh-keygen -Y sign -f "$PUBKEY" -n smoke; SSH_AUTH_SOCK="$AGENT" ssh-add -D`)
	agentTools := []string{"ssh-agent", "ssh-add", "ssh-keygen"}
	agentChecks := []check{ranCommand(), noAgentSignature(), agentKeepsKey()}
	return []tc{
		// workspace-write with TMPDIR unset binds the host's /tmp
		// read-write: the sandbox drives the user's tmux server (its
		// socket in /tmp) to run a command outside, network off.
		{name: "socket/tmux-run-shell-tmp-root", on: onLinux, env: tmpRoot, needs: []string{"tmux"}, setup: hostTmux, cmd: tmux,
			want: anyExit, checks: []check{ranCommand(), noFile("out/pwned-by-tmux")}, control: true},
		// The same with TMPDIR elsewhere: the host's /tmp, read-only,
		// still holds sockets the sandbox can connect to.
		{name: "socket/tmux-run-shell", on: onLinux, needs: []string{"tmux"}, setup: hostTmux, cmd: tmux,
			want: anyExit, checks: []check{ranCommand(), noFile("out/pwned-by-tmux")}, control: true},
		// The sandbox signs with the key in the user's ssh-agent (its
		// socket in /tmp), then deletes the agent's keys.
		{name: "socket/ssh-agent-sign-and-delete-tmp-root", on: onLinux, env: tmpRoot, needs: agentTools, setup: hostAgent, cmd: agent,
			want: anyExit, checks: agentChecks, control: true},
		{name: "socket/ssh-agent-sign-and-delete", on: onLinux, needs: agentTools, setup: hostAgent, cmd: agent,
			want: anyExit, checks: agentChecks, control: true},
		// TMPDIR unset, /tmp is the sandbox's own: what the command
		// writes there never appears in the host's /tmp.
		{name: "tmp/tmpdir-file-not-in-host-tmp", on: onLinux, env: tmpRoot, setup: removeAfter("/tmp/cordon-smoke-${MARK}"),
			cmd:  sh(`echo t > "${TMPDIR:-/tmp}/cordon-smoke-$MARK" && cat "${TMPDIR:-/tmp}/cordon-smoke-$MARK"`),
			want: ok, stdout: `\At\n\z`, checks: []check{noFile("/tmp/cordon-smoke-${MARK}")}},
	}
}

// hostTmux starts the user's tmux server with its socket in a host /tmp
// directory (HOSTSOCK); it is killed after the row.
func hostTmux(t *testing.T, w *ws) {
	sock := filepath.Join(hostTmpDir(t, "cordon-smoke-tmux-"), "sock")
	host(t, "tmux", "-S", sock, "new-session", "-d", "-s", "smoke", "sleep 600")
	t.Cleanup(func() { exec.Command("tmux", "-S", sock, "kill-server").Run() })
	w.vars["HOSTSOCK"] = sock
}

// hostAgent starts the user's ssh-agent with its socket in a host /tmp
// directory (AGENT) and a key of its own (public half PUBKEY, comment
// smoke-MARK) that exists nowhere else: the private key file is removed.
func hostAgent(t *testing.T, w *ws) {
	sock := filepath.Join(hostTmpDir(t, "cordon-smoke-agent-"), "agent.sock")
	out, err := exec.Command("ssh-agent", "-s", "-a", sock).CombinedOutput()
	m := regexp.MustCompile(`SSH_AGENT_PID=(\d+)`).FindSubmatch(out)
	if err != nil || m == nil {
		t.Fatalf("ssh-agent: %v\n%s", err, out)
	}
	pid, _ := strconv.Atoi(string(m[1]))
	t.Cleanup(func() { unix.Kill(pid, unix.SIGTERM) })
	key := w.path("out/id_smoke")
	host(t, "ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", "smoke-"+w.mark, "-f", key)
	add := exec.Command("ssh-add", "-q", key)
	add.Env = append(os.Environ(), "SSH_AUTH_SOCK="+sock)
	if out, err := add.CombinedOutput(); err != nil {
		t.Fatalf("ssh-add: %v\n%s", err, out)
	}
	os.Remove(key)
	pub, err := os.ReadFile(key + ".pub")
	if err != nil {
		t.Fatal(err)
	}
	w.write(t, "out/allowed_signers", "smoke "+string(pub))
	w.vars["AGENT"], w.vars["PUBKEY"] = sock, key+".pub"
}

// noAgentSignature: stdout holds no signature of challenge-MARK that the
// agent's key made.
func noAgentSignature() check {
	return check{what: "stdout has no signature made with the host agent's key", fn: func(w *ws, r *result) error {
		sig := regexp.MustCompile(`(?s)-----BEGIN SSH SIGNATURE-----.*?-----END SSH SIGNATURE-----`).FindString(r.stdout)
		if sig == "" {
			return nil
		}
		f := w.path("out/stolen.sig")
		if err := os.WriteFile(f, []byte(sig+"\n"), 0o644); err != nil {
			return err
		}
		cmd := exec.Command("ssh-keygen", "-Y", "verify", "-f", w.path("out/allowed_signers"), "-I", "smoke", "-n", "smoke", "-s", f)
		cmd.Stdin = strings.NewReader("challenge-" + w.mark + "\n")
		if out, err := cmd.CombinedOutput(); err == nil {
			return fmt.Errorf("the sandbox signed with the agent's key: %s", out)
		}
		return nil
	}}
}

// agentKeepsKey: the host agent still holds its key.
func agentKeepsKey() check {
	return check{what: "the host agent still holds key smoke-${MARK}", fn: func(w *ws, _ *result) error {
		cmd := exec.Command("ssh-add", "-l")
		cmd.Env = append(os.Environ(), "SSH_AUTH_SOCK="+w.vars["AGENT"])
		out, _ := cmd.CombinedOutput()
		if !strings.Contains(string(out), "smoke-"+w.mark) {
			return fmt.Errorf("ssh-add -l: %s", out)
		}
		return nil
	}}
}

func envRows() []tc {
	secrets := map[string]string{"AWS_SECRET_ACCESS_KEY": "aws-secret-${MARK}", "GITHUB_TOKEN": "gh-token-${MARK}", "SSH_AUTH_SOCK": "/tmp/ssh-smoke/agent.${MARK}"}
	leaked := `aws-secret-|gh-token-|/tmp/ssh-smoke/`
	return []tc{
		// Secrets in the caller's environment reach the command.
		{name: "env/secrets-dropped-by-default", on: onLinux, env: secrets, cmd: []string{"env"},
			want: ok, stdout: `(?m)^PATH=`, noStdout: leaked},
		// --env-keep NAME passes one of them on, and only it.
		{name: "env/keep-flag-keeps-one", on: onLinux, env: secrets, flags: []string{"--env-keep", "GITHUB_TOKEN"}, cmd: []string{"env"},
			want: ok, stdout: `(?m)^GITHUB_TOKEN=gh-token-300\.\d+$`, noStdout: `aws-secret-|/tmp/ssh-smoke/`},
		// --env NAME=VALUE sets one.
		{name: "env/set-flag-sets-one", on: onLinux, env: secrets, flags: []string{"--env", "GITHUB_TOKEN=explicit-${MARK}"}, cmd: []string{"env"},
			want: ok, stdout: `(?m)^GITHUB_TOKEN=explicit-300\.\d+$`, noStdout: leaked},
	}
}

func TestLinuxEscapesIsolation(t *testing.T) {
	var rows []tc
	for _, f := range []func() []tc{ipcRows, keyringRows, socketRows, envRows} {
		rows = append(rows, f()...)
	}
	runTable(t, rows)
}
