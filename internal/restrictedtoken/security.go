package restrictedtoken

import (
	"crypto/rand"
	"encoding/binary"
	"fmt"

	"github.com/cordon-sandbox/cordon/ntsec"
)

// NewRunSID returns a fresh random SID for one run, S-1-5-21-a-b-c-d with
// four random 32-bit sub-authorities (Chromium's sandbox makes a random
// per-target restricting SID the same way, sandbox/win/src/restricted_token.cc).
// It names no account: Windows never resolves it, and no ACE on disk grants
// it, so it gives the run nothing but what cordon grants it in the
// descriptors of this file.
func NewRunSID() (ntsec.SID, error) {
	var b [16]byte
	if _, err := rand.Read(b[:]); err != nil {
		return ntsec.SID{}, fmt.Errorf("restrictedtoken: run SID: %w", err)
	}
	s, err := ntsec.NewSID(5, 21,
		binary.LittleEndian.Uint32(b[0:]), binary.LittleEndian.Uint32(b[4:]),
		binary.LittleEndian.Uint32(b[8:]), binary.LittleEndian.Uint32(b[12:]))
	if err != nil {
		return ntsec.SID{}, fmt.Errorf("restrictedtoken: run SID: %w", err)
	}
	return s, nil
}

// DefaultDACL returns the default DACL Create gives the sandbox token:
// GENERIC_ALL for the user, SYSTEM and the run SID, in that order
// (TOKEN_DEFAULT_DACL,
// https://learn.microsoft.com/en-us/windows/win32/api/winnt/ns-winnt-token_default_dacl).
//
// Windows applies the default DACL to objects a process creates without a
// security descriptor and with nothing to inherit: pipes, events, sections,
// PowerShell's IPC objects, and the processes and threads the command
// itself starts ("Default DACL",
// https://learn.microsoft.com/en-us/windows/win32/secauthz/dacl-for-a-new-object).
// A write to such an object by a write-restricted process must be granted
// to the user (first pass) and to a restricting SID (second pass): the run
// SID is the one restricting SID granted, so the run can write what it
// created and nothing else in the session can unless it holds the user's
// unrestricted token. Another cordon sandbox holds the user, the logon SID
// and Everyone but not this run SID, so it passes the first check and fails
// the second on every write right: it can neither write this run's pipes
// nor inject into its processes. Reads are not restricted (see ProcessSD
// for what that leaves open).
//
// Generic rights in a default DACL are mapped by each object's type when
// the object is created, so GENERIC_ALL is the full set of rights of a
// pipe, a process or a thread alike. The default DACL also applies to files
// created in a directory with no inheritable ACEs; cordon's writable roots
// always carry an inheritable capability ACE, so files there inherit from
// it instead.
func DefaultDACL(user, run ntsec.SID) *ntsec.ACL {
	return grantAll(ntsec.GenericAll, user, run)
}

// ProcessSD is the security descriptor winlaunch gives the command's
// process (CreateProcessAsUser's lpProcessAttributes,
// https://learn.microsoft.com/en-us/windows/win32/api/processthreadsapi/nf-processthreadsapi-createprocessasuserw):
// owner the user, and PROCESS_ALL_ACCESS for the user, SYSTEM and the run
// SID. Without it, the process would get the token's default DACL; giving
// it explicitly makes the descriptor one the model has checked, whatever
// the default DACL ends up being.
//
// Under the model (ntsec.ProcessMapping, write-restricted tokens), another
// sandbox of the same user gets on this process only the rights the user's
// normal SIDs decide alone: PROCESS_VM_READ, PROCESS_QUERY_INFORMATION,
// PROCESS_QUERY_LIMITED_INFORMATION, PROCESS_TERMINATE, READ_CONTROL and
// SYNCHRONIZE. Every right that changes the process (PROCESS_VM_WRITE,
// PROCESS_VM_OPERATION, PROCESS_CREATE_THREAD, PROCESS_DUP_HANDLE,
// PROCESS_CREATE_PROCESS, PROCESS_SET_INFORMATION, PROCESS_SET_QUOTA,
// PROCESS_SUSPEND_RESUME, DELETE, WRITE_DAC, WRITE_OWNER) needs the run SID
// in the restricted pass and is refused. Reading another sandbox's memory
// and terminating it stay possible, as they do on every process of the
// user (issue 10, finding 5, open).
func ProcessSD(user, run ntsec.SID) *ntsec.SecurityDescriptor {
	return &ntsec.SecurityDescriptor{Control: ntsec.DACLPresent, Owner: user, DACL: grantAll(ntsec.ProcessAllAccess, user, run)}
}

// ThreadSD is the security descriptor of the command's first thread
// (lpThreadAttributes): THREAD_ALL_ACCESS for the user, SYSTEM and the run
// SID. Under the model another sandbox gets only THREAD_GET_CONTEXT,
// THREAD_QUERY_INFORMATION, THREAD_QUERY_LIMITED_INFORMATION,
// THREAD_RESUME, READ_CONTROL and SYNCHRONIZE (ntsec.ThreadMapping): not
// THREAD_SET_CONTEXT, THREAD_SUSPEND_RESUME or THREAD_TERMINATE.
func ThreadSD(user, run ntsec.SID) *ntsec.SecurityDescriptor {
	return &ntsec.SecurityDescriptor{Control: ntsec.DACLPresent, Owner: user, DACL: grantAll(ntsec.ThreadAllAccess, user, run)}
}

// grantAll is an ACL allowing mask to user, SYSTEM and run.
func grantAll(mask ntsec.AccessMask, user, run ntsec.SID) *ntsec.ACL {
	acl := &ntsec.ACL{Revision: ntsec.ACLRevision}
	for _, s := range []ntsec.SID{user, ntsec.LocalSystem, run} {
		acl.Entries = append(acl.Entries, ntsec.ACE{Type: ntsec.AccessAllowed, Mask: mask, SID: s})
	}
	return acl
}

// DesktopSD is the security descriptor of the run's private desktop
// (internal/windesktop): GENERIC_ALL, mapped by the desktop type to
// DESKTOP_* all access, for the user, SYSTEM and the run SID. The command
// needs to read and write its desktop (a console program's user32 connects
// to it, and creates windows and hooks there); another sandbox, lacking the
// run SID, passes the first check and fails the restricted one on every
// write right, so it cannot create windows or hooks on it. The model has no
// desktop generic mapping, so this is argued from the same two passes as
// ProcessSD, not checked by ntsec.
func DesktopSD(user, run ntsec.SID) *ntsec.SecurityDescriptor {
	return &ntsec.SecurityDescriptor{Control: ntsec.DACLPresent, Owner: user, DACL: grantAll(ntsec.GenericAll, user, run)}
}
