//go:build windows

package ntfs

// How each edit reaches NTFS, and where that differs from plan.Apply's
// model.
//
// AddACE and RemoveACE open the object with READ_CONTROL|WRITE_DAC
// (BACKUP_SEMANTICS|OPEN_REPARSE_POINT, so a reparse point's own DACL is
// edited), read its DACL, compute the new one as plan.Apply does (nextDACL)
// and write nothing when the edit is already in effect. Otherwise:
//
//   - A file or directory gets SetSecurityInfo(DACL_SECURITY_INFORMATION)
//     with the explicit ACEs only, UNPROTECTED_DACL_SECURITY_INFORMATION
//     (or, for a protected DACL, the whole DACL and
//     PROTECTED_DACL_SECURITY_INFORMATION: an edit never changes whether a
//     DACL inherits). Windows (MARTA) re-adds what the object inherits and
//     then propagates the inheritable ACEs to everything below it, top
//     down: the same propagation plan.Apply models, but started once per
//     edited directory rather than once per plan. x/sys offers no
//     propagation that could be deferred and run once, so the edits are
//     simply applied one by one in the plan's order: on the cold path a
//     subtree below two edited directories (a .git below a root that gets
//     a grant) is rewritten once for each, where the model counts one
//     write; the warm path writes nothing at all. The writes Apply counts
//     are the objects it wrote itself, not what propagation rewrote.
//   - A junction or symlink gets SetKernelObjectSecurity with the whole new
//     DACL: no propagation at all, because MARTA walks a directory's
//     children by name, and a walk from a junction would go through it and
//     rewrite its target's tree.
//
// SetLabel and RemoveLabel open the object the same way with
// READ_CONTROL|WRITE_OWNER (a mandatory label is written under WRITE_OWNER,
// read under READ_CONTROL alone), read its label with
// LABEL_SECURITY_INFORMATION, and compute the new label SACL with
// plan.LabelEdit, plan.Apply's own model (nextLabel): the compare-and-swap
// against the explicit label the edit expects happens on the label read
// through this handle, and nothing is written when it says no change.
// Otherwise the label part of the SACL is written, never the rest: audit
// ACEs would need ACCESS_SYSTEM_SECURITY and SeSecurityPrivilege.
//
//   - A file or directory gets SetSecurityInfo(LABEL_SECURITY_INFORMATION)
//     with only its explicit label ACE (or, for a protected SACL, the whole
//     label SACL), and an empty SACL for RemoveLabel, never a nil one,
//     which would be a null SACL. No SACL protection flag is passed, so
//     whether the SACL inherits is left as it was. Hypotheses, which
//     TestApplyLabel checks on real Windows (Wine keeps no labels): an
//     empty SACL under LABEL_SECURITY_INFORMATION removes the explicit
//     label (no documentation found says so outright); MARTA re-adds the
//     inherited label and propagates an inheritable one (OI|CI) to
//     everything below, as it does the DACL, so plan.Apply's single
//     propagation models it.
//   - A junction or symlink gets SetKernelObjectSecurity with the whole new
//     label SACL, inherited ACEs included, and no propagation, for the
//     same reason as its DACL.
//
// CreateDir calls CreateDirectory with a descriptor holding the owner and
// the deny; Windows merges the parent's inheritable ACEs into it, giving
// the deny + inherited DACL the model computes (placeholderDACL). A
// placeholder that already exists means the plan is stale: it is an error,
// not adopted, since rolling back would then remove a directory cordon did
// not create.
//
// RemoveDir removes the placeholder only if it is still an empty, plain
// directory; a filled one is left as it is, a missing one is fine. So is
// RemoveACE on a missing object: cleanup may outlive what it cleans. A
// label edit on a missing object does nothing either, SetLabel included:
// cleanup restores a previous label with a SetLabel, and a deleted
// workspace must not make every later cleanup fail; the compare-and-swap
// finds no label to compare, and a plan whose root vanished still fails,
// at its AddACEs or at the proof of what was applied.

import (
	"errors"
	"fmt"
	"unsafe"

	"golang.org/x/sys/windows"

	"github.com/cordon-sandbox/cordon/ntsec"
	"github.com/cordon-sandbox/cordon/plan"
)

// applyEdit applies one edit; errors name the op, the ACE and the path.
func applyEdit(e plan.Edit) (bool, error) {
	switch e.Op {
	case plan.AddACE:
		changed, err := setACE(e)
		if err != nil {
			return changed, fmt.Errorf("add %s to %s: %w", e.ACE.SDDL(), e.Path, err)
		}
		return changed, nil
	case plan.RemoveACE:
		changed, err := setACE(e)
		if err != nil {
			return changed, fmt.Errorf("remove %s from %s: %w", e.ACE.SDDL(), e.Path, err)
		}
		return changed, nil
	case plan.SetLabel:
		changed, err := setLabel(e)
		if err != nil {
			return changed, fmt.Errorf("set label %s on %s: %w", e.ACE.SDDL(), e.Path, err)
		}
		return changed, nil
	case plan.RemoveLabel:
		changed, err := setLabel(e)
		if err != nil {
			return changed, fmt.Errorf("remove label %s from %s: %w", e.ACE.SDDL(), e.Path, err)
		}
		return changed, nil
	case plan.CreateDir:
		changed, err := createDir(e)
		if err != nil {
			return changed, fmt.Errorf("create placeholder %s with %s: %w", e.Path, e.ACE.SDDL(), err)
		}
		return changed, nil
	case plan.RemoveDir:
		changed, err := removeDir(e)
		if err != nil {
			return changed, fmt.Errorf("remove placeholder %s: %w", e.Path, err)
		}
		return changed, nil
	}
	return false, fmt.Errorf("%s %s: unknown op %q", e.Op, e.Path, e.Op)
}

func setACE(e plan.Edit) (bool, error) {
	_, name, err := resolve(e.Path)
	if err != nil {
		return false, err
	}
	h, err := open(name, windows.READ_CONTROL|windows.WRITE_DAC|windows.FILE_READ_ATTRIBUTES)
	if err != nil {
		if e.Op == plan.RemoveACE && isNotExist(err) {
			// Cleanup of an object deleted since: its ACE went with it.
			return false, nil
		}
		return false, openErr(err)
	}
	defer windows.CloseHandle(h)
	info, err := readAttrTag(h)
	if err != nil {
		return false, err
	}
	cur, err := readSD(h, windows.DACL_SECURITY_INFORMATION)
	if err != nil {
		return false, err
	}
	next, ok := nextDACL(cur, e)
	if !ok {
		return false, nil
	}
	protected := cur.Control&ntsec.DACLProtected != 0
	if info.isLink() {
		sd := &ntsec.SecurityDescriptor{Control: cur.Control & (ntsec.DACLProtected | ntsec.DACLAutoInherited), DACL: next}
		wsd, err := winSD(sd)
		if err != nil {
			return false, err
		}
		if err := windows.SetKernelObjectSecurity(h, daclInfo(protected), wsd); err != nil {
			return false, fmt.Errorf("SetKernelObjectSecurity: %w", err)
		}
		return true, nil
	}
	write := next
	if !protected {
		write = explicitPart(next)
	}
	acl, err := winACL(write)
	if err != nil {
		return false, err
	}
	if err := windows.SetSecurityInfo(h, windows.SE_FILE_OBJECT, daclInfo(protected), nil, nil, acl, nil); err != nil {
		// SetSecurityInfo sets the object's DACL before it propagates:
		// if the object has the new DACL, the edit happened and a
		// rollback must undo it.
		after, rerr := readSD(h, windows.DACL_SECURITY_INFORMATION)
		changed := rerr == nil && after.DACL != nil && sameEntries(explicitPart(after.DACL), explicitPart(next))
		return changed, fmt.Errorf("SetSecurityInfo: %w", err)
	}
	return true, nil
}

// setLabel applies a SetLabel or RemoveLabel edit.
func setLabel(e plan.Edit) (bool, error) {
	_, name, err := resolve(e.Path)
	if err != nil {
		return false, err
	}
	h, err := open(name, windows.READ_CONTROL|windows.WRITE_OWNER|windows.FILE_READ_ATTRIBUTES)
	if err != nil {
		if isNotExist(err) {
			return false, nil // see the file comment
		}
		return false, labelErr(openErr(err))
	}
	defer windows.CloseHandle(h)
	info, err := readAttrTag(h)
	if err != nil {
		return false, err
	}
	cur, err := readSD(h, windows.LABEL_SECURITY_INFORMATION)
	if err != nil {
		return false, err
	}
	next, ok := nextLabel(cur, e)
	if !ok {
		return false, nil
	}
	if info.isLink() {
		sd := &ntsec.SecurityDescriptor{Control: ntsec.SACLPresent | cur.Control&(ntsec.SACLProtected|ntsec.SACLAutoInherited), SACL: next}
		wsd, err := winSD(sd)
		if err != nil {
			return false, err
		}
		if err := windows.SetKernelObjectSecurity(h, windows.LABEL_SECURITY_INFORMATION, wsd); err != nil {
			return false, labelErr(fmt.Errorf("SetKernelObjectSecurity: %w", err))
		}
		return true, nil
	}
	write := next
	if cur.Control&ntsec.SACLProtected == 0 {
		write = explicitPart(next)
	}
	sacl, err := winSACL(write)
	if err != nil {
		return false, err
	}
	if err := windows.SetSecurityInfo(h, windows.SE_FILE_OBJECT, windows.LABEL_SECURITY_INFORMATION, nil, nil, nil, sacl); err != nil {
		// As for a DACL: if the object has the new label, the edit
		// happened before propagation failed, and a rollback must undo it.
		after, rerr := readSD(h, windows.LABEL_SECURITY_INFORMATION)
		changed := rerr == nil && sameEntries(explicitLabels(after), explicitPart(next))
		return changed, labelErr(fmt.Errorf("SetSecurityInfo: %w", err))
	}
	return true, nil
}

// explicitLabels returns the explicit entries of sd's label SACL, none
// when it has no SACL.
func explicitLabels(sd *ntsec.SecurityDescriptor) *ntsec.ACL {
	if sd.SACL == nil {
		return &ntsec.ACL{Revision: ntsec.ACLRevision, Entries: []ntsec.ACE{}}
	}
	return explicitPart(sd.SACL)
}

// labelErr says what the two refusals particular to labels most likely
// mean.
func labelErr(err error) error {
	switch {
	case errors.Is(err, windows.ERROR_ACCESS_DENIED):
		return fmt.Errorf("%w (a mandatory label is written under WRITE_OWNER, which this user most likely lacks on the object or, as the label propagates, on something below it)", err)
	case errors.Is(err, windows.ERROR_INVALID_LABEL):
		return fmt.Errorf("%w (most likely a label above this process's integrity level, which needs SeRelabelPrivilege)", err)
	}
	return err
}

var errIsRoot = errors.New("a volume root cannot be a placeholder")

func daclInfo(protected bool) windows.SECURITY_INFORMATION {
	if protected {
		return windows.DACL_SECURITY_INFORMATION | windows.PROTECTED_DACL_SECURITY_INFORMATION
	}
	return windows.DACL_SECURITY_INFORMATION | windows.UNPROTECTED_DACL_SECURITY_INFORMATION
}

func createDir(e plan.Edit) (bool, error) {
	p, name, err := resolve(e.Path)
	if err != nil {
		return false, err
	}
	parent, ok := p.Parent()
	if !ok {
		return false, errIsRoot
	}
	_, pname, err := resolve(parent.String())
	if err != nil {
		return false, err
	}
	ph, err := open(pname, windows.READ_CONTROL|windows.FILE_READ_ATTRIBUTES)
	if err != nil {
		return false, fmt.Errorf("parent %s: %w", parent, openErr(err))
	}
	psd, err := readSD(ph, windows.OWNER_SECURITY_INFORMATION|windows.DACL_SECURITY_INFORMATION)
	windows.CloseHandle(ph)
	if err != nil {
		return false, fmt.Errorf("parent %s: %w", parent, err)
	}
	wsd, err := winSD(&ntsec.SecurityDescriptor{Owner: e.Owner, DACL: placeholderDACL(psd, e, e.Owner)})
	if err != nil {
		return false, err
	}
	sa := windows.SecurityAttributes{SecurityDescriptor: wsd}
	sa.Length = uint32(unsafe.Sizeof(sa))
	u, err := windows.UTF16PtrFromString(name)
	if err != nil {
		return false, err
	}
	switch err := windows.CreateDirectory(u, &sa); err {
	case nil:
		return true, nil
	case windows.ERROR_ALREADY_EXISTS:
		return false, fmt.Errorf("%w: it appeared after the plan was made; plan again", err)
	case windows.ERROR_INVALID_OWNER:
		return false, fmt.Errorf("%w: this process may not make %s the owner", err, e.Owner)
	default:
		return false, openErr(err)
	}
}

func removeDir(e plan.Edit) (bool, error) {
	p, name, err := resolve(e.Path)
	if err != nil {
		return false, err
	}
	h, err := open(name, windows.FILE_READ_ATTRIBUTES)
	if isNotExist(err) {
		return false, nil
	}
	if err != nil {
		return false, err
	}
	info, err := readAttrTag(h)
	windows.CloseHandle(h)
	if err != nil {
		return false, err
	}
	if info.isLink() || !info.isDir() {
		return false, fmt.Errorf("%s is no longer a plain directory; left alone", p)
	}
	u, err := windows.UTF16PtrFromString(name)
	if err != nil {
		return false, err
	}
	switch err := windows.RemoveDirectory(u); {
	case err == nil:
		return true, nil
	case err == windows.ERROR_DIR_NOT_EMPTY || isNotExist(err):
		return false, nil
	default:
		return false, err
	}
}

// winSD encodes sd for Windows, in pointer-aligned Go memory
// (SECURITY_DESCRIPTOR holds pointers, so checkptr wants that alignment),
// at least as large as the absolute form, as x/sys allocates.
func winSD(sd *ntsec.SecurityDescriptor) (*windows.SECURITY_DESCRIPTOR, error) {
	b, err := sd.MarshalBinary()
	if err != nil {
		return nil, err
	}
	const word = int(unsafe.Sizeof(uintptr(0)))
	n := max(len(b), int(unsafe.Sizeof(windows.SECURITY_DESCRIPTOR{})))
	buf := make([]uintptr, (n+word-1)/word)
	copy(unsafe.Slice((*byte)(unsafe.Pointer(&buf[0])), len(b)), b)
	return (*windows.SECURITY_DESCRIPTOR)(unsafe.Pointer(&buf[0])), nil
}

// winSACL encodes acl, never nil, as a Windows SACL: an empty acl stays an
// empty SACL.
func winSACL(acl *ntsec.ACL) (*windows.ACL, error) {
	if acl == nil {
		return nil, errors.New("encoded SACL: nil, which Windows would read as a null SACL")
	}
	wsd, err := winSD(&ntsec.SecurityDescriptor{Control: ntsec.SACLPresent, SACL: acl})
	if err != nil {
		return nil, err
	}
	sacl, _, err := wsd.SACL()
	if err == nil && sacl == nil {
		err = errors.New("no SACL")
	}
	if err != nil {
		return nil, fmt.Errorf("encoded SACL: %w", err)
	}
	return sacl, nil
}

// winACL encodes acl as a Windows ACL.
func winACL(acl *ntsec.ACL) (*windows.ACL, error) {
	wsd, err := winSD(&ntsec.SecurityDescriptor{DACL: acl})
	if err != nil {
		return nil, err
	}
	dacl, _, err := wsd.DACL()
	if err == nil && dacl == nil {
		// Never hand SetSecurityInfo a nil DACL: that is a null DACL,
		// which grants everyone everything.
		err = errors.New("no DACL")
	}
	if err != nil {
		return nil, fmt.Errorf("encoded DACL: %w", err)
	}
	return dacl, nil
}
