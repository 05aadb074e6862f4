package ntsec

import (
	"bytes"
	"strings"
	"testing"
)

// [MS-DTYP] 2.4.2.1 (string form) and 2.4.2.2 (binary form).
func TestParseSIDForms(t *testing.T) {
	cases := []struct {
		in, want string
		auth     uint64
		subs     []uint32
	}{
		{"S-1-1-0", "S-1-1-0", 1, []uint32{0}},
		{"s-1-5-32-544", "S-1-5-32-544", 5, []uint32{32, 544}},
		{"S-1-5-21-1004336348-1177238915-682003330-512", "S-1-5-21-1004336348-1177238915-682003330-512", 5, []uint32{21, 1004336348, 1177238915, 682003330, 512}},
		{"S-1-16-12288", "S-1-16-12288", 16, []uint32{12288}},
		{"S-1-5-5-0-999", "S-1-5-5-0-999", 5, []uint32{5, 0, 999}},
		{"S-1-4294967295-1", "S-1-4294967295-1", 4294967295, []uint32{1}},
		{"S-1-0x1000000000-1", "S-1-0x001000000000-1", 0x1000000000, []uint32{1}},
		{"S-1-5", "S-1-5", 5, []uint32{}},
		{"S-1-5-4294967295", "S-1-5-4294967295", 5, []uint32{4294967295}},
	}
	for _, c := range cases {
		s, err := ParseSID(c.in)
		if err != nil {
			t.Errorf("ParseSID(%q): %v", c.in, err)
			continue
		}
		if s.String() != c.want {
			t.Errorf("ParseSID(%q).String() = %q, want %q", c.in, s.String(), c.want)
		}
		if s.Authority() != c.auth {
			t.Errorf("ParseSID(%q).Authority() = %d, want %d", c.in, s.Authority(), c.auth)
		}
		if got := s.SubAuthorities(); len(got) != len(c.subs) {
			t.Errorf("ParseSID(%q) sub-authorities %v, want %v", c.in, got, c.subs)
		} else {
			for i := range got {
				if got[i] != c.subs[i] {
					t.Errorf("ParseSID(%q) sub-authorities %v, want %v", c.in, got, c.subs)
				}
			}
		}
		back, n, err := SIDFromBytes(s.Bytes())
		if err != nil || n != s.Len() || back != s {
			t.Errorf("binary round trip of %s: %v, %d, %v", s, back, n, err)
		}
	}
}

// The binary layout of [MS-DTYP] 2.4.2.2: revision 1, count, big-endian
// 48-bit authority, little-endian sub-authorities.
func TestSIDBinaryLayout(t *testing.T) {
	s := BuiltinAdministrators
	want := []byte{1, 2, 0, 0, 0, 0, 0, 5, 32, 0, 0, 0, 0x20, 0x02, 0, 0}
	if !bytes.Equal(s.Bytes(), want) {
		t.Fatalf("BA bytes = % x, want % x", s.Bytes(), want)
	}
}

func TestParseSIDErrors(t *testing.T) {
	cases := map[string]string{
		"":                 "want S-1",
		"X-1-5":            "want S-1",
		"S-2-5-32":         "revision",
		"S-1":              "want S-1-<authority>",
		"S-1-x-5":          "authority",
		"S-1-5--1":         "sub-authority \"\"",
		"S-1-5-4294967296": "sub-authority \"4294967296\"",
		"S-1-5-+1":         "sub-authority \"+1\"",
		"S-1-5-1-2-3-4-5-6-7-8-9-10-11-12-13-14-15-16": "more than 15",
		"S-1-0x1000000000000-1":                        "authority",
		"DA":                                           "domain group",
		"ZZ":                                           "want S-1",
	}
	for in, want := range cases {
		_, err := ParseSID(in)
		if err == nil {
			t.Errorf("ParseSID(%q) succeeded, want error containing %q", in, want)
			continue
		}
		if !strings.Contains(err.Error(), want) {
			t.Errorf("ParseSID(%q) error %q does not contain %q", in, err, want)
		}
	}
}

func TestSIDFromBytesErrors(t *testing.T) {
	good := BuiltinAdministrators.Bytes()
	for n := 0; n < len(good); n++ {
		if _, _, err := SIDFromBytes(good[:n]); err == nil {
			t.Errorf("SIDFromBytes of %d of %d bytes succeeded", n, len(good))
		}
	}
	bad := append([]byte(nil), good...)
	bad[0] = 2
	if _, _, err := SIDFromBytes(bad); err == nil || !strings.Contains(err.Error(), "revision") {
		t.Errorf("revision 2: %v", err)
	}
	bad[0], bad[1] = 1, 16
	if _, _, err := SIDFromBytes(bad); err == nil || !strings.Contains(err.Error(), "more than 15") {
		t.Errorf("16 sub-authorities: %v", err)
	}
}

// [MS-DTYP] 2.4.2.4 well-known SIDs and 2.5.1.1 SDDL aliases.
func TestSIDAliases(t *testing.T) {
	cases := map[string]string{
		"WD": "S-1-1-0", "AU": "S-1-5-11", "BU": "S-1-5-32-545", "BA": "S-1-5-32-544",
		"SY": "S-1-5-18", "CO": "S-1-3-0", "OW": "S-1-3-4", "RC": "S-1-5-12",
		"WR": "S-1-5-33", "IU": "S-1-5-4", "LW": "S-1-16-4096", "ME": "S-1-16-8192",
		"HI": "S-1-16-12288", "SI": "S-1-16-16384", "AC": "S-1-15-2-1",
	}
	for alias, str := range cases {
		s, err := ParseSID(alias)
		if err != nil {
			t.Errorf("ParseSID(%q): %v", alias, err)
			continue
		}
		if s.String() != str {
			t.Errorf("%s = %s, want %s", alias, s, str)
		}
		if s.Alias() != alias {
			t.Errorf("Alias(%s) = %q, want %q", str, s.Alias(), alias)
		}
		lower, err := ParseSID(strings.ToLower(alias))
		if err != nil || lower != s {
			t.Errorf("lower-case alias %q: %v %v", strings.ToLower(alias), lower, err)
		}
	}
	if rid, ok := LowLabel.IntegrityLevel(); !ok || rid != 0x1000 {
		t.Errorf("LowLabel integrity = %x, %v", rid, ok)
	}
	if _, ok := Everyone.IntegrityLevel(); ok {
		t.Error("Everyone reported as an integrity label")
	}
	if !LogonSID(0, 0x3e7).IsLogonSID() || Everyone.IsLogonSID() {
		t.Error("IsLogonSID wrong")
	}
	var zero SID
	if !zero.IsZero() || zero.String() != "" || zero.Alias() != "" {
		t.Error("zero SID misbehaves")
	}
}

func TestSIDText(t *testing.T) {
	var s SID
	if err := s.UnmarshalText([]byte("BA")); err != nil || s != BuiltinAdministrators {
		t.Fatalf("UnmarshalText(BA) = %v, %v", s, err)
	}
	b, _ := s.MarshalText()
	if string(b) != "S-1-5-32-544" {
		t.Errorf("MarshalText = %s", b)
	}
	if err := s.UnmarshalText([]byte("S-1-x")); err == nil {
		t.Error("UnmarshalText accepted S-1-x")
	}
}
