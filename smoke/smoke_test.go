package smoke

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/cordon-sandbox/cordon/internal/testutil"
)

// cordonBin is the cordon binary TestMain built, or "" when no row can run.
var cordonBin string

func TestMain(m *testing.M) {
	if !canRun() {
		os.Exit(m.Run())
	}
	dir, err := os.MkdirTemp("", "cordon-smoke-bin-")
	if err == nil {
		// Rows with asUser run the binary as an unprivileged uid.
		err = os.Chmod(dir, 0o755)
	}
	if err == nil {
		cordonBin, err = buildCordon(dir)
	}
	if err != nil {
		fmt.Fprintf(os.Stderr, "smoke: building cordon: %v\n", err)
		os.RemoveAll(dir)
		os.Exit(1)
	}
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

// canRun says whether any row runs on this machine, so TestMain builds.
func canRun() bool {
	switch runtime.GOOS {
	case "linux":
		return true
	case "windows":
		return windowsSkipReason() == ""
	}
	return false
}

// windowsSkipReason says why Windows rows cannot run here ("" if they can).
func windowsSkipReason() string {
	const why = "the restricted-token backend changes DACLs and is enforced only by real Windows"
	switch {
	case runtime.GOOS != "windows":
		return "Windows row, this is " + runtime.GOOS
	case testutil.UnderWine():
		return "Windows row: Wine enforces no ACLs or tokens (" + why + ")"
	case os.Getenv(testutil.RealWindowsEnv) != "1":
		return "Windows row: set " + testutil.RealWindowsEnv + "=1 on a disposable real Windows machine to run it (" + why + ")"
	case testutil.Elevated():
		return "Windows row: the restricted-token backend refuses an elevated token (Administrators enabled); run the suite as a standard user"
	}
	return ""
}

// buildCordon builds ./cmd/cordon of this module into dir, unless
// CORDON_SMOKE_BIN names a cordon binary built already: the Windows
// workflow runs the suite as a user that has no Go.
func buildCordon(dir string) (string, error) {
	if bin := os.Getenv("CORDON_SMOKE_BIN"); bin != "" {
		if !filepath.IsAbs(bin) {
			return "", fmt.Errorf("CORDON_SMOKE_BIN=%s: want an absolute path", bin)
		}
		return bin, nil
	}
	out, err := exec.Command("go", "env", "GOMOD").Output()
	if err != nil {
		return "", fmt.Errorf("go env GOMOD: %w", err)
	}
	gomod := strings.TrimSpace(string(out))
	if gomod == "" || gomod == os.DevNull {
		return "", fmt.Errorf("go env GOMOD: not inside a module")
	}
	bin := filepath.Join(dir, "cordon")
	if runtime.GOOS == "windows" {
		bin += ".exe"
	}
	cmd := exec.Command("go", "build", "-buildvcs=false", "-o", bin, "./cmd/cordon")
	cmd.Dir = filepath.Dir(gomod)
	if out, err := cmd.CombinedOutput(); err != nil {
		return "", fmt.Errorf("go build ./cmd/cordon: %v\n%s", err, out)
	}
	return bin, nil
}

// platforms a row applies to.
type platforms uint8

const (
	onLinux platforms = 1 << iota
	onWindows
	onBoth = onLinux | onWindows
)

func (p platforms) has(goos string) bool {
	return goos == "linux" && p&onLinux != 0 || goos == "windows" && p&onWindows != 0
}

// outcome is the exit status a row expects.
type outcome struct {
	kind int // exact, denied, any
	code int
}

const (
	kindExact = iota
	kindDenied
	kindAny
)

var (
	ok = outcome{kind: kindExact, code: 0}
	// denied: the command ran and failed. Not 124-127, which would mean
	// it timed out, never ran, or was not found: a denial row that did
	// not run its command proves nothing.
	denied  = outcome{kind: kindDenied}
	anyExit = outcome{kind: kindAny}
)

func exitCode(n int) outcome { return outcome{kind: kindExact, code: n} }

func (o outcome) String() string {
	switch o.kind {
	case kindDenied:
		return "a failure of the command itself (exit != 0 and not 124-127)"
	case kindAny:
		return "any exit status"
	}
	return fmt.Sprintf("exit %d", o.code)
}

func (o outcome) match(code int) bool {
	switch o.kind {
	case kindDenied:
		return code != 0 && (code < 124 || code > 127)
	case kindAny:
		return true
	}
	return code == o.code
}

// deniedRE is what a denial must say on stderr unless the row says
// otherwise: a permission error, not a typo in the row's command.
var deniedRE = `(?i)read-only file system|permission denied|operation not permitted|` +
	`device or resource busy|access is denied|access to the path .* is denied|unauthorizedaccess`

// tc is one row.
type tc struct {
	name   string
	on     platforms
	policy string   // --policy; "" leaves it out (workspace-write); ${VAR} expanded
	flags  []string // more flags before "--"; ${VAR} expanded
	cmd    []string // the command after "--"; not expanded (its shell sees the env)
	env    map[string]string
	needs  []string // programs on the host PATH the row needs; skipped without them
	setup  func(t *testing.T, w *ws)
	want   outcome
	stdout string // regexp stdout must match
	stderr string // regexp stderr must match (default for denied: deniedRE)
	// noStdout is a regexp stdout must NOT match.
	noStdout string
	checks   []check
	// control runs the command once more, unsandboxed (--sandbox none), in
	// a fresh workspace, and expects exit 0: the command is sound, so its
	// failure in the sandbox is the sandbox's doing.
	control bool
	// alongside is a second command, run by another cordon (workspace-write)
	// in the same workspace, started half a second before this one.
	alongside []string
	// then is a command cordon runs in the same workspace after this one
	// (it must exit 0); the checks come after it.
	then []string
	// signal is sent to cordon itself signalAfter after its start.
	signal      os.Signal
	signalAfter time.Duration
	underTmp    bool // create the workspace below /tmp (see baseParent)
	// unbuilt, when set, says which missing part of cordon the row needs:
	// the row is written down and skipped with that reason until it lands.
	unbuilt  string
	listen   bool          // start the host TCP and UDP listeners (PORT, UDP_PORT)
	extraFDs bool          // give cordon two extra open descriptors (3, 4)
	timeout  time.Duration // the harness's limit for one cordon run (default 30s)
	// asUser runs cordon (and the run alongside, the run after, the
	// control run and the row's host helpers, ws.hostRun) as the
	// unprivileged uid and gid 65534, in a world that uid owns (Linux).
	asUser bool
	// wrap is a host program that cordon's command line is appended to;
	// it must run cordon ("$@") and exit with its status: a keyring
	// session, a pseudo-terminal. It runs as the row's user, with
	// cordon's environment.
	wrap []string
	// countProcs samples, while cordon runs, how many host processes
	// carry the MARK argument; checks read the peak (ws.peakProcs).
	countProcs bool
}

// result is one run of cordon.
type result struct {
	code           int
	stdout, stderr string
	dur            time.Duration
}

// check is a host-side check after the run.
type check struct {
	what string
	snap string // path to snapshot before the run, for unchanged
	fn   func(w *ws, r *result) error
}

// hasFile: the file exists on the host with exactly this content.
func hasFile(rel, want string) check {
	return check{what: "file " + rel + " has " + fmt.Sprintf("%q", want), fn: func(w *ws, _ *result) error {
		b, err := os.ReadFile(w.path(rel))
		if err != nil {
			return err
		}
		if string(b) != want {
			return fmt.Errorf("content %q", b)
		}
		return nil
	}}
}

// noFile: nothing exists on the host at rel (not even a dangling link).
func noFile(rel string) check {
	return check{what: rel + " does not exist", fn: func(w *ws, _ *result) error {
		if fi, err := os.Lstat(w.path(rel)); err == nil {
			return fmt.Errorf("it exists (%s)", fi.Mode())
		} else if !errors.Is(err, os.ErrNotExist) {
			return err
		}
		return nil
	}}
}

// unchanged: rel (a file, link or whole tree) is as it was before the run.
func unchanged(rel string) check {
	return check{what: rel + " unchanged", snap: rel, fn: func(w *ws, _ *result) error {
		if now := snapshot(w.path(rel)); now != w.before[rel] {
			return fmt.Errorf("before:\n%s\nafter:\n%s", w.before[rel], now)
		}
		return nil
	}}
}

// custom is any other check.
func custom(what string, fn func(w *ws, r *result) error) check {
	return check{what: what, fn: fn}
}

// protectedPaths are snapshotted before and compared after EVERY row: no
// row may change a protected name or leave a placeholder behind.
var protectedPaths = []string{"ws/.git", "ws/.codex", "ws/.agents", "extra/.git", "extra/.codex"}

func runTable(t *testing.T, cases []tc) {
	seen := map[string]bool{}
	for _, c := range cases {
		if seen[c.name] {
			t.Fatalf("duplicate row name %q", c.name)
		}
		seen[c.name] = true
		t.Run(c.name, func(t *testing.T) {
			if !c.on.has(runtime.GOOS) {
				if c.on&onWindows != 0 {
					t.Skip(windowsSkipReason())
				}
				t.Skipf("Linux row, this is %s", runtime.GOOS)
			}
			if runtime.GOOS == "windows" {
				if r := windowsSkipReason(); r != "" {
					t.Skip(r)
				}
			}
			if c.unbuilt != "" {
				t.Skip("needs " + c.unbuilt + ", not built yet")
			}
			for _, p := range c.needs {
				if _, err := exec.LookPath(p); err != nil {
					t.Skipf("needs %s, not installed here", p)
				}
			}
			t.Parallel()
			runRow(t, c)
		})
	}
}

func runRow(t *testing.T, c tc) {
	w := newWS(t, c)
	for _, p := range protectedPaths {
		w.before[p] = snapshot(w.path(p))
	}
	for _, ch := range c.checks {
		if ch.snap != "" {
			w.before[ch.snap] = snapshot(w.path(ch.snap))
		}
	}
	var other *exec.Cmd
	if c.alongside != nil {
		other = exec.Command(cordonBin, w.args(tc{cmd: c.alongside}, nil)...)
		other.Dir, other.Env = w.dir, w.environ(nil)
		other.SysProcAttr = w.procAttr()
		if err := other.Start(); err != nil {
			t.Fatal(err)
		}
		time.Sleep(500 * time.Millisecond)
	}
	r := w.run(t, c, nil)
	if other != nil {
		if err := other.Wait(); err != nil {
			t.Errorf("the run alongside: %v", err)
		}
	}
	if c.then != nil {
		if tr := w.run(t, tc{cmd: c.then}, nil); tr.code != 0 {
			t.Errorf("the run after (%q): exit %d\n%s", c.then, tr.code, tr.stderr)
		}
	}
	// Shown with -v, and with the errors of a failing row.
	t.Logf("cordon %s\nexit %d after %s\nstdout:\n%s\nstderr:\n%s", strings.Join(w.args(c, nil), " "), r.code, r.dur.Round(time.Millisecond), r.stdout, r.stderr)
	if !c.want.match(r.code) {
		t.Errorf("exit %d, want %s", r.code, c.want)
	}
	stderrRE := c.stderr
	if stderrRE == "" && c.want.kind == kindDenied {
		stderrRE = deniedRE
	}
	for _, m := range []struct {
		name, re, s string
		neg         bool
	}{
		{"stdout", c.stdout, r.stdout, false}, {"stderr", stderrRE, r.stderr, false}, {"stdout", c.noStdout, r.stdout, true},
	} {
		if m.re != "" && regexp.MustCompile(m.re).MatchString(m.s) == m.neg {
			t.Errorf("%s does not satisfy %s%q", m.name, map[bool]string{true: "NOT ", false: ""}[m.neg], m.re)
		}
	}
	for _, ch := range c.checks {
		if err := ch.fn(w, &r); err != nil {
			t.Errorf("check %q failed: %v", ch.what, err)
		}
	}
	if runtime.GOOS == "windows" {
		// The Windows backend creates missing protected names as empty
		// placeholders, by design; cordon cleanup must remove them (and
		// every ACE the row's runs added) before the protected names are
		// compared with what they were.
		w.cleanup(t)
	}
	for _, p := range protectedPaths {
		if now := snapshot(w.path(p)); now != w.before[p] {
			t.Errorf("protected %s changed\nbefore:\n%s\nafter:\n%s", p, w.before[p], now)
		}
	}
	if c.control {
		cw := newWS(t, c)
		cr := cw.run(t, c, []string{"--sandbox", "none"})
		if cr.code != 0 {
			t.Errorf("control run unsandboxed (--sandbox none): exit %d, want 0: the row's command is broken\nstdout:\n%s\nstderr:\n%s", cr.code, cr.stdout, cr.stderr)
		}
	}
}

// args is cordon's command line for row c.
func (w *ws) args(c tc, more []string) []string {
	args := []string{"run", "--cwd", w.dir}
	if c.policy != "" {
		args = append(args, "--policy", w.expand(c.policy))
	}
	for _, f := range c.flags {
		args = append(args, w.expand(f))
	}
	args = append(args, more...)
	return append(append(args, "--"), c.cmd...)
}

// run runs cordon for row c in w, with more flags appended.
func (w *ws) run(t *testing.T, c tc, more []string) result {
	t.Helper()
	limit := c.timeout
	if limit == 0 {
		limit = 30 * time.Second
	}
	ctx, cancel := context.WithTimeout(context.Background(), limit)
	defer cancel()
	argv := append(append([]string{}, c.wrap...), cordonBin)
	argv = append(argv, w.args(c, more)...)
	cmd := exec.CommandContext(ctx, w.program(argv[0]), argv[1:]...)
	cmd.Dir = w.dir
	cmd.Env = w.environ(c.env)
	cmd.SysProcAttr = w.procAttr()
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	cmd.WaitDelay = 5 * time.Second
	if c.extraFDs {
		for i := 0; i < 2; i++ {
			f, err := os.Open(w.path("ws/hello.txt"))
			if err != nil {
				t.Fatal(err)
			}
			defer f.Close()
			cmd.ExtraFiles = append(cmd.ExtraFiles, f)
		}
	}
	start := time.Now()
	err := cmd.Start()
	if err == nil && c.countProcs {
		defer w.countProcs()()
	}
	if err == nil {
		if c.signal != nil {
			timer := time.AfterFunc(c.signalAfter, func() { cmd.Process.Signal(c.signal) })
			defer timer.Stop()
		}
		err = cmd.Wait()
	}
	r := result{code: cmd.ProcessState.ExitCode(), stdout: out.String(), stderr: errb.String(), dur: time.Since(start)}
	if ctx.Err() != nil {
		t.Fatalf("cordon did not finish within %s (harness timeout)\nstdout:\n%s\nstderr:\n%s", limit, r.stdout, r.stderr)
	}
	var exitErr *exec.ExitError
	if err != nil && !errors.As(err, &exitErr) {
		t.Fatalf("running cordon: %v", err)
	}
	return r
}

// commonCases apply to every platform: bad input is refused before
// anything runs, with exit 125 and one line "cordon: CODE: message".
func commonCases() []tc {
	never := []string{"cordon-smoke-never-runs"}
	bad := func(name, code string, flags ...string) tc {
		return tc{name: name, on: onBoth, flags: flags, cmd: never, want: exitCode(125),
			stderr: `\Acordon: ` + code + `: [^\n]+\n\z`}
	}
	unknownField := bad("bad-input/unknown-policy-field", "bad_policy", "--policy", `{"mode":"workspace-write","bogus":true}`)
	unknownField.stderr = `\Acordon: bad_policy: [^\n]*bogus[^\n]*\n\z`
	empty := bad("bad-input/empty-command", "bad_request")
	empty.cmd = nil
	emptyName := bad("bad-input/empty-program-name", "bad_request")
	emptyName.cmd = []string{""}
	return []tc{
		unknownField,
		bad("bad-input/policy-without-mode", "bad_policy", "--policy", `{"writable_roots":["x"]}`),
		bad("bad-input/bogus-preset", "bad_policy", "--policy", "full-access"),
		bad("bad-input/relative-writable-root-missing", "bad_policy", "--writable-root", "no-such-dir"),
		bad("bad-input/writable-root-is-a-file", "bad_policy", "--writable-root", "${WS}/hello.txt"),
		bad("bad-input/read-only-with-writable-root", "bad_policy", "--policy", "read-only", "--writable-root", "${EXTRA}"),
		bad("bad-input/overlapping-roots", "bad_policy", "--policy", `{"mode":"workspace-write","writable_roots":["sub"]}`),
		bad("bad-input/missing-cwd", "bad_request", "--cwd", "${BASE}/no-such-dir"),
		bad("bad-input/sandbox-bogus", "bad_request", "--sandbox", "bogus"),
		bad("bad-input/unknown-flag", "bad_request", "--no-such-flag"),
		bad("bad-input/negative-timeout", "bad_request", "--timeout", "-1s"),
		bad("bad-input/memory-limit-zero", "bad_request", "--memory-limit", "0"),
		bad("bad-input/memory-limit-unit", "bad_request", "--memory-limit", "10X"),
		bad("bad-input/process-limit-negative", "bad_request", "--process-limit", "-1"),
		bad("bad-input/env-without-equals", "bad_request", "--env", "NOEQUALS"),
		bad("bad-input/env-empty-name", "bad_request", "--env", "=x"),
		bad("bad-input/env-keep-empty", "bad_request", "--env-keep", ""),
		bad("bad-input/unknown-env-field", "bad_policy", "--policy", `{"mode":"workspace-write","env":{"bogus":1}}`),
		empty, emptyName,
	}
}

func TestCommon(t *testing.T) { runTable(t, commonCases()) }
