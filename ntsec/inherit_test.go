package ntsec

import (
	"reflect"
	"testing"
)

func mustSD(t *testing.T, s string) *SecurityDescriptor {
	t.Helper()
	sd, err := ParseSDDL(s)
	if err != nil {
		t.Fatalf("ParseSDDL(%q): %v", s, err)
	}
	return sd
}

func aclOf(t *testing.T, aces string) []ACE {
	t.Helper()
	return mustSD(t, "D:"+aces).DACL.Entries
}

// "ACE Inheritance Rules" (Microsoft Learn) and [MS-DTYP] 2.4.4.1 flags:
// OI reaches files, CI directories, NP stops after one level, IO means "not
// for me", and CREATOR OWNER becomes the new object's owner.
func TestInheritACEs(t *testing.T) {
	owner := tUser
	parent := mustSD(t, "D:(A;OICI;FA;;;SY)(A;OICIIO;GA;;;CO)(A;CI;FR;;;BU)(A;OI;FX;;;AU)(A;OICINP;FW;;;S-1-5-21-7-7-7-7)(D;OICIIO;FW;;;WD)(A;;FA;;;BA)").DACL
	cases := []struct {
		obj  ObjectType
		want string
	}{
		{File, "(A;ID;FA;;;SY)(A;ID;FA;;;S-1-5-21-1-2-3-1001)(A;ID;FX;;;AU)(A;ID;FW;;;S-1-5-21-7-7-7-7)(D;ID;FW;;;WD)"},
		{Directory, "(A;OICIID;FA;;;SY)" +
			"(A;ID;FA;;;S-1-5-21-1-2-3-1001)(A;OICIIOID;GA;;;CO)" + // split: effective copy + inherit-only original
			"(A;CIID;FR;;;BU)" +
			"(A;OIIOID;FX;;;AU)" + // OI-only: passes through directories as inherit-only
			"(A;ID;FW;;;S-1-5-21-7-7-7-7)" + // NP: effective on the child, not passed on
			"(D;OICIID;FW;;;WD)"},
	}
	for _, c := range cases {
		got := InheritACEs(parent, c.obj, owner, tGroup)
		want := aclOf(t, c.want)
		if !reflect.DeepEqual(got, want) {
			t.Errorf("%s inherits\n got %s\nwant %s", c.obj, (&ACL{Entries: got}).SDDL(), (&ACL{Entries: want}).SDDL())
		}
	}
}

// A new object takes its parent's inheritable ACEs, or the creator's default
// DACL when none applies to it ("Security Descriptors for New Objects",
// Microsoft Learn).
func TestNewObject(t *testing.T) {
	def := &ACL{Revision: ACLRevision, Entries: aclOf(t, "(A;;GA;;;S-1-5-21-1-2-3-1001)(A;;GA;;;SY)")}
	parent := mustSD(t, "O:BAD:AI(A;CI;FA;;;SY)")
	file := NewObject(parent, File, tUser, tGroup, def)
	if !reflect.DeepEqual(file.DACL.Entries, def.Entries) {
		t.Errorf("file under a CI-only parent should get the default DACL, got %s", file.SDDL())
	}
	dir := NewObject(parent, Directory, tUser, tGroup, def)
	if dir.SDDL() != "O:S-1-5-21-1-2-3-1001G:S-1-5-21-1-2-3-513D:AI(A;CIID;FA;;;SY)" {
		t.Errorf("directory: %s", dir.SDDL())
	}
	if nd := NewObject(parent, File, tUser, tGroup, nil); nd.DACL != nil {
		t.Errorf("null default DACL should give a null DACL: %s", nd.SDDL())
	}
	oiLabel := mustSD(t, "D:(A;OICI;FA;;;WD)S:(ML;OI;NW;;;LW)")
	if l, ok := NewObject(oiLabel, Directory, tUser, tGroup, nil).Label(); ok || NewObject(oiLabel, Directory, tUser, tGroup, nil).SACL.Entries[0].Flags != ObjectInherit|InheritOnly|Inherited {
		t.Errorf("an OI-only label should pass through a directory as inherit-only, got effective %v", l)
	}
	labelled := mustSD(t, "D:(A;OICI;FA;;;WD)S:(ML;OICI;NW;;;LW)")
	f := NewObject(labelled, File, tUser, tGroup, nil)
	if l, ok := f.Label(); !ok || l.SID != LowLabel || l.Flags != Inherited {
		t.Errorf("label not inherited: %s", f.SDDL())
	}
	// The effect the sandbox relies on: a file created in a writable root
	// inherits the capability SID's grant, so the sandbox can write it.
	root := mustSD(t, "O:S-1-5-21-1-2-3-1001D:(A;OICI;FA;;;S-1-5-21-7-7-7-7)(A;OICI;FA;;;S-1-5-21-1-2-3-1001)")
	created := NewObject(root, File, tUser, tGroup, nil)
	if r := AccessCheck(created, sandboxToken(true, tCap), FileGenericWrite, File); !r.Allowed {
		t.Errorf("new file in a granted root is not writable:\n%s", r.Explain())
	}
}

// What SetNamedSecurityInfo does below the object it changes ("Automatic
// Propagation of Inheritable ACEs", Microsoft Learn): explicit ACEs stay,
// inherited ones are recomputed, protected children are left alone.
func TestPropagate(t *testing.T) {
	parent := mustSD(t, "D:PAI(A;OICI;FA;;;S-1-5-21-7-7-7-7)(A;OICI;FA;;;SY)")
	child := mustSD(t, "O:S-1-5-21-1-2-3-1001D:AI(D;;FW;;;WD)(A;;FR;;;AU)(A;ID;FR;;;BU)")
	got := Propagate(parent, child, File)
	want := "O:S-1-5-21-1-2-3-1001D:AI(D;;FW;;;WD)(A;;FR;;;AU)(A;ID;FA;;;S-1-5-21-7-7-7-7)(A;ID;FA;;;SY)"
	if got.SDDL() != want {
		t.Errorf("Propagate:\n got %s\nwant %s", got.SDDL(), want)
	}
	if child.SDDL() != "O:S-1-5-21-1-2-3-1001D:AI(D;;FW;;;WD)(A;;FR;;;AU)(A;ID;FR;;;BU)" {
		t.Errorf("Propagate modified its input: %s", child.SDDL())
	}
	odd := mustSD(t, "D:AI(A;ID;FA;;;WD)(D;;0x100;;;BU)")
	if got := Propagate(parent, odd, File); got.SDDL() != odd.SDDL() {
		t.Errorf("non-canonical child reordered: %s", got.SDDL())
	}
	prot := mustSD(t, "D:P(A;;FA;;;SY)")
	if got := Propagate(parent, prot, File); got.SDDL() != prot.SDDL() {
		t.Errorf("protected child changed: %s", got.SDDL())
	}
	// Removing the grant from the parent removes it from the child: the
	// inverse plan relies on this.
	bare := mustSD(t, "D:PAI(A;OICI;FA;;;SY)")
	if got := Propagate(bare, Propagate(parent, child, File), File); got.SDDL() != "O:S-1-5-21-1-2-3-1001D:AI(D;;FW;;;WD)(A;;FR;;;AU)(A;ID;FA;;;SY)" {
		t.Errorf("grant not withdrawn: %s", got.SDDL())
	}
}

func TestSetDACL(t *testing.T) {
	parent := mustSD(t, "D:(A;OICI;FA;;;SY)")
	obj := mustSD(t, "O:BAD:(A;ID;FA;;;SY)")
	explicit := &ACL{Entries: aclOf(t, "(A;OICI;FA;;;S-1-5-21-7-7-7-7)(A;ID;FR;;;WD)")}
	got := SetDACL(parent, obj, Directory, explicit, false)
	if got.SDDL() != "O:BAD:AI(A;OICI;FA;;;S-1-5-21-7-7-7-7)(A;OICIID;FA;;;SY)" {
		t.Errorf("SetDACL: %s", got.SDDL())
	}
	got = SetDACL(parent, obj, Directory, explicit, true)
	if got.SDDL() != "O:BAD:P(A;OICI;FA;;;S-1-5-21-7-7-7-7)" {
		t.Errorf("SetDACL protected: %s", got.SDDL())
	}
}

// Labels propagate like DACL ACEs, but on their own: an explicit label
// stays first and decides, an inherited one follows the parent, a protected
// SACL keeps its own, and a label the parent withdraws goes, SACL and all.
func TestPropagateLabel(t *testing.T) {
	low := mustSD(t, "D:(A;OICI;FA;;;SY)S:(ML;OICI;NW;;;LW)")
	cases := []struct {
		child, typ, want string
		level            SID // the label that counts
	}{
		{"D:(A;;FA;;;SY)", "file", "D:AI(A;;FA;;;SY)(A;ID;FA;;;SY)S:AI(ML;ID;NW;;;LW)", LowLabel},
		{"D:(A;;FA;;;SY)", "dir", "D:AI(A;;FA;;;SY)(A;OICIID;FA;;;SY)S:AI(ML;OICIID;NW;;;LW)", LowLabel},
		{"D:(A;;FA;;;SY)S:(ML;;NW;;;ME)", "file", "D:AI(A;;FA;;;SY)(A;ID;FA;;;SY)S:AI(ML;;NW;;;ME)(ML;ID;NW;;;LW)", MediumLabel},
		{"D:(A;;FA;;;SY)S:P(ML;;NW;;;HI)", "file", "D:AI(A;;FA;;;SY)(A;ID;FA;;;SY)S:P(ML;;NW;;;HI)", HighLabel},
	}
	for _, c := range cases {
		typ := File
		if c.typ == "dir" {
			typ = Directory
		}
		got := Propagate(low, mustSD(t, c.child), typ)
		if got.SDDL() != c.want {
			t.Errorf("%s (%s):\n got %s\nwant %s", c.child, c.typ, got.SDDL(), c.want)
		}
		if l, ok := got.Label(); !ok || l.SID != c.level {
			t.Errorf("%s: effective label %v, want %s", c.child, l, c.level)
		}
	}
	// The parent's label withdrawn: the inherited copy goes, and with it
	// the SACL the child did not have before.
	bare := mustSD(t, "D:(A;OICI;FA;;;SY)")
	child := mustSD(t, "D:(A;;FA;;;SY)")
	if got := Propagate(bare, Propagate(low, child, File), File); got.SACL != nil || got.Control&(SACLPresent|SACLAutoInherited) != 0 {
		t.Errorf("label not withdrawn: %s", got.SDDL())
	}
}
