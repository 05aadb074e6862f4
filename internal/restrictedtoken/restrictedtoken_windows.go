//go:build windows

package restrictedtoken

import (
	"encoding/binary"
	"errors"
	"fmt"
	"runtime"
	"strings"
	"unsafe"

	"golang.org/x/sys/windows"

	"github.com/cordon-sandbox/cordon/internal/winapi"
	"github.com/cordon-sandbox/cordon/ntsec"
)

// Token is a Windows access token handle.
type Token = windows.Token

// baseAccess is what the process token is opened with, and why:
// TOKEN_DUPLICATE for CreateRestrictedToken, TOKEN_QUERY for Query, and the
// rest because the new token's handle gets the same access as the existing
// one, and Create adjusts the new token's default DACL, integrity level and
// privileges; TOKEN_ASSIGN_PRIMARY lets the caller start a process with it.
const baseAccess = windows.TOKEN_DUPLICATE | windows.TOKEN_QUERY | windows.TOKEN_ASSIGN_PRIMARY |
	windows.TOKEN_ADJUST_DEFAULT | windows.TOKEN_ADJUST_SESSIONID | windows.TOKEN_ADJUST_PRIVILEGES

// create makes the sandbox token from base, which baseModel describes.
// Model(baseModel, spec) checks base and spec (create refuses what Model
// refuses, including an elevated token), then
//
//  1. CreateRestrictedToken with DISABLE_MAX_PRIVILEGE|LUA_TOKEN|
//     WRITE_RESTRICTED, no SIDs disabled, no privileges listed for deletion,
//     and the restricting SIDs spec.Caps + spec.Run + logon SID + Everyone
//     (the logon SID found by its SE_GROUP_LOGON_ID attribute, LogonSID),
//     attributes 0 (https://learn.microsoft.com/en-us/windows/win32/api/securitybaseapi/nf-securitybaseapi-createrestrictedtoken);
//  2. AdjustTokenPrivileges enables SeChangeNotifyPrivilege and removes
//     (SE_PRIVILEGE_REMOVED) any other privilege still held, then checks
//     that SeChangeNotifyPrivilege alone is left, enabled
//     (https://learn.microsoft.com/en-us/windows/win32/api/securitybaseapi/nf-securitybaseapi-adjusttokenprivileges),
//     so a base that does not hold SeChangeNotifyPrivilege at all fails
//     here (Model sees only enabled privileges and cannot tell);
//  3. SetTokenInformation(TokenDefaultDacl) with DefaultDACL (the user,
//     SYSTEM and spec.Run);
//  4. with spec.LowIntegrity, SetTokenInformation(TokenIntegrityLevel) with
//     the Low label S-1-16-4096.
func create(base windows.Token, baseModel *ntsec.Token, spec Spec) (Token, error) {
	want, err := Model(baseModel, spec)
	if err != nil {
		return 0, err
	}
	restrict := make([]windows.SIDAndAttributes, len(want.RestrictedSIDs))
	for i, s := range want.RestrictedSIDs {
		restrict[i].Sid = winSID(s) // Attributes must be 0
	}
	tok, err := winapi.CreateRestrictedToken(base, winapi.DISABLE_MAX_PRIVILEGE|winapi.LUA_TOKEN|winapi.WRITE_RESTRICTED, nil, nil, restrict)
	runtime.KeepAlive(restrict)
	if err != nil {
		return 0, fmt.Errorf("restrictedtoken: CreateRestrictedToken: %w", err)
	}
	if err := finish(tok, want, spec); err != nil {
		tok.Close()
		return 0, err
	}
	return tok, nil
}

// finish adjusts the new token's privileges, default DACL and integrity.
func finish(tok windows.Token, want *ntsec.Token, spec Spec) error {
	if err := keepOnlyChangeNotify(tok); err != nil {
		return err
	}
	if err := setDefaultDACL(tok, DefaultDACL(want.User, spec.Run)); err != nil {
		return fmt.Errorf("restrictedtoken: SetTokenInformation(TokenDefaultDacl): %w", err)
	}
	if spec.LowIntegrity {
		tml := windows.Tokenmandatorylabel{Label: windows.SIDAndAttributes{Sid: winSID(ntsec.LowLabel), Attributes: windows.SE_GROUP_INTEGRITY}}
		err := windows.SetTokenInformation(tok, windows.TokenIntegrityLevel, (*byte)(unsafe.Pointer(&tml)), tml.Size())
		runtime.KeepAlive(tml.Label.Sid)
		if err != nil {
			return fmt.Errorf("restrictedtoken: SetTokenInformation(TokenIntegrityLevel, Low): %w", err)
		}
	}
	return nil
}

// keepOnlyChangeNotify enables SeChangeNotifyPrivilege, removes every other
// privilege tok holds, and checks the result. DISABLE_MAX_PRIVILEGE should
// have removed the others already; removing what is left makes sure no
// privilege stays behind merely disabled, where the sandboxed process could
// enable it again. AdjustTokenPrivileges reports success even when it could
// not enable a privilege (ERROR_NOT_ALL_ASSIGNED), hence the check.
func keepOnlyChangeNotify(tok windows.Token) error {
	var notify windows.LUID
	if err := windows.LookupPrivilegeValue(nil, windows.StringToUTF16Ptr(changeNotify), &notify); err != nil {
		return fmt.Errorf("restrictedtoken: LookupPrivilegeValue(%s): %w", changeNotify, err)
	}
	held, err := privileges(tok)
	if err != nil {
		return err
	}
	set := []windows.LUIDAndAttributes{{Luid: notify, Attributes: windows.SE_PRIVILEGE_ENABLED}}
	for _, p := range held {
		if p.Luid != notify {
			set = append(set, windows.LUIDAndAttributes{Luid: p.Luid, Attributes: windows.SE_PRIVILEGE_REMOVED})
		}
	}
	// TOKEN_PRIVILEGES: a DWORD count, then the entries (4-byte aligned).
	const entry = unsafe.Sizeof(windows.LUIDAndAttributes{})
	buf := make([]uint32, 1+len(set)*int(entry)/4)
	tp := (*windows.Tokenprivileges)(unsafe.Pointer(&buf[0]))
	tp.PrivilegeCount = uint32(len(set))
	copy(unsafe.Slice(&tp.Privileges[0], len(set)), set)
	if err := windows.AdjustTokenPrivileges(tok, false, tp, 0, nil, nil); err != nil {
		return fmt.Errorf("restrictedtoken: AdjustTokenPrivileges: %w", err)
	}
	left, err := privileges(tok)
	if err != nil {
		return err
	}
	if len(left) != 1 || left[0].Luid != notify || left[0].Attributes&windows.SE_PRIVILEGE_ENABLED == 0 {
		var names []string
		for _, p := range left {
			n, _ := winapi.LookupPrivilegeName(p.Luid)
			names = append(names, fmt.Sprintf("%s (0x%x)", n, p.Attributes))
		}
		return fmt.Errorf("restrictedtoken: after AdjustTokenPrivileges the token holds [%s], want %s alone, enabled", strings.Join(names, ", "), changeNotify)
	}
	return nil
}

// privileges returns the privileges tok holds, enabled or not.
func privileges(tok windows.Token) ([]windows.LUIDAndAttributes, error) {
	p, err := tokenInfo(tok, windows.TokenPrivileges)
	if err != nil {
		return nil, fmt.Errorf("restrictedtoken: GetTokenInformation(TokenPrivileges): %w", err)
	}
	return append([]windows.LUIDAndAttributes(nil), (*windows.Tokenprivileges)(p).AllPrivileges()...), nil
}

// tokenDefaultDACL is TOKEN_DEFAULT_DACL
// (https://learn.microsoft.com/en-us/windows/win32/api/winnt/ns-winnt-token_default_dacl).
type tokenDefaultDACL struct {
	DefaultDacl *windows.ACL
}

// setDefaultDACL sets tok's default DACL to acl, passed in ntsec's binary
// form (cut from SecurityDescriptor.MarshalBinary) rather than built with
// windows.ACLFromEntries: SetEntriesInAcl may reorder and merge entries (and
// does so differently under Wine), whereas these bytes are exactly the ACL
// DefaultDACL describes, and reading the default DACL back compares equal.
func setDefaultDACL(tok windows.Token, acl *ntsec.ACL) error {
	b, err := (&ntsec.SecurityDescriptor{DACL: acl}).MarshalBinary()
	if err != nil {
		return err
	}
	off := binary.LittleEndian.Uint32(b[16:])
	raw := b[off:]
	buf := make([]uint64, (len(raw)+7)/8) // ACLs are DWORD-aligned
	copy(unsafe.Slice((*byte)(unsafe.Pointer(&buf[0])), len(raw)), raw)
	info := tokenDefaultDACL{DefaultDacl: (*windows.ACL)(unsafe.Pointer(&buf[0]))}
	err = windows.SetTokenInformation(tok, windows.TokenDefaultDacl, (*byte)(unsafe.Pointer(&info)), uint32(unsafe.Sizeof(info)))
	runtime.KeepAlive(buf)
	return err
}

// defaultDACL reads tok's default DACL (nil when it has none).
func defaultDACL(tok windows.Token) (*ntsec.ACL, error) {
	p, err := tokenInfo(tok, windows.TokenDefaultDacl)
	if err != nil {
		return nil, fmt.Errorf("restrictedtoken: GetTokenInformation(TokenDefaultDacl): %w", err)
	}
	acl := (*tokenDefaultDACL)(p).DefaultDacl
	if acl == nil {
		return nil, nil
	}
	size := *(*uint16)(unsafe.Add(unsafe.Pointer(acl), 2)) // ACL.AclSize
	// Wrap the ACL in a self-relative descriptor (revision 1, DACL present,
	// DACL at offset 20) for ntsec.ParseBinary.
	const control = uint16(ntsec.DACLPresent | ntsec.SelfRelative)
	sd := []byte{1, 0, byte(control & 0xff), byte(control >> 8), 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 20, 0, 0, 0}
	sd = append(sd, unsafe.Slice((*byte)(unsafe.Pointer(acl)), size)...)
	parsed, err := ntsec.ParseBinary(sd)
	if err != nil {
		return nil, fmt.Errorf("restrictedtoken: default DACL: %w", err)
	}
	return parsed.DACL, nil
}

// Query reads t (opened with TOKEN_QUERY) into the model: the user and
// groups with their attributes (the integrity group is reported as
// Integrity instead), the enabled privileges by name, the integrity level,
// the restricting SIDs (TokenRestrictedSids), the mandatory policy
// (TokenMandatoryPolicy) and whether the token is write-restricted.
//
// No information class reports write restriction on its own; Query takes it
// from the TOKEN_WRITE_RESTRICTED bit (0x8, ntifs.h) of
// TOKEN_ACCESS_INFORMATION.Flags
// (https://learn.microsoft.com/en-us/windows/win32/api/winnt/ns-winnt-token_access_information),
// and checks that structure against the other classes: its TOKEN_IS_RESTRICTED
// bit (0x10) must agree with TokenRestrictedSids and its MandatoryPolicy with
// TokenMandatoryPolicy, or Query fails.
//
// When Windows will not answer TokenRestrictedSids, TokenMandatoryPolicy or
// TokenAccessInformation (Wine implements none of them), Query returns the
// token read so far together with an error wrapping ErrIncomplete; any other
// failure returns no token.
func Query(t Token) (*ntsec.Token, error) {
	u, err := t.GetTokenUser()
	if err != nil {
		return nil, fmt.Errorf("restrictedtoken: GetTokenInformation(TokenUser): %w", err)
	}
	out := &ntsec.Token{UserDenyOnly: u.User.Attributes&windows.SE_GROUP_USE_FOR_DENY_ONLY != 0}
	if out.User, err = sidFromWin(u.User.Sid); err != nil {
		return nil, fmt.Errorf("restrictedtoken: user: %w", err)
	}
	groups, err := t.GetTokenGroups()
	if err != nil {
		return nil, fmt.Errorf("restrictedtoken: GetTokenInformation(TokenGroups): %w", err)
	}
	for i, g := range groups.AllGroups() {
		if g.Attributes&windows.SE_GROUP_INTEGRITY != 0 {
			continue // reported as Integrity
		}
		s, err := sidFromWin(g.Sid)
		if err != nil {
			return nil, fmt.Errorf("restrictedtoken: group %d: %w", i, err)
		}
		out.Groups = append(out.Groups, ntsec.Group{SID: s, Attributes: ntsec.GroupAttr(g.Attributes)})
	}
	held, err := privileges(t)
	if err != nil {
		return nil, err
	}
	for _, p := range held {
		if p.Attributes&windows.SE_PRIVILEGE_ENABLED == 0 {
			continue
		}
		name, err := winapi.LookupPrivilegeName(p.Luid)
		if err != nil {
			return nil, fmt.Errorf("restrictedtoken: LookupPrivilegeName(%d:%d): %w", p.Luid.HighPart, p.Luid.LowPart, err)
		}
		out.Privileges = append(out.Privileges, name)
	}
	p, err := tokenInfo(t, windows.TokenIntegrityLevel)
	if err != nil {
		return nil, fmt.Errorf("restrictedtoken: GetTokenInformation(TokenIntegrityLevel): %w", err)
	}
	if out.Integrity, err = sidFromWin((*windows.Tokenmandatorylabel)(p).Label.Sid); err != nil {
		return nil, fmt.Errorf("restrictedtoken: integrity level: %w", err)
	}
	if err := queryRestrictions(t, out); err != nil {
		return out, err
	}
	return out, nil
}

// tokenAccessInformation is the head of TOKEN_ACCESS_INFORMATION, up to
// Flags; the pointers are not followed.
type tokenAccessInformation struct {
	SidHash            uintptr
	RestrictedSidHash  uintptr
	Privileges         uintptr
	AuthenticationID   windows.LUID
	TokenType          uint32
	ImpersonationLevel uint32
	MandatoryPolicy    uint32
	Flags              uint32
}

// Token flags (ntifs.h) and mandatory policy bits (winnt.h).
const (
	tokenWriteRestricted        = 0x0008
	tokenIsRestricted           = 0x0010
	tokenMandatoryPolicyNoWrite = 0x1
)

// queryRestrictions fills in the restricting SIDs, write restriction and
// mandatory policy.
func queryRestrictions(t windows.Token, out *ntsec.Token) error {
	var unknown []error
	restrictedKnown, policyKnown := false, false
	var policy uint32
	if p, err := tokenInfo(t, windows.TokenRestrictedSids); err != nil {
		unknown = append(unknown, fmt.Errorf("GetTokenInformation(TokenRestrictedSids): %w", err))
	} else {
		for i, g := range (*windows.Tokengroups)(p).AllGroups() {
			s, err := sidFromWin(g.Sid)
			if err != nil {
				return fmt.Errorf("restrictedtoken: restricting SID %d: %w", i, err)
			}
			out.RestrictedSIDs = append(out.RestrictedSIDs, s)
		}
		restrictedKnown = true
	}
	if p, err := tokenInfo(t, windows.TokenMandatoryPolicy); err != nil {
		unknown = append(unknown, fmt.Errorf("GetTokenInformation(TokenMandatoryPolicy): %w", err))
	} else {
		policy = *(*uint32)(p)
		out.IgnoreNoWriteUp = policy&tokenMandatoryPolicyNoWrite == 0
		policyKnown = true
	}
	if p, err := tokenInfo(t, windows.TokenAccessInformation); err != nil {
		unknown = append(unknown, fmt.Errorf("GetTokenInformation(TokenAccessInformation): %w", err))
	} else {
		info := (*tokenAccessInformation)(p)
		out.WriteRestricted = info.Flags&tokenWriteRestricted != 0
		if restrictedKnown && (info.Flags&tokenIsRestricted != 0) != (len(out.RestrictedSIDs) > 0) {
			return fmt.Errorf("restrictedtoken: TOKEN_ACCESS_INFORMATION.Flags 0x%x disagrees with the %d restricting SIDs of TokenRestrictedSids", info.Flags, len(out.RestrictedSIDs))
		}
		if policyKnown && info.MandatoryPolicy != policy {
			return fmt.Errorf("restrictedtoken: TOKEN_ACCESS_INFORMATION.MandatoryPolicy 0x%x disagrees with TokenMandatoryPolicy 0x%x", info.MandatoryPolicy, policy)
		}
		if out.WriteRestricted && restrictedKnown && len(out.RestrictedSIDs) == 0 {
			return fmt.Errorf("restrictedtoken: the token is write-restricted but has no restricting SIDs")
		}
	}
	if len(unknown) > 0 {
		return fmt.Errorf("%w: %w", ErrIncomplete, errors.Join(unknown...))
	}
	return nil
}

// tokenInfo reads one GetTokenInformation class into a pointer-aligned
// buffer.
func tokenInfo(t windows.Token, class uint32) (unsafe.Pointer, error) {
	const word = unsafe.Sizeof(uintptr(0))
	n := uint32(256)
	for {
		buf := make([]uintptr, (uintptr(n)+word-1)/word)
		size := uint32(uintptr(len(buf)) * word)
		err := windows.GetTokenInformation(t, class, (*byte)(unsafe.Pointer(&buf[0])), size, &n)
		if err == nil {
			return unsafe.Pointer(&buf[0]), nil
		}
		if !errors.Is(err, windows.ERROR_INSUFFICIENT_BUFFER) || n <= size {
			return nil, err
		}
	}
}

// winSID copies s into SID-aligned Go memory as a *windows.SID.
func winSID(s ntsec.SID) *windows.SID {
	b := s.Bytes()
	buf := make([]uint32, (len(b)+3)/4)
	copy(unsafe.Slice((*byte)(unsafe.Pointer(&buf[0])), len(b)), b)
	return (*windows.SID)(unsafe.Pointer(&buf[0]))
}

// sidFromWin reads a Windows SID into the model.
func sidFromWin(w *windows.SID) (ntsec.SID, error) {
	if w == nil || !w.IsValid() {
		return ntsec.SID{}, errors.New("invalid SID")
	}
	s, _, err := ntsec.SIDFromBytes(unsafe.Slice((*byte)(unsafe.Pointer(w)), windows.GetLengthSid(w)))
	return s, err
}
