package smoke

import (
	"fmt"
	"os"
	"regexp"
	"strings"
	"testing"
)

// Linux rows, part 1: the file system. Every row runs in a fresh workspace
// (see ws); on top of its own checks, every row must leave .git, .codex and
// .agents of the cwd and of extra/ exactly as they were (protectedPaths),
// and no mount behind.

func sh(script string) []string { return []string{"sh", "-c", script} }

// roWrites: write attempts a read-only policy must refuse (all with a
// control run: unsandboxed, the same command succeeds).
func roRows() []tc {
	ro := func(name, script string, checks ...check) tc {
		return tc{name: "read-only/" + name, on: onLinux, policy: "read-only", cmd: sh(script), want: denied, checks: checks, control: true}
	}
	return []tc{
		ro("cwd-write-denied", "echo x > new.txt", noFile("ws/new.txt")),
		ro("overwrite-denied", "echo x > hello.txt", unchanged("ws/hello.txt")),
		ro("append-denied", "echo more >> hello.txt", unchanged("ws/hello.txt")),
		ro("mkdir-denied", "mkdir newdir", noFile("ws/newdir")),
		ro("rename-denied", "mv hello.txt renamed.txt", unchanged("ws/hello.txt"), noFile("ws/renamed.txt")),
		ro("delete-denied", "rm hello.txt", unchanged("ws/hello.txt")),
		ro("subdir-delete-denied", "rm -r sub", unchanged("ws/sub")),
		ro("chmod-denied", "chmod 600 hello.txt", unchanged("ws/hello.txt")),
		ro("outside-write-denied", `echo x > "$OUT/new.txt"`, noFile("out/new.txt")),
		{name: "read-only/python-write-denied", on: onLinux, policy: "read-only", needs: []string{"python3"},
			cmd:  []string{"python3", "-c", `open("py.txt", "w").write("py")`},
			want: denied, checks: []check{noFile("ws/py.txt")}, control: true},
		{name: "read-only/dev-null-writable", on: onLinux, policy: "read-only",
			cmd: sh("echo x > /dev/null && echo ok"), want: ok, stdout: `\Aok\n\z`},
		{name: "read-only/reads-work", on: onLinux, policy: "read-only",
			cmd: sh(`cat hello.txt sub/file.txt "$OUT/outside.txt" && head -n1 /etc/passwd | cut -d: -f1`), want: ok,
			stdout: `\Ahello\nsub\noutside\nroot\n\z`},
		// The private /tmp: writable, empty at the start, never on the host.
		{name: "read-only/tmpdir-private", on: onLinux, policy: "read-only", env: map[string]string{"TMPDIR": ""},
			cmd:  sh(`echo t > "${TMPDIR:-/tmp}/t-$MARK" && cat "${TMPDIR:-/tmp}/t-$MARK" && ls -A /tmp | wc -l`),
			want: ok, stdout: `\At\n1\n\z`, checks: []check{noFile("/tmp/t-${MARK}")}},
		{name: "read-only/tmpdir-set-to-slash-tmp", on: onLinux, policy: "read-only", env: map[string]string{"TMPDIR": "/tmp"},
			cmd:  sh(`mktemp -d | grep -q '^/tmp/' && echo t > "$TMPDIR/t-$MARK" && cat "$TMPDIR/t-$MARK"`),
			want: ok, stdout: `\At\n\z`, checks: []check{noFile("/tmp/t-${MARK}")}},
		// A cwd below /tmp stays visible (read-only) in the private /tmp.
		{name: "read-only/cwd-under-tmp", on: onLinux, policy: "read-only", underTmp: true,
			cmd: sh("cat hello.txt && echo x > hello.txt"), want: denied, stdout: `\Ahello\n\z`, checks: []check{unchanged("ws/hello.txt")}},
	}
}

// wsRows: what workspace-write allows, and what it still refuses.
func wsRows() []tc {
	allow := func(name, script string, checks ...check) tc {
		return tc{name: "workspace-write/" + name, on: onLinux, cmd: sh(script), want: ok, checks: checks}
	}
	deny := func(name, script string, checks ...check) tc {
		return tc{name: "workspace-write/" + name, on: onLinux, cmd: sh(script), want: denied, checks: checks, control: true}
	}
	extra := []string{"--writable-root", "${EXTRA}"}
	policyFile := func(t *testing.T, w *ws) {
		w.write(t, "policy.json", `{"mode":"workspace-write","writable_roots":["../extra"]}`)
	}
	return []tc{
		allow("cwd-write", "echo hi > new.txt", hasFile("ws/new.txt", "hi\n")),
		allow("subdir-write", "echo hi > sub/new.txt", hasFile("ws/sub/new.txt", "hi\n")),
		allow("overwrite", "echo new > hello.txt", hasFile("ws/hello.txt", "new\n")),
		allow("append", "echo more >> hello.txt", hasFile("ws/hello.txt", "hello\nmore\n")),
		allow("mkdir-deep", "mkdir -p a/b/c && echo d > a/b/c/d.txt", hasFile("ws/a/b/c/d.txt", "d\n")),
		allow("rename", "mv hello.txt renamed.txt", noFile("ws/hello.txt"), hasFile("ws/renamed.txt", "hello\n")),
		allow("delete", "rm hello.txt", noFile("ws/hello.txt")),
		allow("move-into-subdir", "mv hello.txt sub/", noFile("ws/hello.txt"), hasFile("ws/sub/hello.txt", "hello\n")),
		allow("delete-tree", "rm -r sub", noFile("ws/sub")),
		allow("chmod", "chmod 600 hello.txt", custom("hello.txt has mode 0600", func(w *ws, _ *result) error {
			if fi, err := os.Stat(w.path("ws/hello.txt")); err != nil || fi.Mode().Perm() != 0o600 {
				return fmt.Errorf("stat: %v %v", fi.Mode(), err)
			}
			return nil
		})),
		// The temp directory is the sandbox's own: TMPDIR points at a
		// private /tmp, whatever the caller's said, and nothing written
		// there reaches the host's /tmp, /var/tmp or TMPDIR.
		{name: "workspace-write/tmpdir-private", on: onLinux, cmd: sh(`echo t > "$TMPDIR/t.txt" && cat "$TMPDIR/t.txt" && echo "$TMPDIR $TMP $TEMP"`),
			want: ok, stdout: `\At\n/tmp /tmp /tmp\n\z`, checks: []check{noFile("tmp/t.txt")}},
		{name: "workspace-write/default-tmp-private", on: onLinux, env: map[string]string{"TMPDIR": ""},
			setup: func(t *testing.T, w *ws) { t.Cleanup(func() { os.Remove(w.path("/tmp/cordon-smoke-${MARK}")) }) },
			cmd:   sh(`echo t > /tmp/cordon-smoke-$MARK && cat /tmp/cordon-smoke-$MARK && ls -A /tmp | wc -l`), want: ok,
			stdout: `\At\n1\n\z`, checks: []check{noFile("/tmp/cordon-smoke-${MARK}")}},
		{name: "workspace-write/var-tmp-private", on: onLinux,
			setup: func(t *testing.T, w *ws) { t.Cleanup(func() { os.Remove(w.path("/var/tmp/cordon-smoke-${MARK}")) }) },
			cmd:   sh(`echo t > /var/tmp/cordon-smoke-$MARK && cat /var/tmp/cordon-smoke-$MARK`), want: ok,
			stdout: `\At\n\z`, checks: []check{noFile("/var/tmp/cordon-smoke-${MARK}")}},
		{name: "workspace-write/cwd-under-tmp", on: onLinux, underTmp: true, cmd: sh("echo hi > new.txt"),
			want: ok, checks: []check{hasFile("ws/new.txt", "hi\n")}},
		// TMPDIR unset: /tmp is a root holding the cwd; the cwd's .git
		// stays protected although /tmp covers it.
		{name: "workspace-write/cwd-under-default-tmp", on: onLinux, underTmp: true, env: map[string]string{"TMPDIR": ""},
			cmd:  sh("echo hi > new.txt && echo evil > .git/config"),
			want: denied, checks: []check{hasFile("ws/new.txt", "hi\n"), unchanged("ws/.git/config")}, control: true},
		// A hard link made in the sandbox to an outside file: link(2)
		// fails across the mounts, or the write must not reach the file.
		{name: "workspace-write/hardlink-to-outside-file", on: onLinux, cmd: sh(`ln "$OUT/outside.txt" hl; echo evil > hl`),
			want: anyExit, checks: []check{unchanged("out/outside.txt")}, control: true},
		{name: "workspace-write/python-write", on: onLinux, needs: []string{"python3"},
			cmd:  []string{"python3", "-c", `open("py.txt", "w").write("py")`},
			want: ok, checks: []check{hasFile("ws/py.txt", "py")}},

		deny("outside-write-denied", `echo x > "$OUT/new.txt"`, noFile("out/new.txt")),
		deny("outside-overwrite-denied", `echo x > "$OUT/outside.txt"`, unchanged("out/outside.txt")),
		deny("outside-append-denied", `echo x >> "$OUT/outside.txt"`, unchanged("out/outside.txt")),
		deny("outside-mkdir-denied", `mkdir "$OUT/newdir"`, noFile("out/newdir")),
		deny("outside-delete-denied", `rm "$OUT/outside.txt"`, unchanged("out/outside.txt")),
		deny("outside-rename-denied", `mv "$OUT/outside.txt" "$OUT/moved.txt"`, unchanged("out/outside.txt"), noFile("out/moved.txt")),
		deny("outside-chmod-denied", `chmod 666 "$OUT/outside.txt"`, unchanged("out/outside.txt")),
		deny("outside-utimes-denied", `touch -d 2001-01-01 "$OUT/outside.txt"`, unchanged("out/outside.txt")),
		deny("move-outside-file-in-denied", `mv "$OUT/outside.txt" stolen.txt`, unchanged("out/outside.txt")),
		deny("move-inside-file-out-denied", `mv hello.txt "$OUT/"`, noFile("out/hello.txt"), unchanged("ws/hello.txt")),
		deny("parent-dir-write-denied", "echo x > ../escape.txt", noFile("escape.txt")),
		// Not controlled: unsandboxed, these would write the host's /etc and /tmp.
		{name: "workspace-write/root-fs-write-denied", on: onLinux, cmd: sh(`echo x > /etc/cordon-smoke-$MARK`),
			want: denied, checks: []check{noFile("/etc/cordon-smoke-${MARK}")}},
		// exclude_tmp keeps the caller's TMPDIR out of the roots, as
		// it always is on Linux now: the command still has its own.
		{name: "workspace-write/exclude-tmp-private", on: onLinux, policy: `{"mode":"workspace-write","exclude_tmp":true}`,
			cmd: sh(`echo t > "$TMPDIR/t.txt" && echo "$TMPDIR"`), want: ok, stdout: `\A/tmp\n\z`, checks: []check{noFile("tmp/t.txt")}},
		// Naming the host's /tmp as a root is allowed, with a warning:
		// the Unix sockets of other programs there become reachable.
		{name: "workspace-write/host-tmp-as-root-warns", on: onLinux, flags: []string{"--writable-root", "/tmp"},
			setup: func(t *testing.T, w *ws) { t.Cleanup(func() { os.Remove(w.path("/tmp/cordon-smoke-${MARK}")) }) },
			cmd:   sh(`echo t > /tmp/cordon-smoke-$MARK`), want: ok, stderr: `cordon: warning: [^\n]*/tmp is a writable root[^\n]*sockets`,
			checks: []check{hasFile("/tmp/cordon-smoke-${MARK}", "t\n")}},

		// Extra writable roots.
		// Resource limits: a process limit of 4 caps the command's tree
		// (cordon's init has an allowance of its own on top), so forty
		// sleeps cannot all be forked. With only rlimits (no cgroup for
		// cordon) a root caller cannot be held by RLIMIT_NPROC: the run
		// is then refused (125) rather than run unlimited.
		{name: "limits/process-limit-enforced", on: onLinux, flags: []string{"--process-limit", "4"},
			cmd: sh(`for i in $(seq 40); do sleep 2 & done; wait`), want: anyExit,
			checks: []check{custom("forks beyond the limit failed, or the run was refused", func(_ *ws, r *result) error {
				if r.code == 125 && regexp.MustCompile(`cordon: unavailable: [^\n]*process`).MatchString(r.stderr) {
					return nil
				}
				if r.code != 0 && regexp.MustCompile(`(?i)fork|resource temporarily unavailable`).MatchString(r.stderr) {
					return nil
				}
				return fmt.Errorf("exit %d, stderr %q", r.code, r.stderr)
			})}},
		// With --best-effort a memory limit is either enforced (the 256
		// MiB allocation fails) or said not to be.
		{name: "limits/memory-limit-best-effort", on: onLinux, needs: []string{"python3"}, flags: []string{"--best-effort", "--memory-limit", "64M"},
			cmd: []string{"python3", "-c", "b = bytearray(256 << 20); b[::4096] = b'x' * len(b[::4096])"}, want: anyExit,
			checks: []check{custom("the allocation failed, or a warning says the limit is not enforced", func(_ *ws, r *result) error {
				if r.code != 0 || strings.Contains(r.stderr, "cordon: warning: not enforced: limits") {
					return nil
				}
				return fmt.Errorf("exit %d, stderr %q", r.code, r.stderr)
			})}},
		{name: "extra-root/flag-absolute", on: onLinux, flags: extra, cmd: sh(`echo e > "$EXTRA/e.txt"`),
			want: ok, checks: []check{hasFile("extra/e.txt", "e\n")}},
		{name: "extra-root/flag-relative", on: onLinux, flags: []string{"--writable-root", "../extra"},
			cmd: sh(`echo e > ../extra/e.txt && echo c > c.txt`), want: ok, checks: []check{hasFile("extra/e.txt", "e\n"), hasFile("ws/c.txt", "c\n")}},
		{name: "extra-root/policy-json-relative", on: onLinux, policy: `{"mode":"workspace-write","writable_roots":["../extra"]}`,
			cmd: sh(`echo e > ../extra/e.txt && rm ../extra/extra.txt`), want: ok, checks: []check{hasFile("extra/e.txt", "e\n"), noFile("extra/extra.txt")}},
		{name: "extra-root/policy-file-relative", on: onLinux, policy: "@${BASE}/policy.json", setup: policyFile,
			cmd: sh(`echo e > ../extra/e.txt`), want: ok, checks: []check{hasFile("extra/e.txt", "e\n")}},
		{name: "extra-root/policy-file-outside-denied", on: onLinux, policy: "@${BASE}/policy.json", setup: policyFile,
			cmd: sh(`echo x > "$OUT/new.txt"`), want: denied, checks: []check{noFile("out/new.txt")}, control: true},
		{name: "extra-root/outside-still-denied", on: onLinux, flags: extra, cmd: sh(`echo x > "$OUT/new.txt"`),
			want: denied, checks: []check{noFile("out/new.txt")}, control: true},
		{name: "extra-root/git-protected", on: onLinux, flags: extra, cmd: sh(`echo x >> "$EXTRA/.git/config"`),
			want: denied, checks: []check{unchanged("extra/.git/config")}, control: true},
		{name: "extra-root/codex-create-denied", on: onLinux, flags: extra, cmd: sh(`mkdir -p "$EXTRA/.codex" && echo x > "$EXTRA/.codex/config.toml"`),
			want: denied, checks: []check{noFile("extra/.codex")}, control: true},
		{name: "extra-root/symlink-out-denied", on: onLinux, flags: extra,
			setup: func(t *testing.T, w *ws) { w.symlink(t, "../out", "extra/link") },
			cmd:   sh(`echo x > "$EXTRA/link/new.txt"`), want: denied, checks: []check{noFile("out/new.txt")}, control: true},
		{name: "extra-root/symlinked-root-refused", on: onLinux, flags: []string{"--writable-root", "${BASE}/extralink"},
			setup: func(t *testing.T, w *ws) { w.symlink(t, "extra", "extralink") },
			cmd:   sh(`echo e > "$EXTRA/e.txt"`), want: exitCode(125), stderr: `\Acordon: setup_failed: [^\n]*symbolic link[^\n]*\n\z`,
			checks: []check{noFile("extra/e.txt")}},
		{name: "extra-root/read-only-ignores-extra", on: onLinux, policy: "read-only", cmd: sh(`echo x > "$EXTRA/new.txt"`),
			want: denied, checks: []check{noFile("extra/new.txt")}, control: true},
	}
}

// protectedRows: the protected names stay read-only however they are reached.
func protectedRows() []tc {
	p := func(name, script string, checks ...check) tc {
		return tc{name: "protected/" + name, on: onLinux, cmd: sh(script), want: denied, checks: checks, control: true}
	}
	cfg := unchanged("ws/.git/config")
	noGit := func(t *testing.T, w *ws) { w.remove(t, "ws/.git") }
	gitfile := func(t *testing.T, w *ws) {
		w.remove(t, "ws/.git")
		w.write(t, "ws/.git", "gitdir: ../out/real.git\n")
	}
	isDir := `|is a directory|file exists`
	policyEnv := `{"mode":"workspace-write","protected_names":[".env"]}`
	rows := []tc{
		p("git-config-write", "echo evil > .git/config", cfg),
		p("git-config-append", `printf '[core]\n\thooksPath = /tmp\n' >> .git/config`, cfg),
		p("git-config-rename", "mv .git/config .git/config.bak", cfg, noFile("ws/.git/config.bak")),
		p("git-config-delete", "rm -f .git/config", cfg),
		p("git-config-chmod", "chmod 666 .git/config", cfg),
		p("git-hook-create", `echo '#!/bin/sh' > .git/hooks/pre-commit && chmod +x .git/hooks/pre-commit`, noFile("ws/.git/hooks/pre-commit")),
		p("git-file-create", "touch .git/newfile", noFile("ws/.git/newfile")),
		p("git-mkdir-inside", "mkdir .git/info", noFile("ws/.git/info")),
		p("git-dir-rename", "mv .git .git-old", noFile("ws/.git-old")),
		p("git-dir-delete", "rm -rf .git", unchanged("ws/.git")),
		p("git-dir-to-symlink", `rm -rf .git; ln -s "$OUT" .git && echo evil > .git/config`, noFile("out/config")),
		p("git-swap-dir", "mv .git .git-old; mkdir fake && echo evil > fake/config && mv -T fake .git", cfg),
		p("git-via-dotdot", "cd sub && echo evil > ../.git/config", cfg),
		p("git-via-proc-root", `echo evil > "/proc/self/root$PWD/.git/config"`, cfg),
		p("git-via-proc-cwd", "echo evil > /proc/self/cwd/.git/config", cfg),
		p("git-via-symlink", "ln -s .git/config c && echo evil > c", cfg),
		p("codex-create", "mkdir -p .codex && echo x > .codex/config.toml", noFile("ws/.codex")),
		p("agents-create", "mkdir -p .agents && echo x > .agents/AGENTS.md", noFile("ws/.agents")),
		p("claude-hook-create", `mkdir -p .claude && echo '{"hooks":{"Stop":[{"hooks":[{"type":"command","command":"touch /tmp/pwned"}]}]}}' > .claude/settings.json`, noFile("ws/.claude")),
		p("vscode-task-create", `mkdir -p .vscode && echo '{"version":"2.0.0","tasks":[{"label":"x","command":"touch /tmp/pwned","runOptions":{"runOn":"folderOpen"}}]}' > .vscode/tasks.json`, noFile("ws/.vscode")),
		// Two runs at once in one workspace (an agent's parallel tool
		// calls): the first run's placeholder must keep protecting the
		// second run after the first one ends.
		{name: "protected/codex-create-during-concurrent-run", on: onLinux, alongside: sh("sleep 1"),
			cmd:  sh("sleep 2; mkdir -p .codex && echo evil > .codex/config.toml"),
			want: denied, checks: []check{noFile("ws/.codex")}, control: true},
		// A hard link either fails (the .git mount is another mount) or
		// is a link to a read-only file; either way .git/config stays.
		{name: "protected/git-via-hardlink", on: onLinux, cmd: sh("ln .git/config cfg; echo evil > cfg"),
			want: anyExit, checks: []check{cfg}, control: true},
		{name: "protected/codex-create-file", on: onLinux, cmd: sh("rm -rf .codex; echo x > .codex"),
			want: denied, stderr: deniedRE + isDir, checks: []check{noFile("ws/.codex")}, control: true},
		{name: "protected/codex-existing", on: onLinux, cmd: sh("echo evil > .codex/config.toml"),
			setup: func(t *testing.T, w *ws) { w.mkdir(t, "ws/.codex"); w.write(t, "ws/.codex/config.toml", "x = 1\n") },
			want:  denied, checks: []check{unchanged("ws/.codex/config.toml")}, control: true},
		{name: "protected/git-missing-create", on: onLinux, setup: noGit,
			// The placeholder is an empty read-only file here (no
			// repository encloses the workspace), so mkdir meets a file.
			cmd: sh("mkdir -p .git/hooks && echo x > .git/hooks/pre-commit"), want: denied, stderr: "Not a directory",
			checks: []check{noFile("ws/.git")}, control: true},
		{name: "protected/git-missing-init", on: onLinux, setup: noGit, needs: []string{"git"},
			cmd: []string{"git", "init", "-q", "."}, want: denied, stderr: "invalid gitfile format", checks: []check{noFile("ws/.git")}, control: true},
		{name: "protected/gitfile-rewrite", on: onLinux, setup: gitfile, cmd: sh(`echo "gitdir: $OUT" > .git`),
			want: denied, checks: []check{unchanged("ws/.git")}, control: true},
		{name: "protected/gitfile-delete", on: onLinux, setup: gitfile, cmd: sh("rm .git"),
			want: denied, checks: []check{unchanged("ws/.git")}, control: true},
		{name: "protected/gitfile-to-dir", on: onLinux, setup: gitfile, cmd: sh("rm -f .git; mkdir .git && echo x > .git/config"),
			want: denied, stderr: deniedRE + isDir, checks: []check{unchanged("ws/.git")}, control: true},
		{name: "protected/policy-name-existing", on: onLinux, policy: policyEnv, cmd: sh("echo x > .env"),
			setup: func(t *testing.T, w *ws) { w.write(t, "ws/.env", "SECRET=1\n") },
			want:  denied, checks: []check{unchanged("ws/.env")}, control: true},
		{name: "protected/policy-name-missing", on: onLinux, policy: policyEnv, cmd: sh("rm -rf .env; echo x > .env"),
			want: denied, stderr: deniedRE + isDir, checks: []check{noFile("ws/.env")}, control: true},
		// Mount tricks: the protected mounts are locked; "MOUNTED" on
		// stdout would mean the trick itself worked.
		{name: "protected/umount", on: onLinux, needs: []string{"umount"},
			cmd:  sh(`umount "$PWD/.git" && echo MOUNTED; umount -l "$PWD/.git" && echo MOUNTED; echo evil > .git/config`),
			want: denied, noStdout: "MOUNTED", checks: []check{cfg}},
		{name: "protected/remount-rw", on: onLinux, needs: []string{"mount"},
			cmd:  sh(`mount -o remount,rw "$PWD/.git" && echo MOUNTED; mount -o remount,bind,rw "$PWD/.git" && echo MOUNTED; echo evil > .git/config`),
			want: denied, noStdout: "MOUNTED", checks: []check{cfg}},
		{name: "protected/bind-parent", on: onLinux, needs: []string{"mount"},
			cmd:  sh(`mkdir m && mount --bind "$PWD" "$PWD/m" && echo MOUNTED; echo evil > m/.git/config`),
			want: denied, stderr: deniedRE + `|nonexistent|no such file`, noStdout: "MOUNTED", checks: []check{cfg}},
		{name: "protected/unshare-umount", on: onLinux, needs: []string{"unshare", "umount"},
			cmd:  sh(`unshare -Urm sh -c 'umount "$PWD/.git" && echo MOUNTED; umount -l "$PWD/.git" && echo MOUNTED; echo evil > .git/config'`),
			want: denied, noStdout: "MOUNTED", checks: []check{cfg}},
		{name: "protected/unshare-remount-rw", on: onLinux, needs: []string{"unshare", "mount"},
			cmd:  sh(`unshare -Urm sh -c 'mount -o remount,bind,rw "$PWD/.git" && echo MOUNTED; echo evil > .git/config'`),
			want: denied, noStdout: "MOUNTED", checks: []check{cfg}},
		{name: "protected/unshare-bind-parent", on: onLinux, needs: []string{"unshare", "mount"},
			cmd:  sh(`mkdir m && unshare -Urm sh -c 'mount --bind "$PWD" "$PWD/m" && echo MOUNTED; echo evil > m/.git/config'`),
			want: denied, stderr: deniedRE + `|nonexistent|no such file`, noStdout: "MOUNTED", checks: []check{cfg}},
	}
	// The same mount tricks as system calls, so that they are really
	// made (util-linux's umount refuses by itself, and unshare -r cannot
	// write its uid_map under Landlock): unshare(2) without a uid map
	// still gives every capability in the new user namespace.
	for _, nested := range []bool{false, true} {
		name := "protected/mount-syscalls"
		if nested {
			name = "protected/mount-syscalls-in-nested-userns"
		}
		rows = append(rows, tc{name: name, on: onLinux, needs: []string{"python3"},
			cmd:  py(fmt.Sprintf(pyMounts, map[bool]string{true: "True", false: "False"}[nested])),
			want: ok, stdout: `(?m)^write \.git/config denied \d+$`, noStdout: `(?m)^(umount2|remount-rw|bind-cwd|write .*) allowed`, checks: []check{cfg}})
	}
	return rows
}

// pyMounts tries to unmount .git, remount it read-write and bind the cwd
// without its submounts, then writes .git/config (and m/.git/config if
// the bind worked), printing "allowed" or "denied ERRNO" for each.
const pyMounts = `import ctypes, os
libc = ctypes.CDLL(None, use_errno=True)
def call(name, f):
    ctypes.set_errno(0)
    r = f()
    print(name, "allowed" if r == 0 else "denied %%d" %% ctypes.get_errno())
    return r == 0
if %s:
    call("unshare", lambda: libc.unshare(0x10000000 | 0x00020000))  # CLONE_NEWUSER|CLONE_NEWNS
cwd = os.getcwd().encode()
os.mkdir("m")
call("umount2", lambda: libc.umount2(cwd + b"/.git", 2))  # MNT_DETACH
call("remount-rw", lambda: libc.mount(None, cwd + b"/.git", None, 0x20 | 0x1000, None))  # MS_REMOUNT|MS_BIND
bound = call("bind-cwd", lambda: libc.mount(cwd, cwd + b"/m", None, 0x1000, None))  # MS_BIND
for p in [".git/config"] + (["m/.git/config"] if bound else []):
    try:
        open(p, "a").write("evil\n")
        print("write", p, "allowed")
    except OSError as e:
        print("write", p, "denied", e.errno)
`

// symlinkRows: links out of the writable roots lead to read-only places.
func symlinkRows() []tc {
	s := func(name, script string, setup func(*testing.T, *ws), checks ...check) tc {
		return tc{name: "symlink/" + name, on: onLinux, cmd: sh(script), setup: setup, want: denied, checks: checks, control: true}
	}
	return []tc{
		s("preexisting-dir-link-out", "echo x > link/new.txt",
			func(t *testing.T, w *ws) { w.symlink(t, "../out", "ws/link") }, noFile("out/new.txt")),
		s("created-dir-link-out", `ln -s "$OUT" l && echo x > l/new.txt`, nil, noFile("out/new.txt")),
		s("file-link-out", `ln -s "$OUT/outside.txt" f && echo evil > f`, nil, unchanged("out/outside.txt")),
		s("dangling-link-out", `ln -s "$OUT/new.txt" f && echo x > f`, nil, noFile("out/new.txt")),
		s("subdir-replaced-by-link", `rm -r sub && ln -s "$OUT" sub && echo x > sub/new.txt`, nil, noFile("out/new.txt")),
		{name: "symlink/link-to-root", on: onLinux, cmd: sh(`ln -s / r && echo x > r/etc/cordon-smoke-$MARK`),
			want: denied, checks: []check{noFile("/etc/cordon-smoke-${MARK}")}},
	}
}

func TestLinuxFS(t *testing.T) {
	var rows []tc
	for _, f := range []func() []tc{roRows, wsRows, protectedRows, symlinkRows} {
		rows = append(rows, f()...)
	}
	runTable(t, rows)
}
