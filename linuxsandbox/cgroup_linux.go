package linuxsandbox

import (
	"errors"
	"fmt"
	"io/fs"
	"math/rand/v2"
	"os"
	"path"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/cordon-sandbox/cordon/sandbox"
	"golang.org/x/sys/unix"
)

// cgroupParent is the cgroup that holds the runs' cgroups.
const cgroupParent = "cordon"

// closeTimeout bounds how long close waits for a cgroup to empty.
const closeTimeout = 5 * time.Second

// runPID returns the creator's pid from the name of a run's cgroup,
// run-PID-RANDOM (RANDOM in hex). A regexp would do, but compiling one at
// package init costs every sandbox's start, as the init stage is this
// same program.
func runPID(name string) (int, bool) {
	rest, ok := strings.CutPrefix(name, "run-")
	if !ok {
		return 0, false
	}
	pid, random, ok := strings.Cut(rest, "-")
	if !ok || pid == "" || random == "" || strings.Trim(pid, "0123456789") != "" || strings.Trim(random, "0123456789abcdef") != "" {
		return 0, false
	}
	n, err := strconv.Atoi(pid)
	return n, err == nil
}

// cgroupHost is what newLimiter knows of the machine's cgroups. Tests
// point it at a tree that imitates cgroupfs.
type cgroupHost struct {
	mounts         []cgroupMount
	self           map[string]string // the caller's cgroup: "" for v2, else by v1 controller
	err            error             // why the hierarchies could not be read
	uid            int               // the caller's, which the sandbox's uid maps to
	nprocPerUserNS bool              // Linux 5.14 or later
	ops            cgroupOps
}

// cgroupOps are the writes to cgroupfs.
type cgroupOps struct {
	mkdir, rmdir func(path string) error
	write        func(path, value string) error
	writable     func(path string) bool
}

var realOps = cgroupOps{
	mkdir: func(p string) error { return os.Mkdir(p, 0o755) },
	rmdir: func(p string) error {
		if err := unix.Rmdir(p); err != nil {
			return &fs.PathError{Op: "rmdir", Path: p, Err: err}
		}
		return nil
	},
	write: func(p, v string) error {
		f, err := os.OpenFile(p, os.O_WRONLY, 0)
		if err != nil {
			return err
		}
		_, err = f.WriteString(v)
		return errors.Join(err, f.Close())
	},
	writable: func(p string) bool { return unix.Access(p, unix.W_OK) == nil },
}

// cgroupMount is one mounted cgroup hierarchy.
type cgroupMount struct {
	dir, root   string   // mount point; the hierarchy's directory mounted there
	v2          bool     // else v1
	controllers []string // v1: the super options, controllers among them
}

func systemCgroups() *cgroupHost {
	h := &cgroupHost{uid: os.Getuid(), nprocPerUserNS: kernelAtLeast(5, 14), ops: realOps}
	mi, err := os.ReadFile("/proc/self/mountinfo")
	if err != nil {
		h.err = fmt.Errorf("cgroups unreadable: %w", err)
		return h
	}
	self, err := os.ReadFile("/proc/self/cgroup")
	if err != nil {
		h.err = fmt.Errorf("cgroups unreadable: %w", err)
		return h
	}
	h.mounts, h.self = parseMountinfo(string(mi)), parseSelfCgroup(string(self))
	return h
}

var unescapeMount = strings.NewReplacer(`\040`, " ", `\011`, "\t", `\012`, "\n", `\134`, `\`)

// parseMountinfo lists the cgroup mounts of proc_pid_mountinfo(5).
func parseMountinfo(s string) []cgroupMount {
	var ms []cgroupMount
	for _, line := range strings.Split(s, "\n") {
		pre, post, ok := strings.Cut(line, " - ")
		f, g := strings.Fields(pre), strings.Fields(post)
		if !ok || len(f) < 5 || len(g) < 3 || (g[0] != "cgroup" && g[0] != "cgroup2") {
			continue
		}
		m := cgroupMount{root: unescapeMount.Replace(f[3]), dir: unescapeMount.Replace(f[4]), v2: g[0] == "cgroup2"}
		if !m.v2 {
			m.controllers = strings.Split(g[2], ",")
		}
		ms = append(ms, m)
	}
	return ms
}

// parseSelfCgroup reads /proc/self/cgroup (cgroups(7)).
func parseSelfCgroup(s string) map[string]string {
	self := map[string]string{}
	for _, line := range strings.Split(s, "\n") {
		f := strings.SplitN(line, ":", 3)
		if len(f) != 3 {
			continue
		}
		if f[0] == "0" && f[1] == "" {
			self[""] = f[2]
		}
		for _, c := range strings.Split(f[1], ",") {
			if c != "" {
				self[c] = f[2]
			}
		}
	}
	return self
}

// place creates the run's cgroups for the controllers of need, v2 first,
// then v1 for those still missing. It returns why each controller it could
// not place was not placed.
func (h *cgroupHost) place(lm *limiter, need []string) []string {
	if h.err != nil {
		return []string{h.err.Error()}
	}
	var why []string
	if m := h.mount(""); m == nil {
		why = append(why, "no cgroup2 mount")
	} else {
		// One v2 cgroup only: every controller needed, else the most
		// important one (pids, the default cap) alone.
		wants := [][]string{need}
		if len(need) > 1 {
			wants = append(wants, []string{"pids"}, []string{"memory"})
		}
		for i, want := range wants {
			cg, err := h.create(m, want, lm.limits)
			if err == nil {
				lm.cgroups = append(lm.cgroups, cg)
				break
			}
			if i == 0 {
				why = append(why, err.Error())
			}
			if !errors.Is(err, errNotEnabled) {
				break // a subset would fail the same way
			}
		}
	}
	for _, c := range need {
		if lm.has(c) {
			continue
		}
		m := h.mount(c)
		if m == nil {
			why = append(why, "no cgroup v1 "+c+" mount")
			continue
		}
		cg, err := h.create(m, []string{c}, lm.limits)
		if err != nil {
			why = append(why, err.Error())
			continue
		}
		lm.cgroups = append(lm.cgroups, cg)
	}
	return why
}

// mount returns the v2 mount (controller "") or the v1 mount of controller.
func (h *cgroupHost) mount(controller string) *cgroupMount {
	for i, m := range h.mounts {
		if controller == "" && m.v2 || controller != "" && slices.Contains(m.controllers, controller) {
			return &h.mounts[i]
		}
	}
	return nil
}

// create makes the run's cgroup with the controllers of want in the
// nearest ancestor of the caller's cgroup where it can, and writes l.
func (h *cgroupHost) create(m *cgroupMount, want []string, l sandbox.Limits) (*cgroup, error) {
	key, v := "", 2
	if !m.v2 {
		key, v = want[0], 1
	}
	what := fmt.Sprintf("cgroup v%d %s at %s", v, strings.Join(want, "+"), m.dir)
	own, ok := h.self[key]
	rel, inside := strings.CutPrefix(own, strings.TrimSuffix(m.root, "/"))
	if !ok || !inside || (rel != "" && !strings.HasPrefix(rel, "/")) {
		return nil, fmt.Errorf("%s: the caller's cgroup %q is not under it", what, own)
	}
	var tried []string
	for p := path.Clean("/" + rel); ; p = path.Dir(p) {
		a := filepath.Join(m.dir, p)
		err := h.usable(m, a, want)
		if err == nil {
			var cg *cgroup
			if cg, err = h.createIn(a, v, want, l); err == nil {
				return cg, nil
			}
		}
		if !errors.Is(err, errNotEnabled) {
			tried = append(tried, err.Error())
		}
		if p == "/" {
			break
		}
	}
	if len(tried) == 0 {
		return nil, fmt.Errorf("%s: %w in the cgroup.subtree_control of %s or any ancestor", what, errNotEnabled, filepath.Join(m.dir, rel))
	}
	if len(tried) > 2 {
		tried = append(tried[:2], fmt.Sprintf("and %d more", len(tried)-2))
	}
	return nil, fmt.Errorf("%s: %s", what, strings.Join(tried, "; "))
}

var errNotEnabled = errors.New("controllers not enabled")

// usable says whether a run's cgroup may be created under a: in v2 the
// controllers must be enabled for a's children, and the caller must be
// able to move its init there (write access to a's cgroup.procs).
func (h *cgroupHost) usable(m *cgroupMount, a string, want []string) error {
	if m.v2 {
		b, err := os.ReadFile(filepath.Join(a, "cgroup.subtree_control"))
		if err != nil {
			return err
		}
		for _, c := range want {
			if !slices.Contains(strings.Fields(string(b)), c) {
				return errNotEnabled
			}
		}
		if !h.ops.writable(filepath.Join(a, "cgroup.procs")) {
			return fmt.Errorf("%s/cgroup.procs is not writable", a)
		}
	}
	// A cordon parent someone made writable for the caller will do.
	if !h.ops.writable(a) && !h.ops.writable(filepath.Join(a, cgroupParent)) {
		return fmt.Errorf("%s is not writable", a)
	}
	return nil
}

// createIn creates a/cordon (if need be) and a/cordon/run-PID-RANDOM, and
// writes l there.
func (h *cgroupHost) createIn(a string, v int, want []string, l sandbox.Limits) (cg *cgroup, err error) {
	cg = &cgroup{version: v, parent: filepath.Join(a, cgroupParent), controllers: want, ops: h.ops}
	// A concurrent run that created the parent may remove it (empty) just
	// after our mkdir: then make it again.
	for range 3 {
		err = h.ops.mkdir(cg.parent)
		cg.madeParent = err == nil
		if err != nil && !errors.Is(err, fs.ErrExist) {
			return nil, err
		}
		if v == 2 {
			if err := h.enable(cg.parent, want); err != nil {
				return nil, err
			}
		}
		h.sweep(cg.parent)
		cg.dir = filepath.Join(cg.parent, fmt.Sprintf("run-%d-%08x", os.Getpid(), rand.Uint32()))
		if err = h.ops.mkdir(cg.dir); !errors.Is(err, fs.ErrNotExist) {
			break
		}
	}
	if err != nil {
		if cg.madeParent {
			_ = h.ops.rmdir(cg.parent)
		}
		return nil, err
	}
	defer func() {
		if err != nil {
			_ = cg.destroy(time.Now())
		}
	}()
	return cg, cg.setLimits(l)
}

// enable enables want in the cgroup.subtree_control of parent, cordon's.
func (h *cgroupHost) enable(parent string, want []string) error {
	b, err := os.ReadFile(filepath.Join(parent, "cgroup.subtree_control"))
	if err != nil {
		return err
	}
	var add []string
	for _, c := range want {
		if !slices.Contains(strings.Fields(string(b)), c) {
			add = append(add, "+"+c)
		}
	}
	if len(add) == 0 {
		return nil
	}
	return h.ops.write(filepath.Join(parent, "cgroup.subtree_control"), strings.Join(add, " "))
}

// sweep removes, best effort, the empty cgroups of runs whose cordon
// process is gone (it crashed before its close).
func (h *cgroupHost) sweep(parent string) {
	ents, _ := os.ReadDir(parent)
	for _, e := range ents {
		pid, ok := runPID(e.Name())
		if !ok || !e.IsDir() {
			continue
		}
		if pid == os.Getpid() || !errors.Is(unix.Kill(pid, 0), unix.ESRCH) {
			continue
		}
		dir := filepath.Join(parent, e.Name())
		if pids, err := readPids(dir); err == nil && len(pids) == 0 {
			_ = h.ops.rmdir(dir) // the kernel refuses a populated cgroup
		}
	}
}

// cgroup is one run's cgroup in one hierarchy.
type cgroup struct {
	version     int
	dir         string // run-PID-RANDOM
	parent      string // cordon
	madeParent  bool
	controllers []string
	ops         cgroupOps
}

func (cg *cgroup) setLimits(l sandbox.Limits) error {
	set := func(file string, n uint64, ifExists bool) error {
		p := filepath.Join(cg.dir, file)
		if _, err := os.Stat(p); ifExists && errors.Is(err, fs.ErrNotExist) {
			return nil
		}
		return cg.ops.write(p, strconv.FormatUint(n, 10))
	}
	var errs []error
	for _, c := range cg.controllers {
		switch {
		case c == "pids":
			errs = append(errs, set("pids.max", uint64(l.Processes), false))
		case cg.version == 2:
			errs = append(errs, set("memory.max", l.Memory, false), set("memory.swap.max", 0, true))
		default: // the memsw limit cannot be below the memory limit: set it second
			errs = append(errs, set("memory.limit_in_bytes", l.Memory, false), set("memory.memsw.limit_in_bytes", l.Memory, true))
		}
	}
	return errors.Join(errs...)
}

// destroy kills what is in the cgroup until it is empty, then removes it,
// and the parent if it made it and nothing else uses it.
func (cg *cgroup) destroy(deadline time.Time) error {
	if cg.version == 2 {
		if _, err := os.Stat(filepath.Join(cg.dir, "cgroup.kill")); err == nil {
			_ = cg.ops.write(filepath.Join(cg.dir, "cgroup.kill"), "1")
		}
	}
	for {
		pids, err := readPids(cg.dir)
		if errors.Is(err, fs.ErrNotExist) {
			break // already removed
		}
		if err == nil && len(pids) == 0 {
			if err = cg.ops.rmdir(cg.dir); err == nil || errors.Is(err, fs.ErrNotExist) {
				break
			}
		} else if err == nil {
			killPids(cg.dir, pids)
			err = fmt.Errorf("%d processes left", len(pids))
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("limits: remove %s: %w", cg.dir, err)
		}
		time.Sleep(5 * time.Millisecond)
	}
	if cg.madeParent {
		_ = cg.ops.rmdir(cg.parent) // fails while another run uses it
	}
	return nil
}

// killPids sends SIGKILL to each of pids still in the cgroup dir. Through a
// pidfd opened before the cgroup is listed again, a pid reused meanwhile by
// a process outside the cgroup is never signalled.
func killPids(dir string, pids []int) {
	fds := map[int]int{}
	for _, pid := range pids {
		fd, err := unix.PidfdOpen(pid, 0)
		if errors.Is(err, unix.ENOSYS) { // before Linux 5.3
			_ = unix.Kill(pid, unix.SIGKILL)
		} else if err == nil {
			fds[pid] = fd
		}
	}
	still, _ := readPids(dir)
	for _, pid := range still {
		if fd, ok := fds[pid]; ok {
			_ = unix.PidfdSendSignal(fd, unix.SIGKILL, nil, 0)
		}
	}
	for _, fd := range fds {
		unix.Close(fd)
	}
}

// readPids lists the processes of the cgroup dir.
func readPids(dir string) ([]int, error) {
	b, err := os.ReadFile(filepath.Join(dir, "cgroup.procs"))
	if err != nil {
		return nil, err
	}
	var pids []int
	for _, f := range strings.Fields(string(b)) {
		if pid, err := strconv.Atoi(f); err == nil {
			pids = append(pids, pid)
		}
	}
	return pids, nil
}
