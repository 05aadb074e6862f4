package netfence

import (
	"strings"
	"testing"

	"github.com/cordon-sandbox/cordon/ntsec"
)

func TestOfflineUserConditionMatchesExactlyTheOfflineUser(t *testing.T) {
	cond := OfflineUserCondition(sid(t, offlineSID))
	for _, h := range AllHypotheses {
		for _, nt := range offlineTokens(t) {
			ok, err := cond.Matches(nt.tok, h)
			if err != nil {
				t.Fatal(err)
			}
			if !ok {
				t.Errorf("%+v: %s: condition does not match: the fence would not apply", h, nt.name)
			}
		}
		for _, nt := range otherTokens(t) {
			ok, err := cond.Matches(nt.tok, h)
			if err != nil {
				t.Fatal(err)
			}
			if ok {
				t.Errorf("%+v: %s: condition matches another account", h, nt.name)
			}
		}
	}
}

// Codex's condition misses tokens the offline user can make for itself:
// this is why OfflineUserCondition inverts the test.
func TestCodexUserConditionMissesSelfRestrictedTokens(t *testing.T) {
	cond := CodexUserCondition(sid(t, offlineSID))
	missed := map[string]bool{}
	for _, h := range AllHypotheses {
		for _, nt := range offlineTokens(t) {
			ok, err := cond.Matches(nt.tok, h)
			if err != nil {
				t.Fatal(err)
			}
			if !ok {
				missed[nt.name] = true
			}
		}
	}
	for _, want := range []string{"offline, user SID deny-only", "offline sandbox, restricting SIDs narrowed to Everyone", "anonymous, impersonated by the offline user"} {
		if !missed[want] {
			t.Errorf("Codex's condition was expected to miss %q; missed %v", want, missed)
		}
	}
	// And the plain tokens it does catch, so the difference is the escape.
	ok, err := cond.Matches(offlineTokens(t)[0].tok, Hypotheses{})
	if err != nil || !ok {
		t.Errorf("Codex's condition on the logon token: %v, %v", ok, err)
	}
}

// Under the restricted-pass hypothesis even cordon's own sandbox token
// escapes Codex's condition: its restricting SIDs are not granted.
func TestCodexUserConditionAndRestrictedPass(t *testing.T) {
	cond := CodexUserCondition(sid(t, offlineSID))
	sb := offlineTokens(t)[2]
	without, err := cond.Matches(sb.tok, Hypotheses{RestrictedPass: false})
	if err != nil {
		t.Fatal(err)
	}
	with, err := cond.Matches(sb.tok, Hypotheses{RestrictedPass: true})
	if err != nil {
		t.Fatal(err)
	}
	if !without || with {
		t.Errorf("%s: Codex condition matches %v without the restricted pass (want true), %v with it (want false)", sb.name, without, with)
	}
}

func TestOfflineUserConditionSDDL(t *testing.T) {
	s := sid(t, offlineSID)
	cond := OfflineUserCondition(s)
	sd, err := ntsec.ParseSDDL(cond.SDDL)
	if err != nil {
		t.Fatalf("ParseSDDL(%q): %v", cond.SDDL, err)
	}
	if sd.Owner != ntsec.LocalService {
		t.Errorf("owner %s, want LocalService", sd.Owner)
	}
	if sd.DACL == nil || len(sd.DACL.Entries) != 4 {
		t.Fatalf("DACL %v: want 4 ACEs", sd.DACL)
	}
	first := sd.DACL.Entries[0]
	if first.Type != ntsec.AccessDenied || first.SID != s || first.Mask != MatchFilter {
		t.Errorf("first ACE %+v: want deny CC to %s", first, s)
	}
	for _, a := range sd.DACL.Entries {
		if a.Mask != MatchFilter {
			t.Errorf("ACE %+v grants or denies more than MatchFilter", a)
		}
	}
	if cond.Match != MatchNotEqual || !strings.Contains(cond.SDDL, s.String()) {
		t.Errorf("condition %+v", cond)
	}
}
