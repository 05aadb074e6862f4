//go:build linux

package smoke

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// Escape rows, part 2: what the sandbox leaves in the workspace for the
// host to run later: git directories reached through links and gitfiles, a
// bare repository planted at the root, set-uid files, and cordon's own log.
// The checks run on the host after the run (real git, the files' modes).

// evilHook plants a pre-commit hook and a core.hooksPath in the git
// directory DIR names.
const evilHook = `echo '[core] hooksPath = /tmp' >> "$DIR/config"; printf '#!/bin/sh\ntouch /tmp/pwned\n' > "$DIR/hooks/pre-commit"; chmod +x "$DIR/hooks/pre-commit"`

func gitRows() []tc {
	git := []string{"git"}
	g := func(name string, setup func(*testing.T, *ws), dir, snap string) tc {
		return tc{name: "git/" + name, on: onLinux, needs: git, setup: setup, cmd: sh("DIR=" + dir + "; " + evilHook),
			want: anyExit, checks: []check{unchanged(snap)}, control: true}
	}
	return []tc{
		// .git is a symbolic link to a directory in the workspace: only
		// the link is protected, its target's config and hooks/ are not.
		g("symlinked-gitdir", gitLink(".realgit"), ".git", "ws/.realgit"),
		// A gitfile (git init --separate-git-dir) naming a directory in
		// the workspace.
		g("separate-git-dir", separateGitDir, `"$(sed -n 's/^gitdir: //p' .git)"`, "ws/sub/realgit"),
		// A bare repository with worktrees, all in the workspace (.git
		// is "gitdir: ./.bare").
		g("bare-with-worktrees", bareWithWorktrees, ".bare", "ws/.bare"),
		// .git -> sub/realgit: the sandbox moves sub away and makes a
		// fresh sub/realgit with a hook, which the unchanged link then
		// names.
		{name: "git/symlink-target-swapped", on: onLinux, needs: git, setup: gitLink("sub/realgit"),
			cmd:  sh(`mv sub sub-old && mkdir sub && cp -a sub-old/realgit sub/realgit && DIR=sub/realgit && ` + evilHook),
			want: anyExit, checks: []check{unchanged("ws/sub/realgit")}, control: true},
		// The workspace is a folder of a monorepo and has no .git: the
		// sandbox makes it a bare repository whose config runs a
		// command of its own, which the user's next git status there
		// (on a terminal) would run on the host.
		{name: "git/bare-repo-planted-at-root", on: onLinux, needs: []string{"git", "python3"}, setup: monorepoFolder,
			cmd:  sh(`mkdir -p objects refs/heads && echo 'ref: refs/heads/main' > HEAD && printf '[core]\n\trepositoryformatversion = 0\n\tbare = false\n\tfsmonitor = "touch %s/pwned-by-fsmonitor; false"\n[pager]\n\tstatus = "touch %s/pwned-by-pager; cat"\n' "$BASE" "$BASE" > config`),
			want: anyExit, checks: []check{gitDirIsNotWorkspace(), hostGitStatusRunsNothing()}, control: true},
	}
}

// gitLink moves the workspace's .git to target and links .git to it.
func gitLink(target string) func(*testing.T, *ws) {
	return func(t *testing.T, w *ws) {
		w.mkdir(t, filepath.Dir("ws/"+target))
		if err := os.Rename(w.path("ws/.git"), w.path("ws/"+target)); err != nil {
			t.Fatal(err)
		}
		w.symlink(t, target, "ws/.git")
	}
}

func separateGitDir(t *testing.T, w *ws) {
	w.remove(t, "ws/.git")
	host(t, "git", "-C", w.dir, "init", "-q", "--separate-git-dir="+w.path("ws/sub/realgit"))
}

func bareWithWorktrees(t *testing.T, w *ws) {
	w.remove(t, "ws/.git")
	host(t, "git", "init", "-q", "--bare", w.path("ws/.bare"))
	w.write(t, "ws/.git", "gitdir: ./.bare\n")
	host(t, "git", "-C", w.dir, "config", "core.bare", "false")
	host(t, "git", "-C", w.dir, "-c", "user.name=smoke", "-c", "user.email=smoke@example.com", "commit", "-q", "--allow-empty", "-m", "init")
	host(t, "git", "-C", w.dir, "worktree", "add", "-q", "main")
}

// monorepoFolder makes the workspace a folder without .git of the
// repository at BASE.
func monorepoFolder(t *testing.T, w *ws) {
	w.remove(t, "ws/.git")
	host(t, "git", "init", "-q", w.base)
}

// gitDirIsNotWorkspace: real git, run on the host in the workspace after
// the run, does not take the workspace itself for its git directory.
func gitDirIsNotWorkspace() check {
	return check{what: "git in the workspace does not use the workspace as its git directory", fn: func(w *ws, _ *result) error {
		cmd := exec.Command("git", "rev-parse", "--absolute-git-dir")
		cmd.Dir = w.dir
		out, err := cmd.CombinedOutput()
		if got := strings.TrimSpace(string(out)); err == nil && got == w.dir {
			return fmt.Errorf("git rev-parse --absolute-git-dir: %s", got)
		}
		return nil
	}}
}

// hostGitStatusRunsNothing: the user's git status in the workspace, on a
// terminal, after the run, runs none of the commands the sandbox planted.
func hostGitStatusRunsNothing() check {
	return check{what: "git status on the host runs nothing the sandbox planted", fn: func(w *ws, _ *result) error {
		cmd := exec.Command("python3", "-c", pySpawn, "git", "status")
		cmd.Dir = w.dir
		out, _ := cmd.CombinedOutput()
		for _, f := range []string{"pwned-by-fsmonitor", "pwned-by-pager"} {
			if _, err := os.Lstat(w.path(f)); err == nil {
				return fmt.Errorf("git status ran the sandbox's command (%s exists); it printed:\n%s", f, out)
			}
		}
		return nil
	}}
}

func setuidRows() []tc {
	s := func(name, script string, needs ...string) tc {
		return tc{name: "setuid/" + name, on: onLinux, needs: needs, cmd: sh(script),
			want: anyExit, checks: []check{ranCommand(), noSetIDFiles()}, control: true}
	}
	// cp -p of a set-uid-root program of the host (passwd, su): only
	// root keeps a copy's owner, so only root's copy keeps the bit.
	cp := s("cp-p-host-setuid-binary", `cp -p "$SUID" x`)
	cp.setup = hostSetuidBinary
	// Each row leaves in the workspace a program that runs, for any
	// user of the host, as the caller (root: as root).
	return append(asUserToo(
		// chmod u+s on a copy of a program.
		s("chmod-u+s", "cp /bin/true x && chmod u+s x"),
		// chmod g+s: the caller's group.
		s("chmod-g+s", "cp /bin/true x && chmod g+s x"),
		// install(1) creates it set-uid in one go.
		s("install-4755", "install -m 4755 /bin/true x"),
		// open(2) with O_CREAT and a set-uid mode.
		s("python-create-4755", `python3 -c 'import os; os.close(os.open("x", os.O_CREAT | os.O_WRONLY, 0o4755))'`, "python3"),
		// chmod(2) to set-uid and set-gid.
		s("python-chmod-6755", `python3 -c 'import os; open("x", "w").close(); os.chmod("x", 0o6755)'`, "python3"),
		// The nested user namespace route: file capabilities set as
		// root of a namespace the command makes.
		s("nested-userns-setcap", `cp /bin/true x && unshare -Ur sh -c 'setcap cap_setuid+ep ./x'`, "unshare", "setcap"),
	), cp)
}

// hostSetuidBinary names SUID a set-uid program of the host.
func hostSetuidBinary(t *testing.T, w *ws) {
	for _, p := range []string{"/usr/bin/passwd", "/usr/bin/su", "/bin/su"} {
		if fi, err := os.Stat(p); err == nil && fi.Mode()&os.ModeSetuid != 0 {
			w.vars["SUID"] = p
			return
		}
	}
	t.Skip("no set-uid program here (packages passwd, login)")
}

// earlierLog is a line of an earlier run in cordon.log.
const earlierLog = "time=2000-01-01T00:00:00.000Z level=INFO msg=START backend=linux cmd=earlier-run\n"

func stateRows() []tc {
	// The forged line carries the MARK's value, which the command line
	// cordon logs does not: only the command can have written it.
	forge := sh(`log="$LOGDIR/cordon.log"; : > "$log"; printf 'time=2001-01-01T00:00:00Z level=INFO msg=SUCCESS cmd=forged forged=%s\n' "$MARK" >> "$log"`)
	checks := []check{fileLacks("${LOGDIR}/cordon.log", `forged=\Q${MARK}\E`, `(?m)^time=2001-`),
		custom("cordon.log still begins with the earlier run's line", func(w *ws, _ *result) error {
			if b, err := os.ReadFile(w.path("${LOGDIR}/cordon.log")); err != nil || !strings.HasPrefix(string(b), earlierLog) {
				return fmt.Errorf("%q %v", b, err)
			}
			return nil
		})}
	return []tc{
		// A workspace holding cordon's state directory (CORDON_STATE_DIR
		// inside it): the sandbox forges and erases cordon.log.
		{name: "state/log-in-workspace-forged", on: onLinux, env: map[string]string{"CORDON_STATE_DIR": "${WS}/.cordon-state"},
			setup: stateDir("ws/.cordon-state"), cmd: forge, want: anyExit, checks: checks},
		// The same with the cwd $HOME: the default state directory,
		// ~/.local/state/cordon, is inside the workspace.
		{name: "state/log-in-home-workspace-forged", on: onLinux,
			env:   map[string]string{"HOME": "${WS}", "CORDON_STATE_DIR": "", "XDG_STATE_HOME": ""},
			setup: stateDir("ws/.local/state/cordon"), cmd: forge, want: anyExit, checks: checks},
	}
}

// stateDir makes rel (LOGDIR) a state directory with an earlier run's log.
func stateDir(rel string) func(*testing.T, *ws) {
	return func(t *testing.T, w *ws) {
		w.mkdir(t, rel)
		w.write(t, rel+"/cordon.log", earlierLog)
		w.vars["LOGDIR"] = w.path(rel)
	}
}

func TestLinuxEscapesFiles(t *testing.T) {
	var rows []tc
	for _, f := range []func() []tc{gitRows, setuidRows, stateRows} {
		rows = append(rows, f()...)
	}
	runTable(t, rows)
}
