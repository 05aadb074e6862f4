package ntfs

import (
	"github.com/cordon-sandbox/cordon/internal/aclplan"
	"github.com/cordon-sandbox/cordon/ntsec"
)

// nextDACL returns the DACL an object with descriptor cur holds after an
// AddACE or RemoveACE edit, computed as aclplan.Apply computes it, or false
// when the edit is already in effect and nothing must be written: an
// AddACE whose ACE is already among the explicit ones, a RemoveACE whose
// ACE is not. That check is what makes a second run write nothing.
//
// (aclplan.Apply would add an AddACE's ACE a second time; the planner never
// asks for that, since it leaves out every ACE already in place.)
func nextDACL(cur *ntsec.SecurityDescriptor, e aclplan.Edit) (*ntsec.ACL, bool) {
	present := hasExplicit(cur.DACL, e.ACE)
	switch {
	case e.Op == aclplan.AddACE && !present:
		return aclplan.WithACE(cur.DACL, e.ACE), true
	case e.Op == aclplan.RemoveACE && present:
		return aclplan.WithoutACE(cur.DACL, e.ACE), true
	}
	return nil, false
}

// hasExplicit reports whether acl holds e itself as an explicit ACE.
func hasExplicit(acl *ntsec.ACL, e ntsec.ACE) bool {
	if acl == nil {
		return false
	}
	for _, x := range acl.Entries {
		if x == e && x.Flags&ntsec.Inherited == 0 {
			return true
		}
	}
	return false
}

// explicitPart returns the entries of acl that are not inherited, which is
// what SetSecurityInfo takes for an unprotected DACL or label SACL: it
// drops ACEs marked inherited and recomputes them from the parent.
func explicitPart(acl *ntsec.ACL) *ntsec.ACL {
	out := &ntsec.ACL{Revision: acl.Revision, Entries: []ntsec.ACE{}}
	for _, x := range acl.Entries {
		if x.Flags&ntsec.Inherited == 0 {
			out.Entries = append(out.Entries, x)
		}
	}
	return out
}

// placeholderDACL is the DACL passed to CreateDirectory for a CreateDir
// edit. Windows merges the parent's inheritable ACEs into a DACL the
// creator supplies (unless it is protected), so the deny alone yields
// deny + inherited ACEs, as aclplan.Apply models it. Only when the parent
// passes nothing on to a directory does the model fall back to the
// creator's default DACL (owner and SYSTEM full access); Windows would keep
// the lone deny, so those two allows are then supplied explicitly.
func placeholderDACL(parent *ntsec.SecurityDescriptor, e aclplan.Edit, owner ntsec.SID) *ntsec.ACL {
	acl := &ntsec.ACL{Revision: ntsec.ACLRevision, Entries: []ntsec.ACE{e.ACE}}
	if parent != nil && len(ntsec.InheritACEs(parent.DACL, ntsec.Directory, owner, ntsec.SID{})) > 0 {
		return acl
	}
	if owner.IsZero() && parent != nil {
		owner = parent.Owner
	}
	def := &ntsec.ACL{Revision: ntsec.ACLRevision, Entries: []ntsec.ACE{}}
	if !owner.IsZero() {
		def.Entries = append(def.Entries, ntsec.ACE{Type: ntsec.AccessAllowed, Mask: ntsec.FileAllAccess, SID: owner})
	}
	def.Entries = append(def.Entries, ntsec.ACE{Type: ntsec.AccessAllowed, Mask: ntsec.FileAllAccess, SID: ntsec.LocalSystem})
	return aclplan.WithACE(def, e.ACE)
}

// nextLabel returns the label SACL an object with descriptor cur holds
// after a SetLabel or RemoveLabel edit, computed by aclplan.LabelEdit as
// aclplan.Apply computes it, or false when the edit leaves the object alone:
// a SetLabel whose Prev is no longer the explicit label (or whose ACE
// already is), a RemoveLabel whose ACE is not. The SACL is never nil: an
// object left with no label gets an empty one, because that is what
// removes a label, and a nil SACL handed to Windows would be a null one.
func nextLabel(cur *ntsec.SecurityDescriptor, e aclplan.Edit) (*ntsec.ACL, bool) {
	next, ok := aclplan.LabelEdit(cur, e)
	if !ok {
		return nil, false
	}
	if next.SACL == nil {
		return &ntsec.ACL{Revision: ntsec.ACLRevision, Entries: []ntsec.ACE{}}, true
	}
	return next.SACL, true
}
