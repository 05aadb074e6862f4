package netfence

import (
	"fmt"
	"math/rand"
	"net/netip"
	"slices"
	"strings"
	"testing"
)

var proxy4 = netip.MustParseAddrPort("127.0.0.1:3128")

// configs are the configs every property is checked under.
func configs(t testing.TB) map[string]Config {
	off := sid(t, offlineSID)
	return map[string]Config{
		"no network":           {OfflineUser: off},
		"proxy":                {OfflineUser: off, Proxy: []netip.AddrPort{proxy4}},
		"proxy v4+v6":          {OfflineUser: off, Proxy: []netip.AddrPort{proxy4, netip.MustParseAddrPort("[::1]:3129")}},
		"proxy, local binding": {OfflineUser: off, Proxy: []netip.AddrPort{proxy4}, AllowLocalBinding: true},
		"local binding only":   {OfflineUser: off, AllowLocalBinding: true},
	}
}

var (
	sampleAddrs = []string{
		"1.1.1.1", "8.8.8.8", "10.0.0.1", "172.16.0.1", "192.168.1.1", "169.254.169.254",
		"100.64.0.1", "224.0.0.251", "255.255.255.255", "0.0.0.0",
		"127.0.0.1", "127.0.0.2", "127.255.255.254",
		"2606:4700:4700::1111", "fe80::1", "fc00::1", "ff02::fb", "::", "::1",
		"64:ff9b::101:101", "2002:101:101::1",
		"::ffff:1.1.1.1", "::ffff:127.0.0.1", "::ffff:10.0.0.1",
	}
	samplePorts  = []uint16{0, 1, 22, 53, 80, 135, 137, 139, 443, 445, 853, 3127, 3128, 3129, 3389, 5353, 8080, 65535}
	sampleProtos = []uint8{ProtoTCP, ProtoUDP, ProtoICMP, ProtoICMPv6, 47, 255}
)

// attempts enumerates the sample attempts for one token, plus a seeded
// random sample of addresses and ports.
func attempts(tok namedToken) []Attempt {
	var out []Attempt
	addrs := slices.Clone(sampleAddrs)
	ports := slices.Clone(samplePorts)
	r := rand.New(rand.NewSource(11))
	for range 8 {
		var b4 [4]byte
		var b16 [16]byte
		r.Read(b4[:])
		r.Read(b16[:])
		addrs = append(addrs, netip.AddrFrom4(b4).String(), netip.AddrFrom16(b16).String())
		ports = append(ports, uint16(r.Intn(65536)))
	}
	for _, a := range addrs {
		addr := netip.MustParseAddr(a)
		for _, p := range ports {
			for _, proto := range sampleProtos {
				for _, k := range []Kind{Connect, Accept} {
					out = append(out, Attempt{Token: tok.tok, Kind: k, Protocol: proto, Remote: netip.AddrPortFrom(addr, p)})
				}
			}
		}
	}
	for _, v6 := range []bool{false, true} {
		out = append(out, Attempt{Token: tok.tok, Kind: Listen, Protocol: ProtoTCP, IPv6: v6})
		for _, proto := range sampleProtos {
			out = append(out, Attempt{Token: tok.tok, Kind: Bind, Protocol: proto, IPv6: v6})
		}
	}
	return out
}

// wantPermitted is the fence's intent for the offline user, written
// independently of Spec: what may get through.
func wantPermitted(c Config, a Attempt, h Hypotheses) bool {
	addr := a.Remote.Addr()
	if addr.Is4In6() && h.MappedAtV4 {
		addr = addr.Unmap()
	}
	port := a.Remote.Port()
	sensitive := (a.Protocol == ProtoTCP || a.Protocol == ProtoUDP) && slices.Contains(SensitivePorts, port)
	switch a.Kind {
	case Listen:
		return c.AllowLocalBinding
	case Bind:
		// Only ICMP sockets are refused at bind; every other bind is
		// left to the connect, accept and listen layers.
		return a.Protocol != ProtoICMP && a.Protocol != ProtoICMPv6 ||
			a.Protocol == ProtoICMP && a.IPv6 || a.Protocol == ProtoICMPv6 && !a.IPv6
	case Connect:
		if a.Protocol == ProtoTCP && slices.Contains(c.Proxy, netip.AddrPortFrom(addr, port)) {
			return true
		}
	}
	return c.AllowLocalBinding && addr.IsLoopback() && !addr.Is4In6() && !sensitive
}

// violations checks rules against the fence's properties under every
// hypothesis: the offline user's tokens get exactly wantPermitted, and the
// fence has no say over any other account.
func violations(t testing.TB, rules []Rule, c Config, limit int) []string {
	var out []string
	report := func(format string, args ...any) {
		out = append(out, fmt.Sprintf(format, args...))
	}
	var e Evaluator
	for _, h := range AllHypotheses {
		for _, tok := range offlineTokens(t) {
			for _, a := range attempts(tok) {
				if len(out) >= limit {
					return out
				}
				v, err := e.Evaluate(rules, a, h)
				if err != nil {
					report("%+v %s: %v", h, tok.name, err)
					continue
				}
				if want := wantPermitted(c, a, h); v.Blocked() == want {
					report("%+v %s kind=%d proto=%d remote=%v v6=%v: blocked=%v (rule %q), want permitted=%v",
						h, tok.name, a.Kind, a.Protocol, a.Remote, a.IPv6, v.Blocked(), v.Rule, want)
				}
			}
		}
		for _, tok := range otherTokens(t) {
			for _, a := range attempts(tok) {
				if len(out) >= limit {
					return out
				}
				v, err := e.Evaluate(rules, a, h)
				if err != nil {
					report("%+v %s: %v", h, tok.name, err)
					continue
				}
				if v.Decided {
					report("%+v %s kind=%d proto=%d remote=%v: the fence decided %s (rule %q) for another account",
						h, tok.name, a.Kind, a.Protocol, a.Remote, v.Action, v.Rule)
				}
			}
		}
	}
	return out
}

func TestSpecProperties(t *testing.T) {
	for name, c := range configs(t) {
		t.Run(name, func(t *testing.T) {
			rules, err := Spec(c)
			if err != nil {
				t.Fatal(err)
			}
			for _, v := range violations(t, rules, c, 20) {
				t.Error(v)
			}
		})
	}
}

// Each mutation breaks the spec in one way the fence must not be broken;
// the property check must notice every one (fail before fix).
func TestSpecPropertiesCatchBrokenSpecs(t *testing.T) {
	c := configs(t)["proxy, local binding"]
	cNoBind := configs(t)["proxy"]
	mutations := []struct {
		name   string
		c      Config
		mutate func([]Rule) []Rule
	}{
		{"no IPv6 layers", cNoBind, func(rs []Rule) []Rule {
			return slices.DeleteFunc(rs, func(r Rule) bool { return r.Layer.IPv6() })
		}},
		{"no inbound", cNoBind, func(rs []Rule) []Rule {
			return slices.DeleteFunc(rs, func(r Rule) bool { return r.Layer == RecvAcceptV4 || r.Layer == RecvAcceptV6 })
		}},
		{"no listen block", cNoBind, func(rs []Rule) []Rule {
			return slices.DeleteFunc(rs, func(r Rule) bool { return r.Layer == ListenV4 || r.Layer == ListenV6 })
		}},
		{"no ICMP socket block", cNoBind, func(rs []Rule) []Rule {
			return slices.DeleteFunc(rs, func(r Rule) bool { return strings.HasPrefix(r.Name, "block-icmp") })
		}},
		{"no sensitive-port block (loopback DNS open)", c, func(rs []Rule) []Rule {
			return slices.DeleteFunc(rs, func(r Rule) bool { return strings.HasPrefix(r.Name, "block-sensitive") })
		}},
		{"proxy permit for all of 127/8", cNoBind, func(rs []Rule) []Rule {
			for i := range rs {
				if strings.HasPrefix(rs[i].Name, "permit-proxy") {
					rs[i].Remote = []netip.Prefix{loopbackV4}
				}
			}
			return rs
		}},
		{"proxy permit for any protocol", cNoBind, func(rs []Rule) []Rule {
			for i := range rs {
				if strings.HasPrefix(rs[i].Name, "permit-proxy") {
					rs[i].Protocols = nil
				}
			}
			return rs
		}},
		{"proxy permit below the block", cNoBind, func(rs []Rule) []Rule {
			for i := range rs {
				if strings.HasPrefix(rs[i].Name, "permit-proxy") {
					rs[i].Weight = 0
				}
			}
			return rs
		}},
		{"Codex's user condition", cNoBind, func(rs []Rule) []Rule {
			for i := range rs {
				rs[i].User = CodexUserCondition(cNoBind.OfflineUser)
			}
			return rs
		}},
		{"user condition without the deny ACE", cNoBind, func(rs []Rule) []Rule {
			for i := range rs {
				rs[i].User.SDDL = strings.Replace(rs[i].User.SDDL, "(D;;CC;;;"+offlineSID+")", "", 1)
			}
			return rs
		}},
		{"user condition granting the offline user", cNoBind, func(rs []Rule) []Rule {
			for i := range rs {
				rs[i].User.SDDL = strings.Replace(rs[i].User.SDDL, "(D;;CC;;;", "(A;;CC;;;", 1)
			}
			return rs
		}},
		{"block filters on everyone", cNoBind, func(rs []Rule) []Rule {
			for i := range rs {
				if rs[i].Action == Block {
					rs[i].User = UserCondition{Match: MatchEqual, SDDL: "O:LSD:(A;;CC;;;WD)"}
				}
			}
			return rs
		}},
	}
	for _, m := range mutations {
		t.Run(m.name, func(t *testing.T) {
			rules, err := Spec(m.c)
			if err != nil {
				t.Fatal(err)
			}
			vs := violations(t, m.mutate(rules), m.c, 1)
			if len(vs) > 0 {
				t.Logf("first violation: %s", vs[0])
			}
			if len(vs) == 0 {
				t.Errorf("the broken spec passes every property")
			}
		})
	}
}

func TestEvaluateArbitration(t *testing.T) {
	tok := offlineTokens(t)[0].tok
	user := OfflineUserCondition(sid(t, offlineSID))
	a := Attempt{Token: tok, Kind: Connect, Protocol: ProtoTCP, Remote: netip.MustParseAddrPort("1.1.1.1:443")}
	block := Rule{Name: "b", Layer: ConnectV4, Action: Block, Weight: 1, User: user}
	permit := Rule{Name: "p", Layer: ConnectV4, Action: Permit, Weight: 2, User: user}
	cases := []struct {
		name    string
		rules   []Rule
		decided bool
		action  Action
		err     bool
	}{
		{"nothing", nil, false, 0, false},
		{"block", []Rule{block}, true, Block, false},
		{"higher permit wins in the sublayer", []Rule{block, permit}, true, Permit, false},
		{"other layer ignored", []Rule{{Name: "x", Layer: ConnectV6, Action: Block, Weight: 9, User: user}}, false, 0, false},
		{"equal weight, different actions", []Rule{block, {Name: "p1", Layer: ConnectV4, Action: Permit, Weight: 1, User: user}}, false, 0, true},
		{"remote condition at listen", []Rule{{Name: "l", Layer: ConnectV4, Action: Block, Weight: 1, User: user}, {Name: "bad", Layer: ListenV4, Action: Block, Weight: 1, User: user, RemotePorts: []uint16{1}}}, true, Block, false},
	}
	for _, c := range cases {
		v, err := Evaluate(c.rules, a, Hypotheses{})
		if (err != nil) != c.err || v.Decided != c.decided || v.Decided && v.Action != c.action {
			t.Errorf("%s: %+v, %v", c.name, v, err)
		}
	}
	// A condition the layer lacks is an error when that layer is reached.
	bad := Rule{Name: "bad", Layer: ListenV4, Action: Block, Weight: 1, User: user, RemotePorts: []uint16{1}}
	if _, err := Evaluate([]Rule{bad}, Attempt{Token: tok, Kind: Listen}, Hypotheses{}); err == nil {
		t.Error("remote port condition at ALE_AUTH_LISTEN accepted")
	}
	badProto := Rule{Name: "bad", Layer: ListenV6, Action: Block, Weight: 1, User: user, Protocols: []uint8{ProtoTCP}}
	if _, err := Evaluate([]Rule{badProto}, Attempt{Token: tok, Kind: Listen, IPv6: true}, Hypotheses{}); err == nil {
		t.Error("protocol condition at ALE_AUTH_LISTEN accepted")
	}
}
