//go:build windows

package ntsec

// Tests that compare the model's access check with Windows' own. They need
// real Windows and CORDON_REAL_WINDOWS=1 (testutil.RealWindows): Wine does
// not implement Authz at all and does not enforce restricted or
// write-restricted tokens, so under Wine these tests skip and say why.
//
// What Windows' answer is compared with is always the model run on a
// description of the very same token and descriptor: the descriptor goes to
// Windows as the model's own MarshalBinary bytes, and the token description
// is read back from what Windows built wherever Windows lets us read it.

import (
	crand "crypto/rand"
	"encoding/binary"
	"errors"
	"fmt"
	"math/rand"
	"runtime"
	"strings"
	"testing"
	"unsafe"

	"golang.org/x/sys/windows"

	"github.com/cordon-sandbox/cordon/internal/testutil"
	"github.com/cordon-sandbox/cordon/internal/winapi"
)

// SIDs for the random cases. They are prefixed rw so as not to collide with
// the portable tests' fixtures.
var (
	rwUser   = mustSID(5, 21, 1111, 2222, 3333, 1001)
	rwOther  = mustSID(5, 21, 1111, 2222, 3333, 1002)
	rwGroupA = mustSID(5, 21, 1111, 2222, 3333, 513)
	rwGroupB = mustSID(5, 21, 1111, 2222, 3333, 1100)
	rwCapA   = mustSID(5, 21, 4242, 4243, 4244, 4245) // capability-style SIDs, as cordon mints them
	rwCapB   = mustSID(5, 21, 4246, 4247, 4248, 4249)
	rwLogon  = LogonSID(0, 0x4242)

	// rwGroupPool are the SIDs a random token may hold as groups. OWNER
	// RIGHTS and CREATOR OWNER are never in a real token; they appear only
	// in ACEs.
	rwGroupPool = []SID{Everyone, AuthenticatedUsers, BuiltinUsers, BuiltinAdministrators, Interactive, rwGroupA, rwGroupB, rwLogon, rwCapA, rwCapB}
	rwACEPool   = append([]SID{rwUser, rwOther, OwnerRights, CreatorOwner, LocalSystem}, rwGroupPool...)
	rwOwnerPool = []SID{rwUser, rwOther, rwGroupA, BuiltinAdministrators, LocalSystem, rwCapA, Everyone}
	// rwRestrictPool are candidate restricting SIDs; they need not be
	// groups of the token.
	rwRestrictPool = []SID{rwUser, rwOther, Everyone, AuthenticatedUsers, BuiltinUsers, rwGroupA, rwLogon, rwCapA, rwCapB}

	// rwFileRights are the 14 specific and standard rights of a file.
	rwFileRights = []AccessMask{
		FileReadData, FileWriteData, FileAppendData, FileReadEA, FileWriteEA, FileExecute,
		FileDeleteChild, FileReadAttributes, FileWriteAttributes, Delete, ReadControl, WriteDAC, WriteOwner, Synchronize,
	}
)

// rwGen makes random descriptors and tokens from a seeded source.
type rwGen struct {
	r *rand.Rand
	// generic lets effective ACEs carry GENERIC_* bits. Windows stores a
	// file's descriptor with the generic rights of its effective ACEs
	// already mapped (it maps them when the descriptor is set), and the
	// model maps them with FileMapping before evaluating, so on a real
	// file both agree. Authz, which takes no GENERIC_MAPPING, would see
	// them raw, so only a separate sub-case passes them through.
	generic bool
}

func (g rwGen) mask() AccessMask {
	r := g.r
	var m AccessMask
	switch r.Intn(6) {
	case 0:
		m = []AccessMask{FileAllAccess, FileGenericRead, FileGenericWrite, FileGenericExecute}[r.Intn(4)]
	case 1:
		m = rwFileRights[r.Intn(len(rwFileRights))]
	default:
		for _, b := range rwFileRights {
			if r.Intn(3) == 0 {
				m |= b
			}
		}
		if m == 0 {
			m = rwFileRights[r.Intn(len(rwFileRights))]
		}
	}
	if g.generic && r.Intn(2) == 0 {
		gen := []AccessMask{GenericRead, GenericWrite, GenericExecute, GenericAll}[r.Intn(4)]
		if r.Intn(3) == 0 {
			m = gen
		} else {
			m |= gen
		}
	}
	return m
}

func (g rwGen) ace() ACE {
	r := g.r
	e := ACE{Type: AccessAllowed, SID: rwACEPool[r.Intn(len(rwACEPool))], Mask: g.mask()}
	if r.Intn(3) == 0 {
		e.Type = AccessDenied
	}
	for _, f := range []ACEFlags{ObjectInherit, ContainerInherit, NoPropagateInherit, Inherited} {
		if r.Intn(4) == 0 {
			e.Flags |= f
		}
	}
	if r.Intn(5) == 0 {
		e.Flags |= InheritOnly
		// Windows maps generic rights only in the ACEs that apply to the
		// object; an inherit-only ACE keeps them for its heirs, as in
		// (A;OICIIO;GA;;;CO). The access check skips such ACEs, so they
		// may carry generic bits in every sub-case.
		if r.Intn(2) == 0 {
			e.Mask |= []AccessMask{GenericRead, GenericWrite, GenericExecute, GenericAll}[r.Intn(4)]
		}
	}
	return e
}

// sd returns a descriptor with an owner, a group and a present DACL (null
// about one time in twelve, empty as often): AuthzAccessCheck and
// AccessCheck both refuse descriptors without an owner or a DACL.
func (g rwGen) sd() *SecurityDescriptor {
	r := g.r
	sd := &SecurityDescriptor{
		Control: DACLPresent,
		Owner:   rwOwnerPool[r.Intn(len(rwOwnerPool))],
		Group:   rwOwnerPool[r.Intn(len(rwOwnerPool))],
	}
	switch r.Intn(12) {
	case 0: // null DACL
	case 1:
		sd.DACL = &ACL{Revision: ACLRevision, Entries: []ACE{}}
	default:
		sd.DACL = &ACL{Revision: ACLRevision, Entries: []ACE{}}
		for i, n := 0, 1+r.Intn(8); i < n; i++ {
			sd.DACL.Entries = append(sd.DACL.Entries, g.ace())
		}
	}
	if r.Intn(3) == 0 {
		sd.Control |= DACLProtected
	}
	if r.Intn(3) == 0 {
		sd.Control |= DACLAutoInherited
	}
	return sd
}

// token returns a token an Authz client context can express: an enabled
// user, groups that are enabled, deny-only, present but disabled, or
// absent, and sometimes restricting SIDs. It is never write-restricted,
// has no privileges and keeps the default (Medium) integrity: a context
// built from SIDs has no way to say otherwise.
func (g rwGen) token() *Token {
	r := g.r
	t := &Token{User: rwUser}
	for _, s := range rwGroupPool {
		switch r.Intn(4) {
		case 0: // absent
		case 1:
			t.Groups = append(t.Groups, Group{SID: s, Attributes: GroupDenyOnly})
		case 2:
			t.Groups = append(t.Groups, Group{SID: s}) // disabled
		default:
			t.Groups = append(t.Groups, Group{SID: s, Attributes: GroupEnabled | GroupEnabledByDefault | GroupMandatory})
		}
	}
	if r.Intn(5) < 2 {
		for _, s := range rwRestrictPool {
			if r.Intn(3) == 0 {
				t.RestrictedSIDs = append(t.RestrictedSIDs, s)
			}
		}
	}
	return t
}

// authzCtx is an Authz client context and the handles to free with it.
type authzCtx struct {
	h     winapi.AuthzClientContextHandle
	frees []winapi.AuthzClientContextHandle
}

func (c *authzCtx) free() {
	for _, h := range c.frees {
		winapi.AuthzFreeContext(h)
	}
	c.frees = nil
}

// newAuthzContext builds an Authz client context describing tok:
// AuthzInitializeContextFromSid(AUTHZ_SKIP_TOKEN_GROUPS) for the user alone,
// then AuthzAddSidsToContext with tok's groups (their SE_GROUP_* attributes
// are the model's GroupAttr values) and restricting SIDs. withIntegrity
// also adds the Medium label SID with SE_GROUP_INTEGRITY |
// SE_GROUP_INTEGRITY_ENABLED, as a real Medium token holds it.
//
// Such a context cannot be write-restricted, cannot have a deny-only user
// and holds no privileges, so tokens that need those are refused.
func newAuthzContext(rm winapi.AuthzResourceManagerHandle, tok *Token, withIntegrity bool) (*authzCtx, error) {
	if tok.UserDenyOnly || tok.WriteRestricted || len(tok.Privileges) > 0 || tok.IgnoreNoWriteUp || tok.IntegrityRID() != 0x2000 {
		return nil, fmt.Errorf("an Authz context built from SIDs cannot express token %s", tokenText(tok))
	}
	base, err := winapi.AuthzInitializeContextFromSid(winapi.AUTHZ_SKIP_TOKEN_GROUPS, winSID(tok.User), rm, nil, windows.LUID{})
	if err != nil {
		return nil, fmt.Errorf("AuthzInitializeContextFromSid(%s): %w", tok.User, err)
	}
	c := &authzCtx{h: base, frees: []winapi.AuthzClientContextHandle{base}}
	var groups, restricted []windows.SIDAndAttributes
	for _, g := range tok.Groups {
		groups = append(groups, windows.SIDAndAttributes{Sid: winSID(g.SID), Attributes: uint32(g.Attributes)})
	}
	if withIntegrity {
		groups = append(groups, windows.SIDAndAttributes{Sid: winSID(MediumLabel), Attributes: windows.SE_GROUP_INTEGRITY | windows.SE_GROUP_INTEGRITY_ENABLED})
	}
	for _, s := range tok.RestrictedSIDs {
		restricted = append(restricted, windows.SIDAndAttributes{Sid: winSID(s), Attributes: windows.SE_GROUP_ENABLED | windows.SE_GROUP_ENABLED_BY_DEFAULT | windows.SE_GROUP_MANDATORY})
	}
	if len(groups)+len(restricted) > 0 {
		h, err := winapi.AuthzAddSidsToContext(base, groups, restricted)
		runtime.KeepAlive(groups)
		runtime.KeepAlive(restricted)
		if err != nil {
			c.free()
			return nil, fmt.Errorf("AuthzAddSidsToContext: %w", err)
		}
		c.h = h
		c.frees = append(c.frees, h)
	}
	return c, nil
}

// token reads back what the context holds, as a model token.
func (c *authzCtx) token() (*Token, error) {
	p, err := winapi.AuthzGetInformationFromContext(c.h, winapi.AuthzContextInfoUserSid)
	if err != nil {
		return nil, fmt.Errorf("AuthzGetInformationFromContext(user): %w", err)
	}
	u := (*windows.Tokenuser)(p)
	user, err := sidFromWin(u.User.Sid)
	if err != nil {
		return nil, fmt.Errorf("context user SID: %w", err)
	}
	tok := &Token{User: user, UserDenyOnly: u.User.Attributes&windows.SE_GROUP_USE_FOR_DENY_ONLY != 0}
	groups, err := c.sids(winapi.AuthzContextInfoGroupsSids)
	if err != nil {
		return nil, err
	}
	for _, g := range groups {
		if _, ok := g.SID.IntegrityLevel(); ok && g.Attributes&GroupIntegrity != 0 {
			if g.Attributes&GroupIntegrityEnabled != 0 {
				tok.Integrity = g.SID
			}
			continue
		}
		tok.Groups = append(tok.Groups, g)
	}
	restricted, err := c.sids(winapi.AuthzContextInfoRestrictedSids)
	if err != nil {
		return nil, err
	}
	for _, g := range restricted {
		tok.RestrictedSIDs = append(tok.RestrictedSIDs, g.SID)
	}
	return tok, nil
}

func (c *authzCtx) sids(class uint32) ([]Group, error) {
	p, err := winapi.AuthzGetInformationFromContext(c.h, class)
	if err != nil {
		return nil, fmt.Errorf("AuthzGetInformationFromContext(%d): %w", class, err)
	}
	var out []Group
	for _, g := range (*windows.Tokengroups)(p).AllGroups() {
		s, err := sidFromWin(g.Sid)
		if err != nil {
			return nil, fmt.Errorf("context SID: %w", err)
		}
		out = append(out, Group{SID: s, Attributes: GroupAttr(g.Attributes)})
	}
	return out, nil
}

// tokenDiff says how two tokens differ for the access check: the user, and
// for each SID whether it matches allow and deny ACEs ("enabled"), deny ACEs
// only ("deny-only") or nothing (absent or disabled, which the check cannot
// tell apart), and the restricting SIDs.
func tokenDiff(want, got *Token) string {
	class := func(t *Token) map[SID]string {
		m := map[SID]string{}
		for _, g := range t.Groups {
			switch {
			case g.SID == t.User:
			case g.Attributes&GroupDenyOnly != 0:
				if m[g.SID] == "" {
					m[g.SID] = "deny-only"
				}
			case g.Attributes&GroupEnabled != 0:
				m[g.SID] = "enabled"
			}
		}
		return m
	}
	var d []string
	if want.User != got.User || want.UserDenyOnly != got.UserDenyOnly {
		d = append(d, fmt.Sprintf("user %s (deny-only %v), want %s (deny-only %v)", got.User, got.UserDenyOnly, want.User, want.UserDenyOnly))
	}
	if want.IntegrityRID() != got.IntegrityRID() {
		d = append(d, fmt.Sprintf("integrity 0x%x, want 0x%x", got.IntegrityRID(), want.IntegrityRID()))
	}
	wc, gc := class(want), class(got)
	for s, c := range wc {
		if gc[s] != c {
			d = append(d, fmt.Sprintf("%s is %q, want %q", s, gc[s], c))
		}
	}
	for s, c := range gc {
		if wc[s] == "" {
			d = append(d, fmt.Sprintf("%s is %q, want absent or disabled", s, c))
		}
	}
	set := func(ss []SID) map[SID]bool {
		m := map[SID]bool{}
		for _, s := range ss {
			m[s] = true
		}
		return m
	}
	wr, gr := set(want.RestrictedSIDs), set(got.RestrictedSIDs)
	for s := range wr {
		if !gr[s] {
			d = append(d, fmt.Sprintf("restricting SID %s missing", s))
		}
	}
	for s := range gr {
		if !wr[s] {
			d = append(d, fmt.Sprintf("unexpected restricting SID %s", s))
		}
	}
	return strings.Join(d, "; ")
}

// rightNames names the bits of m ("READ_DATA|WRITE_DAC"); bits that are not
// file rights appear as "bitN".
func rightNames(m AccessMask) string {
	if m == 0 {
		return "none"
	}
	var names []string
	eachBit(m, func(b AccessMask) { names = append(names, RightName(b, false)) })
	return strings.Join(names, "|")
}

// TestRealWindowsAccessCheck compares the model's AccessCheck with
// AuthzAccessCheck on random descriptors and tokens.
//
// The token is an Authz client context built from SIDs, so this test covers
// the user, enabled, deny-only and disabled groups and restricting SIDs,
// with OWNER RIGHTS, CREATOR OWNER, inherit-only ACEs and null and empty
// DACLs in the descriptors. It does not cover mandatory integrity or
// write-restricted tokens: Authz does not model integrity labels or write
// restriction for contexts built from SIDs (there is no flag for the one and
// no documented integrity level for the other), so every token here has the
// default (Medium) integrity and every descriptor no label, which the model
// treats as "no integrity denial"; probeAuthzIntegrity logs what Authz
// actually does there. TestRealWindowsWriteRestricted covers write
// restriction with a real token and the kernel's AccessCheck.
func TestRealWindowsAccessCheck(t *testing.T) {
	testutil.RealWindows(t)
	rm, err := winapi.AuthzInitializeResourceManager(winapi.AUTHZ_RM_FLAG_NO_AUDIT, "cordon ntsec test")
	if err != nil {
		t.Fatalf("AuthzInitializeResourceManager: %v", err)
	}
	defer winapi.AuthzFreeResourceManager(rm)
	withIntegrity := probeAuthzIntegrity(t, rm)

	// ACE masks hold only mapped file rights, as on NTFS.
	t.Run("mapped", func(t *testing.T) { compareWithAuthz(t, rm, withIntegrity, false, 3000, 5) })
	// Generic bits reach both sides unmapped. The model maps them; what
	// Authz does without a GENERIC_MAPPING is undocumented, so
	// differences are logged, not failed.
	t.Run("generic", func(t *testing.T) { compareWithAuthz(t, rm, withIntegrity, true, 300, 6) })
}

// probeAuthzIntegrity reports whether an integrity SID can be added to a
// SID-built context, and logs what Authz grants with and without one on a
// descriptor without a label, so that a reader can see whether Authz applies
// the default Medium no-write-up label to such contexts.
func probeAuthzIntegrity(t *testing.T, rm winapi.AuthzResourceManagerHandle) bool {
	t.Helper()
	sd := mustParseSDDL(t, "O:SYG:SYD:(A;;FA;;;"+rwUser.String()+")")
	wsd := marshalWin(t, sd)
	ok := true
	for _, with := range []bool{false, true} {
		ctx, err := newAuthzContext(rm, &Token{User: rwUser}, with)
		if err != nil {
			if with {
				t.Logf("Authz refuses an integrity SID in AuthzAddSidsToContext (%v): contexts get none", err)
				ok = false
				break
			}
			t.Fatal(err)
		}
		granted, accessErr, err := winapi.AuthzAccessCheck(0, ctx.h, uint32(MaximumAllowed), wsd)
		ctx.free()
		if err != nil {
			t.Fatalf("AuthzAccessCheck: %v", err)
		}
		t.Logf("Authz, context with integrity SID %v, user granted FA on %s: MAXIMUM_ALLOWED gives %s (%v)", with, sd.SDDL(), AccessMask(granted), accessErr)
	}
	runtime.KeepAlive(wsd)
	return ok
}

func compareWithAuthz(t *testing.T, rm winapi.AuthzResourceManagerHandle, withIntegrity, generic bool, n int, seed int64) {
	const maxShown = 20
	r := rand.New(rand.NewSource(seed)) // fixed seed: failures reproduce
	var checks, mismatches, ctxDiffs, nullExtra int
	for i := 0; i < n; i++ {
		g := rwGen{r: r, generic: generic}
		sd, tok := g.sd(), g.token()
		ctx, err := newAuthzContext(rm, tok, withIntegrity)
		if err != nil {
			t.Fatalf("case %d: %v", i, err)
		}
		// Compare with the token Authz actually built. Should it differ
		// from the intended one, say so, but the comparison stays
		// meaningful.
		modelTok := tok
		if got, err := ctx.token(); err != nil {
			if ctxDiffs == 0 {
				t.Logf("case %d: cannot read the Authz context back (%v); comparing with the intended token", i, err)
			}
			ctxDiffs++
		} else if d := tokenDiff(tok, got); d != "" {
			if ctxDiffs < 3 {
				t.Logf("case %d: the Authz context differs from the intended token %s: %s; comparing with the context Authz built", i, tokenText(tok), d)
			}
			ctxDiffs++
			modelTok = got
		}
		wsd := marshalWin(t, sd)
		one := rwFileRights[r.Intn(len(rwFileRights))]
		desired := []AccessMask{MaximumAllowed, one, g.mask() &^ genericBits, MaximumAllowed | rwFileRights[r.Intn(len(rwFileRights))]}
		if desired[2] == 0 {
			desired[2] = one
		}
		for _, d := range desired {
			granted, accessErr, err := winapi.AuthzAccessCheck(0, ctx.h, uint32(d), wsd)
			if err != nil {
				t.Fatalf("case %d: AuthzAccessCheck(%s, %s): %v", i, sd.SDDL(), d, err)
			}
			res := AccessCheck(sd, modelTok, d, File)
			checks++
			w, winAllowed := AccessMask(granted), accessErr == 0
			var problem string
			switch {
			case winAllowed != res.Allowed:
				problem = fmt.Sprintf("Windows allowed=%v, model allowed=%v", winAllowed, res.Allowed)
			case d == MaximumAllowed && generic && w != res.Granted:
				problem = "granted masks differ"
			case d == MaximumAllowed && w&FileAllAccess != res.Granted:
				problem = fmt.Sprintf("granted masks differ: Windows only %s, model only %s", rightNames(w&FileAllAccess&^res.Granted), rightNames(res.Granted&^w))
			case d == MaximumAllowed && w&^FileAllAccess != 0:
				if !sd.HasNullDACL() {
					problem = fmt.Sprintf("Windows granted %s, outside FILE_ALL_ACCESS", w&^FileAllAccess)
				} else if nullExtra++; nullExtra == 1 {
					// Without a generic mapping Authz cannot know a
					// file's "all rights"; the model answers for files.
					t.Logf("case %d: for a null DACL Authz grants %s with MAXIMUM_ALLOWED, the model (mapping GENERIC_ALL for a file) %s; compared within FILE_ALL_ACCESS", i, w, res.Granted)
				}
			case d&MaximumAllowed == 0 && winAllowed && w != res.Granted:
				problem = "granted masks differ"
			}
			if problem == "" {
				continue
			}
			mismatches++
			msg := fmt.Sprintf("case %d: %s\n  SDDL:    %s\n  token:   %s\n  desired: %s\n  Windows: granted %s, reply error %d\n  model:   granted %s, allowed %v\n%s",
				i, problem, sd.SDDL(), tokenText(modelTok), d, w, uint32(accessErr), res.Granted, res.Allowed, res.Explain())
			switch {
			case generic && mismatches <= 5:
				t.Logf("generic rights passed through unmapped: %s", msg)
			case !generic && mismatches <= maxShown:
				t.Error(msg)
			}
		}
		ctx.free()
		runtime.KeepAlive(wsd)
	}
	t.Logf("%d checks on %d descriptors: %d differ; %d Authz contexts differed from the intended token", checks, n, mismatches, ctxDiffs)
	if !generic && mismatches > maxShown {
		t.Errorf("%d mismatches in all, the first %d shown", mismatches, maxShown)
	}
}

// tokenInfo reads one GetTokenInformation class into a word-aligned buffer.
func tokenInfo(tok windows.Token, class uint32) (unsafe.Pointer, error) {
	const word = unsafe.Sizeof(uintptr(0))
	n := uint32(128)
	for {
		buf := make([]uintptr, (uintptr(n)+word-1)/word)
		err := windows.GetTokenInformation(tok, class, (*byte)(unsafe.Pointer(&buf[0])), uint32(uintptr(len(buf))*word), &n)
		if err == nil {
			return unsafe.Pointer(&buf[0]), nil
		}
		if !errors.Is(err, windows.ERROR_INSUFFICIENT_BUFFER) {
			return nil, err
		}
	}
}

// modelTokenOf describes a real token for the model: user, groups with
// their attributes, restricting SIDs, integrity level, mandatory policy and
// the enabled privileges the model's check looks at. WriteRestricted cannot
// be read back and is left to the caller.
func modelTokenOf(tok windows.Token) (*Token, error) {
	u, err := tok.GetTokenUser()
	if err != nil {
		return nil, fmt.Errorf("TokenUser: %w", err)
	}
	user, err := sidFromWin(u.User.Sid)
	if err != nil {
		return nil, err
	}
	out := &Token{User: user, UserDenyOnly: u.User.Attributes&windows.SE_GROUP_USE_FOR_DENY_ONLY != 0}
	groups, err := tok.GetTokenGroups()
	if err != nil {
		return nil, fmt.Errorf("TokenGroups: %w", err)
	}
	for _, g := range groups.AllGroups() {
		if g.Attributes&windows.SE_GROUP_INTEGRITY != 0 {
			continue // read below, as TokenIntegrityLevel
		}
		s, err := sidFromWin(g.Sid)
		if err != nil {
			return nil, err
		}
		out.Groups = append(out.Groups, Group{SID: s, Attributes: GroupAttr(g.Attributes)})
	}
	p, err := tokenInfo(tok, windows.TokenRestrictedSids)
	if err != nil {
		return nil, fmt.Errorf("TokenRestrictedSids: %w", err)
	}
	for _, g := range (*windows.Tokengroups)(p).AllGroups() {
		s, err := sidFromWin(g.Sid)
		if err != nil {
			return nil, err
		}
		out.RestrictedSIDs = append(out.RestrictedSIDs, s)
	}
	p, err = tokenInfo(tok, windows.TokenIntegrityLevel)
	if err != nil {
		return nil, fmt.Errorf("TokenIntegrityLevel: %w", err)
	}
	if out.Integrity, err = sidFromWin((*windows.Tokenmandatorylabel)(p).Label.Sid); err != nil {
		return nil, err
	}
	p, err = tokenInfo(tok, windows.TokenMandatoryPolicy)
	if err != nil {
		return nil, fmt.Errorf("TokenMandatoryPolicy: %w", err)
	}
	const tokenMandatoryPolicyNoWriteUp = 0x1
	out.IgnoreNoWriteUp = *(*uint32)(p)&tokenMandatoryPolicyNoWriteUp == 0
	p, err = tokenInfo(tok, windows.TokenPrivileges)
	if err != nil {
		return nil, fmt.Errorf("TokenPrivileges: %w", err)
	}
	privs := (*windows.Tokenprivileges)(p).AllPrivileges()
	for _, name := range []string{"SeSecurityPrivilege", "SeTakeOwnershipPrivilege"} {
		var luid windows.LUID
		if err := windows.LookupPrivilegeValue(nil, windows.StringToUTF16Ptr(name), &luid); err != nil {
			return nil, fmt.Errorf("LookupPrivilegeValue(%s): %w", name, err)
		}
		for _, pr := range privs {
			if pr.Luid == luid && pr.Attributes&windows.SE_PRIVILEGE_ENABLED != 0 {
				out.Privileges = append(out.Privileges, name)
			}
		}
	}
	return out, nil
}

// randomDomainSID returns a fresh S-1-5-21-a-b-c-d, the shape of the
// capability SIDs cordon mints.
func randomDomainSID(t *testing.T) SID {
	var b [16]byte
	if _, err := crand.Read(b[:]); err != nil {
		t.Fatal(err)
	}
	s, err := NewSID(5, 21, binary.LittleEndian.Uint32(b[0:]), binary.LittleEndian.Uint32(b[4:]), binary.LittleEndian.Uint32(b[8:]), binary.LittleEndian.Uint32(b[12:]))
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// openProcessToken opens the test process's token for duplication and
// queries.
func openProcessToken(t *testing.T) windows.Token {
	t.Helper()
	var proc windows.Token
	if err := windows.OpenProcessToken(windows.CurrentProcess(), windows.TOKEN_DUPLICATE|windows.TOKEN_QUERY, &proc); err != nil {
		t.Fatalf("OpenProcessToken: %v", err)
	}
	t.Cleanup(func() { proc.Close() })
	return proc
}

// impersonationToken duplicates tok as an impersonation token, which is what
// AccessCheck takes, with the given access.
func impersonationToken(t *testing.T, tok windows.Token, access uint32) windows.Token {
	t.Helper()
	var imp windows.Token
	if err := windows.DuplicateTokenEx(tok, access, nil, windows.SecurityImpersonation, windows.TokenImpersonation, &imp); err != nil {
		t.Fatalf("DuplicateTokenEx: %v", err)
	}
	t.Cleanup(func() { imp.Close() })
	return imp
}

// TestRealWindowsWriteRestricted checks which rights the restricting SIDs
// of a WRITE_RESTRICTED token constrain against the kernel's AccessCheck
// with a real write-restricted token, one right at a time and with
// MAXIMUM_ALLOWED, under every reading the model carries (OpenReadings):
// it passes when one reading matches Windows on every case, logs which,
// and logs where each other reading was ruled out.
func TestRealWindowsWriteRestricted(t *testing.T) {
	testutil.RealWindows(t)
	capSID := randomDomainSID(t)
	imp, tok := writeRestrictedToken(t, capSID, Everyone)
	var hasCap, hasWD bool
	for _, s := range tok.RestrictedSIDs {
		hasCap = hasCap || s == capSID
		hasWD = hasWD || s == Everyone
	}
	if !hasCap || !hasWD {
		t.Fatalf("the restricted token's restricting SIDs are %v, want %s and Everyone among them", tok.RestrictedSIDs, capSID)
	}
	t.Logf("token as the model sees it: %s", tokenText(tok))

	matched := newReadingTally()
	defer matched.report(t, "write-restricted token")
	user, c := tok.User.String(), capSID.String()
	dacls := []struct{ name, dacl string }{
		{"capability SID has no ACE", "(A;;FA;;;" + user + ")"},
		{"capability SID has FA", "(A;;FA;;;" + user + ")(A;;FA;;;" + c + ")"},
		{"capability SID denied 0xD0156", "(D;;0xd0156;;;" + c + ")(A;;FA;;;" + user + ")(A;;FA;;;" + c + ")"},
		{"capability SID denied 0xD0156, Everyone FA", "(D;;0xd0156;;;" + c + ")(A;;FA;;;" + user + ")(A;;FA;;;WD)"},
		{"Everyone FR only", "(A;;FA;;;" + user + ")(A;;FR;;;WD)"},
	}
	for _, owner := range []string{"SY", user, c} {
		for _, d := range dacls {
			name := fmt.Sprintf("%s (owner %s)", d.name, owner)
			winSet := compareRealToken(t, imp, tok, name, "O:"+owner+"G:SYD:"+d.dacl, matched)
			if owner == "SY" && d.name == "capability SID has no ACE" {
				// The user has FA and the restricting SIDs nothing: what
				// Windows withholds is exactly what the second pass of a
				// write-restricted token constrains.
				withheld := FileAllAccess &^ winSet
				t.Logf("Windows withholds %s (%s) from a write-restricted token whose restricting SIDs have no ACE; the model's WriteRights() is %s (%s)",
					withheld, rightNames(withheld), FileMapping.WriteRights(), rightNames(FileMapping.WriteRights()))
			}
		}
	}
}

// TestRealWindowsIntegrity checks the model's mandatory integrity rules
// (no-write-up denies WriteRights, no-read-up ReadRights, no-execute-up
// ExecuteRights) against the kernel's AccessCheck with a real Low-integrity
// token, one right at a time. Authz cannot check this (see
// TestRealWindowsAccessCheck), and WriteRights is the same assumption
// TestRealWindowsWriteRestricted checks for write-restricted tokens.
func TestRealWindowsIntegrity(t *testing.T) {
	testutil.RealWindows(t)
	imp := impersonationToken(t, openProcessToken(t), windows.TOKEN_QUERY|windows.TOKEN_IMPERSONATE|windows.TOKEN_ADJUST_DEFAULT)
	// Lowering a token's own integrity level needs no privilege.
	label := windows.Tokenmandatorylabel{Label: windows.SIDAndAttributes{Sid: winSID(LowLabel), Attributes: windows.SE_GROUP_INTEGRITY}}
	if err := windows.SetTokenInformation(imp, windows.TokenIntegrityLevel, (*byte)(unsafe.Pointer(&label)), label.Size()); err != nil {
		t.Fatalf("SetTokenInformation(TokenIntegrityLevel, Low): %v", err)
	}
	runtime.KeepAlive(label)
	tok, err := modelTokenOf(imp)
	if err != nil {
		t.Fatalf("reading the Low token: %v", err)
	}
	if tok.Integrity != LowLabel {
		t.Fatalf("the token's integrity is %s after lowering it, want %s", tok.Integrity, LowLabel)
	}
	t.Logf("token as the model sees it: %s", tokenText(tok))
	user := tok.User.String()
	matched := newReadingTally()
	defer matched.report(t, "Low token")
	for _, sacl := range []string{"", "S:(ML;;NW;;;ME)", "S:(ML;;NR;;;ME)", "S:(ML;;NX;;;ME)", "S:(ML;;NWNRNX;;;ME)", "S:(ML;;NWNRNX;;;LW)", "S:(ML;IO;NWNRNX;;;HI)"} {
		compareRealToken(t, imp, tok, "label "+sacl, "O:SYG:SYD:(A;;FA;;;"+user+")"+sacl, matched)
	}
}

// TestRealWindowsReadings runs the three probes that tell the open readings
// of a write-restricted token's second pass apart (ntsec.OpenReadings,
// windows-access-check.md section 1) and prints which readings the machine
// matched. It fails only when the machine matches no reading the model
// carries; a reading it contradicts can then be retired from OpenReadings.
func TestRealWindowsReadings(t *testing.T) {
	testutil.RealWindows(t)
	capSID := randomDomainSID(t)
	imp, tok := writeRestrictedToken(t, capSID)
	matched := newReadingTally()
	defer matched.report(t, "write-restricted token")
	user, c := tok.User.String(), capSID.String()
	// The user's own directory; the restricting SID holds nothing, or
	// WRITE_DATA only.
	userDir := "O:" + user + "G:SYD:(A;;FA;;;" + user + ")"
	capWrite := "O:SYG:SYD:(A;;FA;;;" + user + ")(A;;0x2;;;" + c + ")"
	probes := []struct {
		name, sddl string
		desired    AccessMask
		typ        ObjectType
	}{
		{"FILE_DELETE_CHILD alone, restricting SID has nothing (H1 denies, H2 grants)", userDir, FileDeleteChild, Directory},
		{"READ_DATA|WRITE_DATA, restricting SID has WRITE_DATA (per-right grants, whole denies)", capWrite, FileReadData | FileWriteData, File},
		{"MAXIMUM_ALLOWED, restricting SID has WRITE_DATA (MA-split grants reads, MA-whole not)", capWrite, MaximumAllowed, File},
	}
	all := map[string]bool{}
	for _, r := range OpenReadings() {
		all[r.Name()] = true
	}
	for _, p := range probes {
		sd := mustParseSDDL(t, p.sddl)
		wsd := marshalWin(t, sd)
		granted, ok, err := winapi.AccessCheck(wsd, imp, uint32(p.desired), &winapi.FileGenericMapping)
		runtime.KeepAlive(wsd)
		if err != nil {
			t.Fatalf("%s: AccessCheck: %v", p.name, err)
		}
		var matched []string
		for _, r := range OpenReadings() {
			res := AccessCheckUnder(r, sd, tok, p.desired, p.typ)
			same := res.Allowed == ok
			if p.desired&MaximumAllowed != 0 {
				same = same && res.Granted == AccessMask(granted)
			}
			if same {
				matched = append(matched, r.Name())
			} else {
				delete(all, r.Name())
			}
		}
		t.Logf("%s: Windows says %v (granted %s); readings matched: %s", p.name, ok, AccessMask(granted), strings.Join(matched, ", "))
		if len(matched) == 0 {
			t.Errorf("%s: Windows (%v, granted %s) matches no reading the model carries\n  SDDL: %s\n  token: %s", p.name, ok, AccessMask(granted), p.sddl, tokenText(tok))
		}
	}
	var left []string
	for _, r := range OpenReadings() {
		if all[r.Name()] {
			left = append(left, r.Name())
		}
	}
	t.Logf("readings this machine is consistent with on every probe: %s", strings.Join(left, ", "))
	if len(left) == 0 {
		t.Errorf("no reading the model carries matches this machine on every probe")
	}
}

// writeRestrictedToken makes a WRITE_RESTRICTED token of the caller's with
// the given restricting SIDs, and returns an impersonation copy of it with
// its model as read back from the kernel.
func writeRestrictedToken(t *testing.T, restricting ...SID) (windows.Token, *Token) {
	t.Helper()
	var sids []windows.SIDAndAttributes
	for _, s := range restricting {
		sids = append(sids, windows.SIDAndAttributes{Sid: winSID(s)})
	}
	restrictedTok, err := winapi.CreateRestrictedToken(openProcessToken(t), winapi.WRITE_RESTRICTED, nil, nil, sids)
	if err != nil {
		t.Fatalf("CreateRestrictedToken(WRITE_RESTRICTED, %v): %v", restricting, err)
	}
	t.Cleanup(func() { restrictedTok.Close() })
	imp := impersonationToken(t, restrictedTok, windows.TOKEN_QUERY|windows.TOKEN_IMPERSONATE)
	tok, err := modelTokenOf(imp)
	if err != nil {
		t.Fatalf("reading the restricted token: %v", err)
	}
	tok.WriteRestricted = true
	return imp, tok
}
