// Package winsandbox is cordon's Windows backend, "restricted-token": it
// runs a command under the caller's own token made write-restricted, so
// that the command may write only where cordon's plan granted the run's
// capability SIDs.
//
// # A run, step by step
//
//  1. The caller's token is read into the NT model, once
//     (restrictedtoken.OpenCaller). An elevated token is refused; so is one
//     Windows will not describe completely. The proof's model (step 5) and
//     the token (step 7) both come from this read.
//  2. The capability SIDs come from the store (capsid): one per workspace,
//     a generic one for temp directories and extra roots, a read-only one.
//  3. The plan (aclplan.Make) is computed on the real file system
//     (ntfs.View), through a recorder that keeps the paths it read: the
//     roots, the protected names inside them and the audited directories.
//     Only a cold root — one whose ACEs are about to be written, so that
//     propagation rewrites its whole tree anyway — has its tree read, for
//     the directories whose DACL would not take the root's denial of the
//     user's FILE_DELETE_CHILD. A warm run, with every ACE in place, reads
//     O(roots), plans nothing and writes nothing.
//     The plan labels the roots Low (OI|CI, no-write-up) and denies the
//     user's own FILE_DELETE_CHILD inside them and in the state directory:
//     under the H2 reading of the write-restricted pass that right meets
//     only the user's own groups, and at Low integrity nothing unlabelled
//     is writable or deletable by any right (aclplan.LowLabel).
//  4. The edits are recorded (acelog) and then applied (ntfs.ApplyAll, all
//     or nothing).
//  5. The model's access check proves, for the token Create will make
//     (restrictedtoken.Model over the live token), every object the planner
//     read and their ancestors (aclplan.ProveApplied): those at or below an
//     edited path read again from NTFS, the others as the planner saw them.
//     A plan that fails is undone (what this run changed, not what a
//     concurrent run applied) and the command does not run.
//  6. The NUL device is made usable by that token, if it is not already.
//  7. The token is made (Caller.Create, which reads it back and refuses
//     it unless it equals the model proven in step 5) at Low integrity
//     (Options.MediumIntegrity or --medium-integrity keep Medium, proven
//     under H1 only, and Degraded says so) with a fresh run SID
//     among its restricting SIDs and a default DACL granting only the
//     user, SYSTEM and that SID; a job object is created
//     (KILL_ON_JOB_CLOSE, DIE_ON_UNHANDLED_EXCEPTION, optional limits) and
//     the command started in it (winlaunch), with the environment of
//     LaunchEnv and process and thread descriptors granting the same three
//     SIDs (restrictedtoken.ProcessSD, ThreadSD), so that no other sandbox
//     can open the command's processes for writing. The job carries every
//     UI restriction (no clipboard, global atoms, foreign USER handles,
//     system parameters, display settings, desktop switching, log-off), and
//     the command starts on a private desktop (internal/windesktop) in the
//     caller's window station, granted to the user, SYSTEM and the run SID,
//     so its hooks and SendInput reach none of the user's windows. The
//     desktop is closed after the job.
//  8. When the command exits, the job is terminated, so nothing it left
//     running outlives it.
//
// Before step 2, in workspace-write mode, the tool caches get their
// layers (caches.go): each tool's variable is pointed at a directory below
// the workspace's own temp directory, a root of the plan like the others,
// and the workspace's cache lock is held until the command has ended.
//
// A read-only run adds no allow ACE at all, and at Low integrity no deny
// on anything of the user's either (a world-writable directory outside the
// roots is held by its own Medium label; only cordon's state directory
// gets the user's FILE_DELETE_CHILD denied): it leaves nothing behind to
// revoke. Every run holds
// the run lock shared from before it records its edits until its command
// has ended: `cordon cleanup` takes it exclusive, so it never removes ACEs
// from under a running command. Steps 2 to 5 run under the setup lock, one
// run at a time. The lock files are readable by sandboxed commands (reads
// are not restricted), and reading is all LockFileEx needs, so a command
// could hold one: waits for them are bounded, and end in a "busy" error.
//
// # What this is not
//
// Without the elevated mode's firewall, network lockdown is only the
// environment (proxy variables pointing at a dead port, offline switches
// for package managers, ssh/scp stubs): a deterrent for well-behaved tools,
// not a wall. Reads are not restricted at all. The tokens, ACLs and job are
// enforced by Windows itself; Wine, which cordon's CI runs the plumbing
// under, enforces none of them, and this backend says so rather than run
// as if it did (see WinePlumbingEnv).
package winsandbox

import (
	"github.com/cordon-sandbox/cordon/sandbox"
)

const (
	// Name is the backend's name for --sandbox.
	Name = "restricted-token"

	// ExperimentalEnv must be "1" for --sandbox auto to pick this backend
	// on Windows: until its enforcement has run on real Windows, nobody
	// gets it without asking. Asking for it by name is asking.
	ExperimentalEnv = "CORDON_EXPERIMENTAL_WINDOWS_SANDBOX"

	// WinePlumbingEnv must be "1" for the backend to run under Wine at all.
	// Wine stores no DACL and restricts no token, so there the command runs
	// with the caller's own token, in its job, with the sandbox's
	// environment, and Result.Degraded says that nothing was enforced.
	// It exists so that CI can run the backend's plumbing end to end.
	WinePlumbingEnv = "CORDON_WINE_PLUMBING"
)

// Options are the backend's settings beyond the policy.
type Options struct {
	// StateDir holds the capability SID store and the record of applied
	// ACEs; empty means statedir.Dir().
	StateDir string
	// MediumIntegrity keeps the caller's Medium integrity for every run
	// instead of Low (sandbox.Spec.MediumIntegrity asks for it per run).
	// The roots then get no Low label, and nothing but DACLs stands
	// between the command and the user's files: under the H2 reading of
	// the write-restricted pass the command may delete or rename whatever
	// the user may delete outside the roots (issue 10, finding 1). Runs so
	// made are proven under H1 only, and say so in Degraded.
	MediumIntegrity bool
	// MemoryLimit caps the committed memory of the whole process tree in
	// bytes; 0 means no limit.
	MemoryLimit uint64
	// ProcessLimit caps how many processes the tree may have alive at
	// once; 0 means no limit.
	ProcessLimit uint32
}

// Backend is the restricted-token backend. Its zero value is usable.
type Backend struct {
	Options
}

var _ sandbox.Backend = (*Backend)(nil)

// New returns the backend with default options.
func New() *Backend { return &Backend{} }

// Name implements sandbox.Backend.
func (b *Backend) Name() string { return Name }

// Experimental reports whether getenv turns on auto-selection of this
// backend.
func Experimental(getenv func(string) string) bool { return getenv(ExperimentalEnv) == "1" }

// mediumUnproven is what Degraded reports for a Medium-integrity run.
const mediumUnproven = "medium-integrity: the command keeps Medium integrity; the plan is proven under the H1 reading only, and under H2 the command may delete whatever you may delete outside the writable roots"

// wineUnenforced is what Degraded reports for a run under Wine.
const wineUnenforced = "restricted-token: nothing enforced under Wine (no token restriction, no DACL stored, no proof)"

// Layers of the backend, as Probe reports them.
const (
	LayerToken   = "restricted-token"
	LayerACL     = "dacl"
	LayerJob     = "job-object"
	LayerDesktop = "desktop"
	LayerNetwork = "network-env"
	// LayerCaches is how tool caches are layered: always through their
	// variables here (caches.go); the Linux backend's layer of the same
	// name says overlay or variables.
	LayerCaches = "cache-layers"
)

var enforces = map[string]string{
	LayerToken:   "Every write the command makes must also be granted to one of its capability SIDs, its own run SID, its logon SID or Everyone; it holds no privilege but bypass-traverse. It runs at Low integrity (unless --medium-integrity): it may write, delete or rename nothing that lacks a Low label, and only the writable roots get one. What it creates, its own processes included, grants writes to the user, SYSTEM and its run SID only, so other sandboxes cannot write or inject into it (they can still read and terminate it).",
	LayerACL:     "Its capability SIDs are granted on the writable roots only, denied on protected names (.git and the agents' and editors' configuration directories) and on world-writable directories outside the roots.",
	LayerJob:     "The command and everything it starts die when it exits, times out or is cancelled. It may not use the clipboard, global atoms, other processes' windows, system parameters, display settings, desktop switching or log-off.",
	LayerDesktop: "The command runs on a private desktop of its own: its hooks and SendInput reach none of the user's windows.",
	LayerCaches:  "A workspace-write command may write its tool caches (Go, npm, pip, cargo, Maven, Gradle): each tool's variable points at a directory of its workspace's own, below the workspace's own temp directory, which only that workspace's sandboxes may write. Yours stay read-only and unchanged.",
	LayerNetwork: "Without network, proxy variables point at a dead port, package managers are told to stay offline and ssh/scp resolve to failing stubs. Programs that ignore them still connect.",
}
