//go:build linux

package smoke

import (
	"fmt"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"
)

// Escape rows, part 3: what the sandbox can exhaust or leave behind on the
// host (processes, memory, its tmpfs mounts, placeholders, the caller's
// terminal) and how long another user can keep cordon waiting.

// pyForks starts up to %d processes `sleep MARK` (posix_spawn: a fork
// of python is slow), stopping after 100 failures, and prints how many
// started and failed; it then waits 3s so that the host can count them.
const pyForks = `import os, shutil, time
sleep, started, failed = shutil.which("sleep"), 0, 0
for _ in range(%d):
    try:
        os.posix_spawn(sleep, ["sleep", os.environ["MARK"]], os.environ)
        started += 1
    except OSError:
        failed += 1
        if failed >= 100:
            break
print("started", started, "failed", failed, flush=True)
time.sleep(3)
`

// tmpfsFill checks the sandbox's /tmp and /dev/shm: a size above 4 GiB
// (today: half the host's memory) is reported without writing anything;
// a smaller one is filled past its size with dd, which must fail with
// ENOSPC. The write is bounded by the size, so the host never gives the
// row more than 4 GiB + 64 MiB per mount, one mount at a time.
const tmpfsFill = `for d in /tmp /dev/shm; do
  kb=$(df -Pk "$d" | awk 'NR == 2 { print $2 }')
  if [ "$kb" -gt 4194304 ]; then echo "$d has room for ${kb}K"; continue; fi
  err=$(dd if=/dev/zero of="$d/fill-$MARK" bs=1M count=$((kb / 1024 + 64)) 2>&1 >/dev/null)
  rm -f "$d/fill-$MARK"
  case $err in *"No space left"*) echo "$d full" ;; *) echo "$d: dd: $err" ;; esac
done`

// bombSize is how many processes the fork bomb tries: far below pid_max
// (32768 here), so that an unlimited sandbox never exhausts the host, and
// above cordon's default process cap (2048 tasks), which must hold it.
const bombSize = 3000

// defaultCap is cordon's default process cap plus its init's allowance
// (linuxsandbox.DefaultProcessLimit + 16): no more processes may run.
const defaultCap = 2048 + 16

func limitRows() []tc {
	python := []string{"python3"}
	return append(asUserToo(
		// No process limit: a fork bomb exhausts the host's pid_max.
		// Bounded here at 3000 sleeps; far fewer may run at once.
		tc{name: "limits/fork-bomb-bounded", on: onLinux, needs: python, flags: []string{"--timeout", "150s"},
			cmd: py(fmt.Sprintf(pyForks, bombSize)), countProcs: true, want: anyExit, stdout: `\Astarted \d+ failed \d+\n\z`,
			checks: []check{ranCommand(), startedBelow(defaultCap), peakBelow(defaultCap), noProcs()}, timeout: 180 * time.Second},
		// --process-limit was refused on Linux; enforced, the tree cannot
		// pass 20 tasks and the init's allowance of 16.
		tc{name: "limits/process-limit-enforced", on: onLinux, needs: python, flags: []string{"--process-limit", "20"},
			cmd: py(fmt.Sprintf(pyForks, 60)), countProcs: true, want: ok, stdout: `\Astarted \d+ failed [1-9]\d*\n\z`,
			checks: []check{peakBelow(20 + 16 + 1), noProcs()}},
		// --memory-limit was refused on Linux; enforced, a 200 MiB
		// allocation (written, so really committed) fails. A caller with
		// no cgroup to use (an unprivileged user without a delegated
		// subtree) is refused with "unavailable" instead: never run
		// without the limit it asked for.
		tc{name: "limits/memory-limit-enforced", on: onLinux, needs: python, flags: []string{"--memory-limit", "64M"},
			cmd:  py(`print("start", flush=True); b = b"x" * (200 << 20); print("allocated", len(b))`),
			want: anyExit, stderr: `(?i)memoryerror|\A\z|\Acordon: unavailable: [^\n]*memory[^\n]*\n\z`,
			checks: []check{custom("the allocation failed, or the run was refused", func(_ *ws, r *result) error {
				switch {
				case r.code == 125 && strings.Contains(r.stderr, "cordon: unavailable") && r.stdout == "":
					return nil
				case r.code != 0 && r.code != 125 && r.stdout == "start\n":
					return nil
				}
				return fmt.Errorf("exit %d, stdout %q", r.code, r.stdout)
			})}},
	),
		// The private tmpfs mounts have no size: the sandbox fills the
		// host's memory through /tmp and /dev/shm (read-only's mounts,
		// then workspace-write's).
		tc{name: "limits/tmpfs-sized-read-only", on: onLinux, policy: "read-only", cmd: sh(tmpfsFill),
			want: ok, stdout: `\A/tmp full\n/dev/shm full\n\z`, timeout: 120 * time.Second},
		tc{name: "limits/tmpfs-sized-workspace-write", on: onLinux, cmd: sh(tmpfsFill),
			want: ok, stdout: `\A/tmp full\n/dev/shm full\n\z`, timeout: 120 * time.Second},
	)
}

// startedBelow: the pyForks command started fewer than n processes.
func startedBelow(n int) check {
	return check{what: fmt.Sprintf("the command started fewer than %d processes", n), fn: func(_ *ws, r *result) error {
		var started, failed int
		if _, err := fmt.Sscanf(r.stdout, "started %d failed %d", &started, &failed); err != nil || started >= n {
			return fmt.Errorf("stdout %q", r.stdout)
		}
		return nil
	}}
}

// leftoverRows: what a run leaves on the host after it.
func leftoverRows() []tc {
	return []tc{
		// A non-root caller's placeholders survive a SIGKILL of cordon
		// (their mark, an xattr, fails on the read-only directory), and
		// no later run removes them: the user's workspace keeps .codex
		// and .agents the user never made.
		{name: "placeholders/removed-after-sigkill-as-nobody", on: onLinux, asUser: true,
			signal: syscall.SIGKILL, signalAfter: time.Second, cmd: sh("sleep $MARK"), want: exitCode(-1), then: []string{"true"},
			checks: []check{noFile("ws/.codex"), noFile("ws/.agents"), noProcs()}, timeout: 20 * time.Second},
		// `stty -echo raw` inside persists on the caller's terminal
		// after the run.
		{name: "terminal/modes-restored-after-run", on: onLinux, needs: []string{"python3", "stty"},
			wrap: []string{"python3", "-c", pySpawn, "sh", "-c", `"$@"; rc=$?; echo; echo "terminal after cordon:"; stty -a; exit $rc`, "sh"},
			cmd:  sh("stty -echo -icanon raw; echo changed"), want: anyExit, checks: []check{terminalRestored()}},
	}
}

// terminalRestored: stty -a, run on the caller's terminal after cordon,
// shows echo and icanon on.
func terminalRestored() check {
	return check{what: "the terminal has echo and icanon on after the run", fn: func(_ *ws, r *result) error {
		_, after, found := strings.Cut(r.stdout, "terminal after cordon:")
		if !found {
			return fmt.Errorf("no stty -a after cordon in %q", r.stdout)
		}
		for _, flag := range []string{"echo", "icanon"} {
			if !regexp.MustCompile(`(^|\s)` + flag + `(\s|$)`).MatchString(after) {
				return fmt.Errorf("%s is off:%s", flag, after)
			}
		}
		return nil
	}}
}

// lockRows: another user holds an exclusive flock(2) on a protected
// directory of a root (flock -x DIR sleep 60), and cordon waits for it
// forever, past --timeout and deaf to SIGTERM.
func lockRows() []tc {
	held := func(name, dir string) tc {
		return tc{name: "lock/" + name, on: onLinux, setup: lockedDir(dir), flags: []string{"--timeout", "3s"}, cmd: sh("sleep 1"),
			want: anyExit, checks: []check{gaveUp(), endedWithin(8 * time.Second)}, timeout: 20 * time.Second}
	}
	// /tmp is a writable root when TMPDIR is unset today; if it no longer
	// is, cordon has nothing to wait for and may just run the command.
	tmp := held("tmp-agents-held", "/tmp/.agents")
	tmp.env = map[string]string{"TMPDIR": ""}
	tmp.checks = []check{endedWithin(8 * time.Second), custom("exit 0, or gave up", func(w *ws, r *result) error {
		if r.code == 0 {
			return nil
		}
		return gaveUp().fn(w, r)
	})}
	return []tc{
		// Another user locks the workspace's own .agents, .codex or
		// .git (a checkout shared with a group): cordon --timeout 3s
		// must give up, with a clear error, within a few seconds.
		held("workspace-agents-held", "ws/.agents"),
		held("workspace-codex-held", "ws/.codex"),
		held("workspace-git-held", "ws/.git"),
		// Another user locks /tmp/.agents, which every run with TMPDIR
		// unset uses today.
		tmp,
		// SIGTERM to cordon while it waits ends it promptly.
		{name: "lock/sigterm-while-waiting", on: onLinux, setup: lockedDir("ws/.agents"), signal: syscall.SIGTERM, signalAfter: time.Second,
			cmd: sh("sleep 1"), want: anyExit, timeout: 20 * time.Second,
			checks: []check{endedWithin(4 * time.Second), custom("a failure exit status", func(_ *ws, r *result) error {
				if r.code == 0 {
					return fmt.Errorf("exit 0")
				}
				return nil
			})}},
	}
}

func TestLinuxEscapesLimits(t *testing.T) {
	runTable(t, append(limitRows(), leftoverRows()...))
}

// TestLinuxEscapesLockWait holds locks that other rows' runs would wait
// for (/tmp/.agents): its rows run apart from the others.
func TestLinuxEscapesLockWait(t *testing.T) { runTable(t, lockRows()) }
