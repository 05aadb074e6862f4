package ntsec

import (
	"bytes"
	"math/rand"
	"reflect"
	"testing"
)

// This file checks the model against a second implementation written
// straight from the [MS-DTYP] 2.5.3.2 pseudocode (early exit, one remaining
// mask) on random descriptors and tokens, and checks properties any correct
// access check has. It uses fixed seeds so that a failure reproduces.

var sidPool = []SID{tUser, tOther, Everyone, BuiltinUsers, AuthenticatedUsers, tLogon, tCap, tCap2, BuiltinAdministrators, OwnerRights, CreatorOwner, LocalSystem}

var rightPool = []AccessMask{
	FileReadData, FileWriteData, FileAppendData, FileReadEA, FileWriteEA, FileExecute,
	FileDeleteChild, FileReadAttributes, FileWriteAttributes, Delete, ReadControl, WriteDAC, WriteOwner, Synchronize,
}

func randMask(r *rand.Rand) AccessMask {
	var m AccessMask
	for _, b := range rightPool {
		if r.Intn(3) == 0 {
			m |= b
		}
	}
	switch r.Intn(8) {
	case 0:
		m |= GenericRead
	case 1:
		m |= GenericWrite
	case 2:
		m |= GenericAll
	}
	return m
}

func randSD(r *rand.Rand) *SecurityDescriptor {
	sd := &SecurityDescriptor{}
	if r.Intn(4) > 0 {
		sd.Owner = sidPool[r.Intn(len(sidPool))]
	}
	if r.Intn(2) == 0 {
		sd.Group = sidPool[r.Intn(len(sidPool))]
	}
	switch r.Intn(20) {
	case 0: // absent DACL
	case 1:
		sd.Control |= DACLPresent // null DACL
	default:
		sd.Control |= DACLPresent
		sd.DACL = &ACL{Revision: ACLRevision, Entries: []ACE{}}
		for i, n := 0, r.Intn(7); i < n; i++ {
			e := ACE{Type: AccessAllowed, SID: sidPool[r.Intn(len(sidPool))], Mask: randMask(r)}
			if r.Intn(3) == 0 {
				e.Type = AccessDenied
			}
			e.Flags = ACEFlags(r.Intn(32)) & knownFlags
			if r.Intn(2) == 0 {
				e.Flags &^= InheritOnly
			}
			sd.DACL.Entries = append(sd.DACL.Entries, e)
		}
	}
	if r.Intn(4) == 0 {
		levels := []SID{UntrustedLabel, LowLabel, MediumLabel, HighLabel, SystemLabel}
		sd.SACL = &ACL{Revision: ACLRevision, Entries: []ACE{{Type: MandatoryLabel, SID: levels[r.Intn(len(levels))], Mask: AccessMask(1 + r.Intn(7))}}}
		sd.Control |= SACLPresent
	}
	// SDDL writes ACL flags only after "D:", so they need a DACL present.
	if sd.Control&DACLPresent != 0 && r.Intn(3) == 0 {
		sd.Control |= DACLProtected
	}
	if sd.Control&DACLPresent != 0 && r.Intn(3) == 0 {
		sd.Control |= DACLAutoInherited
	}
	return sd
}

func randToken(r *rand.Rand) *Token {
	t := &Token{User: tUser, UserDenyOnly: r.Intn(10) == 0}
	for _, s := range sidPool[1:] {
		switch r.Intn(4) {
		case 0:
		case 1:
			t.Groups = append(t.Groups, Group{SID: s, Attributes: GroupDenyOnly})
		case 2:
			t.Groups = append(t.Groups, Group{SID: s})
		default:
			t.Groups = append(t.Groups, Group{SID: s, Attributes: GroupEnabled})
		}
	}
	if r.Intn(2) == 0 {
		for _, s := range sidPool {
			if r.Intn(3) == 0 {
				t.RestrictedSIDs = append(t.RestrictedSIDs, s)
			}
		}
		t.WriteRestricted = len(t.RestrictedSIDs) > 0 && r.Intn(2) == 0
	}
	levels := []SID{{}, UntrustedLabel, LowLabel, MediumLabel, HighLabel}
	t.Integrity = levels[r.Intn(len(levels))]
	return t
}

// refPass is the [MS-DTYP] 2.5.3.2 pseudocode for a plain request, for one
// set of SIDs: owner rights first (when ownerOK says the token qualifies
// for them), then ACEs in order with early exit.
func refPass(sd *SecurityDescriptor, desired AccessMask, enabled, denyOnly map[SID]bool, ownerOK bool) bool {
	remaining := desired
	inToken := func(s SID, deny bool) bool {
		if s == OwnerRights {
			s = sd.Owner
		}
		return !s.IsZero() && (enabled[s] || deny && denyOnly[s])
	}
	ownerRightsACE := false
	if sd.DACL != nil {
		for _, e := range sd.DACL.Entries {
			if e.Flags&InheritOnly == 0 && e.SID == OwnerRights {
				ownerRightsACE = true
			}
		}
	}
	if !ownerRightsACE && ownerOK {
		remaining &^= ReadControl | WriteDAC
	}
	if sd.DACL == nil {
		return true
	}
	for _, e := range sd.DACL.Entries {
		if remaining == 0 {
			break
		}
		if e.Flags&InheritOnly != 0 {
			continue
		}
		mask := FileMapping.Map(e.Mask)
		switch e.Type {
		case AccessAllowed:
			if inToken(e.SID, false) {
				remaining &^= mask
			}
		case AccessDenied:
			if inToken(e.SID, true) && remaining&mask != 0 {
				return false
			}
		}
	}
	return remaining == 0
}

// refAccessCheck adds the restricted pass and mandatory integrity around
// refPass, as the documentation and windows-access-check.md describe them,
// for tokens without privileges, under reading rd: the owner's implicit
// rights need the owner enabled in the token and, for a restricted token,
// among the restricting SIDs; a write-restricted token's second pass covers
// the request's rights in rd's mask (per right) or, when the request holds
// one, the whole request (whole-request trigger).
func refAccessCheck(rd Reading, sd *SecurityDescriptor, tok *Token, desired AccessMask) bool {
	desired = FileMapping.Map(desired)
	if desired == 0 {
		return false
	}
	if !tok.IgnoreNoWriteUp {
		objRID, policy := uint32(0x2000), LabelNoWriteUp
		if l, ok := sd.Label(); ok {
			objRID, _ = l.SID.IntegrityLevel()
			policy = l.Mask
		}
		if tok.IntegrityRID() < objRID {
			if policy&LabelNoWriteUp != 0 && desired&FileMapping.WriteRights() != 0 ||
				policy&LabelNoReadUp != 0 && desired&FileMapping.ReadRights() != 0 ||
				policy&LabelNoExecuteUp != 0 && desired&FileExecute != 0 {
				return false
			}
		}
	}
	enabled, denyOnly := map[SID]bool{}, map[SID]bool{}
	if tok.UserDenyOnly {
		denyOnly[tok.User] = true
	} else {
		enabled[tok.User] = true
	}
	for _, g := range tok.Groups {
		if g.Attributes&GroupDenyOnly != 0 {
			denyOnly[g.SID] = true
		} else if g.Attributes&GroupEnabled != 0 {
			enabled[g.SID] = true
		}
	}
	rs := map[SID]bool{}
	for _, s := range tok.RestrictedSIDs {
		rs[s] = true
	}
	ownerOK := !sd.Owner.IsZero() && enabled[sd.Owner] && (len(rs) == 0 || rs[sd.Owner])
	if !refPass(sd, desired, enabled, denyOnly, ownerOK) {
		return false
	}
	if len(tok.RestrictedSIDs) == 0 {
		return true
	}
	second := desired
	if tok.WriteRestricted {
		mask := rd.Mask.Rights(FileMapping)
		if desired&mask == 0 {
			return true
		}
		if rd.Trigger == PerRight {
			second &= mask
		}
	}
	return refPass(sd, second, rs, nil, ownerOK)
}

func TestAccessCheckMatchesSpecPseudocode(t *testing.T) {
	r := rand.New(rand.NewSource(1))
	for i := 0; i < 30000; i++ {
		sd, tok := randSD(r), randToken(r)
		desired := randMask(r) &^ genericBits
		if r.Intn(4) == 0 {
			desired = rightPool[r.Intn(len(rightPool))]
		}
		rd := OpenReadings()[i%len(OpenReadings())]
		got := AccessCheckUnder(rd, sd, tok, desired, File)
		if want := refAccessCheck(rd, sd, tok, desired); got.Allowed != want {
			b, _ := tok.MarshalJSON()
			t.Fatalf("case %d: AccessCheckUnder(%s, %s, %s, %s) = %v, spec pseudocode says %v\n%s", i, rd, sd.SDDL(), b, desired, got.Allowed, want, got.Explain())
		}
		// The trace agrees with the granted mask.
		var traced AccessMask
		for _, d := range got.Trace {
			if d.Granted {
				traced |= d.Mask
			}
		}
		if traced != got.Granted {
			t.Fatalf("case %d: trace grants %s, result %s", i, traced, got.Granted)
		}
	}
}

// Under the per-right trigger, MAXIMUM_ALLOWED returns exactly the rights a
// plain request would get: a request is granted iff it lies within the
// maximum. Under every reading, a request for one right is granted iff the
// right lies within the maximum of r.Alone(), and MAXIMUM_ALLOWED never
// grants more than r.Alone()'s.
func TestMaximumAllowedConsistent(t *testing.T) {
	r := rand.New(rand.NewSource(2))
	for i := 0; i < 10000; i++ {
		sd, tok := randSD(r), randToken(r)
		b, _ := tok.MarshalJSON()
		for _, rd := range OpenReadings() {
			max := AccessCheckUnder(rd, sd, tok, MaximumAllowed, File).Granted
			alone := AccessCheckUnder(rd.Alone(), sd, tok, MaximumAllowed, File).Granted
			if max&^alone != 0 {
				t.Fatalf("case %d, %s: MAXIMUM_ALLOWED %s exceeds the rights granted alone %s (sd %s, token %s)", i, rd, max, alone, sd.SDDL(), b)
			}
			bit := rightPool[r.Intn(len(rightPool))]
			if one := AccessCheckUnder(rd, sd, tok, bit, File).Allowed; one != (bit&alone == bit) {
				t.Fatalf("case %d, %s: %s alone allowed=%v but granted alone is %s (sd %s, token %s)", i, rd, bit, one, alone, sd.SDDL(), b)
			}
			if rd.Trigger != PerRight {
				continue
			}
			for j := 0; j < 8; j++ {
				d := FileMapping.Map(randMask(r))
				if d == 0 {
					continue
				}
				plain := AccessCheckUnder(rd, sd, tok, d, File).Allowed
				if plain != (d&max == d) {
					t.Fatalf("case %d, %s: %s allowed=%v but maximum is %s (sd %s, token %s)", i, rd, d, plain, max, sd.SDDL(), b)
				}
			}
		}
	}
}

// Restricting a token can only take rights away, and write-restricting takes
// away less than restricting fully ("Restricted Tokens", Microsoft Learn).
func TestRestrictionOnlyRemoves(t *testing.T) {
	r := rand.New(rand.NewSource(3))
	for i := 0; i < 10000; i++ {
		sd, tok := randSD(r), randToken(r)
		if len(tok.RestrictedSIDs) == 0 {
			continue
		}
		plain := *tok
		plain.RestrictedSIDs, plain.WriteRestricted = nil, false
		full := *tok
		full.WriteRestricted = false
		wr := *tok
		wr.WriteRestricted = true
		for _, rd := range OpenReadings() {
			gPlain := AccessCheckUnder(rd, sd, &plain, MaximumAllowed, File).Granted
			gFull := AccessCheckUnder(rd, sd, &full, MaximumAllowed, File).Granted
			gWR := AccessCheckUnder(rd, sd, &wr, MaximumAllowed, File).Granted
			if gFull&^gWR != 0 || gWR&^gPlain != 0 {
				t.Fatalf("case %d, %s: full %s ⊄ write-restricted %s ⊄ plain %s for %s", i, rd, gFull, gWR, gPlain, sd.SDDL())
			}
			// Besides the write rights, only the owner's implicit
			// READ_CONTROL can go: it needs the owner among the restricting
			// SIDs, write-restricted or not.
			if rd.MaxAllowed == MaxSplit && (gPlain^gWR)&^(rd.Mask.Rights(FileMapping)|ReadControl) != 0 {
				t.Fatalf("case %d, %s: write restriction removed a non-write right: %s vs %s", i, rd, gPlain, gWR)
			}
		}
	}
}

func TestRandomDescriptorsRoundTrip(t *testing.T) {
	r := rand.New(rand.NewSource(4))
	for i := 0; i < 5000; i++ {
		sd := randSD(r)
		bin, err := sd.MarshalBinary()
		if err != nil {
			t.Fatalf("case %d: MarshalBinary(%s): %v", i, sd.SDDL(), err)
		}
		back, err := ParseBinary(bin)
		if err != nil {
			t.Fatalf("case %d: ParseBinary: %v", i, err)
		}
		fromSDDL, err := ParseSDDL(sd.SDDL())
		if err != nil {
			t.Fatalf("case %d: ParseSDDL(%s): %v", i, sd.SDDL(), err)
		}
		bin2, _ := fromSDDL.MarshalBinary()
		if !reflect.DeepEqual(back, fromSDDL) || !bytes.Equal(bin, bin2) {
			t.Fatalf("case %d: %s: binary and SDDL round trips differ:\n%#v\n%#v", i, sd.SDDL(), back, fromSDDL)
		}
	}
}
