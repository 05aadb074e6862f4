// Package linuxsandbox is cordon's Linux backend: it runs a command under a
// policy.Resolved with the policy enforced by the kernel, not by the
// command's good will.
//
// # Layers
//
// Every restriction is applied in re-exec'd copies of the running binary
// ("stages"), never in the caller, which stays unrestricted:
//
//   - Stage 1 ("init") is started by Start in a new user, mount and PID
//     namespace (and a new network namespace when the policy has no network;
//     see user_namespaces(7), mount_namespaces(7), pid_namespaces(7),
//     network_namespaces(7)). It builds the command's view of the file system:
//     the host's tree bound read-only, each writable root bound back
//     read-write, each protected name inside a writable root (.git, .codex,
//     .agents and the policy's own) bound read-only on top, a fresh /proc, a
//     minimal /dev and, in read-only mode, a private /tmp. It then pivots into
//     that tree, starts stage 2 and, as PID 1 of the namespace, forwards
//     SIGINT/SIGTERM/SIGHUP/SIGQUIT to it, reaps orphans and exits with stage
//     2's status. When stage 1 dies, the kernel kills every process of the
//     PID namespace: that is how Kill reaches the command's grandchildren.
//   - Stage 2 ("exec") is started by stage 1 in a second, nested user
//     namespace with its own mount namespace. Its mounts were copied from a
//     more privileged mount namespace, so the kernel locks them
//     (mount_namespaces(7), "locked mounts"): even with every capability of
//     its namespace, it could not unmount or remount them read-write. Stage
//     2 drops every capability (PR_CAPBSET_DROP of the whole bounding set,
//     the ambient set cleared, capset(2) to zero), sets PR_SET_NO_NEW_PRIVS,
//     applies Landlock (landlock(7): read everywhere, write only in the
//     writable roots and a few device files), applies a seccomp filter when
//     the policy has no network (seccomp(2): socket(2) of any family but
//     AF_UNIX, io_uring, ptrace and process_vm_* fail with EPERM), marks
//     every descriptor above 2 close-on-exec, changes to Spec.Dir and
//     execve(2)s the command.
//
// Where user namespaces are unavailable only stage 2 runs (no_new_privs,
// Landlock, seccomp). That cannot keep protected names unwritable, give a
// read-only command a private /tmp, or kill a command's daemonized
// descendants, so Start then refuses unless Spec.BestEffort, and
// Process.Degraded names what is missing. Nothing is ever reported as
// enforced without having been tried: Probe starts a real stage with the
// same namespaces and restrictions and checks each one.
//
// Stages get their instructions over a pipe on fd 3 and report setup
// failures over a pipe on fd 4 (see protocol_linux.go); nothing of the spec
// is in a stage's argv or environment, and the stage variable never reaches
// the command.
//
// # Limits
//
// What this backend does not do, said plainly:
//
//   - Connecting to pathname Unix sockets of processes outside the sandbox
//     is not restricted below Landlock ABI 9: a socket file on a read-only
//     mount can still be connected to, subject only to its permissions.
//     Without network, /run (D-Bus, systemd, docker.sock) is hidden under
//     an empty tmpfs, but sockets elsewhere — an ssh-agent socket in a
//     writable /tmp, an X11 socket — stay reachable; on ABI 9 kernels the
//     ruleset denies them all. With network, all are reachable.
//   - Reading is not restricted: the whole host tree is visible, read-only.
//   - Without network, 32-bit (compat) system calls are refused outright,
//     so 32-bit programs do not run; the loopback interface stays down.
//   - /dev has no pts or ptmx: the command gets no new terminals, and has
//     no controlling terminal (its session is new).
//   - Mounts below a writable root (another file system mounted inside it)
//     stay read-only.
//   - Stage 1 is tied to the caller with PR_SET_PDEATHSIG, which the kernel
//     fires when the caller's thread that started it exits: a caller that
//     calls Start from a goroutine locked to a thread that then exits kills
//     its sandboxes.
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
	Stage string // "init" (stage 1, namespaces and mounts) or "exec" (stage 2, privileges, Landlock, seccomp)
	Msg   string
}

func (e *SetupError) Error() string {
	return fmt.Sprintf("linux sandbox setup (%s stage): %s", e.Stage, e.Msg)
}
