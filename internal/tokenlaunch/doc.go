// Package tokenlaunch starts a command under a restricted token the way
// both of cordon's Windows backends do: in a job object from its first
// instruction, on a private desktop, with process and thread descriptors
// that grant only the user, SYSTEM and the run SID, and with the job
// terminated once the command itself exits, so that nothing it left
// running outlives it.
//
// The restricted-token backend (winsandbox) uses the pieces (SDs,
// PrivateDesktop) inside its own prepare, which interleaves them with its
// plan; the elevated mode's runner (internal/runner), which runs as a
// sandbox user and has no plan to make, uses Start, which does it all.
// Everything here is Windows code; on other systems only this
// documentation exists.
package tokenlaunch
