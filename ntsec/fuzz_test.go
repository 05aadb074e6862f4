package ntsec

import (
	"bytes"
	"encoding/json"
	"reflect"
	"testing"
)

// The fuzz targets feed untrusted text and bytes to the three parsers. Each
// must return an error or a value that survives a round trip; none may
// panic. Seed corpora live in testdata/fuzz; scripts/test runs each target
// for a short while.

func FuzzParseSDDL(f *testing.F) {
	for _, s := range []string{
		"O:BAG:SYD:PAI(A;OICI;FA;;;SY)(D;OICI;0xd0156;;;S-1-5-21-1-2-3-4)S:(ML;;NW;;;LW)",
		"D:NO_ACCESS_CONTROL", "D:", "O:S-1-0x1000000000-1",
	} {
		f.Add(s)
	}
	tok := sandboxToken(true, tCap)
	f.Fuzz(func(t *testing.T, s string) {
		sd, err := ParseSDDL(s)
		if err != nil {
			return
		}
		AccessCheck(sd, tok, MaximumAllowed, File)
		again, err := ParseSDDL(sd.SDDL())
		if err != nil {
			t.Fatalf("ParseSDDL(%q) ok but its SDDL %q does not parse: %v", s, sd.SDDL(), err)
		}
		if !reflect.DeepEqual(again, sd) {
			t.Fatalf("SDDL round trip of %q changed it: %q", s, sd.SDDL())
		}
		bin, err := sd.MarshalBinary()
		if err != nil {
			return // an ACL over 64 KiB has no binary form
		}
		back, err := ParseBinary(bin)
		if err != nil || !reflect.DeepEqual(back, sd) {
			t.Fatalf("binary round trip of %q: %v", s, err)
		}
	})
}

func FuzzParseBinary(f *testing.F) {
	for _, s := range []string{
		"O:BAG:SYD:PAI(A;OICI;FA;;;SY)(D;OICI;0xd0156;;;S-1-5-21-1-2-3-4)S:(ML;;NW;;;LW)",
		"D:NO_ACCESS_CONTROL", "D:",
	} {
		sd, err := ParseSDDL(s)
		if err != nil {
			f.Fatal(err)
		}
		b, err := sd.MarshalBinary()
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	tok := sandboxToken(false, tCap)
	f.Fuzz(func(t *testing.T, b []byte) {
		sd, err := ParseBinary(b)
		if err != nil {
			return
		}
		AccessCheck(sd, tok, MaximumAllowed, Directory)
		out, err := sd.MarshalBinary()
		if err != nil {
			t.Fatalf("ParseBinary ok but MarshalBinary fails: %v", err)
		}
		back, err := ParseBinary(out)
		if err != nil || !reflect.DeepEqual(back, sd) {
			t.Fatalf("binary round trip: %v\n%#v\n%#v", err, back, sd)
		}
	})
}

func FuzzParseToken(f *testing.F) {
	f.Add([]byte(`{"user":"S-1-5-21-1-2-3-1001","groups":["WD",{"sid":"S-1-5-5-0-1","attributes":["enabled","logon_id"]}],"restricted_sids":["WD"],"write_restricted":true,"privileges":["SeChangeNotifyPrivilege"],"integrity":"low"}`))
	f.Add([]byte(`{"user":"SY"}`))
	f.Fuzz(func(t *testing.T, b []byte) {
		tok, err := ParseToken(bytes.NewReader(b))
		if err != nil {
			return
		}
		out, err := json.Marshal(tok)
		if err != nil {
			t.Fatalf("MarshalJSON: %v", err)
		}
		back, err := ParseToken(bytes.NewReader(out))
		if err != nil || !reflect.DeepEqual(back, tok) {
			t.Fatalf("token round trip of %s via %s: %v", b, out, err)
		}
	})
}
