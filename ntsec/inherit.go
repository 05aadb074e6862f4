package ntsec

// This file models ACL inheritance as Windows applies it when a file or
// directory is created (CreatePrivateObjectSecurityEx with
// SEF_DACL_AUTO_INHERIT, as NTFS uses it) and when SetNamedSecurityInfo
// re-applies a directory's inheritable ACEs to what lies below it
// ("ACE Inheritance Rules" and "Automatic Propagation of Inheritable ACEs",
// Microsoft Learn; [MS-DTYP] 2.4.4.1 for the flags).

// InheritACEs returns the ACEs a child of type obj inherits from its parent's
// DACL, in parent order, each marked Inherited:
//
//   - A file inherits the OI ACEs, as effective ACEs without inheritance
//     flags.
//   - A directory inherits the CI ACEs as effective ACEs which (unless NP)
//     stay inheritable with their OI/CI flags, and the OI-only ACEs (unless
//     NP) as inherit-only ACEs so that they reach files further down.
//   - In an effective copy, CREATOR OWNER and CREATOR GROUP become owner and
//     group and generic rights are mapped. When that changes the ACE and the
//     directory must also pass it on, Windows writes two ACEs: the effective
//     copy and an inherit-only copy of the original.
//
// Inherit-only status on the parent ACE does not matter: IO says the ACE does
// not apply to the parent itself.
func InheritACEs(parent *ACL, obj ObjectType, owner, group SID) []ACE {
	if parent == nil {
		return nil
	}
	var out []ACE
	for _, p := range parent.Entries {
		if p.Type != AccessAllowed && p.Type != AccessDenied {
			continue
		}
		oi, ci, np := p.Flags&ObjectInherit != 0, p.Flags&ContainerInherit != 0, p.Flags&NoPropagateInherit != 0
		effective := p
		effective.Flags = Inherited
		effective.Mask = FileMapping.Map(p.Mask)
		switch effective.SID {
		case CreatorOwner:
			if !owner.IsZero() {
				effective.SID = owner
			}
		case CreatorGroup:
			if !group.IsZero() {
				effective.SID = group
			}
		}
		if obj == File {
			if oi {
				out = append(out, effective)
			}
			continue
		}
		switch {
		case ci && np:
			out = append(out, effective)
		case ci:
			onward := p
			onward.Flags = (p.Flags & (ObjectInherit | ContainerInherit)) | Inherited
			if effective.SID == p.SID && effective.Mask == p.Mask {
				out = append(out, onward)
			} else {
				onward.Flags |= InheritOnly
				out = append(out, effective, onward)
			}
		case oi && !np:
			onward := p
			onward.Flags = ObjectInherit | InheritOnly | Inherited
			out = append(out, onward)
		}
	}
	return out
}

// NewObject returns the security descriptor Windows gives a new file or
// directory created under parent without an explicit descriptor: the
// parent's inheritable ACEs or, when none applies to obj, the creator
// token's default DACL (a null defaultDACL gives a null DACL). owner and
// group are the creator token's defaults. A parent with auto-inherited
// DACL passes that flag on.
func NewObject(parent *SecurityDescriptor, obj ObjectType, owner, group SID, defaultDACL *ACL) *SecurityDescriptor {
	sd := &SecurityDescriptor{Owner: owner, Group: group, Control: DACLPresent}
	var inherited []ACE
	if parent != nil {
		inherited = InheritACEs(parent.DACL, obj, owner, group)
		if parent.Control&DACLAutoInherited != 0 {
			sd.Control |= DACLAutoInherited
		}
		if label, ok := inheritedLabel(parent, obj); ok {
			sd.SACL = &ACL{Revision: ACLRevision, Entries: []ACE{label}}
			sd.Control |= SACLPresent
		}
	}
	if len(inherited) > 0 {
		sd.DACL = &ACL{Revision: ACLRevision, Entries: inherited}
	} else {
		sd.DACL = defaultDACL.Clone()
	}
	return sd
}

// inheritedLabel returns the mandatory label a child inherits, if the
// parent's label ACE is inheritable to obj.
func inheritedLabel(parent *SecurityDescriptor, obj ObjectType) (ACE, bool) {
	if parent.SACL == nil {
		return ACE{}, false
	}
	for _, e := range parent.SACL.Entries {
		if e.Type != MandatoryLabel {
			continue
		}
		c := e
		if obj == File && e.Flags&ObjectInherit != 0 {
			c.Flags = Inherited
			return c, true
		}
		if obj == Directory && e.Flags&ContainerInherit != 0 {
			c.Flags = e.Flags&^InheritOnly | Inherited
			if e.Flags&NoPropagateInherit != 0 {
				c.Flags = Inherited
			}
			return c, true
		}
		if obj == Directory && e.Flags&(ObjectInherit|NoPropagateInherit) == ObjectInherit {
			// As for DACL ACEs: an object-inherit-only label passes through
			// directories as inherit-only, to reach the files below.
			c.Flags = ObjectInherit | InheritOnly | Inherited
			return c, true
		}
	}
	return ACE{}, false
}

// Propagate returns the descriptor child holds after Windows re-applies its
// parent's inheritable ACEs, as SetNamedSecurityInfo does to every object
// below the one whose DACL or label it sets: the child's explicit ACEs
// stay, in their order, and its inherited ACEs are replaced by what it now
// inherits from parent. A child with a protected DACL, or with explicit
// ACEs after inherited ones, keeps its DACL; a child with a protected SACL
// keeps its label (see PropagateLabel). child is not modified.
func Propagate(parent, child *SecurityDescriptor, obj ObjectType) *SecurityDescriptor {
	out := child.Clone()
	out.SACL, out.Control = PropagateLabel(parent, child, obj)
	if child.Control&DACLProtected != 0 || explicitAfterInherited(child.DACL) {
		// Propagation never reorders a DACL's allows and denies; a DACL
		// whose explicit ACEs do not all come first (Cygwin writes such
		// DACLs) is left as it is, as if it were protected.
		return out
	}
	var entries []ACE
	if child.DACL != nil {
		for _, e := range child.DACL.Entries {
			if e.Flags&Inherited == 0 {
				entries = append(entries, e)
			}
		}
	}
	entries = append(entries, InheritACEs(parent.DACL, obj, child.Owner, child.Group)...)
	if entries == nil {
		entries = []ACE{}
	}
	rev := uint8(ACLRevision)
	if child.DACL != nil {
		rev = child.DACL.revision()
	}
	out.DACL = &ACL{Revision: rev, Entries: entries}
	out.Control |= DACLPresent | DACLAutoInherited
	return out
}

// SetDACL returns the descriptor obj holds after SetNamedSecurityInfo sets
// its DACL to explicit: the explicit ACEs (any marked Inherited are dropped,
// as Windows recomputes those), followed unless protect is true by what obj
// inherits from parent (nil for a volume root). Protecting a DACL keeps only
// the explicit ACEs, as PROTECTED_DACL_SECURITY_INFORMATION does.
func SetDACL(parent, obj *SecurityDescriptor, typ ObjectType, explicit *ACL, protect bool) *SecurityDescriptor {
	out := obj.Clone()
	entries := []ACE{}
	if explicit != nil {
		for _, e := range explicit.Entries {
			if e.Flags&Inherited == 0 {
				entries = append(entries, e)
			}
		}
	}
	out.Control |= DACLPresent
	if protect {
		out.Control |= DACLProtected
	} else {
		out.Control &^= DACLProtected
		if parent != nil {
			entries = append(entries, InheritACEs(parent.DACL, typ, obj.Owner, obj.Group)...)
			out.Control |= DACLAutoInherited
		}
	}
	out.DACL = &ACL{Revision: ACLRevision, Entries: entries}
	return out
}

// explicitAfterInherited reports whether an explicit ACE follows an
// inherited one in acl.
func explicitAfterInherited(acl *ACL) bool {
	if acl == nil {
		return false
	}
	seenInherited := false
	for _, e := range acl.Entries {
		if e.Flags&Inherited != 0 {
			seenInherited = true
		} else if seenInherited {
			return true
		}
	}
	return false
}

// PropagateLabel returns the SACL and control child holds after Windows
// re-applies its parent's inheritable mandatory label: an explicit label of
// the child stays and comes first, so it is the one that counts
// ([MS-DTYP] 2.4.4.13: the first mandatory label ACE); an inherited one is
// replaced by what the parent passes on now, or dropped when it passes
// nothing. A protected SACL (SDDL "S:P") inherits nothing and is returned
// as it is.
func PropagateLabel(parent, child *SecurityDescriptor, obj ObjectType) (*ACL, Control) {
	ctl := child.Control
	if ctl&SACLProtected != 0 {
		return child.SACL.Clone(), ctl
	}
	var entries []ACE
	if child.SACL != nil {
		for _, e := range child.SACL.Entries {
			if e.Flags&Inherited == 0 {
				entries = append(entries, e)
			}
		}
	}
	if parent != nil {
		if label, ok := inheritedLabel(parent, obj); ok {
			entries = append(entries, label)
		}
	}
	if child.SACL == nil && entries == nil || child.SACL != nil && equalACEs(child.SACL.Entries, entries) {
		return child.SACL.Clone(), ctl
	}
	if entries == nil {
		// The last label went: the SACL goes with it, as it was before
		// one was inherited.
		return nil, ctl &^ (SACLPresent | SACLAutoInherited)
	}
	rev := uint8(ACLRevision)
	if child.SACL != nil {
		rev = child.SACL.revision()
	}
	return &ACL{Revision: rev, Entries: entries}, ctl | SACLPresent | SACLAutoInherited
}

func equalACEs(a, b []ACE) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}
