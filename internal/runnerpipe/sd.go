package runnerpipe

import (
	"fmt"

	"github.com/cordon-sandbox/cordon/ntsec"
)

// ClientAccess is the access the runner opens the pipe with, and the only
// access the pipe's DACL grants: FILE_READ_DATA, FILE_WRITE_DATA,
// FILE_READ_ATTRIBUTES and SYNCHRONIZE (0x00100083). GENERIC_READ |
// GENERIC_WRITE, what a client usually asks for, would also bring
// FILE_APPEND_DATA, which on a pipe is FILE_CREATE_PIPE_INSTANCE (a right
// to create server instances of the pipe's name), FILE_WRITE_EA and
// FILE_WRITE_ATTRIBUTES (the pipe's mode): the runner needs none of them
// ("Named Pipe Security and Access Rights",
// https://learn.microsoft.com/en-us/windows/win32/ipc/named-pipe-security-and-access-rights).
const ClientAccess = ntsec.FileReadData | ntsec.FileWriteData | ntsec.FileReadAttributes | ntsec.Synchronize

// SecurityDescriptor returns the descriptor cordon creates the runner's
// pipe with, for the sandbox user sandboxUser (the local account the
// runner logs on as, an S-1-5-21-… SID). In SDDL:
//
//	D:P(A;;0x100083;;;<sandboxUser>)(A;;RC;;;OW)S:(ML;;NRNW;;;ME)
//
// Its parts:
//
//   - A protected DACL (nothing inherited, though pipes inherit nothing
//     today) with one grant: ClientAccess to the sandbox user. Everyone
//     else, another sandbox user included, is refused every right.
//   - An OWNER RIGHTS (S-1-3-4) ACE granting READ_CONTROL only. The pipe's
//     owner is its creator, the real user; without this ACE the owner would
//     get READ_CONTROL and WRITE_DAC implicitly, and any process of the real
//     user could rewrite the DACL. With it, no one can, and the creator,
//     who holds the server end from CreateNamedPipe, never needs to open
//     the pipe by name ("SID Strings", OW;
//     https://learn.microsoft.com/en-us/windows/win32/secauthz/sid-strings).
//   - A Medium mandatory label with no-write-up and no-read-up. The runner
//     runs at Medium (a standard user's logon) and passes; the commands it
//     starts run as the same sandbox user but, by default, at Low
//     integrity, and are refused reading and writing alike by the label
//     before the DACL is consulted ("Mandatory Integrity Control",
//     https://learn.microsoft.com/en-us/windows/win32/secauthz/mandatory-integrity-control;
//     a process may label what it creates at or below its own level, and
//     cordon runs at Medium or above).
//
// A command run at Medium integrity (MediumIntegrity) holds a
// write-restricted token of the sandbox user: its restricting SIDs are not
// granted, so it cannot open the pipe for writing, but the DACL's grant to
// the user alone decides reads, and a read-only open is allowed. That open
// still needs a free instance of the pipe: there is one, taken by the
// runner before any command exists, and a client that takes it first is
// refused by Listener.Accept's process ID check before any frame is sent
// (see the tests, which state this in the model).
//
// SYSTEM gets no ACE: it needs none to act on any object, through its
// privileges.
func SecurityDescriptor(sandboxUser ntsec.SID) (*ntsec.SecurityDescriptor, error) {
	subs := sandboxUser.SubAuthorities()
	if sandboxUser.IsZero() || sandboxUser.Authority() != 5 || len(subs) < 2 || subs[0] != 21 {
		return nil, fmt.Errorf("runnerpipe: the sandbox user's SID (%s) is not a local account's S-1-5-21-… SID", sidText(sandboxUser))
	}
	return &ntsec.SecurityDescriptor{
		Control: ntsec.DACLPresent | ntsec.DACLProtected | ntsec.SACLPresent,
		DACL: &ntsec.ACL{Revision: ntsec.ACLRevision, Entries: []ntsec.ACE{
			{Type: ntsec.AccessAllowed, Mask: ClientAccess, SID: sandboxUser},
			{Type: ntsec.AccessAllowed, Mask: ntsec.ReadControl, SID: ntsec.OwnerRights},
		}},
		SACL: &ntsec.ACL{Revision: ntsec.ACLRevision, Entries: []ntsec.ACE{
			{Type: ntsec.MandatoryLabel, Mask: ntsec.LabelNoWriteUp | ntsec.LabelNoReadUp, SID: ntsec.MediumLabel},
		}},
	}, nil
}

// SDDL is SecurityDescriptor in SDDL form, as
// ConvertStringSecurityDescriptorToSecurityDescriptorW takes it.
func SDDL(sandboxUser ntsec.SID) (string, error) {
	sd, err := SecurityDescriptor(sandboxUser)
	if err != nil {
		return "", err
	}
	return sd.SDDL(), nil
}

func sidText(s ntsec.SID) string {
	if s.IsZero() {
		return "empty"
	}
	return s.String()
}
