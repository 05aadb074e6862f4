package ntsec

import (
	"fmt"
	"strings"
)

// ObjectType says what kind of object is checked. Files and directories
// both use FileMapping; between them the type only changes the names of
// rights in the trace (WRITE_DATA or ADD_FILE) and how inheritance treats
// the object. Process and Thread use ProcessMapping and ThreadMapping, and
// take no part in inheritance.
type ObjectType uint8

const (
	File ObjectType = iota
	Directory
	Process
	Thread
)

func (o ObjectType) String() string {
	switch o {
	case Directory:
		return "directory"
	case Process:
		return "process"
	case Thread:
		return "thread"
	}
	return "file"
}

// Mapping returns the generic mapping of the object type.
func (o ObjectType) Mapping() GenericMapping {
	switch o {
	case Process:
		return ProcessMapping
	case Thread:
		return ThreadMapping
	}
	return FileMapping
}

// rightName names one right bit of the object type for the trace.
func (o ObjectType) rightName(bit AccessMask) string {
	var names map[AccessMask]string
	switch o {
	case Process:
		names = processRightNames
	case Thread:
		names = threadRightNames
	default:
		return RightName(bit, o == Directory)
	}
	if n, ok := names[bit]; ok {
		return n
	}
	return RightName(bit, false) // the standard rights
}

// Step is one stage's say on one right: which pass looked at it, what it
// decided, and the ACE (by index in its ACL, or -1) that decided.
type Step struct {
	Pass   Pass   `json:"pass"`
	Effect Effect `json:"effect"`
	ACE    int    `json:"ace"` // index in the DACL or SACL, -1 when no ACE decided
	SDDL   string `json:"sddl,omitempty"`
	Why    string `json:"why"`
}

// Pass is the stage of the access check a Step comes from, in the order
// AccessCheck runs them. Its string is what the trace prints.
type Pass string

const (
	// PassIntegrity is the mandatory integrity check: the object's label
	// against the token's integrity level.
	PassIntegrity Pass = "integrity"
	// PassPrivilege is a right only a privilege gives
	// (ACCESS_SYSTEM_SECURITY) or that a privilege gives whatever the DACL
	// says (WRITE_OWNER).
	PassPrivilege Pass = "privilege"
	// PassDACL is the DACL walked for the token's user and groups, the
	// owner's implicit rights included.
	PassDACL Pass = "dacl"
	// PassRestricted is the DACL walked again for a restricted token's
	// restricting SIDs.
	PassRestricted Pass = "restricted"
)

// Effect is what a Step decided for its right. Its string is what the
// trace prints.
type Effect string

const (
	EffectGrant Effect = "grant"
	EffectDeny  Effect = "deny"
	// EffectNone is a pass in which no ACE names the right: it is not
	// granted.
	EffectNone Effect = "none"
)

// Decision is the outcome for one right bit, with the steps that led to it.
type Decision struct {
	Right   string     `json:"right"`
	Mask    AccessMask `json:"-"`
	Granted bool       `json:"granted"`
	Steps   []Step     `json:"steps"`
}

// Result is what AccessCheck returns.
type Result struct {
	// Desired is the request after generic mapping, without
	// MAXIMUM_ALLOWED.
	Desired AccessMask
	// Granted holds the rights the token gets: for a plain request the
	// desired rights that pass (Windows itself reports all or nothing), for
	// MAXIMUM_ALLOWED every right the token could get.
	Granted AccessMask
	// Allowed says whether Windows would grant the request: every desired
	// right granted, and with MAXIMUM_ALLOWED at least one right.
	Allowed bool
	// Trace explains each right considered, lowest bit first.
	Trace []Decision
}

// AccessCheck evaluates whether tok gets desired on an object protected by
// sd, following [MS-DTYP] 2.5.3.2 and the restricted-token and mandatory
// integrity rules that section leaves to the implementation:
//
//  1. Generic rights in desired are mapped with the type's mapping
//     (obj.Mapping(): FileMapping for files and directories).
//  2. Mandatory integrity: when the token's level is below the object's
//     label (Medium with no-write-up if sd has none) and the token keeps
//     no-write-up, the label's NW/NR/NX policies deny WriteRights,
//     ReadRights and ExecuteRights ([MS-DTYP] 2.4.4.13).
//  3. Privileges: SeSecurityPrivilege grants ACCESS_SYSTEM_SECURITY, which
//     nothing else can; SeTakeOwnershipPrivilege grants WRITE_OWNER.
//     Privilege grants skip the restricted pass.
//  4. The DACL pass over the token's user and groups: the owner, when it is
//     an enabled SID of the token, gets READ_CONTROL and WRITE_DAC unless the
//     DACL holds an effective OWNER RIGHTS (S-1-3-4) ACE; then ACEs are
//     evaluated in order, inherit-only ones skipped, each right decided by
//     the first ACE that names it (a deny ACE denies only rights not yet
//     granted); enabled SIDs match allow and deny ACEs, deny-only SIDs deny
//     ACEs only. A null DACL grants everything, an empty one nothing.
//  5. For a restricted token, the same pass again with only the restricting
//     SIDs; a right must pass both. For a write-restricted token the second
//     pass constrains only the rights the reading selects (see Reading).
//
// The owner's implicit READ_CONTROL | WRITE_DAC are granted in both passes
// only when the owner is an enabled SID of the token and, for a restricted
// token, also one of its restricting SIDs (windows-access-check.md,
// section 2).
//
// ACE masks are mapped with the same mapping, as Windows does when it stores
// a descriptor on an object. sd must not be nil.
//
// AccessCheck uses DefaultReading for what no public source settles; use
// AccessCheckUnder to choose another.
func AccessCheck(sd *SecurityDescriptor, tok *Token, desired AccessMask, obj ObjectType) Result {
	return AccessCheckUnder(DefaultReading, sd, tok, desired, obj)
}

// AccessCheckUnder is AccessCheck under reading r. For a request with
// MAXIMUM_ALLOWED, r.MaxAllowed alone decides which rights the restricting
// SIDs of a write-restricted token constrain; for any other request,
// r.Mask and r.Trigger do.
func AccessCheckUnder(r Reading, sd *SecurityDescriptor, tok *Token, desired AccessMask, obj ObjectType) Result {
	m := obj.Mapping()
	maxAllowed := desired&MaximumAllowed != 0
	want := m.Map(desired &^ MaximumAllowed)
	consider := want
	if maxAllowed {
		consider |= m.All
	}
	res := Result{Desired: want}

	integrity := integrityDenied(sd, tok, m)
	normal := daclPass(sd, tok, false, m)
	var restricted passResult
	restrictedBits := AccessMask(0)
	if len(tok.RestrictedSIDs) > 0 {
		restricted = daclPass(sd, tok, true, m)
		restrictedBits = ^AccessMask(0)
		if tok.WriteRestricted {
			restrictedBits = r.restrictedRights(m, want, maxAllowed)
		}
	}

	eachBit(consider, func(bit AccessMask) {
		d := Decision{Right: obj.rightName(bit), Mask: bit}
		granted := true
		if step, denied := integrity[bit]; denied {
			d.Steps = append(d.Steps, step)
			granted = false
		}
		if granted {
			switch {
			case bit == AccessSystemSecurity:
				if tok.HasPrivilege("SeSecurityPrivilege") {
					d.Steps = append(d.Steps, Step{Pass: PassPrivilege, Effect: EffectGrant, ACE: -1, Why: "SeSecurityPrivilege"})
				} else {
					d.Steps = append(d.Steps, Step{Pass: PassPrivilege, Effect: EffectDeny, ACE: -1, Why: "ACCESS_SYSTEM_SECURITY needs SeSecurityPrivilege"})
					granted = false
				}
				d.Granted = granted
				res.Trace = append(res.Trace, d)
				if granted {
					res.Granted |= bit
				}
				return
			case bit == WriteOwner && tok.HasPrivilege("SeTakeOwnershipPrivilege"):
				d.Steps = append(d.Steps, Step{Pass: PassPrivilege, Effect: EffectGrant, ACE: -1, Why: "SeTakeOwnershipPrivilege"})
				d.Granted = true
				res.Granted |= bit
				res.Trace = append(res.Trace, d)
				return
			}
		}
		if granted {
			s := normal.step(bit, PassDACL)
			d.Steps = append(d.Steps, s)
			granted = s.Effect == EffectGrant
		}
		if granted && bit&restrictedBits != 0 {
			s := restricted.step(bit, PassRestricted)
			d.Steps = append(d.Steps, s)
			granted = s.Effect == EffectGrant
		}
		d.Granted = granted
		if granted {
			res.Granted |= bit
		}
		res.Trace = append(res.Trace, d)
	})
	if maxAllowed {
		res.Allowed = res.Granted != 0 && res.Granted&want == want
	} else {
		res.Allowed = want != 0 && res.Granted&want == want
	}
	return res
}

// integrityDenied applies the mandatory integrity check and returns the
// rights it denies, each with the step that explains it.
func integrityDenied(sd *SecurityDescriptor, tok *Token, m GenericMapping) map[AccessMask]Step {
	if tok.IgnoreNoWriteUp {
		return nil
	}
	label, ok := sd.Label()
	objRID, policy, idx, sddl := uint32(0x2000), LabelNoWriteUp, -1, "no label: Medium, no-write-up"
	if ok {
		objRID, _ = label.SID.IntegrityLevel()
		policy = label.Mask
		idx, sddl = labelIndex(sd), label.SDDL()
	}
	tokRID := tok.IntegrityRID()
	if tokRID >= objRID {
		return nil
	}
	var denied AccessMask
	if policy&LabelNoWriteUp != 0 {
		denied |= m.WriteRights()
	}
	if policy&LabelNoReadUp != 0 {
		denied |= m.ReadRights()
	}
	if policy&LabelNoExecuteUp != 0 {
		denied |= m.ExecuteRights()
	}
	out := map[AccessMask]Step{}
	why := fmt.Sprintf("token integrity 0x%x is below the object's 0x%x", tokRID, objRID)
	eachBit(denied, func(b AccessMask) {
		out[b] = Step{Pass: PassIntegrity, Effect: EffectDeny, ACE: idx, SDDL: sddl, Why: why}
	})
	return out
}

func labelIndex(sd *SecurityDescriptor) int {
	for i, e := range sd.SACL.Entries {
		if e.Type == MandatoryLabel && e.Effective() {
			return i
		}
	}
	return -1
}

// passResult is one walk of the DACL: for each right, the first ACE that
// decided it.
type passResult struct {
	granted, denied AccessMask
	by              map[AccessMask]Step
}

func (p passResult) step(bit AccessMask, pass Pass) Step {
	if s, ok := p.by[bit]; ok {
		s.Pass = pass
		return s
	}
	why := "no ACE grants it"
	if pass == PassRestricted {
		why = "no ACE grants it to a restricting SID"
	}
	return Step{Pass: pass, Effect: EffectNone, ACE: -1, Why: why}
}

// daclPass walks the DACL for the token's normal SIDs or, when restricted
// is true, for its restricting SIDs.
func daclPass(sd *SecurityDescriptor, tok *Token, restricted bool, m GenericMapping) passResult {
	p := passResult{by: map[AccessMask]Step{}}
	who := "the token"
	if restricted {
		who = "a restricting SID"
	}
	if sd.HasNullDACL() {
		eachBit(^AccessMask(0), func(b AccessMask) {
			p.by[b] = Step{Effect: EffectGrant, ACE: -1, Why: "null DACL grants everything"}
		})
		p.granted = ^AccessMask(0)
		return p
	}
	match := func(s SID, deny bool) bool {
		if s == OwnerRights {
			// OWNER RIGHTS stands for the object's owner ([MS-DTYP]
			// 2.4.2.4, S-1-3-4).
			s = sd.Owner
			if s.IsZero() {
				return false
			}
		}
		if restricted {
			for _, r := range tok.RestrictedSIDs {
				if r == s {
					return true
				}
			}
			return false
		}
		if s == tok.User {
			return !tok.UserDenyOnly || deny
		}
		for _, g := range tok.Groups {
			if g.SID != s {
				continue
			}
			if g.Attributes&GroupEnabled != 0 && g.Attributes&GroupDenyOnly == 0 {
				return true
			}
			if deny && g.Attributes&GroupDenyOnly != 0 {
				return true
			}
		}
		return false
	}
	hasOwnerRights := false
	for _, e := range sd.DACL.Entries {
		if e.Effective() && e.SID == OwnerRights {
			hasOwnerRights = true
		}
	}
	// With an OWNER RIGHTS ACE present, the owner's rights come from the
	// OWNER RIGHTS ACEs alone. Otherwise they are granted once, for both
	// passes, when the owner is an enabled SID of the token and, for a
	// restricted token, also a restricting SID.
	if !sd.Owner.IsZero() && !hasOwnerRights && ownerImplicit(sd.Owner, tok) {
		implicit := ReadControl | WriteDAC
		p.granted |= implicit
		eachBit(implicit, func(b AccessMask) {
			p.by[b] = Step{Effect: EffectGrant, ACE: -1, Why: "implicit right of the owner " + sd.Owner.String()}
		})
	}
	for i, e := range sd.DACL.Entries {
		if !e.Effective() {
			continue
		}
		mask := m.Map(e.Mask)
		undecided := mask &^ (p.granted | p.denied)
		if undecided == 0 {
			continue
		}
		switch e.Type {
		case AccessAllowed:
			if !match(e.SID, false) {
				continue
			}
			p.granted |= undecided
			eachBit(undecided, func(b AccessMask) {
				p.by[b] = Step{Effect: EffectGrant, ACE: i, SDDL: e.SDDL(), Why: "allowed to " + who}
			})
		case AccessDenied:
			if !match(e.SID, true) {
				continue
			}
			p.denied |= undecided
			eachBit(undecided, func(b AccessMask) {
				p.by[b] = Step{Effect: EffectDeny, ACE: i, SDDL: e.SDDL(), Why: "denied to " + who}
			})
		}
	}
	return p
}

// ownerImplicit says whether owner, the object's owner, gets the implicit
// READ_CONTROL | WRITE_DAC: it must be the token's user or an enabled group
// (not deny-only) and, for a restricted token, one of its restricting SIDs
// (windows-access-check.md, section 2; Forshaw, Windows Security
// Internals ch. 7).
func ownerImplicit(owner SID, tok *Token) bool {
	enabled := owner == tok.User && !tok.UserDenyOnly
	for _, g := range tok.Groups {
		if g.SID == owner && g.Attributes&GroupEnabled != 0 && g.Attributes&GroupDenyOnly == 0 {
			enabled = true
		}
	}
	if !enabled || len(tok.RestrictedSIDs) == 0 {
		return enabled
	}
	for _, r := range tok.RestrictedSIDs {
		if r == owner {
			return true
		}
	}
	return false
}

// Explain renders a result for people, one line per right.
func (r Result) Explain() string {
	var sb strings.Builder
	verdict := "DENIED"
	if r.Allowed {
		verdict = "ALLOWED"
	}
	fmt.Fprintf(&sb, "%s: desired %s, granted %s\n", verdict, r.Desired, r.Granted)
	for _, d := range r.Trace {
		mark := "no "
		if d.Granted {
			mark = "yes"
		}
		fmt.Fprintf(&sb, "  %s %-18s", mark, d.Right)
		for i, s := range d.Steps {
			if i > 0 {
				sb.WriteString(";")
			}
			fmt.Fprintf(&sb, " %s %s", s.Pass, s.Effect)
			if s.ACE >= 0 {
				fmt.Fprintf(&sb, " by ACE %d %s", s.ACE, s.SDDL)
			}
			fmt.Fprintf(&sb, " (%s)", s.Why)
		}
		sb.WriteString("\n")
	}
	return sb.String()
}
