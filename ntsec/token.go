package ntsec

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"sort"
	"strings"
)

// GroupAttr holds the attributes of a group SID in a token (winnt.h
// SE_GROUP_*; [MS-DTYP] 2.5.2 "Token/Authorization Context").
type GroupAttr uint32

// Group attributes. Only Enabled and DenyOnly change the access check: an
// enabled SID matches allow and deny ACEs, a deny-only SID matches deny ACEs
// only, and a SID with neither matches nothing.
const (
	GroupMandatory        GroupAttr = 0x00000001
	GroupEnabledByDefault GroupAttr = 0x00000002
	GroupEnabled          GroupAttr = 0x00000004
	GroupOwner            GroupAttr = 0x00000008
	GroupDenyOnly         GroupAttr = 0x00000010 // SE_GROUP_USE_FOR_DENY_ONLY
	GroupIntegrity        GroupAttr = 0x00000020
	GroupIntegrityEnabled GroupAttr = 0x00000040
	GroupResource         GroupAttr = 0x20000000
	GroupLogonID          GroupAttr = 0xC0000000
)

var groupAttrNames = []struct {
	name string
	attr GroupAttr
}{
	{"enabled", GroupEnabled}, {"deny_only", GroupDenyOnly}, {"logon_id", GroupLogonID},
	{"mandatory", GroupMandatory}, {"enabled_by_default", GroupEnabledByDefault},
	{"owner", GroupOwner}, {"resource", GroupResource},
}

// Group is a SID in a token with its attributes.
type Group struct {
	SID        SID
	Attributes GroupAttr
}

// Token is the part of an access token the access check reads ([MS-DTYP]
// 2.5.2, with the restricted-token fields CreateRestrictedToken adds).
type Token struct {
	User SID
	// UserDenyOnly marks the user SID deny-only, as CreateRestrictedToken's
	// SidsToDisable can.
	UserDenyOnly bool
	Groups       []Group
	// RestrictedSIDs makes the token restricted: the access check runs a
	// second pass over the DACL in which only these SIDs match, and grants
	// the intersection ("Restricted Tokens", Microsoft Learn). Restricting
	// SIDs are always enabled, for allow and deny ACEs alike.
	RestrictedSIDs []SID
	// WriteRestricted limits the second pass to write rights (see
	// GenericMapping.WriteRights): reads need only the first pass.
	WriteRestricted bool
	// Privileges are the enabled privileges, by name (SeSecurityPrivilege…).
	// Only SeSecurityPrivilege and SeTakeOwnershipPrivilege change the
	// model's access check; SeBackupPrivilege and SeRestorePrivilege act
	// only for opens with backup intent, which the model does not make.
	Privileges []string
	// Integrity is the token's mandatory label SID (S-1-16-…). Zero means
	// Medium, the level of a normal user's token.
	Integrity SID
	// IgnoreNoWriteUp says the token's mandatory policy lacks
	// TOKEN_MANDATORY_POLICY_NO_WRITE_UP. Every token Windows creates has
	// it, so the zero value keeps it on.
	IgnoreNoWriteUp bool
}

// IntegrityRID returns the token's integrity level (Medium when unset).
func (t *Token) IntegrityRID() uint32 {
	if rid, ok := t.Integrity.IntegrityLevel(); ok {
		return rid
	}
	return 0x2000
}

// HasPrivilege reports whether the named privilege is enabled in t.
func (t *Token) HasPrivilege(name string) bool {
	for _, p := range t.Privileges {
		if strings.EqualFold(p, name) {
			return true
		}
	}
	return false
}

// knownPrivileges are the privilege names Windows defines (winnt.h SE_*_NAME).
var knownPrivileges = func() map[string]string {
	names := []string{
		"SeAssignPrimaryTokenPrivilege", "SeAuditPrivilege", "SeBackupPrivilege",
		"SeChangeNotifyPrivilege", "SeCreateGlobalPrivilege", "SeCreatePagefilePrivilege",
		"SeCreatePermanentPrivilege", "SeCreateSymbolicLinkPrivilege", "SeCreateTokenPrivilege",
		"SeDebugPrivilege", "SeDelegateSessionUserImpersonatePrivilege", "SeEnableDelegationPrivilege",
		"SeImpersonatePrivilege", "SeIncreaseBasePriorityPrivilege", "SeIncreaseQuotaPrivilege",
		"SeIncreaseWorkingSetPrivilege", "SeLoadDriverPrivilege", "SeLockMemoryPrivilege",
		"SeMachineAccountPrivilege", "SeManageVolumePrivilege", "SeProfileSingleProcessPrivilege",
		"SeRelabelPrivilege", "SeRemoteShutdownPrivilege", "SeRestorePrivilege",
		"SeSecurityPrivilege", "SeShutdownPrivilege", "SeSyncAgentPrivilege",
		"SeSystemEnvironmentPrivilege", "SeSystemProfilePrivilege", "SeSystemtimePrivilege",
		"SeTakeOwnershipPrivilege", "SeTcbPrivilege", "SeTimeZonePrivilege",
		"SeTrustedCredManAccessPrivilege", "SeUndockPrivilege", "SeUnsolicitedInputPrivilege",
	}
	m := make(map[string]string, len(names))
	for _, n := range names {
		m[strings.ToLower(n)] = n
	}
	return m
}()

var integrityNames = map[string]SID{
	"untrusted": UntrustedLabel, "low": LowLabel, "medium": MediumLabel,
	"medium_plus": MediumPlus, "high": HighLabel, "system": SystemLabel,
}

// tokenJSON is the JSON shape of a token, as `cordon access --token` takes it.
type tokenJSON struct {
	User            string            `json:"user"`
	UserDenyOnly    bool              `json:"user_deny_only"`
	Groups          []json.RawMessage `json:"groups"`
	RestrictedSIDs  []string          `json:"restricted_sids"`
	WriteRestricted bool              `json:"write_restricted"`
	Privileges      []string          `json:"privileges"`
	Integrity       string            `json:"integrity"`
	MandatoryPolicy *string           `json:"mandatory_policy"`
}

type groupJSON struct {
	SID        string   `json:"sid"`
	Attributes []string `json:"attributes"`
}

// ParseToken reads a token from JSON of the shape
//
//	{"user": SID,
//	 "groups": [SID or {"sid": SID, "attributes": ["enabled"|"deny_only"|"logon_id"|…]}],
//	 "restricted_sids": [SID], "write_restricted": bool,
//	 "privileges": [name], "integrity": "untrusted|low|medium|high|system",
//	 "user_deny_only": bool, "mandatory_policy": "no_write_up|off"}
//
// A bare SID in groups is an enabled group; integrity defaults to medium.
// Unknown fields, unknown attributes and unknown privileges are errors that
// name the field.
func ParseToken(r io.Reader) (*Token, error) {
	data, err := io.ReadAll(io.LimitReader(r, 1<<20))
	if err != nil {
		return nil, fmt.Errorf("token: %w", err)
	}
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	var tj tokenJSON
	if err := dec.Decode(&tj); err != nil {
		return nil, fmt.Errorf("token: %w", err)
	}
	if dec.More() {
		return nil, fmt.Errorf("token: trailing data after the JSON object")
	}
	t := &Token{UserDenyOnly: tj.UserDenyOnly, WriteRestricted: tj.WriteRestricted}
	if tj.User == "" {
		return nil, fmt.Errorf("token: field \"user\" is required")
	}
	if t.User, err = ParseSID(tj.User); err != nil {
		return nil, fmt.Errorf("token: field \"user\": %w", err)
	}
	for i, raw := range tj.Groups {
		g, err := parseGroup(raw)
		if err != nil {
			return nil, fmt.Errorf("token: groups[%d]: %w", i, err)
		}
		t.Groups = append(t.Groups, g)
	}
	for i, s := range tj.RestrictedSIDs {
		sid, err := ParseSID(s)
		if err != nil {
			return nil, fmt.Errorf("token: restricted_sids[%d]: %w", i, err)
		}
		t.RestrictedSIDs = append(t.RestrictedSIDs, sid)
	}
	if t.WriteRestricted && len(t.RestrictedSIDs) == 0 {
		return nil, fmt.Errorf("token: \"write_restricted\" needs \"restricted_sids\": a token without restricting SIDs is not restricted")
	}
	for i, p := range tj.Privileges {
		name, ok := knownPrivileges[strings.ToLower(p)]
		if !ok {
			return nil, fmt.Errorf("token: privileges[%d]: unknown privilege %q", i, p)
		}
		t.Privileges = append(t.Privileges, name)
	}
	if tj.Integrity != "" {
		if s, ok := integrityNames[strings.ToLower(tj.Integrity)]; ok {
			t.Integrity = s
		} else if s, err := ParseSID(tj.Integrity); err == nil && s.Authority() == 16 {
			t.Integrity = s
		} else {
			return nil, fmt.Errorf("token: field \"integrity\": %q is not untrusted, low, medium, medium_plus, high, system or an S-1-16-… SID", tj.Integrity)
		}
	}
	if tj.MandatoryPolicy != nil {
		switch *tj.MandatoryPolicy {
		case "no_write_up":
		case "off":
			t.IgnoreNoWriteUp = true
		default:
			return nil, fmt.Errorf("token: field \"mandatory_policy\": %q is not no_write_up or off", *tj.MandatoryPolicy)
		}
	}
	return t, nil
}

func parseGroup(raw json.RawMessage) (Group, error) {
	var s string
	if err := json.Unmarshal(raw, &s); err == nil {
		sid, err := ParseSID(s)
		if err != nil {
			return Group{}, err
		}
		return Group{SID: sid, Attributes: GroupEnabled | GroupEnabledByDefault | GroupMandatory}, nil
	}
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.DisallowUnknownFields()
	var gj groupJSON
	if err := dec.Decode(&gj); err != nil {
		return Group{}, fmt.Errorf("want a SID string or {\"sid\":…, \"attributes\":[…]}: %w", err)
	}
	if gj.SID == "" {
		return Group{}, fmt.Errorf("field \"sid\" is required")
	}
	sid, err := ParseSID(gj.SID)
	if err != nil {
		return Group{}, fmt.Errorf("field \"sid\": %w", err)
	}
	g := Group{SID: sid}
next:
	for _, a := range gj.Attributes {
		for _, n := range groupAttrNames {
			if strings.EqualFold(a, n.name) {
				g.Attributes |= n.attr
				continue next
			}
		}
		return Group{}, fmt.Errorf("unknown attribute %q (want enabled, deny_only, logon_id, mandatory, enabled_by_default, owner or resource)", a)
	}
	if g.Attributes&GroupEnabled != 0 && g.Attributes&GroupDenyOnly != 0 {
		return Group{}, fmt.Errorf("attributes \"enabled\" and \"deny_only\" exclude each other")
	}
	return g, nil
}

// MarshalJSON writes t in the shape ParseToken reads.
func (t *Token) MarshalJSON() ([]byte, error) {
	out := map[string]any{"user": t.User.String()}
	if t.UserDenyOnly {
		out["user_deny_only"] = true
	}
	groups := make([]any, 0, len(t.Groups))
	for _, g := range t.Groups {
		var attrs []string
		for _, n := range groupAttrNames {
			if g.Attributes&n.attr == n.attr {
				attrs = append(attrs, n.name)
			}
		}
		sort.Strings(attrs)
		groups = append(groups, groupJSON{SID: g.SID.String(), Attributes: attrs})
	}
	out["groups"] = groups
	if len(t.RestrictedSIDs) > 0 {
		rs := make([]string, len(t.RestrictedSIDs))
		for i, s := range t.RestrictedSIDs {
			rs[i] = s.String()
		}
		out["restricted_sids"] = rs
	}
	if t.WriteRestricted {
		out["write_restricted"] = true
	}
	if len(t.Privileges) > 0 {
		out["privileges"] = t.Privileges
	}
	if !t.Integrity.IsZero() {
		out["integrity"] = t.Integrity.String()
	}
	if t.IgnoreNoWriteUp {
		out["mandatory_policy"] = "off"
	}
	return json.Marshal(out)
}
