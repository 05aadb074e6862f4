//go:build windows

package ntfs

// How each edit reaches NTFS, and where that differs from aclplan.Apply's
// model.
//
// Every edit writes its own object and nothing else: the descriptor it
// computes goes to the object's handle with SetKernelObjectSecurity
// (NtSetSecurityObject), whole, inherited ACEs included, never through
// SetSecurityInfo. What lies below an edited directory is brought in line
// afterwards, once for the whole Apply, by cordon's own walk
// (propagate.go, propagate_windows.go), as aclplan.Apply models it.
//
// The Windows semantics this relies on:
//
//   - SetSecurityInfo and SetNamedSecurityInfo are the functions that
//     propagate: "The SetNamedSecurityInfo and SetSecurityInfo functions
//     support automatic propagation of inheritable access control entries
//     (ACEs) ... the system applies the ACE as appropriate to the access
//     control lists (ACLs) of any existing subdirectories or files"
//     (Automatic Propagation of Inheritable ACEs,
//     https://learn.microsoft.com/en-us/windows/win32/secauthz/automatic-propagation-of-inheritable-aces).
//     That propagation is MARTA's (ntmarta.dll), in user mode, walking
//     children by name; it is why the old code rewrote a subtree once per
//     edited directory and why it was kept away from junctions.
//   - NtSetSecurityObject sets "an object's security state" on the object
//     its handle refers to (ZwSetSecurityObject,
//     https://learn.microsoft.com/en-us/windows-hardware/drivers/ddi/ntifs/nf-ntifs-zwsetsecurityobject),
//     and SetKernelObjectSecurity "should not be used when setting a
//     security descriptor on file system objects. Instead, use the
//     SetSecurityInfo or SetNamedSecurityInfo functions"
//     (https://learn.microsoft.com/en-us/windows/win32/api/securitybaseapi/nf-securitybaseapi-setkernelobjectsecurity):
//     no propagation, which is exactly what is wanted here. Microsoft does
//     not say outright that it touches no child; that, and the next point,
//     are hypotheses TestOwnPropagation checks on real Windows.
//   - NTFS stores the DACL and label given to NtSetSecurityObject as they
//     are, ACEs marked inherited and SE_DACL_AUTO_INHERITED included. As
//     far as is known, MARTA writes each child it propagates to through
//     this same call, and so does Cygwin its ACLs. The one documented
//     counter-case: SeSetSecurityDescriptorInfoEx has an
//     SEF_DACL_AUTO_INHERIT mode that keeps an object's current inherited
//     ACEs whatever it is given
//     (https://learn.microsoft.com/en-us/windows-hardware/drivers/ddi/ntifs/nf-ntifs-sesetsecuritydescriptorinfoex);
//     if NTFS used it for this call, propagated inherited ACEs would not
//     be stored, and TestOwnPropagation would fail on the children.
//
// AddACE and RemoveACE open the object with READ_CONTROL|WRITE_DAC
// (BACKUP_SEMANTICS|OPEN_REPARSE_POINT, so a reparse point's own DACL is
// edited), read its DACL, compute the new one as aclplan.Apply does (nextDACL:
// the explicit ACE added or removed, the inherited ACEs as they are) and
// write nothing when the edit is already in effect. Otherwise the whole
// new DACL is written, with the protected and auto-inherited bits the
// object had: an edit never changes whether a DACL inherits.
//
// SetLabel and RemoveLabel open the object the same way with
// READ_CONTROL|WRITE_OWNER (a mandatory label is written under WRITE_OWNER,
// read under READ_CONTROL alone), read its label with
// LABEL_SECURITY_INFORMATION, and compute the new label SACL with
// aclplan.LabelEdit, aclplan.Apply's own model (nextLabel): the compare-and-swap
// against the explicit label the edit expects happens on the label read
// through this handle, and nothing is written when it says no change.
// Otherwise the whole label SACL is written under
// LABEL_SECURITY_INFORMATION, inherited label included, and an empty SACL,
// never a nil one (a null SACL), when no label is left; audit ACEs are
// never written (they would need ACCESS_SYSTEM_SECURITY and
// SeSecurityPrivilege). Hypothesis, which TestApplyLabel checks on real
// Windows (Wine keeps no labels): an empty SACL under
// LABEL_SECURITY_INFORMATION removes the label.
//
// An edit's write is one call on one handle: it happens or it does not,
// so a failed edit changed nothing and its rollback has nothing to undo.
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

	"github.com/cordon-sandbox/cordon/internal/aclplan"
	"github.com/cordon-sandbox/cordon/ntsec"
)

// applyEdit applies one edit; errors name the op, the ACE and the path.
func applyEdit(e aclplan.Edit) (bool, error) {
	switch e.Op {
	case aclplan.AddACE:
		changed, err := setACE(e)
		if err != nil {
			return changed, fmt.Errorf("add %s to %s: %w", e.ACE.SDDL(), e.Path, err)
		}
		return changed, nil
	case aclplan.RemoveACE:
		changed, err := setACE(e)
		if err != nil {
			return changed, fmt.Errorf("remove %s from %s: %w", e.ACE.SDDL(), e.Path, err)
		}
		return changed, nil
	case aclplan.SetLabel:
		changed, err := setLabel(e)
		if err != nil {
			return changed, fmt.Errorf("set label %s on %s: %w", e.ACE.SDDL(), e.Path, err)
		}
		return changed, nil
	case aclplan.RemoveLabel:
		changed, err := setLabel(e)
		if err != nil {
			return changed, fmt.Errorf("remove label %s from %s: %w", e.ACE.SDDL(), e.Path, err)
		}
		return changed, nil
	case aclplan.CreateDir:
		changed, err := createDir(e)
		if err != nil {
			return changed, fmt.Errorf("create placeholder %s with %s: %w", e.Path, e.ACE.SDDL(), err)
		}
		return changed, nil
	case aclplan.RemoveDir:
		changed, err := removeDir(e)
		if err != nil {
			return changed, fmt.Errorf("remove placeholder %s: %w", e.Path, err)
		}
		return changed, nil
	}
	return false, fmt.Errorf("%s %s: unknown op %q", e.Op, e.Path, e.Op)
}

func setACE(e aclplan.Edit) (bool, error) { return setACEWith(e, openPath) }

// openPath opens the object at path as Windows resolves it, every
// component but the last followed (open).
func openPath(path string, access uint32) (windows.Handle, error) {
	_, name, err := resolve(path)
	if err != nil {
		return windows.InvalidHandle, err
	}
	return open(name, access)
}

// setACEWith is setACE with the object opened by openObj.
func setACEWith(e aclplan.Edit, openObj func(string, uint32) (windows.Handle, error)) (bool, error) {
	h, err := openObj(e.Path, windows.READ_CONTROL|windows.WRITE_DAC|windows.FILE_READ_ATTRIBUTES)
	if err != nil {
		if e.Op == aclplan.RemoveACE && isNotExist(err) {
			// Cleanup of an object deleted since: its ACE went with it.
			return false, nil
		}
		return false, openErr(err)
	}
	defer windows.CloseHandle(h)
	cur, err := readSD(h, windows.DACL_SECURITY_INFORMATION)
	if err != nil {
		return false, err
	}
	next, ok := nextDACL(cur, e)
	if !ok {
		return false, nil
	}
	if err := writeSD(h, &ntsec.SecurityDescriptor{Control: cur.Control, DACL: next}, daclPart); err != nil {
		return false, err
	}
	return true, nil
}

// setLabel applies a SetLabel or RemoveLabel edit.
func setLabel(e aclplan.Edit) (bool, error) {
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
	cur, err := readSD(h, windows.LABEL_SECURITY_INFORMATION)
	if err != nil {
		return false, err
	}
	next, ok := nextLabel(cur, e)
	if !ok {
		return false, nil
	}
	if err := writeSD(h, &ntsec.SecurityDescriptor{Control: cur.Control, SACL: next}, labelPart); err != nil {
		return false, labelErr(err)
	}
	return true, nil
}

// writeSD writes the parts ps of sd to the object open as h, and to
// nothing else (see the file comment): the DACL with its protected and
// auto-inherited bits, the label SACL (an empty one for a nil SACL, which
// removes the label) with its protected and auto-inherited bits.
func writeSD(h windows.Handle, sd *ntsec.SecurityDescriptor, ps parts) error {
	out := &ntsec.SecurityDescriptor{}
	var info windows.SECURITY_INFORMATION
	if ps&daclPart != 0 {
		if sd.DACL == nil {
			// A null DACL grants everyone everything: never written.
			return errors.New("refusing to write a null DACL")
		}
		out.DACL = sd.DACL
		out.Control |= ntsec.DACLPresent | sd.Control&(ntsec.DACLProtected|ntsec.DACLAutoInherited)
		info |= daclInfo(sd.Control&ntsec.DACLProtected != 0)
	}
	if ps&labelPart != 0 {
		out.SACL = sd.SACL
		if out.SACL == nil {
			out.SACL = &ntsec.ACL{Revision: ntsec.ACLRevision, Entries: []ntsec.ACE{}}
		}
		out.Control |= ntsec.SACLPresent | sd.Control&(ntsec.SACLProtected|ntsec.SACLAutoInherited)
		info |= windows.LABEL_SECURITY_INFORMATION
	}
	wsd, err := winSD(out)
	if err != nil {
		return err
	}
	if err := windows.SetKernelObjectSecurity(h, info, wsd); err != nil {
		return fmt.Errorf("SetKernelObjectSecurity: %w", err)
	}
	return nil
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

func createDir(e aclplan.Edit) (bool, error) {
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

func removeDir(e aclplan.Edit) (bool, error) {
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
