package ntsec

import (
	"bytes"
	"encoding/binary"
	"reflect"
	"strings"
	"testing"
)

// roundTrip checks SDDL → SD → binary → SD → SDDL → SD, all equal.
func roundTrip(t *testing.T, sddl string) *SecurityDescriptor {
	t.Helper()
	sd, err := ParseSDDL(sddl)
	if err != nil {
		t.Fatalf("ParseSDDL(%q): %v", sddl, err)
	}
	bin, err := sd.MarshalBinary()
	if err != nil {
		t.Fatalf("MarshalBinary(%q): %v", sddl, err)
	}
	back, err := ParseBinary(bin)
	if err != nil {
		t.Fatalf("ParseBinary(MarshalBinary(%q)): %v", sddl, err)
	}
	if !reflect.DeepEqual(back, sd) {
		t.Fatalf("binary round trip of %q:\n got %#v\nwant %#v", sddl, back, sd)
	}
	again, err := ParseSDDL(sd.SDDL())
	if err != nil {
		t.Fatalf("ParseSDDL(SDDL()=%q): %v", sd.SDDL(), err)
	}
	if !reflect.DeepEqual(again, sd) {
		t.Fatalf("SDDL round trip %q → %q changed the descriptor", sddl, sd.SDDL())
	}
	bin2, _ := again.MarshalBinary()
	if !bytes.Equal(bin, bin2) {
		t.Fatalf("binary forms differ after SDDL round trip of %q", sddl)
	}
	return sd
}

// [MS-DTYP] 2.5.1 SDDL and 2.4.6 SECURITY_DESCRIPTOR round trips.
func TestSDDLRoundTrip(t *testing.T) {
	for _, s := range []string{
		"O:BAG:SYD:(A;;FA;;;SY)",
		"O:S-1-5-21-1-2-3-1001G:S-1-5-21-1-2-3-513D:PAI(D;OICI;0x1d0156;;;S-1-5-21-9-8-7-6)(A;OICI;FA;;;BA)(A;OICIIO;GA;;;CO)(A;OICIID;0x1200a9;;;BU)",
		"D:(A;NP;FX;;;WD)(D;IO;SD;;;AN)",
		"D:",
		"D:NO_ACCESS_CONTROL",
		"D:PNO_ACCESS_CONTROL",
		"O:SY",
		"",
		"D:ARAI(A;;RCWDWO;;;OW)S:(ML;;NW;;;LW)",
		"S:PAI(ML;OICI;NWNRNX;;;HI)",
		"S:",
		"S:NO_ACCESS_CONTROL",
		"D:(A;;CCDCLCSWRPWPDTLOCR;;;S-1-0x1000000000-1)",
		"D:(A;;0x0;;;WD)",
	} {
		t.Run(s, func(t *testing.T) { roundTrip(t, s) })
	}
}

// A null DACL and an empty DACL are different things ([MS-DTYP] 2.4.6:
// DACL present with no ACL grants everything; an empty ACL grants nothing).
func TestNullVersusEmptyDACL(t *testing.T) {
	null := roundTrip(t, "D:NO_ACCESS_CONTROL")
	empty := roundTrip(t, "D:")
	absent := roundTrip(t, "O:BA")
	if null.DACL != nil || null.Control&DACLPresent == 0 {
		t.Errorf("null DACL parsed as %#v", null)
	}
	if empty.DACL == nil || len(empty.DACL.Entries) != 0 || empty.Control&DACLPresent == 0 {
		t.Errorf("empty DACL parsed as %#v", empty)
	}
	if absent.DACL != nil || absent.Control&DACLPresent != 0 {
		t.Errorf("absent DACL parsed as %#v", absent)
	}
	nb, _ := null.MarshalBinary()
	if off := binary.LittleEndian.Uint32(nb[16:]); off != 0 || binary.LittleEndian.Uint16(nb[2:])&uint16(DACLPresent) == 0 {
		t.Errorf("null DACL encodes with offset %d, control %#x", off, nb[2:4])
	}
	if null.SDDL() != "D:NO_ACCESS_CONTROL" || empty.SDDL() != "D:" || absent.SDDL() != "O:BA" {
		t.Errorf("formats: %q %q %q", null.SDDL(), empty.SDDL(), absent.SDDL())
	}
}

// The self-relative layout of [MS-DTYP] 2.4.6, byte by byte, for one small
// descriptor; the ACL and ACE layouts are those of 2.4.5 and 2.4.4.2.
func TestBinaryLayout(t *testing.T) {
	sd, err := ParseSDDL("O:BAG:SYD:P(A;OICI;FA;;;WD)")
	if err != nil {
		t.Fatal(err)
	}
	got, err := sd.MarshalBinary()
	if err != nil {
		t.Fatal(err)
	}
	want := []byte{
		1, 0, 0x04, 0x90, // revision, sbz1, control = SELF_RELATIVE|DACL_PROTECTED|DACL_PRESENT
		20, 0, 0, 0, // owner at 20
		36, 0, 0, 0, // group at 36
		0, 0, 0, 0, // no SACL
		48, 0, 0, 0, // DACL at 48
		1, 2, 0, 0, 0, 0, 0, 5, 32, 0, 0, 0, 0x20, 2, 0, 0, // BA
		1, 1, 0, 0, 0, 0, 0, 5, 18, 0, 0, 0, // SY
		2, 0, 28, 0, 1, 0, 0, 0, // ACL revision 2, size 28, 1 ACE
		0, 3, 20, 0, 0xff, 0x01, 0x1f, 0x00, // ACE allowed, OI|CI, size 20, FA
		1, 1, 0, 0, 0, 0, 0, 1, 0, 0, 0, 0, // WD
	}
	if !bytes.Equal(got, want) {
		t.Fatalf("binary:\n got % x\nwant % x", got, want)
	}
}

func TestParseSDDLErrors(t *testing.T) {
	cases := map[string]string{
		"X:BA":              "expected O:, G:, D: or S:",
		"O:BAO:SY":          "O: appears twice",
		"O:S-1-5-x":         "SDDL O: SID",
		"D:(A;;FA;;;SY":     "unterminated ACE",
		"D:(A;;FA;;SY)":     "want 6 fields",
		"D:(AU;SA;FA;;;SY)": "type \"AU\" (audit) is not supported",
		"D:(OA;;RP;bf967aba-0de6-11d0-a285-00aa003049e2;;WD)": "object allowed",
		"D:(XA;;FA;;;WD;(Member_of {SID(BA)}))":               "conditional ACEs are not supported",
		"D:(A;QQ;FA;;;SY)":                                    "unknown flag \"QQ\"",
		"D:(A;SA;FA;;;SY)":                                    "audit flag",
		"D:(A;;ZZ;;;SY)":                                      "unknown right \"ZZ\"",
		"D:(A;;;;;SY)":                                        "no access rights",
		"D:(A;;FA;;;DU)":                                      "domain group",
		"D:(A;;FA;;;)":                                        "want S-1",
		"D:X(A;;FA;;;SY)":                                     "unknown ACL flag",
		"D:NO_ACCESS_CONTROL(A;;FA;;;SY)":                     "cannot be followed by ACEs",
		"D:(ML;;NW;;;LW)":                                     "belongs in the SACL",
		"S:(A;;FA;;;SY)":                                      "only mandatory label",
		"S:(ML;;NW;;;WD)":                                     "integrity SID",
		"S:(ML;;FA;;;LW)":                                     "only NR, NW, NX",
		"D:(A;;FA;a;;SY)":                                     "object GUIDs",
		"D:(A;;FA;;;SY)junk":                                  "expected (",
		"O:":                                                  "want S-1",
	}
	for in, want := range cases {
		_, err := ParseSDDL(in)
		if err == nil {
			t.Errorf("ParseSDDL(%q) succeeded, want error containing %q", in, want)
			continue
		}
		if !strings.Contains(err.Error(), want) {
			t.Errorf("ParseSDDL(%q) = %q, want it to contain %q", in, err, want)
		}
	}
}

func TestParseBinaryErrors(t *testing.T) {
	sd, _ := ParseSDDL("O:BAG:SYD:(A;OICI;FA;;;WD)(D;;FW;;;S-1-5-21-1-2-3-4)S:(ML;;NW;;;LW)")
	good, err := sd.MarshalBinary()
	if err != nil {
		t.Fatal(err)
	}
	// Every truncation is an error, never a panic.
	for n := 0; n < len(good); n++ {
		if _, err := ParseBinary(good[:n]); err == nil {
			t.Errorf("ParseBinary of %d of %d bytes succeeded", n, len(good))
		}
	}
	mutate := func(f func(b []byte)) []byte {
		b := append([]byte(nil), good...)
		f(b)
		return b
	}
	owner := int(binary.LittleEndian.Uint32(good[4:]))
	sacl := int(binary.LittleEndian.Uint32(good[12:]))
	dacl := int(binary.LittleEndian.Uint32(good[16:]))
	cases := map[string][]byte{
		"revision 2, want 1":               mutate(func(b []byte) { b[0] = 2 }),
		"not self-relative":                mutate(func(b []byte) { b[3] &^= 0x80 }),
		"owner offset":                     mutate(func(b []byte) { binary.LittleEndian.PutUint32(b[4:], 5000) }),
		"owner: SID: revision":             mutate(func(b []byte) { b[owner] = 9 }),
		"DACL: ACL revision 7":             mutate(func(b []byte) { b[dacl] = 7 }),
		"ACE type 0x02 (system audit)":     mutate(func(b []byte) { b[dacl+8] = 2 }),
		"ACE type 0x09 (callback allowed)": mutate(func(b []byte) { b[dacl+8] = 9 }),
		"not a multiple of 4":              mutate(func(b []byte) { b[dacl+10] = 21 }),
		"SACL: ACE 0":                      mutate(func(b []byte) { b[sacl+8] = 0 }),
		"DACL offset":                      mutate(func(b []byte) { b[2] &^= byte(DACLPresent) }),
		"ACL size":                         mutate(func(b []byte) { b[dacl+2] = 0xff; b[dacl+3] = 0xff }),
	}
	for want, b := range cases {
		_, err := ParseBinary(b)
		if err == nil {
			t.Errorf("%s: ParseBinary succeeded", want)
			continue
		}
		if !strings.Contains(err.Error(), want) {
			t.Errorf("ParseBinary error %q does not contain %q", err, want)
		}
	}
}

// [MS-DTYP] 2.5.1.1 ace_rights and 2.4.3 ACCESS_MASK.
func TestRights(t *testing.T) {
	cases := map[string]AccessMask{
		"FA": 0x1F01FF, "FR": 0x120089, "FW": 0x120116, "FX": 0x1200A0,
		"GA": 0x10000000, "GR": 0x80000000, "GW": 0x40000000, "GX": 0x20000000,
		"RC": 0x20000, "SD": 0x10000, "WD": 0x40000, "WO": 0x80000,
		"CC": 0x1, "DC": 0x2, "LC": 0x4, "SW": 0x8, "RP": 0x10, "WP": 0x20, "DT": 0x40, "LO": 0x80, "CR": 0x100,
		"RCWD": 0x60000, "grgw": 0xC0000000, "0x1200a9": 0x1200A9, "0X10": 0x10, "17": 17,
		"KA": 0xF003F,
	}
	for in, want := range cases {
		got, err := ParseRights(in)
		if err != nil || got != want {
			t.Errorf("ParseRights(%q) = %#x, %v; want %#x", in, got, err, want)
		}
		back, err := ParseRights(got.SDDL())
		if err != nil || back != got {
			t.Errorf("ParseRights(%q.SDDL()=%q) = %#x, %v", in, got.SDDL(), back, err)
		}
	}
	for _, bad := range []string{"", "F", "FAX", "QQ", "0x1FFFFFFFF", "0xZZ", "0o17", "0b101", "1_000", "0x1_0"} {
		if _, err := ParseRights(bad); err == nil {
			t.Errorf("ParseRights(%q) succeeded", bad)
		}
	}
	if FileAllAccess.SDDL() != "FA" || AccessMask(0x1200A9).SDDL() != "0x1200a9" || AccessMask(0x60000).SDDL() != "RCWD" {
		t.Errorf("SDDL formatting: %s %s %s", FileAllAccess.SDDL(), AccessMask(0x1200A9).SDDL(), AccessMask(0x60000).SDDL())
	}
}

// The file generic mapping (winnt.h FILE_GENERIC_*, "File Security and
// Access Rights", Microsoft Learn).
func TestFileMapping(t *testing.T) {
	if got := FileMapping.Map(GenericRead | GenericWrite); got != FileGenericRead|FileGenericWrite {
		t.Errorf("Map(GR|GW) = %s", got)
	}
	if got := FileMapping.Map(GenericAll | Delete); got != FileAllAccess {
		t.Errorf("Map(GA|SD) = %s", got)
	}
	if got := FileMapping.Map(FileReadData); got != FileReadData {
		t.Errorf("Map(specific) changed it: %s", got)
	}
	if got := FileMapping.WriteRights(); got != 0xD0156 {
		t.Errorf("WriteRights = %s, want 0x000d0156", got)
	}
	if FileMapping.WriteRights()&(ReadControl|Synchronize) != 0 {
		t.Error("WriteRights includes READ_CONTROL or SYNCHRONIZE")
	}
	if RightName(FileWriteData, true) != "ADD_FILE" || RightName(FileWriteData, false) != "WRITE_DATA" || RightName(1<<9, false) != "bit9" {
		t.Error("RightName")
	}
}

func TestCanonical(t *testing.T) {
	for s, want := range map[string]bool{
		"D:(D;;FA;;;WD)(A;;FA;;;BA)(A;ID;FA;;;SY)": true,
		"D:(A;;FA;;;BA)(D;;FA;;;WD)":               false,
		"D:(A;ID;FA;;;SY)(A;;FA;;;BA)":             false,
		"D:":                                       true,
	} {
		sd, err := ParseSDDL(s)
		if err != nil {
			t.Fatal(err)
		}
		if sd.DACL.Canonical() != want {
			t.Errorf("Canonical(%s) = %v", s, !want)
		}
	}
}
