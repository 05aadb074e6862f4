// Package linuxsandbox is cordon's Linux backend: it runs a command under a
// policy.Resolved with the policy enforced by the kernel, not by the
// command's good will.
//
// # Layers
//
// Every restriction is applied in a re-exec'd copy of the running binary
// (the init), never in the caller, which stays unrestricted. The init is
// started by Start in new user, mount, PID and IPC namespaces (and a new
// network namespace when the policy has no network or an allowlist, whose
// proxy it reaches as netproxy_linux.go says; see
// user_namespaces(7), mount_namespaces(7), pid_namespaces(7),
// ipc_namespaces(7), network_namespaces(7)), as the caller's uid mapped to
// itself. It builds the command's view of the file system: the host's tree
// bound read-only, each tool cache an overlay over the user's cache with
// the workspace's own upper layer (caches_linux.go), each writable root
// bound back read-write (nosuid), the
// protected names and git directories inside them bound read-only on top
// (gitDirs), cordon's state directory read-only, private size-bounded /tmp
// and /var/tmp, a fresh /proc and a minimal /dev. It pivots into that tree,
// joins a fresh session keyring, sets the rlimits its limits need, drops
// every capability (PR_CAPBSET_DROP of the whole bounding set, the ambient
// set cleared, capset(2) to zero), sets PR_SET_NO_NEW_PRIVS, applies
// Landlock (landlock(7): read everywhere, write only in the writable roots,
// the tool caches' overlays, the private temp directories and a few device
// files) and the seccomp
// filter (internal/seccompfilter) to itself, then starts the command as its
// child with only stdin, stdout and stderr. As PID 1 of the namespace it
// forwards SIGINT/SIGTERM/SIGHUP/SIGQUIT to it, reaps orphans and exits with
// its status. When the init dies, the kernel kills every process of the
// PID namespace: that is how Kill reaches the command's grandchildren.
//
// The command cannot undo the mounts: it has no capability in the
// namespace, seccomp keeps it from making a user namespace of its own,
// Landlock forbids every mount operation to it, and a nested namespace
// would see them locked (mount_namespaces(7), "locked mounts").
//
// Where user namespaces are unavailable only the exec stage runs
// (no_new_privs, Landlock, seccomp, then execve of the command). That cannot keep protected names unwritable, give a
// read-only command a private /tmp, or kill a command's daemonized
// descendants, so Start then refuses unless Spec.BestEffort, and
// Process.Degraded names what is missing. Nothing is ever reported as
// enforced without having been tried: Probe starts a real stage with the
// same namespaces and restrictions and checks each one.
//
// The stages get their instructions over a pipe on fd 3 and report setup
// failures over a pipe on fd 4 (see protocol_linux.go); nothing of the spec
// is in a stage's argv or environment, and the stage variable never reaches
// the command.
//
// # Limits
//
// What this backend does not do, said plainly:
//
//   - Connecting to pathname Unix sockets of processes outside the sandbox
//     is not restricted below Landlock ABI 9 outside the private temp
//     directories and, without network, /run: a socket under $HOME or in a
//     writable root can still be connected to, subject only to its
//     permissions. With network, all are reachable.
//   - Reading is not restricted: the whole host tree is visible, read-only,
//     but for the host's /tmp and /var/tmp.
//   - 32-bit (compat) system calls are refused outright, so 32-bit
//     programs do not run; nor do programs that need a user namespace.
//   - /dev has no pts or ptmx: the command gets no new terminals, and has
//     no controlling terminal (its session is new).
//   - Mounts below a writable root (another file system mounted inside it)
//     stay read-only.
//   - The init is tied to the caller with PR_SET_PDEATHSIG, which the
//     kernel fires when the caller's thread that started it exits: a caller
//     that calls Start from a goroutine locked to a thread that then exits
//     kills its sandboxes.
//
// # Use
//
// A program using the backend must call Init first thing in main (and in
// TestMain), because the stages are that same program re-executed through
// /proc/self/exe, as runc's libcontainer init and Docker's reexec do.
package linuxsandbox

import (
	"fmt"

	"github.com/cordon-sandbox/cordon/sandbox"
)

// Name is the backend's name.
const Name = "linux"

// stageEnv selects the stage a re-executed binary runs. It is the only
// variable in a stage's environment and never reaches the command.
const stageEnv = "CORDON_SANDBOX_STAGE"

// Layer names, as reported by Probe and Process.Degraded.
const (
	LayerUserNS    = "user-namespace"
	LayerMountNS   = "mount-namespace"
	LayerPIDNS     = "pid-namespace"
	LayerNetNS     = "network-namespace"
	LayerIPCNS     = "ipc-namespace"
	LayerKeyring   = "keyring"
	LayerLandlock  = "landlock"
	LayerSeccomp   = "seccomp"
	LayerNoNewPriv = "no-new-privs"
	LayerAllowlist = "network-allowlist"
)

// Init must be called first thing in main (and in TestMain) of any program
// that uses the backend. When the process was re-executed as a sandbox
// stage (stageEnv is set) it runs that stage and never returns; otherwise it
// returns at once. On other systems it always returns at once.
func Init() { initStage() }

// New returns the backend; its Name is "linux". On other systems its Probe
// reports it unavailable and Start fails with sandbox.ErrUnavailable.
func New() sandbox.Backend { return newBackend() }

// SetupError is a failure to set a sandbox up, reported by a stage before
// the command ran: Start returns it (nothing of the command ran, nothing is
// left mounted) and callers map it to cordon's exit status 125, never
// mistaking it for the command's own status.
type SetupError struct {
	Stage string // "init" (namespaces, mounts, privileges, Landlock, seccomp) or "exec" (the same without namespaces)
	Msg   string
}

func (e *SetupError) Error() string {
	return fmt.Sprintf("linux sandbox setup (%s stage): %s", e.Stage, e.Msg)
}
