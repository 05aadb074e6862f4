package policy

import (
	"encoding/json"
	"net/netip"
	"reflect"
	"strings"
	"testing"
)

func TestNetworkJSON(t *testing.T) {
	for in, want := range map[string]Policy{
		`{"mode":"read-only","network":true}`:  {Mode: ReadOnly, Network: true},
		`{"mode":"read-only","network":false}`: {Mode: ReadOnly},
		`{"mode":"read-only","network":null}`:  {Mode: ReadOnly},
		`{"mode":"read-only"}`:                 {Mode: ReadOnly},
		`{"mode":"read-only","network":{"allow_hosts":["Registry.npmjs.org.","preset:go"],"allow_local_binding":true}}`: {
			Mode: ReadOnly, NetworkAllowlist: &NetworkAllowlist{AllowHosts: []string{"Registry.npmjs.org.", "preset:go"}, AllowLocalBinding: true},
		},
		`{"mode":"read-only","network":{"allow_hosts":[]}}`: {Mode: ReadOnly, NetworkAllowlist: &NetworkAllowlist{AllowHosts: []string{}}},
	} {
		p, err := Parse(in)
		if err != nil {
			t.Errorf("Parse(%s): %v", in, err)
			continue
		}
		if !reflect.DeepEqual(p, want) {
			t.Errorf("Parse(%s) = %+v, want %+v", in, p, want)
		}
		// What MarshalJSON writes, ParseJSON reads back the same.
		b, err := json.Marshal(p)
		if err != nil {
			t.Fatal(err)
		}
		back, err := ParseJSON(strings.NewReader(string(b)))
		if err != nil || !reflect.DeepEqual(back, want) {
			t.Errorf("round trip of %s through %s = %+v, %v", in, b, back, err)
		}
	}
}

func TestNetworkJSONErrors(t *testing.T) {
	cases := map[string]string{
		`{"mode":"read-only","network":"yes"}`:                                    `field "network": want bool`,
		`{"mode":"read-only","network":1}`:                                        `field "network": want bool`,
		`{"mode":"read-only","network":["a"]}`:                                    `field "network": want bool`,
		`{"mode":"read-only","network":{}}`:                                       `needs "allow_hosts"`,
		`{"mode":"read-only","network":{"allow_hosts":"a.com"}}`:                  `field "network.allow_hosts": want []string`,
		`{"mode":"read-only","network":{"allow_hosts":[],"colour":1}}`:            `unknown field "colour"`,
		`{"mode":"read-only","network":{"allow_hosts":["a.com","http://b.com"]}}`: `field "network.allow_hosts"[1] "http://b.com": a host pattern is a host`,
		`{"mode":"read-only","network":{"allow_hosts":["preset:maven"]}}`:         `unknown preset "maven" (known: crates, github, go, npm, pypi)`,
		`{"mode":"read-only","network":{"allow_hosts":["*"]}}`:                    `"network": true for that`,
		`{"mode":"read-only","colour":1,"network":true}`:                          `unknown field "colour"`,
	}
	for in, want := range cases {
		_, err := Parse(in)
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("Parse(%s) = %v, want an error containing %q", in, err, want)
		}
	}
	p := Policy{Mode: ReadOnly, Network: true, NetworkAllowlist: &NetworkAllowlist{AllowHosts: []string{"a.com"}}}
	if err := p.Validate(); err == nil || !strings.Contains(err.Error(), "at once") {
		t.Errorf("Network and an allowlist: %v", err)
	}
}

func TestParseHostPattern(t *testing.T) {
	good := map[string]HostRule{
		"registry.npmjs.org":    {Pattern: "registry.npmjs.org", Name: "registry.npmjs.org"},
		"Proxy.Golang.org.:443": {Pattern: "proxy.golang.org:443", Name: "proxy.golang.org", Port: 443},
		"*.pythonhosted.org":    {Pattern: "*.pythonhosted.org", Name: "pythonhosted.org", Wildcard: true},
		"*.test:8443":           {Pattern: "*.test:8443", Name: "test", Wildcard: true, Port: 8443},
		"localhost":             {Pattern: "localhost", Name: "localhost"},
		"my_host-1.example":     {Pattern: "my_host-1.example", Name: "my_host-1.example"},
		"10.0.0.5":              {Pattern: "10.0.0.5", Addr: netip.MustParseAddr("10.0.0.5")},
		"127.0.0.1:8080":        {Pattern: "127.0.0.1:8080", Addr: netip.MustParseAddr("127.0.0.1"), Port: 8080},
		"::1":                   {Pattern: "[::1]", Addr: netip.MustParseAddr("::1")},
		"[2001:DB8::1]:443":     {Pattern: "[2001:db8::1]:443", Addr: netip.MustParseAddr("2001:db8::1"), Port: 443},
		"[::ffff:1.2.3.4]":      {Pattern: "1.2.3.4", Addr: netip.MustParseAddr("1.2.3.4")},
		"xn--bcher-kva.example": {Pattern: "xn--bcher-kva.example", Name: "xn--bcher-kva.example"},
		"1password.com":         {Pattern: "1password.com", Name: "1password.com"},
		"preset":                {Pattern: "preset", Name: "preset"},
	}
	for in, want := range good {
		got, err := ParseHostPattern(in)
		if err != nil || len(got) != 1 || !reflect.DeepEqual(got[0], want) {
			t.Errorf("ParseHostPattern(%q) = %+v, %v; want %+v", in, got, err, want)
		}
	}
	if got, err := ParseHostPattern("Preset:npm"); err != nil || len(got) == 0 || got[0].Preset != "npm" {
		t.Errorf(`ParseHostPattern("Preset:npm") = %+v, %v; want the npm preset`, got, err)
	}
	bad := map[string]string{
		"presEt:1":                `unknown preset "1"`,
		"preset.:1":               "reads as a preset reference",
		"":                        "empty",
		" a.com":                  "whitespace",
		"https://a.com":           "not a URL",
		"a.com/path":              "not a URL",
		"user@a.com":              "not a URL",
		"*":                       `"network": true`,
		"*.":                      `"*" alone`,
		"*..":                     "no host name",
		"a.*.com":                 "wildcard",
		"*a.com":                  "wildcard",
		"**.a.com":                "wildcard",
		"a..com":                  "empty label",
		".a.com":                  "empty label",
		"-a.com":                  "starts or ends with '-'",
		"a.com:0":                 "port",
		"a.com:65536":             "port",
		"a.com:08":                "port",
		"a.com:+8":                "port",
		"a.com:http":              "port",
		"a.com:":                  "HOST:PORT",
		":443":                    "HOST:PORT",
		"a.com:1:2":               "IPv6",
		"[a.com]:443":             "not an IPv6 address",
		"[1.2.3.4]":               "not an IPv6 address",
		"[::1":                    "unclosed",
		"[::1]443":                "after the brackets",
		"[::1]:":                  "after the brackets",
		"fe80::1%eth0":            "zone",
		"127.1":                   "neither a host name nor a valid IP",
		"999.1.1.1":               "neither a host name nor a valid IP",
		"bücher.example":          "xn--",
		"preset:":                 "unknown preset",
		strings.Repeat("a", 64):   "longer than 63",
		strings.Repeat("a.", 128): "longer than 253",
	}
	for in, want := range bad {
		if got, err := ParseHostPattern(in); err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("ParseHostPattern(%q) = %+v, %v; want an error containing %q", in, got, err, want)
		}
	}
}

func TestNetworkPresets(t *testing.T) {
	for name := range NetworkPresets {
		rules, err := ParseHostPattern("preset:" + name)
		if err != nil || len(rules) == 0 {
			t.Fatalf("preset %s: %v", name, err)
		}
		for _, r := range rules {
			if r.Preset != name || r.Port != 443 || r.Name == "" {
				t.Errorf("preset %s: rule %+v: want a name on port 443 from the preset", name, r)
			}
		}
	}
	a, err := (&NetworkAllowlist{AllowHosts: []string{"preset:npm"}}).Resolve()
	if err != nil {
		t.Fatal(err)
	}
	if r, ok := a.MatchName("registry.npmjs.org", 443); !ok || r.String() != "registry.npmjs.org:443 (preset:npm)" {
		t.Errorf("npm preset: %v %v", r, ok)
	}
	if _, ok := a.MatchName("registry.npmjs.org", 80); ok {
		t.Error("npm preset allows port 80")
	}
}

func TestAllowlistMatch(t *testing.T) {
	a, err := (&NetworkAllowlist{AllowHosts: []string{"a.example", "*.b.example:443", "10.1.2.3", "[::1]:8080"}}).Resolve()
	if err != nil {
		t.Fatal(err)
	}
	names := []struct {
		host string
		port uint16
		rule string
	}{
		{"a.example", 1, "a.example"},
		{"A.EXAMPLE.", 443, "a.example"},
		{"x.a.example", 443, ""},
		{"b.example", 443, ""},
		{"x.b.example", 443, "*.b.example:443"},
		{"y.x.b.example", 443, "*.b.example:443"},
		{"x.b.example", 80, ""},
		{"xb.example", 443, ""},
		{"10.1.2.3", 80, ""}, // an address is never matched by name
		{"", 80, ""},
	}
	for _, c := range names {
		r, ok := a.MatchName(c.host, c.port)
		if ok != (c.rule != "") || ok && r.Pattern != c.rule {
			t.Errorf("MatchName(%q, %d) = %v %v, want %q", c.host, c.port, r, ok, c.rule)
		}
	}
	addrs := []struct {
		addr string
		port uint16
		ok   bool
	}{
		{"10.1.2.3", 22, true},
		{"::ffff:10.1.2.3", 22, true},
		{"10.1.2.4", 22, false},
		{"::1", 8080, true},
		{"::1", 8081, false},
		{"127.0.0.1", 8080, false},
	}
	for _, c := range addrs {
		if _, ok := a.MatchAddr(netip.MustParseAddr(c.addr), c.port); ok != c.ok {
			t.Errorf("MatchAddr(%s, %d) = %v", c.addr, c.port, ok)
		}
	}
	var none *Allowlist
	if _, ok := none.MatchName("a.example", 1); ok {
		t.Error("a nil allowlist allows a name")
	}
}

func TestResolveAllowlist(t *testing.T) {
	p := Policy{Mode: ReadOnly, NetworkAllowlist: &NetworkAllowlist{AllowHosts: []string{"preset:pypi", "example.com"}}}
	r, err := p.Resolve(Env{Rules: POSIX, Cwd: "/w"})
	if err != nil {
		t.Fatal(err)
	}
	if r.Network || r.Allowlist == nil || len(r.Allowlist.Rules) != 3 || r.Allowlist.Rules[2].Pattern != "example.com" {
		t.Errorf("resolved network: %v %+v", r.Network, r.Allowlist)
	}
	if r, err := (Policy{Mode: ReadOnly, Network: true}).Resolve(Env{Rules: POSIX, Cwd: "/w"}); err != nil || !r.Network || r.Allowlist != nil {
		t.Errorf("network true: %+v %v", r, err)
	}
}

// FuzzParseHostPattern: the parser never panics, and what it accepts is
// stable: the normalised pattern parses to the same rule.
func FuzzParseHostPattern(f *testing.F) {
	for _, s := range []string{"a.com", "*.a.com:443", "[::1]:80", "10.0.0.1", "preset:npm", "a.com:", "[", "*", "1.2.3.4:5", "::ffff:1.2.3.4", "Preset:go", "preset.:1"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		rules, err := ParseHostPattern(s)
		if err != nil {
			return
		}
		for _, r := range rules {
			if r.Preset != "" {
				continue
			}
			again, err := ParseHostPattern(r.Pattern)
			if err != nil || len(again) != 1 || !reflect.DeepEqual(again[0], r) {
				t.Fatalf("%q parsed to %+v, whose pattern parses to %+v, %v", s, r, again, err)
			}
			if (r.Name == "") == !r.Addr.IsValid() {
				t.Fatalf("%q: a rule is a name or an address: %+v", s, r)
			}
		}
	})
}
