package smoke

import (
	"fmt"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// Windows rows: the commands an agent runs most,
// run against the restricted-token backend (auto, with
// CORDON_EXPERIMENTAL_WINDOWS_SANDBOX=1). They run on real Windows with
// CORDON_REAL_WINDOWS=1 only, never under Wine, which enforces no ACLs and
// no token; each row's workspace is cleaned up with cordon cleanup.
//
// The commands see the workspace as %WS%, %OUT%, %EXTRA%, %TEMP% (cmd) and
// $env:WS … (PowerShell). cmd rows avoid inner double quotes: Go quotes
// arguments with backslash escapes, which cmd.exe does not understand.

func cmdc(line string) []string { return []string{"cmd", "/c", line} }

func ps(script string) []string {
	return []string{"powershell", "-NoProfile", "-NonInteractive", "-Command", "$ErrorActionPreference = 'Stop'; " + script}
}

// host runs a command on the host during a row's setup.
func host(t *testing.T, args ...string) {
	t.Helper()
	if out, err := exec.Command(args[0], args[1:]...).CombinedOutput(); err != nil {
		t.Fatalf("%v: %v\n%s", args, err, out)
	}
}

// after waits d, then runs c: for effects a surviving process would have later.
func after(d time.Duration, c check) check {
	return check{what: fmt.Sprintf("after %s: %s", d, c.what), fn: func(w *ws, r *result) error {
		time.Sleep(d)
		return c.fn(w, r)
	}}
}

// ownTempHas checks that the run's TEMP was the workspace's own temp
// directory under the state directory: name is there.
func ownTempHas(name string) check {
	return check{what: "the workspace's own temp directory has " + name, fn: func(w *ws, _ *result) error {
		m, err := filepath.Glob(filepath.Join(w.path("state"), "tmp", "*", name))
		if err != nil || len(m) != 1 {
			return fmt.Errorf("state\\tmp\\*\\%s: %v %v", name, m, err)
		}
		return nil
	}}
}

func windowsRows() []tc {
	win := func(name, policy string, cmd []string, want outcome, checks ...check) tc {
		c := tc{name: name, on: onWindows, policy: policy, cmd: cmd, want: want, checks: checks}
		c.control = want.kind == kindDenied
		return c
	}
	const ro, wsw = "read-only", "workspace-write"
	cfg := unchanged("ws/.git/config")
	gitfile := func(t *testing.T, w *ws) {
		w.remove(t, "ws/.git")
		w.write(t, "ws/.git", "gitdir: ../out/real.git\n")
	}
	worldWritable := func(t *testing.T, w *ws) {
		w.mkdir(t, "out/ww")
		host(t, "icacls", w.path("out/ww"), "/grant", "*S-1-1-0:(OI)(CI)F")
	}
	auditOut := map[string]string{"PUBLIC": "${OUT}"}
	junctionOut := func(t *testing.T, w *ws) { host(t, "cmd", "/c", "mklink", "/J", w.path("ws/j"), w.out) }
	rows := []tc{
		// Writes in and outside the cwd, by cmd, PowerShell and Python.
		win("cwd/cmd-write-ro-denied", ro, cmdc("echo x> new.txt"), denied, noFile("ws/new.txt")),
		win("cwd/cmd-write-ws", wsw, cmdc("echo x> new.txt"), ok, hasFile("ws/new.txt", "x\r\n")),
		win("cwd/cmd-outside-write-denied", wsw, cmdc(`echo x> %OUT%\new.txt`), denied, noFile("out/new.txt")),
		win("cwd/ps-set-content-ws", wsw, ps("Set-Content -NoNewline -Path ps.txt -Value ps"), ok, hasFile("ws/ps.txt", "ps")),
		win("cwd/ps-set-content-ro-denied", ro, ps("Set-Content -NoNewline -Path ps.txt -Value ps"), denied, noFile("ws/ps.txt")),
		win("cwd/ps-writeallbytes-ws", wsw, ps(`[IO.File]::WriteAllBytes("$PWD\b.bin", [byte[]](1,2,3))`), ok, hasFile("ws/b.bin", "\x01\x02\x03")),
		win("cwd/ps-writeallbytes-ro-denied", ro, ps(`[IO.File]::WriteAllBytes("$PWD\b.bin", [byte[]](1,2,3))`), denied, noFile("ws/b.bin")),
		win("cwd/python-write-ws", wsw, []string{"python", "-c", `open("py.txt", "w").write("py")`}, ok, hasFile("ws/py.txt", "py")),
		win("cwd/python-write-ro-denied", ro, []string{"python", "-c", `open("py.txt", "w").write("py")`}, denied, noFile("ws/py.txt")),
		// TEMP: writable in workspace-write only. By default it is the
		// workspace's own temp directory under the state directory, and
		// the user's TEMP (tmp/) is left alone; --temp names one on purpose.
		win("temp/cmd-write-ws-own", wsw, cmdc(`echo t> %TEMP%\t.txt`), ok, noFile("tmp/t.txt"), ownTempHas("t.txt")),
		func() tc {
			c := win("temp/cmd-write-ws-flag", wsw, cmdc(`echo t> %TEMP%\t.txt`), ok, hasFile("tmp/t.txt", "t\r\n"))
			c.flags = []string{"--temp", "${USERTEMP}"}
			return c
		}(),
		win("temp/cmd-write-ro-denied", ro, cmdc(`echo t> %TEMP%\t.txt`), denied, noFile("tmp/t.txt")),
		win("temp/ps-write-ro-denied", ro, ps(`Set-Content -Path "$env:TEMP\t.txt" -Value t`), denied, noFile("tmp/t.txt")),
		// Appends.
		win("append/cmd-ws", wsw, cmdc("echo more>> hello.txt"), ok, hasFile("ws/hello.txt", "hello\nmore\r\n")),
		win("append/cmd-ro-denied", ro, cmdc("echo more>> hello.txt"), denied, unchanged("ws/hello.txt")),
		win("append/cmd-outside-denied", wsw, cmdc(`echo more>> %OUT%\outside.txt`), denied, unchanged("out/outside.txt")),
		// mkdir, rename, delete, move.
		win("fsops/mkdir-deep", wsw, cmdc(`mkdir a\b\c && echo d> a\b\c\d.txt`), ok, hasFile("ws/a/b/c/d.txt", "d\r\n")),
		win("fsops/rename", wsw, cmdc("ren hello.txt renamed.txt"), ok, noFile("ws/hello.txt"), hasFile("ws/renamed.txt", "hello\n")),
		win("fsops/delete", wsw, ps("Remove-Item hello.txt"), ok, noFile("ws/hello.txt")),
		win("fsops/move", wsw, cmdc(`move hello.txt sub\`), ok, hasFile("ws/sub/hello.txt", "hello\n")),
		win("fsops/delete-outside-denied", wsw, ps(`Remove-Item "$env:OUT\outside.txt"`), denied, unchanged("out/outside.txt")),
		win("fsops/move-outside-denied", wsw, ps(`Move-Item "$env:OUT\outside.txt" stolen.txt`), denied, unchanged("out/outside.txt")),
		// Extra writable roots.
		win("extra-root/json-relative", `{"mode":"workspace-write","writable_roots":["..\\extra"]}`, cmdc(`echo e> ..\extra\e.txt`), ok, hasFile("extra/e.txt", "e\r\n")),
		win("extra-root/json-outside-denied", `{"mode":"workspace-write","writable_roots":["..\\extra"]}`, cmdc(`echo x> %OUT%\new.txt`), denied, noFile("out/new.txt")),
		win("extra-root/ro-denied", ro, cmdc(`echo e> %EXTRA%\e.txt`), denied, noFile("extra/e.txt")),
		// Protected names, case variants, gitfiles, streams.
		win("protected/git-config-write", wsw, cmdc(`echo evil> .git\config`), denied, cfg),
		win("protected/git-case-variant", wsw, cmdc(`echo evil> .GiT\config`), denied, cfg),
		win("protected/git-hook-create", wsw, cmdc(`echo evil> .git\hooks\pre-commit.bat`), denied, noFile("ws/.git/hooks/pre-commit.bat")),
		win("protected/git-dir-delete", wsw, ps("Remove-Item -Recurse -Force .git"), denied, unchanged("ws/.git")),
		win("protected/git-dir-rename", wsw, ps("Rename-Item .git git-old"), denied, noFile("ws/git-old")),
		win("protected/git-ads", wsw, cmdc("echo x> .git:evil"), denied, noFile("ws/.git:evil")),
		win("protected/codex-create", wsw, cmdc(`mkdir .codex & echo x> .codex\config.toml`), denied, noFile("ws/.codex")),
		win("protected/codex-case-variant-create", wsw, cmdc(`mkdir .CODEX & echo x> .CODEX\config.toml`), denied, noFile("ws/.codex")),
		win("protected/agents-create", wsw, cmdc(`mkdir .agents & echo x> .agents\AGENTS.md`), denied, noFile("ws/.agents")),
		win("protected/claude-settings-create", wsw, cmdc(`mkdir .claude & echo {}> .claude\settings.json`), denied, noFile("ws/.claude")),
		win("protected/vscode-tasks-create", wsw, cmdc(`mkdir .vscode & echo {}> .vscode\tasks.json`), denied, noFile("ws/.vscode")),
		win("ads/ro-stream-write-denied", ro, cmdc("echo x> hello.txt:evil"), denied, noFile("ws/hello.txt:evil")),
		win("ads/outside-stream-write-denied", wsw, cmdc(`echo x> %OUT%\outside.txt:evil`), denied, noFile("out/outside.txt:evil")),
		// Path tricks: \\?\ long paths, junctions, symlinks.
		win("path/long-path-outside-denied", wsw, cmdc(`echo x> \\?\%OUT%\new.txt`), denied, noFile("out/new.txt")),
		win("path/long-path-drive-root-denied", wsw, cmdc(`echo x> \\?\C:\cordon-smoke-%MARK%.txt`), denied, noFile(`C:\cordon-smoke-${MARK}.txt`)),
		win("path/junction-created-out-denied", wsw, cmdc(`mklink /J j %OUT% && echo x> j\new.txt`), denied, noFile("out/new.txt")),
		win("path/junction-into-windows-denied", wsw, cmdc(`mklink /J w C:\Windows && echo x> w\cordon-smoke-%MARK%.txt`), denied, noFile(`C:\Windows\cordon-smoke-${MARK}.txt`)),
		win("path/symlink-dir-out-denied", wsw, cmdc(`mklink /D l %OUT% && echo x> l\new.txt`), denied, noFile("out/new.txt")),
		// Devices and pipes.
		win("device/physicaldrive0-read-denied", wsw, ps(`[IO.File]::OpenRead('\\.\PhysicalDrive0').Close()`), denied),
		win("device/named-pipe-create-denied", wsw, ps(`(New-Object IO.Pipes.NamedPipeServerStream('cordon_smoke_pipe')).Close()`), denied),
		// Network off: curl, iwr, and a host loopback listener.
		win("net/curl-denied", wsw, cmdc("curl -sS --max-time 10 https://example.com"), denied),
		win("net/iwr-denied", wsw, ps("Invoke-WebRequest -UseBasicParsing -TimeoutSec 10 http://neverssl.com"), denied),
		// Tools still work.
		win("tools/curl-version", wsw, cmdc("curl --version"), ok),
		win("tools/git-version", wsw, []string{"git", "--version"}, ok),
		win("tools/powershell", wsw, ps("6*7"), ok),
		win("exit/code-7", wsw, cmdc("exit 7"), exitCode(7)),
	}
	more := []tc{
		{name: "path/junction-preexisting-out-denied", policy: wsw, setup: junctionOut, cmd: cmdc(`echo x> j\new.txt`)},
		// The audit looks one level below PUBLIC (among other places), so
		// the Everyone-writable directory is put where it looks.
		{name: "world-writable/ws-denied", policy: wsw, setup: worldWritable, env: auditOut, cmd: cmdc(`echo x> %OUT%\ww\new.txt`)},
		{name: "world-writable/ro-denied", policy: ro, setup: worldWritable, env: auditOut, cmd: cmdc(`echo x> %OUT%\ww\new.txt`)},
		{name: "protected/gitfile-rewrite", policy: wsw, setup: gitfile, cmd: cmdc(`echo gitdir: C:\evil> .git`), checks: []check{unchanged("ws/.git")}},
		{name: "net/host-listener-denied", policy: wsw, listen: true, checks: []check{tcpAccepted(0)},
			unbuilt: "the elevated mode's firewall (without it network-off is environment variables only)",
			cmd:     ps("(New-Object Net.Sockets.TcpClient).Connect('127.0.0.1', [int]$env:PORT)")},
	}
	for _, c := range more {
		c.on, c.want, c.control = onWindows, denied, true
		if c.checks == nil {
			c.checks = []check{noFile("out/new.txt"), noFile("out/ww/new.txt")}
		}
		rows = append(rows, c)
	}
	rows = append(rows,
		tc{name: "timeout/kills-tree", on: onWindows, flags: []string{"--timeout", "1s"}, want: exitCode(124), timeout: 30 * time.Second,
			cmd:    cmdc(`start /b cmd /c "ping -n 5 127.0.0.1 >nul & echo late> late.txt" & ping -n 300 127.0.0.1 >nul`),
			checks: []check{after(8*time.Second, noFile("ws/late.txt"))}},
		// The job's process limit: cmd itself is the one process allowed,
		// so the cmd it starts cannot be created.
		tc{name: "limits/process-limit", on: onWindows, flags: []string{"--process-limit", "1"},
			cmd: cmdc(`cmd /c echo nested> nested.txt`), want: denied, stderr: "quota|Quota", checks: []check{noFile("ws/nested.txt")}},
		tc{name: "extra-root/flag-absolute", on: onWindows, flags: []string{"--writable-root", "${EXTRA}"},
			cmd: cmdc(`echo e> %EXTRA%\e.txt`), want: ok, checks: []check{hasFile("extra/e.txt", "e\r\n")}},
	)
	for i := range rows {
		rows[i].name = "windows/" + rows[i].name
		switch line := strings.Join(rows[i].cmd, " "); {
		case rows[i].cmd[0] == "python" || rows[i].cmd[0] == "git":
			rows[i].needs = []string{rows[i].cmd[0]}
		case strings.Contains(line, "curl "):
			rows[i].needs = []string{"curl"}
		}
	}
	return rows
}

func TestWindows(t *testing.T) { runTable(t, windowsRows()) }
