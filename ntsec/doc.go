// Package ntsec is an executable model of Windows NT access control: SIDs,
// access masks, ACEs, ACLs, security descriptors (self-relative binary and
// SDDL), tokens, the access check and ACL inheritance.
//
// It is pure Go with no build tags, so that every claim cordon's Windows
// sandbox makes ("this token can write here and nowhere else") can be proven
// on Linux, where all of cordon's machines run. The model follows Microsoft's
// [MS-DTYP] specification; each file cites the section it implements. Where
// the specification is silent and the model has to choose (for instance which
// rights a write-restricted token's second pass constrains), the choice is a
// named function or constant with a comment, and the Windows-only tests in
// this package compare it with Windows when run with CORDON_REAL_WINDOWS=1:
// AuthzAccessCheck on client contexts with arbitrary groups and restricting
// SIDs, and the kernel's AccessCheck on real write-restricted and
// Low-integrity tokens, which Authz cannot build from SIDs.
//
// The model covers file-system objects, and process and thread objects for
// the question of what one sandbox may do to another's processes: generic
// rights are mapped with [FileMapping] (or [ProcessMapping],
// [ThreadMapping]), and only the ACE types a file's DACL or label SACL can hold
// in practice are accepted (access allowed, access denied, mandatory label).
// Anything else is rejected with an error naming it, never skipped: a model
// that silently ignored an ACE could prove a sandbox tighter than Windows
// makes it.
//
// [MS-DTYP]: https://learn.microsoft.com/en-us/openspecs/windows_protocols/ms-dtyp/
package ntsec
