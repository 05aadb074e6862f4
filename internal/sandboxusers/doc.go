// Package sandboxusers is `cordon setup` for the Windows elevated mode:
// the local group CordonSandboxUsers and the accounts CordonSandboxOffline
// and CordonSandboxOnline that sandboxed commands run as, their passwords,
// and the marker that says setup is complete.
//
// # Shape
//
// A portable core decides; thin Windows code acts. [Observe] takes a
// snapshot through three small interfaces ([Accounts], [Secrets],
// [Markers]); [Plan] and [PlanRemove] are pure functions from the desired
// and observed state to an ordered list of [Action]s; [Apply] performs
// them; [Run] ties the three together with --dry-run and --remove.
// [Setup] (Windows) runs it on this machine with [SAM] (NetApi32, the
// registry, LogonUserW), [FileSecrets] over [DPAPI], and [FileMarkers], under
// the state directory's lock; [Elevate] starts an elevated copy of the
// caller through the UAC prompt and [WriteResult]/[ReadResult] carry its
// outcome back.
//
// # The accounts
//
// Each sandbox user is a normal local account (USER_PRIV_USER) with
// UF_DONT_EXPIRE_PASSWD (no expiry lock-out), UF_PASSWD_CANT_CHANGE (a
// sandboxed command cannot change it), never UF_ACCOUNTDISABLE, UF_LOCKOUT
// or UF_PASSWD_NOTREQD; a member of CordonSandboxUsers (for ACLs and
// firewall rules to name) and of Users, never of Administrators; and hidden
// from the logon screen by the Winlogon SpecialAccounts\UserList value.
// Users is needed, not a convenience: it holds "Allow log on locally",
// which the interactive logon of CreateProcessWithLogonW requires, and read
// access to C:\Windows and C:\Program Files. Groups are named by
// well-known SID and members added by SID, so translated group names and
// domain accounts of the same name change nothing. Setup only ever deletes
// names beginning with CordonSandbox, whatever the (user-writable) marker
// says.
//
// # Passwords and crash safety
//
// Each password is 32 characters from crypto/rand over four classes. It is
// stored pending before the account call that sets it (NetUserAdd or
// NetUserSetInfo level 1003) and committed after, so a setup killed at any
// point leaves either a missing secret (nothing was set) or a pending one
// (the account may have either password): the next run resets it without
// trying it. A committed secret is tried once per run with LogonUserW,
// and never on a locked-out account; any doubt (wrong, expired, locked,
// disabled, unreadable, tampered with) resets the password, which an
// administrator can always do. So a run adds at most one failed logon per
// account, the repair's successful logon clears the count, and there is no
// lock-out loop. The marker is written last, after a logon with every
// stored password succeeded; removal deletes it first.
//
// # DPAPI and who runs setup
//
// Passwords are protected with CryptProtectData in user scope, with the
// purpose (format version and account name) as entropy: only a process of
// the same user can decrypt them, a changed byte or a file copied onto the
// other account's name fails, and they sit in
// <state dir>\sandbox-users, a directory owned by the user with a
// protected DACL granting only the user and SYSTEM. The cordon that later
// launches sandboxed commands runs as the real user, unelevated, and must
// read them; a sandboxed command runs as a sandbox account and can
// neither open the file nor use the real user's DPAPI keys.
//
// User scope fixes who may run setup. When the real user is an
// administrator, the UAC prompt elevates the same account: same SID, same
// profile, same DPAPI keys, and the blobs it writes are the real user's.
// When a standard user's prompt is approved with another administrator's
// credentials, the elevated process is that administrator: its blobs would
// be unreadable to the real user and its %LOCALAPPDATA% is another
// directory. The parent therefore passes its own SID ([CurrentUserSID],
// Options.ForUserSID) and its state directory (an elevated process does
// not inherit the environment), and Setup refuses with setup_other_admin
// when they differ. Lifting that limit is not a matter of impersonation
// in the child: the real user's process and token DACLs grant only that
// user and SYSTEM, so another administrator cannot open the parent's token
// without taking ownership, and an elevated child inherits no handles
// through ShellExecuteEx. It needs a split instead: the unelevated parent
// does every DPAPI step and the child sends each new password to it over
// a pipe the parent creates, in the same pending-then-commit order. Not
// done yet.
//
// # What is proven where
//
// The state machine (every repair, a kill at every mutating call before
// and after its effect, removal, the marker) is tested on Linux with an
// in-memory SAM. DPAPI, the hidden-account registry value, the admin check,
// Elevate and the Windows wiring up to the first account call run under
// Wine, whose account calls are stubs (TestSAMUnderWine records them).
// Account creation, flags, memberships, logon and profile deletion are
// tested by TestRealWindowsSetup on real Windows only.
package sandboxusers
