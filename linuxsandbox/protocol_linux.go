package linuxsandbox

// The stage protocol. A stage learns what to do only from a pipe, never from
// its argv or environment, which the command could read through /proc:
//
//	parent ──fd 3 (spec, JSON initSpec)──▶ init ──fork+exec──▶ command
//	parent ◀─fd 4 (status)──────────────── init
//	parent ◀─fd 5 (a socket: the proxy's listener, with a network allowlist)── init
//
// The spec pipe carries the JSON spec on one line, then, once the parent
// has placed the stage in the run's cgroup, the byte 'g' (go), and is
// closed. The stage sets the sandbox up meanwhile, and waits for the byte
// just before the command starts: the cgroup's slow migration overlaps the
// mounts, and the command never runs outside its limits. EOF without it
// means the parent gave up.
//
// The status pipe carries JSON lines (statusMsg). A stage that fails to set
// up writes {"stage":…,"error":…} and exits; once every restriction is in
// force and the command has been started, the init writes
// {"stage":"init","ready":true} and closes the pipe (the command never
// holds it: it is close-on-exec, and a failed execve(2) is reported by
// the fork itself). The parent (Start) reads to EOF, which comes when the
// command has been started or the init is gone:
//
//   - a ready line and no error: the command runs; Start returns the
//     Process. (If execve itself then fails, the command's status is 126 or
//     127, as a shell would report it.)
//   - an error line: a *SetupError; nothing of the command ran.
//   - neither (a stage was killed or crashed during setup): a *SetupError
//     too, never an exit code the caller could take for the command's.
//
// Callers map setup errors to exit 125.
//
// Without user namespaces (best effort) the parent starts the exec stage
// instead, which restricts itself and execve(2)s the command, with the same
// two descriptors; it writes its ready line just before execve(2).

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
)

const (
	specFD   = 3
	statusFD = 4

	// exitSetup is the exit status of a stage that failed to set up; the
	// parent does not use it (the status message is authoritative) but a
	// human reading a process listing sees cordon's usual 125.
	exitSetup = 125

	maxSpec = 16 << 20
)

// initSpec is what the init stage reads on fd 3. Paths are canonical host
// paths (symbolic links resolved by the parent), so they name the same
// directory inside the new root, which is a copy of the host's tree.
type initSpec struct {
	UID int `json:"uid"` // the caller's uid and gid, mapped to themselves
	GID int `json:"gid"`
	// TmpKeep are directories below /tmp or /var/tmp that stay visible in
	// the private temp directories: the writable roots and the cwd.
	TmpKeep []string `json:"tmp_keep,omitempty"`
	// HostTmp lists the private temp directories NOT to make: those the
	// policy names as writable roots itself (--writable-root /tmp).
	HostTmp []string `json:"host_tmp,omitempty"`
	// TmpSize bounds each private tmpfs, in bytes.
	TmpSize uint64 `json:"tmp_size"`
	// MaskRun hides /run (and a /var/run that is a directory) under an
	// empty read-only tmpfs: set when the network is off.
	MaskRun bool `json:"mask_run,omitempty"`
	// Roots are bound read-write (nosuid). Pins, each inside a root, are
	// bound read-write over themselves so that they cannot be renamed or
	// removed (a git directory lies below them). Protected (each inside a
	// root, each existing) and ReadOnly (cordon's state directory when a
	// root holds it) are bound read-only on top.
	Roots     []string `json:"roots,omitempty"`
	Pins      []string `json:"pins,omitempty"`
	Protected []string `json:"protected,omitempty"`
	ReadOnly  []string `json:"read_only,omitempty"`
	// DenyRead are covered last, so that they win over a root holding them.
	DenyRead []denyPath `json:"deny_read,omitempty"`
	// Caches are the tool caches' overlays, mounted right after the host's
	// tree is cloned; CacheBinds the directories tools' variables point at
	// instead, bound writable after the deny-read covers (caches_linux.go).
	Caches     []cacheMount `json:"caches,omitempty"`
	CacheBinds []string     `json:"cache_binds,omitempty"`
	// Rlimits are set on the init itself before it starts the command.
	Rlimits []rlimit `json:"rlimits,omitempty"`
	// Proxy, for a network allowlist, has the init listen on the
	// loopback and hand the listener to the parent (netproxy_linux.go).
	Proxy *proxySpec `json:"proxy,omitempty"`
	Exec  execSpec   `json:"exec"`
}

// denyPath is a path the command may not read: a canonical host path, a
// directory or not.
type denyPath struct {
	Path string `json:"path"`
	Dir  bool   `json:"dir,omitempty"`
}

// execSpec is what the last code before the command applies: the init
// stage's own restrictions, or the exec stage's where there are no
// namespaces.
type execSpec struct {
	Args []string `json:"args"`
	Dir  string   `json:"dir"`
	Env  []string `json:"env"`
	// Landlock is nil when Landlock is not applied (best effort only).
	Landlock *landlockSpec `json:"landlock,omitempty"`
	// Seccomp applies the base filter; NetworkOff adds the network-off
	// rules to it, which Loopback relaxes for the allowlist proxy.
	Seccomp    bool `json:"seccomp,omitempty"`
	NetworkOff bool `json:"network_off,omitempty"`
	Loopback   bool `json:"loopback,omitempty"`
	// TakeCtty: the command's session takes its descriptor Ctty (0, 1 or
	// 2), the run's own terminal, as its controlling terminal.
	TakeCtty bool `json:"take_ctty,omitempty"`
	Ctty     int  `json:"ctty,omitempty"`
}

// statusMsg is one line of the status pipe: a setup failure, or the
// word that the command has been started (or is about to be exec'd).
type statusMsg struct {
	Stage string `json:"stage"`
	Error string `json:"error,omitempty"`
	Ready bool   `json:"ready,omitempty"`
}

// specPipe is the stage's end of the spec pipe.
type specPipe struct {
	f *os.File
	r *bufio.Reader
}

// readSpec reads and decodes the spec line of the spec pipe on fd; the pipe
// stays open for awaitGo.
func readSpec(fd uintptr, v any) (*specPipe, error) {
	f := os.NewFile(fd, "spec")
	if f == nil {
		return nil, fmt.Errorf("spec pipe: fd %d is not open", fd)
	}
	sp := &specPipe{f: f, r: bufio.NewReader(io.LimitReader(f, maxSpec))}
	b, err := sp.r.ReadBytes('\n')
	if err != nil {
		f.Close()
		return nil, fmt.Errorf("read spec: %w", err)
	}
	if err := json.Unmarshal(b, v); err != nil {
		f.Close()
		return nil, fmt.Errorf("decode spec: %w", err)
	}
	return sp, nil
}

// awaitGo waits for the parent's go-ahead and closes the pipe.
func (sp *specPipe) awaitGo() error {
	defer sp.f.Close()
	c, err := sp.r.ReadByte()
	if err != nil || c != 'g' {
		return fmt.Errorf("the parent gave no go-ahead (%q, %v)", c, err)
	}
	return nil
}

// writeSpec writes v to w as one JSON line, leaving w open for sendGo.
func writeSpec(w io.Writer, v any) error {
	b, err := json.Marshal(v)
	if err != nil {
		return fmt.Errorf("encode spec: %w", err)
	}
	if _, err := w.Write(append(b, '\n')); err != nil {
		return fmt.Errorf("write spec: %w", err)
	}
	return nil
}

// sendGo tells the stage to start the command, and closes w.
func sendGo(w io.WriteCloser) error {
	_, err := w.Write([]byte{'g'})
	if cerr := w.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return fmt.Errorf("send go-ahead: %w", err)
	}
	return nil
}

// reportStatus writes a setup failure to the status pipe. It is best
// effort: if the parent is gone there is nobody to tell.
func reportStatus(status *os.File, stage string, err error) {
	writeStatus(status, statusMsg{Stage: stage, Error: err.Error()})
}

func writeStatus(status *os.File, m statusMsg) {
	if status == nil {
		return
	}
	b, _ := json.Marshal(m)
	_, _ = status.Write(append(b, '\n'))
}

// readStatus reads the status pipe to EOF and returns nil if the command
// was started, or the setup error.
func readStatus(r io.Reader) error {
	b, err := io.ReadAll(io.LimitReader(r, 1<<20))
	if err != nil && !errors.Is(err, os.ErrClosed) {
		return fmt.Errorf("linux sandbox: read status pipe: %w", err)
	}
	ready := false
	for _, line := range bytes.Split(b, []byte("\n")) {
		if len(line) == 0 {
			continue
		}
		var m statusMsg
		if err := json.Unmarshal(line, &m); err != nil {
			return &SetupError{Stage: "unknown", Msg: fmt.Sprintf("malformed status %q", line)}
		}
		if m.Error != "" {
			return &SetupError{Stage: m.Stage, Msg: m.Error}
		}
		ready = ready || m.Ready
	}
	if !ready {
		return &SetupError{Stage: "unknown", Msg: "the sandbox exited before the command started"}
	}
	return nil
}
