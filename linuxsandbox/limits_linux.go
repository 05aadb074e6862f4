package linuxsandbox

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/cordon-sandbox/cordon/sandbox"
	"golang.org/x/sys/unix"
)

// sandbox.Limits bound the whole sandbox, its init included. newLimiter
// chooses on the host, before the sandbox starts, the first of these that
// works, tried for real (the cgroup is created and its limits written):
//
//  1. cgroup v2. The run gets a cgroup of its own, cordon/run-PID-RANDOM,
//     under the nearest ancestor of the caller's cgroup (the caller's own
//     first) whose cgroup.subtree_control already enables the controllers
//     needed and whose cgroup.procs the caller may write: moving a process
//     needs write access to the common ancestor of its old and new cgroups
//     (cgroup-v2.rst, "Delegation Containment"). For root that is at the
//     latest the hierarchy's root; for anyone else, a delegated subtree (a
//     systemd user service). Nesting under the caller's ancestors keeps the
//     sandbox inside every limit the caller is under. The cordon parent
//     enables the controllers for its children and holds no process (the
//     "no internal processes" rule); cordon writes only to cgroups named
//     cordon and to the runs' own. Limits: pids.max, memory.max and, when swap is
//     accounted, memory.swap.max 0.
//  2. cgroup v1, one hierarchy per controller (hybrid hierarchies: a v2
//     without the controller, v1 with it): the same layout, the caller's
//     own cgroup first (v1 allows processes beside child cgroups). Limits:
//     pids.max, memory.limit_in_bytes and memory.memsw.limit_in_bytes.
//  3. For processes alone, RLIMIT_NPROC, set by the sandbox on itself
//     (rlimits). From Linux 5.14 (commit 21d1c5e386bc, "Reimplement
//     RLIMIT_NPROC on top of ucounts") it counts the tasks of one uid in
//     one user namespace and its descendants, so in the sandbox's own user
//     namespace it counts only the sandbox (kernel/ucount.c,
//     is_rlimit_overlimit); before 5.14 it counted all of the caller's
//     processes, and is not used. copy_process (kernel/fork.c) never
//     enforces it for a task whose real uid is the host's root, so it caps
//     nothing for a root caller.
//
// Either way the init's own threads count against the process cap: a Go
// init that needs a new thread while the command holds the whole cap dies
// ("fatal error: newosproc"), so it should create the threads it will need
// before it starts the command.
//
// Memory has no fallback: RLIMIT_AS caps each process's address space, not
// the tree's memory, and breaks Go and JVM programs, which reserve far more
// address space than they use. Without a cgroup a memory limit is refused
// (sandbox.ErrUnavailable) unless best effort, which runs without it and
// says so. The default process cap is never refused: without a mechanism
// it is only reported.

// DefaultProcessLimit caps the tasks (threads count, as for pids.max and
// RLIMIT_NPROC) alive at once in every sandbox whose limits set none, so
// that a fork bomb fails with EAGAIN instead of exhausting the host's pids.
// 2048 is a sixteenth of the kernel's default pid_max (32768; systemd
// raises it to 4194304), so even a few runaway sandboxes at once leave the
// host most of its pids; yet it is well above what a parallel build on a
// workstation uses (go build or make -j16: a few hundred tasks, threads
// included; a JVM's thread pools: a few hundred). A very large machine's
// builds may need more: sandbox.Limits.Processes (--process-limit)
// overrides it. cordon's init has an allowance of its own on top.
const DefaultProcessLimit = 2048

// LayerLimits is the probe layer of resource limits.
const LayerLimits = "limits"

var enforcesLimits = fmt.Sprintf("The sandbox's whole process tree, its init included, is capped: forks beyond the process limit (default %d tasks) fail with EAGAIN, and memory beyond the memory limit, swap included, is reclaimed or OOM-killed.", DefaultProcessLimit)

// rlimit is one resource limit the sandbox sets on itself, sent in its spec.
type rlimit struct {
	Resource int    `json:"resource"`
	Cur      uint64 `json:"cur"`
	Max      uint64 `json:"max"`
}

// applyRlimits sets rs on the calling process. The hard limit is lowered
// too, and raising it needs CAP_SYS_RESOURCE in the initial user
// namespace, which nothing in a sandbox has.
func applyRlimits(rs []rlimit) error {
	for _, r := range rs {
		if err := unix.Setrlimit(r.Resource, &unix.Rlimit{Cur: r.Cur, Max: r.Max}); err != nil {
			return fmt.Errorf("setrlimit %d: %w", r.Resource, err)
		}
	}
	return nil
}

// limiter enforces one run's limits.
type limiter struct {
	limits     sandbox.Limits // Processes is never 0: the default fills it in
	cgroups    []*cgroup      // one in v2; one per controller in v1
	nproc      uint64         // RLIMIT_NPROC, when no cgroup caps processes
	unenforced []string
	why        string // why no cgroup caps what is missing

	mu     sync.Mutex
	closed bool
}

// newLimiter chooses how to enforce l on this machine and creates the
// run's cgroup if one is usable. A limit that cannot be enforced fails with
// an error wrapping sandbox.ErrUnavailable, or with bestEffort is listed in
// degraded; the default process cap only ever goes to degraded.
func newLimiter(l sandbox.Limits, bestEffort bool) (*limiter, error) {
	return newLimiterOn(systemCgroups(), l, bestEffort)
}

func newLimiterOn(h *cgroupHost, l sandbox.Limits, bestEffort bool) (lm *limiter, err error) {
	lm = &limiter{limits: l}
	if lm.limits.Processes == 0 {
		lm.limits.Processes = DefaultProcessLimit
	}
	defer func() {
		if err != nil {
			_ = lm.close()
			lm = nil
		}
	}()
	need := []string{"pids"}
	if l.Memory > 0 {
		need = append(need, "memory")
	}
	why := "no usable cgroup (" + strings.Join(h.place(lm, need), "; ") + ")"
	var refused []string
	if !lm.has("pids") {
		switch {
		case h.uid == 0:
			refused = lm.missing(refused, "processes", l.Processes != 0 && !bestEffort, why+"; RLIMIT_NPROC is not enforced for root")
		case !h.nprocPerUserNS:
			refused = lm.missing(refused, "processes", l.Processes != 0 && !bestEffort, why+"; RLIMIT_NPROC counts all the caller's processes before Linux 5.14")
		default:
			lm.nproc = uint64(lm.limits.Processes)
		}
	}
	if l.Memory > 0 && !lm.has("memory") {
		refused = lm.missing(refused, "memory", !bestEffort, why)
	}
	lm.why = why
	if len(refused) > 0 {
		return lm, sandbox.Unavailable("linux: %s (run as root or in a delegated cgroup subtree, or with --best-effort)", strings.Join(refused, "; "))
	}
	return lm, nil
}

// missing records a limit that cannot be enforced, in refused if refuse,
// else in what degraded reports.
func (lm *limiter) missing(refused []string, what string, refuse bool, why string) []string {
	msg := "limits: " + what + ": " + why
	if refuse {
		return append(refused, msg)
	}
	lm.unenforced = append(lm.unenforced, msg)
	return refused
}

func (lm *limiter) has(controller string) bool {
	for _, cg := range lm.cgroups {
		if slices.Contains(cg.controllers, controller) {
			return true
		}
	}
	return false
}

// initHeadroom is how many tasks beyond its own the sandbox's init may add
// (its Go runtime starts a thread when one blocks in a system call): the
// process limit is the command's, and an init that cannot make a thread
// dies, taking the command with it.
const initHeadroom = 4

// initAllowance is what pids.max adds to the process limit for the init:
// the parent attaches it right after execve(2), before its Go runtime has
// started the threads it will have (eight with GOMAXPROCS=1, as measured),
// so it cannot count them then; this is that and initHeadroom, rounded up.
const initAllowance = 16

// attach moves pid, the sandbox's init blocked before it runs anything,
// into the run's cgroups, with all its threads, and raises pids.max by
// initAllowance, so that the limit caps the command's tree (which may use
// what the init leaves of its allowance).
func (lm *limiter) attach(pid int) error {
	if lm == nil {
		return nil
	}
	for _, cg := range lm.cgroups {
		if err := cg.ops.write(filepath.Join(cg.dir, "cgroup.procs"), strconv.Itoa(pid)); err != nil {
			return fmt.Errorf("limits: attach pid %d: %w", pid, err)
		}
		if !slices.Contains(cg.controllers, "pids") {
			continue
		}
		max := uint64(lm.limits.Processes) + initAllowance
		if err := cg.ops.write(filepath.Join(cg.dir, "pids.max"), strconv.FormatUint(max, 10)); err != nil {
			return fmt.Errorf("limits: pids.max: %w", err)
		}
	}
	return nil
}

// rlimits are what the sandbox must set on itself before the command
// starts. RLIMIT_NPROC counts the tasks of the sandbox's uid in its user
// namespace: the threads of the stage that sets it count too, and a Go
// stage whose runtime cannot create a thread dies ("failed to create new
// OS thread").
func (lm *limiter) rlimits() []rlimit {
	if lm == nil || lm.nproc == 0 {
		return nil
	}
	return []rlimit{{Resource: unix.RLIMIT_NPROC, Cur: lm.nproc, Max: lm.nproc}}
}

// degraded lists the limits not enforced, and why.
func (lm *limiter) degraded() []string {
	if lm == nil {
		return nil
	}
	return slices.Clone(lm.unenforced)
}

// mechanism says what enforces the limits: the cgroups, "rlimit NPROC" or
// "none".
func (lm *limiter) mechanism() string {
	if lm == nil {
		return "none"
	}
	var parts []string
	for _, cg := range lm.cgroups {
		parts = append(parts, fmt.Sprintf("cgroup v%d %s (%s)", cg.version, cg.dir, strings.Join(cg.controllers, "+")))
	}
	if lm.nproc > 0 {
		parts = append(parts, "rlimit NPROC")
	}
	if len(parts) == 0 {
		return "none"
	}
	return strings.Join(parts, "; ")
}

// close kills whatever is left in the run's cgroups and removes them (and
// the cordon parent, if this run created it and it is empty). It is safe to
// call twice, and on a nil limiter.
func (lm *limiter) close() error {
	if lm == nil {
		return nil
	}
	lm.mu.Lock()
	defer lm.mu.Unlock()
	if lm.closed {
		return nil
	}
	lm.closed = true
	deadline := time.Now().Add(closeTimeout)
	var errs []error
	for _, cg := range lm.cgroups {
		errs = append(errs, cg.destroy(deadline))
	}
	return errors.Join(errs...)
}

// probeLimits says what can enforce limits here, tried for real: a cgroup
// is created with both limits written, and removed.
func probeLimits() sandbox.Layer { return probeLimitsOn(systemCgroups()) }

func probeLimitsOn(h *cgroupHost) sandbox.Layer {
	ly := sandbox.Layer{Name: LayerLimits, Enforces: enforcesLimits}
	lm, err := newLimiterOn(h, sandbox.Limits{Processes: DefaultProcessLimit, Memory: 1 << 30}, true)
	if err != nil {
		ly.Detail = err.Error()
		return ly
	}
	defer lm.close()
	who := "root"
	if h.uid != 0 {
		who = fmt.Sprintf("uid %d", h.uid)
	}
	ly.Available = lm.has("pids") && lm.has("memory")
	switch {
	case ly.Available:
		ly.Detail = lm.summary() + " (" + who + ")"
	case lm.has("pids"):
		ly.Detail = lm.summary() + " only (" + who + "): memory limits unavailable: " + lm.why
	case lm.nproc > 0:
		ly.Detail = "rlimit NPROC only (" + who + "; " + lm.why + "): memory limits unavailable"
	default:
		ly.Detail = "none (" + who + "): " + strings.Join(lm.unenforced, "; ")
	}
	return ly
}

// summary names the cgroup controllers used, by version: "cgroup v1
// pids+memory".
func (lm *limiter) summary() string {
	var parts []string
	for v := 2; v >= 1; v-- {
		var cs []string
		for _, cg := range lm.cgroups {
			if cg.version == v {
				cs = append(cs, cg.controllers...)
			}
		}
		if len(cs) > 0 {
			parts = append(parts, fmt.Sprintf("cgroup v%d %s", v, strings.Join(cs, "+")))
		}
	}
	return strings.Join(parts, ", ")
}

// kernelAtLeast reports whether the running kernel is major.minor or later.
func kernelAtLeast(major, minor int) bool {
	var u unix.Utsname
	if err := unix.Uname(&u); err != nil {
		return false
	}
	var ma, mi int
	if _, err := fmt.Sscanf(unix.ByteSliceToString(u.Release[:]), "%d.%d", &ma, &mi); err != nil {
		return false
	}
	return ma > major || ma == major && mi >= minor
}

// withInitAllowance raises RLIMIT_NPROC in rs by the calling init's own
// threads and initHeadroom, as attach raises pids.max: the limit counts the
// init's threads too, and is meant for the command's tree.
func withInitAllowance(rs []rlimit) []rlimit {
	out := append([]rlimit(nil), rs...)
	for i := range out {
		if out[i].Resource == unix.RLIMIT_NPROC {
			n := ownThreads() + initHeadroom
			out[i].Cur += n
			out[i].Max += n
		}
	}
	return out
}

// ownThreads is the number of threads of the calling process.
func ownThreads() uint64 {
	b, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return 0
	}
	for _, line := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(line, "Threads:"); ok {
			n, _ := strconv.ParseUint(strings.TrimSpace(v), 10, 64)
			return n
		}
	}
	return 0
}
