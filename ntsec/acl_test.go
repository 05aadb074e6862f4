package ntsec

import "testing"

// A nil ACL grants everything and an empty one nothing, so they differ;
// entries compare in order; the revision is not compared.
func TestACLEqual(t *testing.T) {
	a := ACE{Type: AccessAllowed, Mask: FileAllAccess, SID: Everyone}
	d := ACE{Type: AccessDenied, Mask: FileAllAccess, SID: Everyone}
	for _, c := range []struct {
		x, y *ACL
		want bool
	}{
		{nil, nil, true},
		{nil, &ACL{}, false},
		{&ACL{}, nil, false},
		{&ACL{}, &ACL{Revision: 4}, true},
		{&ACL{Entries: []ACE{a, d}}, &ACL{Entries: []ACE{a, d}}, true},
		{&ACL{Entries: []ACE{a, d}}, &ACL{Entries: []ACE{d, a}}, false},
		{&ACL{Entries: []ACE{a}}, &ACL{Entries: []ACE{a, a}}, false},
	} {
		if got := c.x.Equal(c.y); got != c.want {
			t.Errorf("%v.Equal(%v) = %v, want %v", c.x, c.y, got, c.want)
		}
	}
}
