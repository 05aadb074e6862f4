package netfence

import (
	"errors"
	"net/netip"
	"strings"
	"testing"

	"github.com/cordon-sandbox/cordon/ntsec"
)

func TestValidate(t *testing.T) {
	off := sid(t, offlineSID)
	ap := netip.MustParseAddrPort
	bad := map[string]Config{
		"no user":            {},
		"Everyone":           {OfflineUser: ntsec.Everyone},
		"Users":              {OfflineUser: ntsec.BuiltinUsers},
		"public proxy":       {OfflineUser: off, Proxy: []netip.AddrPort{ap("1.1.1.1:3128")}},
		"LAN proxy":          {OfflineUser: off, Proxy: []netip.AddrPort{ap("192.168.1.5:3128")}},
		"port zero":          {OfflineUser: off, Proxy: []netip.AddrPort{ap("127.0.0.1:0")}},
		"DNS port":           {OfflineUser: off, Proxy: []netip.AddrPort{ap("127.0.0.1:53")}},
		"SMB port":           {OfflineUser: off, Proxy: []netip.AddrPort{ap("127.0.0.1:445")}},
		"v4-mapped":          {OfflineUser: off, Proxy: []netip.AddrPort{ap("[::ffff:127.0.0.1]:3128")}},
		"zone":               {OfflineUser: off, Proxy: []netip.AddrPort{ap("[::1%1]:3128")}},
		"duplicate":          {OfflineUser: off, Proxy: []netip.AddrPort{ap("127.0.0.1:3128"), ap("127.0.0.1:3128")}},
		"unspecified":        {OfflineUser: off, Proxy: []netip.AddrPort{ap("0.0.0.0:3128")}},
		"invalid endpoint":   {OfflineUser: off, Proxy: []netip.AddrPort{{}}},
		"IPv6 not loopback":  {OfflineUser: off, Proxy: []netip.AddrPort{ap("[fe80::1]:3128")}},
		"local binding only": {AllowLocalBinding: true},
	}
	for name, c := range bad {
		if _, err := Spec(c); !errors.Is(err, ErrConfig) {
			t.Errorf("%s: Spec error %v, want ErrConfig", name, err)
		}
	}
	for name, c := range configs(t) {
		if err := c.Validate(); err != nil {
			t.Errorf("%s: %v", name, err)
		}
	}
}

func TestSpecShape(t *testing.T) {
	for name, c := range configs(t) {
		rules, err := Spec(c)
		if err != nil {
			t.Fatal(err)
		}
		names := map[string]bool{}
		for _, r := range rules {
			if names[r.Name] {
				t.Errorf("%s: rule name %s twice", name, r.Name)
			}
			names[r.Name] = true
			if (len(r.Remote) > 0 || len(r.RemotePorts) > 0) && !r.Layer.HasRemote() {
				t.Errorf("%s: %s tests the remote end at %s", name, r.Name, r.Layer)
			}
			if len(r.Protocols) > 0 && !r.Layer.HasProtocol() {
				t.Errorf("%s: %s tests the protocol at %s", name, r.Name, r.Layer)
			}
			for _, p := range r.Remote {
				if p.Addr().Is6() != r.Layer.IPv6() {
					t.Errorf("%s: %s: prefix %v at %s", name, r.Name, p, r.Layer)
				}
			}
			if r.User != OfflineUserCondition(c.OfflineUser) {
				t.Errorf("%s: %s has user condition %+v", name, r.Name, r.User)
			}
			if r.Action == Block && r.Weight < weightBlock || r.Action == Permit && r.Weight != weightPermit {
				t.Errorf("%s: %s: %s at weight %d", name, r.Name, r.Action, r.Weight)
			}
		}
		// Every connect and accept layer ends in a block-all, and every
		// layer of both families is present.
		for _, l := range []Layer{ConnectV4, ConnectV6, RecvAcceptV4, RecvAcceptV6} {
			found := false
			for _, r := range rules {
				found = found || r.Layer == l && r.Action == Block && r.Remote == nil && r.RemotePorts == nil && r.Protocols == nil
			}
			if !found {
				t.Errorf("%s: no unconditional block at %s", name, l)
			}
		}
		for _, l := range []Layer{ListenV4, ListenV6} {
			found := false
			for _, r := range rules {
				found = found || r.Layer == l
			}
			if found == c.AllowLocalBinding {
				t.Errorf("%s: listen rule at %s present=%v with AllowLocalBinding=%v", name, l, found, c.AllowLocalBinding)
			}
		}
	}
}

func TestKeys(t *testing.T) {
	c := configs(t)["proxy v4+v6"]
	a, _ := Spec(c)
	b, _ := Spec(c)
	seen := map[GUID]string{}
	for i := range a {
		ka, kb := Default.Key(a[i]), Default.Key(b[i])
		if ka != kb {
			t.Errorf("%s: key %v then %v: not deterministic", a[i].Name, ka, kb)
		}
		if other, dup := seen[ka]; dup {
			t.Errorf("%s and %s share key %v", a[i].Name, other, ka)
		}
		seen[ka] = a[i].Name
		if s := ka.String(); len(s) != 38 || s[15] != '5' {
			t.Errorf("key %s: not a version-5 GUID string", s)
		}
	}
	// A change of content changes the key, so Install adds the new filter
	// before it deletes the old one.
	changed := a[0]
	changed.RemotePorts = append(changed.RemotePorts, 1)
	if Default.Key(changed) == Default.Key(a[0]) {
		t.Error("key does not depend on the rule's content")
	}
	other := Config{OfflineUser: sid(t, onlineSID), Proxy: c.Proxy}
	o, _ := Spec(other)
	if Default.Key(o[0]) == Default.Key(a[0]) {
		t.Error("key does not depend on the user")
	}
	test := Default
	test.Provider.Data1++
	if test.Key(a[0]) == Default.Key(a[0]) {
		t.Error("key does not depend on the fence's provider")
	}
}

func TestSpecProxyFamilies(t *testing.T) {
	rules, err := Spec(configs(t)["proxy v4+v6"])
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, r := range rules {
		if strings.HasPrefix(r.Name, "permit-proxy") {
			got = append(got, r.Layer.String()+" "+r.Remote[0].String())
		}
	}
	want := "ALE_AUTH_CONNECT_V4 127.0.0.1/32,ALE_AUTH_CONNECT_V6 ::1/128"
	if strings.Join(got, ",") != want {
		t.Errorf("proxy permits %v, want %s", got, want)
	}
}
