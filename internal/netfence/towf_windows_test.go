package netfence

import (
	"testing"

	"github.com/cordon-sandbox/cordon/ntsec"
	"github.com/tailscale/wf"
	"golang.org/x/sys/windows"
)

// The translation to tailscale/wf rules needs no Base Filtering Engine,
// so it runs under Wine too: every rule of every config becomes a
// persistent filter of the fence, with its key, the layer's WFP GUID, one
// condition per value, a hard block or a soft permit, and a user
// condition whose security descriptor Windows parses to what the spec
// says.
func TestToWF(t *testing.T) {
	for name, c := range configs(t) {
		rules, err := Spec(c)
		if err != nil {
			t.Fatal(err)
		}
		for _, r := range rules {
			w, err := testFence.toWF(r)
			if err != nil {
				t.Fatalf("%s: %s: %v", name, r.Name, err)
			}
			if GUID(w.ID) != testFence.Key(r) || w.Provider != wf.ProviderID(testFence.Provider) ||
				w.Sublayer != wf.SublayerID(testFence.Sublayer) || !w.Persistent || w.Weight != r.Weight {
				t.Errorf("%s: %s: %+v", name, r.Name, w)
			}
			if w.Layer != wfLayers[r.Layer] {
				t.Errorf("%s: %s: layer %v, want %s", name, r.Name, w.Layer, r.Layer)
			}
			if (r.Action == Block) != (w.Action == wf.ActionBlock) || w.HardAction != (r.Action == Block) {
				t.Errorf("%s: %s: action %v hard=%v for %s", name, r.Name, w.Action, w.HardAction, r.Action)
			}
			if n := 1 + len(r.Protocols) + len(r.Remote) + len(r.RemotePorts); len(w.Conditions) != n {
				t.Errorf("%s: %s: %d conditions, want %d", name, r.Name, len(w.Conditions), n)
			}
			u := w.Conditions[0]
			if u.Field != wf.FieldALEUserID || u.Op != wf.MatchTypeNotEqual {
				t.Errorf("%s: %s: user condition %v", name, r.Name, u)
			}
			sd, ok := u.Value.(*windows.SECURITY_DESCRIPTOR)
			if !ok {
				t.Fatalf("%s: %s: user condition value %T", name, r.Name, u.Value)
			}
			got, err := ntsec.ParseSDDL(sd.String())
			if err != nil {
				t.Fatalf("Windows' SDDL %q: %v", sd.String(), err)
			}
			want, err := ntsec.ParseSDDL(r.User.SDDL)
			if err != nil {
				t.Fatal(err)
			}
			if got.SDDL() != want.SDDL() {
				t.Errorf("%s: %s: Windows reads the user condition as %s, want %s", name, r.Name, got.SDDL(), want.SDDL())
			}
		}
	}
	bad := Rule{Name: "bad", Layer: ConnectV4, Action: Block, User: UserCondition{SDDL: "not sddl"}}
	if _, err := testFence.toWF(bad); err == nil {
		t.Error("toWF accepted an unparsable user condition")
	}
}
