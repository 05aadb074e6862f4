package linuxsandbox

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/cordon-sandbox/cordon/sandbox"
	"golang.org/x/sys/unix"
)

// fakeCgroupfs imitates cgroupfs in a temporary directory: a v2 cgroup is a
// directory with cgroup.subtree_control; mkdir makes the interface files
// the kernel would (for v2, those of the controllers the parent enables;
// for v1, the parent's limit files); rmdir refuses a populated cgroup.
type fakeCgroupfs struct {
	readOnly map[string]bool // paths writable reports as not writable
}

var limitFiles = []string{"pids.max", "memory.max", "memory.swap.max", "memory.limit_in_bytes", "memory.memsw.limit_in_bytes"}

func (f *fakeCgroupfs) ops() cgroupOps {
	return cgroupOps{
		mkdir: func(p string) error {
			if err := os.Mkdir(p, 0o755); err != nil {
				return err
			}
			files := map[string]string{"cgroup.procs": ""}
			parent := filepath.Dir(p)
			if sc, err := os.ReadFile(filepath.Join(parent, "cgroup.subtree_control")); err == nil {
				files["cgroup.subtree_control"], files["cgroup.controllers"] = "", string(sc)
				for _, c := range strings.Fields(string(sc)) {
					files[c+".max"] = "max"
				}
				if files["memory.max"] != "" {
					files["memory.swap.max"] = "max"
				}
			} else {
				for _, n := range limitFiles {
					if _, err := os.Stat(filepath.Join(parent, n)); err == nil {
						files[n] = "max"
					}
				}
			}
			for n, v := range files {
				if err := os.WriteFile(filepath.Join(p, n), []byte(v), 0o644); err != nil {
					return err
				}
			}
			return nil
		},
		rmdir: func(p string) error {
			pids, err := readPids(p)
			if err != nil {
				return err
			}
			ents, _ := os.ReadDir(p)
			if len(pids) > 0 || slices.ContainsFunc(ents, fs.DirEntry.IsDir) {
				return &fs.PathError{Op: "rmdir", Path: p, Err: unix.EBUSY}
			}
			return os.RemoveAll(p)
		},
		write: func(p, v string) error {
			if filepath.Base(p) == "cgroup.subtree_control" {
				b, _ := os.ReadFile(p)
				on := strings.Fields(string(b))
				for _, c := range strings.Fields(v) {
					on = append(on, strings.TrimPrefix(c, "+"))
				}
				v = strings.Join(on, " ")
			}
			return os.WriteFile(p, []byte(v), 0)
		},
		writable: func(p string) bool { return !f.readOnly[p] },
	}
}

// fakeTree makes the cgroups of tree (path under root → subtree_control,
// or for v1 "" and the limit files named) under root.
func fakeTree(t *testing.T, root string, tree map[string]string, v1Files ...string) {
	t.Helper()
	for p, sc := range tree {
		d := filepath.Join(root, p)
		if err := os.MkdirAll(d, 0o755); err != nil {
			t.Fatal(err)
		}
		files := map[string]string{"cgroup.procs": ""}
		if v1Files == nil {
			files["cgroup.subtree_control"] = sc
		}
		for _, n := range v1Files {
			files[n] = "max"
		}
		for n, v := range files {
			if err := os.WriteFile(filepath.Join(d, n), []byte(v), 0o644); err != nil {
				t.Fatal(err)
			}
		}
	}
}

func fakeHost(uid int, f *fakeCgroupfs, mounts []cgroupMount, self map[string]string) *cgroupHost {
	return &cgroupHost{mounts: mounts, self: self, uid: uid, nprocPerUserNS: true, ops: f.ops()}
}

func mustRead(t *testing.T, p string) string {
	t.Helper()
	b, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	return strings.TrimSpace(string(b))
}

func mustBeGone(t *testing.T, p string) {
	t.Helper()
	if _, err := os.Stat(p); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("%s still exists (%v)", p, err)
	}
}

// cgroupOf is lm's cgroup holding controller.
func cgroupOf(t *testing.T, lm *limiter, controller string) *cgroup {
	t.Helper()
	for _, cg := range lm.cgroups {
		if slices.Contains(cg.controllers, controller) {
			return cg
		}
	}
	t.Fatalf("no cgroup with %s: %s", controller, lm.mechanism())
	return nil
}

// A user in a delegated v2 subtree: the nearest ancestor that enables both
// controllers and whose cgroup.procs the user may write gets cordon/run-*.
func TestCgroupV2Delegated(t *testing.T) {
	root := t.TempDir()
	svc := "/user.slice/user-1000.slice/user@1000.service"
	fakeTree(t, root, map[string]string{
		"/": "pids memory", "/user.slice": "pids memory", "/user.slice/user-1000.slice": "pids memory",
		svc: "pids memory", svc + "/app.slice": "pids memory", svc + "/app.slice/term.scope": "",
	})
	f := &fakeCgroupfs{readOnly: map[string]bool{
		// app.slice enables both, but the user cannot write its cgroup.procs.
		filepath.Join(root, svc, "app.slice", "cgroup.procs"): true,
	}}
	h := fakeHost(1000, f, []cgroupMount{{dir: root, root: "/", v2: true}}, map[string]string{"": svc + "/app.slice/term.scope"})
	lm, err := newLimiterOn(h, sandbox.Limits{Processes: 10, Memory: 64 << 20}, false)
	if err != nil {
		t.Fatal(err)
	}
	cg := cgroupOf(t, lm, "memory")
	if want := filepath.Join(root, svc, "cordon"); filepath.Dir(cg.dir) != want || !isRunName(filepath.Base(cg.dir)) {
		t.Fatalf("cgroup %s, want one in %s", cg.dir, want)
	}
	if cg.version != 2 || len(lm.cgroups) != 1 || lm.rlimits() != nil || len(lm.degraded()) != 0 {
		t.Errorf("mechanism %s, rlimits %v, degraded %q", lm.mechanism(), lm.rlimits(), lm.degraded())
	}
	for file, want := range map[string]string{"pids.max": "10", "memory.max": "67108864", "memory.swap.max": "0"} {
		if got := mustRead(t, filepath.Join(cg.dir, file)); got != want {
			t.Errorf("%s = %q, want %q", file, got, want)
		}
	}
	if got := mustRead(t, filepath.Join(cg.parent, "cgroup.subtree_control")); got != "pids memory" {
		t.Errorf("cordon's subtree_control = %q", got)
	}
	if err := lm.attach(4242); err != nil || mustRead(t, filepath.Join(cg.dir, "cgroup.procs")) != "4242" {
		t.Fatalf("attach: %v", err)
	}
	if err := os.WriteFile(filepath.Join(cg.dir, "cgroup.procs"), nil, 0); err != nil { // the process left
		t.Fatal(err)
	}
	if err := lm.close(); err != nil {
		t.Fatal(err)
	}
	mustBeGone(t, cg.parent) // this run made it
	if err := lm.close(); err != nil {
		t.Errorf("second close: %v", err)
	}
}

// A hybrid hierarchy (this repository's CI machine): cgroup2 without
// controllers, v1 pids and memory; memory nests under the caller's own
// cgroup, seen through a mount of a subtree.
func TestCgroupV1Hybrid(t *testing.T) {
	base := t.TempDir()
	uni, pids, mem := filepath.Join(base, "unified"), filepath.Join(base, "pids"), filepath.Join(base, "memory")
	fakeTree(t, uni, map[string]string{"/": ""})
	fakeTree(t, pids, map[string]string{"/": ""}, "pids.max")
	fakeTree(t, mem, map[string]string{"/": "", "/job": ""}, "memory.limit_in_bytes", "memory.memsw.limit_in_bytes")
	f := &fakeCgroupfs{}
	mounts := parseMountinfo(strings.Join([]string{
		"30 22 0:27 / " + uni + " rw,relatime - cgroup2 cgroup2 rw",
		"31 30 0:28 / " + pids + " rw,relatime - cgroup cgroup rw,pids",
		"32 30 0:29 /process_api " + mem + " rw,relatime - cgroup cgroup rw,memory",
		"33 22 0:30 / /proc rw - proc proc rw",
	}, "\n"))
	self := parseSelfCgroup("4:memory:/process_api/job\n8:pids:/\n1:cpu,cpuacct:/\n0::/\n")
	if len(mounts) != 3 || self["memory"] != "/process_api/job" || self[""] != "/" || self["cpuacct"] != "/" {
		t.Fatalf("parsed mounts %+v, self %v", mounts, self)
	}
	h := fakeHost(0, f, mounts, self)
	lm, err := newLimiterOn(h, sandbox.Limits{Memory: 64 << 20}, false)
	if err != nil {
		t.Fatal(err)
	}
	p, m := cgroupOf(t, lm, "pids"), cgroupOf(t, lm, "memory")
	if p.version != 1 || filepath.Dir(p.dir) != filepath.Join(pids, "cordon") || m.version != 1 || filepath.Dir(m.dir) != filepath.Join(mem, "job", "cordon") {
		t.Fatalf("mechanism %s", lm.mechanism())
	}
	for file, want := range map[string]string{filepath.Join(p.dir, "pids.max"): strconv.Itoa(DefaultProcessLimit),
		filepath.Join(m.dir, "memory.limit_in_bytes"): "67108864", filepath.Join(m.dir, "memory.memsw.limit_in_bytes"): "67108864"} {
		if got := mustRead(t, file); got != want {
			t.Errorf("%s = %q, want %q", file, got, want)
		}
	}
	if err := lm.close(); err != nil {
		t.Fatal(err)
	}
	mustBeGone(t, filepath.Join(mem, "job", "cordon"))
	if ly := probeLimitsOn(h); !ly.Available || ly.Detail != "cgroup v1 pids+memory (root)" || ly.Enforces == "" {
		t.Errorf("probe: %+v", ly)
	}
}

// Without a usable cgroup: RLIMIT_NPROC where it bites, and each limit that
// cannot be enforced refused, or with best effort reported.
func TestLimitFallbacks(t *testing.T) {
	mib64 := uint64(64 << 20)
	for _, tc := range []struct {
		name        string
		uid         int
		oldKernel   bool
		unreadable  bool
		l           sandbox.Limits
		bestEffort  bool
		refused     bool
		nproc       uint64
		degraded    string // substring of the degraded list
		probeDetail string // prefix of the probe's detail
	}{
		{name: "user", uid: 1000, l: sandbox.Limits{Processes: 10}, nproc: 10, probeDetail: "rlimit NPROC only (uid 1000; no usable cgroup (no cgroup2 mount; no cgroup v1 pids mount; no cgroup v1 memory mount)): memory limits unavailable"},
		{name: "user default", uid: 1000, nproc: DefaultProcessLimit},
		{name: "user memory", uid: 1000, l: sandbox.Limits{Memory: mib64}, refused: true},
		{name: "user memory best effort", uid: 1000, l: sandbox.Limits{Memory: mib64}, bestEffort: true, nproc: DefaultProcessLimit, degraded: "limits: memory: no usable cgroup"},
		{name: "root", uid: 0, l: sandbox.Limits{Processes: 10}, refused: true, probeDetail: "none (root): limits: processes: no usable cgroup"},
		{name: "root default", uid: 0, degraded: "RLIMIT_NPROC is not enforced for root"},
		{name: "old kernel", uid: 1000, oldKernel: true, degraded: "before Linux 5.14"},
		{name: "unreadable", uid: 1000, unreadable: true, l: sandbox.Limits{Memory: mib64}, bestEffort: true, nproc: DefaultProcessLimit, degraded: "cgroups unreadable: permission denied", probeDetail: "rlimit NPROC only (uid 1000; no usable cgroup (cgroups unreadable"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			h := fakeHost(tc.uid, &fakeCgroupfs{}, nil, nil)
			h.nprocPerUserNS = !tc.oldKernel
			if tc.unreadable {
				h.err = fmt.Errorf("cgroups unreadable: %w", fs.ErrPermission)
			}
			lm, err := newLimiterOn(h, tc.l, tc.bestEffort)
			if tc.refused {
				if !errors.Is(err, sandbox.ErrUnavailable) || lm != nil {
					t.Fatalf("err = %v, want one wrapping ErrUnavailable", err)
				}
			} else if err != nil {
				t.Fatal(err)
			} else {
				var want []rlimit
				if tc.nproc > 0 {
					want = []rlimit{{Resource: unix.RLIMIT_NPROC, Cur: tc.nproc, Max: tc.nproc}}
				}
				if !slices.Equal(lm.rlimits(), want) {
					t.Errorf("rlimits %v, want %v", lm.rlimits(), want)
				}
				d := strings.Join(lm.degraded(), "\n")
				if tc.degraded == "" && d != "" || !strings.Contains(d, tc.degraded) {
					t.Errorf("degraded %q, want %q", d, tc.degraded)
				}
				if m := lm.mechanism(); m != map[bool]string{true: "rlimit NPROC", false: "none"}[tc.nproc > 0] {
					t.Errorf("mechanism %q", m)
				}
			}
			if ly := probeLimitsOn(h); ly.Available || !strings.HasPrefix(ly.Detail, tc.probeDetail) {
				t.Errorf("probe: %+v, want detail %q…", ly, tc.probeDetail)
			}
		})
	}
}

// v2 enabling pids only: processes there, memory refused or degraded.
func TestCgroupV2PidsOnly(t *testing.T) {
	root := t.TempDir()
	fakeTree(t, root, map[string]string{"/": "pids"})
	h := fakeHost(0, &fakeCgroupfs{}, []cgroupMount{{dir: root, root: "/", v2: true}}, map[string]string{"": "/"})
	if _, err := newLimiterOn(h, sandbox.Limits{Memory: 1 << 30}, false); !errors.Is(err, sandbox.ErrUnavailable) {
		t.Fatalf("err = %v, want ErrUnavailable", err)
	}
	lm, err := newLimiterOn(h, sandbox.Limits{Memory: 1 << 30}, true)
	if err != nil {
		t.Fatal(err)
	}
	defer lm.close()
	if cg := cgroupOf(t, lm, "pids"); cg.version != 2 || slices.Contains(cg.controllers, "memory") || !strings.Contains(strings.Join(lm.degraded(), ""), "limits: memory: no usable cgroup (cgroup v2 pids+memory at "+root+": controllers not enabled") {
		t.Errorf("mechanism %s, degraded %q", lm.mechanism(), lm.degraded())
	}
	if ly := probeLimitsOn(h); ly.Available || !strings.HasPrefix(ly.Detail, "cgroup v2 pids only (root): memory limits unavailable") {
		t.Errorf("probe: %+v", ly)
	}
}

// Left-over run cgroups of dead cordon processes are removed; those of live
// ones, and cgroups cordon does not name, stay, as does a parent it did not
// create.
func TestCgroupSweep(t *testing.T) {
	root := t.TempDir()
	fakeTree(t, root, map[string]string{"/": "pids", "/cordon": "pids"})
	dead := exec.Command("true")
	if err := dead.Run(); err != nil {
		t.Fatal(err)
	}
	f := &fakeCgroupfs{}
	for _, n := range []string{fmt.Sprintf("run-%d-00ab", dead.Process.Pid), fmt.Sprintf("run-%d-00cd", os.Getppid()), "other"} {
		if err := f.ops().mkdir(filepath.Join(root, "cordon", n)); err != nil {
			t.Fatal(err)
		}
	}
	h := fakeHost(0, f, []cgroupMount{{dir: root, root: "/", v2: true}}, map[string]string{"": "/"})
	lm, err := newLimiterOn(h, sandbox.Limits{}, false)
	if err != nil {
		t.Fatal(err)
	}
	if err := lm.close(); err != nil {
		t.Fatal(err)
	}
	ents, _ := os.ReadDir(filepath.Join(root, "cordon"))
	var left []string
	for _, e := range ents {
		if e.IsDir() {
			left = append(left, e.Name())
		}
	}
	if want := []string{"other", fmt.Sprintf("run-%d-00cd", os.Getppid())}; !slices.Equal(left, want) {
		t.Errorf("left %v, want %v", left, want)
	}
}

func isRunName(s string) bool { _, ok := runPID(s); return ok }

func TestRunPID(t *testing.T) {
	for name, want := range map[string]int{"run-12-ab09": 12, "run-1-0": 1} {
		if got, ok := runPID(name); !ok || got != want {
			t.Errorf("runPID(%q) = %d, %v; want %d", name, got, ok, want)
		}
	}
	for _, name := range []string{"run-", "run-12", "run-12-", "run--ab", "run-1x-ab", "run-12-AB", "run-12-ab-c", "cordon", "xrun-1-a"} {
		if _, ok := runPID(name); ok {
			t.Errorf("runPID(%q) accepted", name)
		}
	}
}
