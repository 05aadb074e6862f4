package ntsec

import (
	"bytes"
	"encoding/json"
	"reflect"
	"strings"
	"testing"
)

func TestParseToken(t *testing.T) {
	in := `{"user":"S-1-5-21-1-2-3-1001",
	  "groups":["WD","S-1-5-32-545",{"sid":"S-1-5-5-0-4660","attributes":["enabled","logon_id"]},
	            {"sid":"BA","attributes":["deny_only"]},{"sid":"S-1-5-21-1-2-3-513","attributes":[]}],
	  "restricted_sids":["S-1-5-21-7-7-7-7","S-1-5-5-0-4660","WD"],
	  "write_restricted":true,
	  "privileges":["sechangenotifyprivilege"],
	  "integrity":"low"}`
	tok, err := ParseToken(strings.NewReader(in))
	if err != nil {
		t.Fatal(err)
	}
	if tok.User != tUser || !tok.WriteRestricted || tok.Integrity != LowLabel || tok.IntegrityRID() != 0x1000 {
		t.Errorf("token fields: %+v", tok)
	}
	if len(tok.Groups) != 5 || tok.Groups[0].Attributes&GroupEnabled == 0 ||
		tok.Groups[2].Attributes != GroupEnabled|GroupLogonID || tok.Groups[3].Attributes != GroupDenyOnly || tok.Groups[4].Attributes != 0 {
		t.Errorf("groups: %+v", tok.Groups)
	}
	if !reflect.DeepEqual(tok.RestrictedSIDs, []SID{tCap, tLogon, Everyone}) {
		t.Errorf("restricted SIDs: %v", tok.RestrictedSIDs)
	}
	if !tok.HasPrivilege("SeChangeNotifyPrivilege") || tok.Privileges[0] != "SeChangeNotifyPrivilege" {
		t.Errorf("privileges: %v", tok.Privileges)
	}
	// The same token written out and read back is the same token.
	b, err := json.Marshal(tok)
	if err != nil {
		t.Fatal(err)
	}
	back, err := ParseToken(bytes.NewReader(b))
	if err != nil {
		t.Fatalf("ParseToken(MarshalJSON()=%s): %v", b, err)
	}
	if !reflect.DeepEqual(back, tok) {
		t.Errorf("JSON round trip:\n got %+v\nwant %+v", back, tok)
	}
	def, err := ParseToken(strings.NewReader(`{"user":"S-1-5-18"}`))
	if err != nil || def.IntegrityRID() != 0x2000 || def.IgnoreNoWriteUp {
		t.Errorf("defaults: %+v %v", def, err)
	}
}

func TestParseTokenErrors(t *testing.T) {
	cases := map[string]string{
		``:                                   "token: EOF",
		`[]`:                                 "cannot unmarshal array",
		`{"user":"S-1-5-18","colour":"red"}`: "unknown field \"colour\"",
		`{}`:                                 "\"user\" is required",
		`{"user":"S-1-x"}`:                   "field \"user\"",
		`{"user":"SY","groups":[42]}`:        "groups[0]",
		`{"user":"SY","groups":["S-1-y"]}`:   "groups[0]",
		`{"user":"SY","groups":[{"sid":"WD","attributes":["sticky"]}]}`:              "unknown attribute \"sticky\"",
		`{"user":"SY","groups":[{"sid":"WD","attributes":["enabled","deny_only"]}]}`: "exclude each other",
		`{"user":"SY","groups":[{"attributes":["enabled"]}]}`:                        "\"sid\" is required",
		`{"user":"SY","groups":[{"sid":"WD","colour":1}]}`:                           "unknown field \"colour\"",
		`{"user":"SY","restricted_sids":["nope"]}`:                                   "restricted_sids[0]",
		`{"user":"SY","write_restricted":true}`:                                      "needs \"restricted_sids\"",
		`{"user":"SY","privileges":["SeMagicPrivilege"]}`:                            "unknown privilege \"SeMagicPrivilege\"",
		`{"user":"SY","integrity":"ultra"}`:                                          "field \"integrity\"",
		`{"user":"SY","integrity":"S-1-5-18"}`:                                       "field \"integrity\"",
		`{"user":"SY","mandatory_policy":"maybe"}`:                                   "mandatory_policy",
		`{"user":"SY"} {}`:                       "trailing data",
		`{"user":"SY","write_restricted":"yes"}`: "write_restricted",
	}
	for in, want := range cases {
		_, err := ParseToken(strings.NewReader(in))
		if err == nil {
			t.Errorf("ParseToken(%s) succeeded, want %q", in, want)
			continue
		}
		if !strings.Contains(err.Error(), want) {
			t.Errorf("ParseToken(%s) = %q, want it to contain %q", in, err, want)
		}
	}
}
