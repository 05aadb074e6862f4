package linuxsandbox

import (
	"errors"
	"fmt"

	"github.com/landlock-lsm/go-landlock/landlock"
	ll "github.com/landlock-lsm/go-landlock/landlock/syscall"
	"golang.org/x/sys/unix"
)

// landlockSpec is the Landlock ruleset the init (or the exec stage) applies to itself.
type landlockSpec struct {
	// RWDirs are writable, with everything below them: the writable roots,
	// and the sandbox's private /tmp and /dev/shm.
	RWDirs []string `json:"rw_dirs,omitempty"`
	// RWFiles are single files (device nodes) that may be read, written
	// and, from ABI 5, ioctl'd: /dev/null and friends.
	RWFiles []string `json:"rw_files,omitempty"`
	// NetworkOff also handles TCP bind/connect (ABI 4) and UDP (ABI 10)
	// with no port allowed, and leaves connecting to pathname Unix sockets
	// of processes outside the sandbox (ABI 9) unallowed.
	NetworkOff bool `json:"network_off,omitempty"`
	// ConnectTCP are the TCP ports that may still be connected to with
	// NetworkOff: the allowlist proxy's, on the sandbox's own loopback.
	ConnectTCP []uint16 `json:"connect_tcp,omitempty"`
	// LocalNet leaves TCP and UDP unhandled with NetworkOff: a sandbox
	// whose network namespace holds only its loopback may then listen and
	// connect there (allow_local_binding).
	LocalNet bool `json:"local_net,omitempty"`
}

// landlockConfigs are go-landlock's full configurations by ABI version.
var landlockConfigs = []landlock.Config{
	landlock.V1, landlock.V2, landlock.V3, landlock.V4, landlock.V5, landlock.V6,
	landlock.V7, landlock.V8, landlock.V9, landlock.V10, landlock.V11,
}

// landlockABI returns the kernel's Landlock ABI version, or an error saying
// why there is none (landlock_create_ruleset(2) with
// LANDLOCK_CREATE_RULESET_VERSION).
func landlockABI() (int, error) {
	v, err := ll.LandlockGetABIVersion()
	if err != nil {
		if errors.Is(err, unix.ENOSYS) || errors.Is(err, unix.EOPNOTSUPP) {
			return 0, errors.New("not supported by the kernel or not enabled at boot (lsm=)")
		}
		return 0, err
	}
	if v < 1 {
		return 0, fmt.Errorf("ABI version %d", v)
	}
	return v, nil
}

// applyLandlock restricts the calling thread (landlock(7)): read and
// execute everywhere, write only under s.RWDirs and to s.RWFiles. It uses
// the best configuration of the running kernel's ABI (V1 to V11) without
// go-landlock's best-effort mode, which would silently enforce nothing on a
// kernel without Landlock: a ruleset that cannot be enforced is an error.
// The calling thread must have no_new_privs set and must be the one that
// execs the command (a Landlock domain is per thread and survives execve).
//
// From ABI 6 the ruleset also scopes signals and abstract Unix sockets: the
// command cannot signal, or connect to an abstract socket of, a process
// outside its domain (such as the caller, or a host daemon when it shares
// the host's network namespace).
//
// Landlock only adds rights under a directory; it cannot take them away
// below it, so it cannot keep .git read-only inside a writable root. The
// read-only bind mounts of the init do that; Landlock is the second wall
// around everything outside the roots.
func applyLandlock(s *landlockSpec) (abi int, err error) {
	abi, err = landlockABI()
	if err != nil {
		return 0, err
	}
	base := landlockConfigs[min(abi, len(landlockConfigs))-1]
	cfg := landlock.Config{HandledAccessFS: base.HandledAccessFS, Scoped: base.Scoped}
	if s.NetworkOff && !s.LocalNet {
		cfg.HandledAccessNet = base.HandledAccessNet
	}
	rules := []landlock.Rule{landlock.RODirs("/")}
	if len(s.RWDirs) > 0 {
		rw := landlock.RWDirs(s.RWDirs...)
		if abi >= 2 {
			// Renames and links between directories of a root; without
			// it Landlock answers EXDEV, which many tools do not expect.
			rw = rw.WithRefer()
		}
		rules = append(rules, rw)
	}
	files := append([]string{}, s.RWFiles...)
	files = append(files, stdioTTYs()...)
	if len(files) > 0 {
		rw := landlock.RWFiles(files...).IgnoreIfMissing()
		if abi >= 5 {
			rw = rw.WithIoctlDev() // terminal ioctls on /dev/tty and an inherited tty
		}
		rules = append(rules, rw)
	}
	if cfg.HandledAccessNet != 0 {
		for _, p := range s.ConnectTCP {
			rules = append(rules, landlock.ConnectTCP(p))
		}
	}
	if !s.NetworkOff && abi >= 9 {
		// With network, pathname Unix sockets stay reachable as before.
		rules = append(rules, landlock.PathAccess(ll.AccessFSResolveUnix, "/"))
	}
	fd, flags, err := cfg.NewRulesetFD(rules...)
	if err != nil {
		return abi, err
	}
	if fd < 0 {
		return abi, errors.New("no ruleset to enforce")
	}
	defer unix.Close(fd)
	if err := ll.LandlockRestrictSelf(fd, flags); err != nil {
		return abi, fmt.Errorf("landlock_restrict_self: %w", err)
	}
	return abi, nil
}

// stdioTTYs returns /proc/self/fd/N for each standard descriptor that is a
// terminal or other character device, so that reopening it (echo >
// /dev/stderr) keeps working: a Landlock rule opens its path, so the rule
// lands on the device the descriptor refers to. Pipes and sockets need no
// rule (Landlock does not restrict reopening those).
func stdioTTYs() []string {
	var out []string
	for fd := 0; fd <= 2; fd++ {
		var st unix.Stat_t
		if unix.Fstat(fd, &st) == nil && st.Mode&unix.S_IFMT == unix.S_IFCHR {
			out = append(out, fmt.Sprintf("/proc/self/fd/%d", fd))
		}
	}
	return out
}
