package policy

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"net/netip"
	"sort"
	"strconv"
	"strings"
)

// NetworkAllowlist is the policy's "network" when it is an object: the
// command reaches only the hosts it lists, through cordon's proxy.
//
//	"network": {"allow_hosts": ["registry.npmjs.org", "*.pythonhosted.org:443", "preset:go"],
//	            "allow_local_binding": false}
//
// Each entry of AllowHosts is a host pattern (ParseHostPattern): an exact
// host name, "*." and a name (any name strictly below it), or an IP
// address, each with an optional ":port"; or "preset:NAME", one of
// NetworkPresets. A name never reaches a loopback, link-local, private,
// unspecified or multicast address unless that address is listed itself
// (DNS rebinding), and an IP address is reached only when it is listed.
type NetworkAllowlist struct {
	AllowHosts []string `json:"allow_hosts"`
	// AllowLocalBinding lets the command listen on TCP ports of its own
	// loopback and connect to them (a test server). Without it only the
	// proxy's port is reachable there.
	AllowLocalBinding bool `json:"allow_local_binding,omitempty"`
}

// NetworkPresets are the host lists "preset:NAME" stands for. Each is the
// HTTPS hosts its ecosystem's default client downloads from.
var NetworkPresets = map[string][]string{
	// npm and yarn (classic) metadata and tarballs.
	"npm": {"registry.npmjs.org:443", "registry.yarnpkg.com:443"},
	// pip: the index and the files it links to.
	"pypi": {"pypi.org:443", "files.pythonhosted.org:443"},
	// The go command's default GOPROXY and GOSUMDB. GOPROXY=direct
	// fetches from each module's own host instead, which is not listed.
	"go": {"proxy.golang.org:443", "sum.golang.org:443"},
	// cargo: the sparse index, the API and the downloads it redirects to.
	"crates": {"index.crates.io:443", "crates.io:443", "static.crates.io:443"},
	// git over HTTPS, the API, archives and raw and release content.
	"github": {"github.com:443", "api.github.com:443", "codeload.github.com:443", "*.githubusercontent.com:443"},
}

// HostRule is one parsed host pattern.
type HostRule struct {
	// Pattern is the pattern as written (normalised: lower case, no
	// trailing dot).
	Pattern string `json:"pattern"`
	// Preset is the preset the rule came from, if any.
	Preset string `json:"preset,omitempty"`
	// Name is the host name of a name rule, lower case; empty for an
	// address rule.
	Name string `json:"name,omitempty"`
	// Wildcard: Name's subdomains match ("*.Name"), Name itself does not.
	Wildcard bool `json:"wildcard,omitempty"`
	// Addr is the address of an address rule.
	Addr netip.Addr `json:"addr,omitzero"`
	// Port is the only port allowed; 0 allows any.
	Port uint16 `json:"port,omitempty"`
}

// String names the rule for attribution: the pattern, and the preset it
// came from.
func (r HostRule) String() string {
	if r.Preset != "" {
		return r.Pattern + " (preset:" + r.Preset + ")"
	}
	return r.Pattern
}

// Allowlist is a resolved network allowlist: the patterns parsed, the
// presets expanded.
type Allowlist struct {
	Rules        []HostRule `json:"rules"`
	LocalBinding bool       `json:"local_binding,omitempty"`
}

// MatchName returns the first name rule that allows host (a name, not an
// address literal) on port. host is compared without case and without a
// trailing dot.
func (a *Allowlist) MatchName(host string, port uint16) (HostRule, bool) {
	if a == nil {
		return HostRule{}, false
	}
	h := strings.TrimSuffix(strings.ToLower(host), ".")
	if h == "" {
		return HostRule{}, false
	}
	for _, r := range a.Rules {
		if r.Name == "" || (r.Port != 0 && r.Port != port) {
			continue
		}
		if r.Wildcard && strings.HasSuffix(h, "."+r.Name) || !r.Wildcard && h == r.Name {
			return r, true
		}
	}
	return HostRule{}, false
}

// MatchAddr returns the first address rule that lists addr on port. An
// IPv4-mapped IPv6 address is the IPv4 address.
func (a *Allowlist) MatchAddr(addr netip.Addr, port uint16) (HostRule, bool) {
	if a == nil {
		return HostRule{}, false
	}
	addr = addr.Unmap().WithZone("")
	for _, r := range a.Rules {
		if r.Addr.IsValid() && r.Addr == addr && (r.Port == 0 || r.Port == port) {
			return r, true
		}
	}
	return HostRule{}, false
}

// Resolve parses the allowlist's patterns and expands its presets. Errors
// name the field, the entry and the pattern.
func (n *NetworkAllowlist) Resolve() (*Allowlist, error) {
	if n == nil {
		return nil, nil
	}
	a := &Allowlist{LocalBinding: n.AllowLocalBinding}
	for i, p := range n.AllowHosts {
		rules, err := ParseHostPattern(p)
		if err != nil {
			return nil, fmt.Errorf("policy: field \"network.allow_hosts\"[%d] %q: %w", i, p, err)
		}
		a.Rules = append(a.Rules, rules...)
	}
	return a, nil
}

// ParseHostPattern parses one entry of an allowlist:
//
//	registry.npmjs.org        that host, any port
//	proxy.golang.org:443      that host, port 443
//	*.pythonhosted.org        any name below pythonhosted.org (not the name itself)
//	10.0.0.5, 10.0.0.5:8080   that address (a name resolving to it is then allowed too)
//	::1, [::1], [::1]:8080    the same for IPv6
//	preset:npm                the hosts of NetworkPresets["npm"]
//
// Names are compared without case; a trailing dot is dropped. A name is
// letters, digits, '-' and '_' in dot-separated labels of at most 63
// characters; one whose last label is all digits must be a valid IPv4
// address. Anything else (a URL, a path, whitespace, a wildcard elsewhere
// than a leading "*.", a port outside 1-65535) is an error.
func ParseHostPattern(s string) ([]HostRule, error) {
	// The prefix is matched without case, as host names are: "Preset:npm"
	// is the preset, never a host named "preset" on port npm.
	if len(s) >= len(presetPrefix) && strings.EqualFold(s[:len(presetPrefix)], presetPrefix) {
		name := s[len(presetPrefix):]
		hosts, ok := NetworkPresets[name]
		if !ok {
			return nil, fmt.Errorf("unknown preset %q (known: %s)", name, strings.Join(presetNames(), ", "))
		}
		var out []HostRule
		for _, h := range hosts {
			r, err := parseHostRule(h)
			if err != nil {
				return nil, fmt.Errorf("preset %s: %w", name, err) // a bug in NetworkPresets
			}
			r.Preset = name
			out = append(out, r)
		}
		return out, nil
	}
	r, err := parseHostRule(s)
	if err != nil {
		return nil, err
	}
	return []HostRule{r}, nil
}

// presetPrefix starts a preset reference ("preset:npm").
const presetPrefix = "preset:"

func presetNames() []string {
	var names []string
	for n := range NetworkPresets {
		names = append(names, n)
	}
	sort.Strings(names)
	return names
}

func parseHostRule(s string) (HostRule, error) {
	switch {
	case s == "":
		return HostRule{}, errors.New("empty pattern")
	case strings.ContainsAny(s, " \t\r\n\x00"):
		return HostRule{}, errors.New("whitespace or NUL in a host pattern")
	case strings.Contains(s, "://") || strings.ContainsAny(s, "/?#@"):
		return HostRule{}, errors.New("a host pattern is a host and an optional port, not a URL")
	}
	host, portStr, err := splitPattern(s)
	if err != nil {
		return HostRule{}, err
	}
	var r HostRule
	if portStr != "" {
		p, err := strconv.ParseUint(portStr, 10, 16)
		if err != nil || p == 0 || portStr[0] == '+' || portStr[0] == '0' {
			return HostRule{}, fmt.Errorf("port %q is not a number from 1 to 65535", portStr)
		}
		r.Port = uint16(p)
	}
	if addr, err := netip.ParseAddr(host); err == nil {
		if addr.Zone() != "" {
			return HostRule{}, fmt.Errorf("address %q has a zone", host)
		}
		r.Addr = addr.Unmap()
		r.Pattern = r.Addr.String()
		if r.Addr.Is6() {
			r.Pattern = "[" + r.Pattern + "]"
		}
	} else {
		name := strings.TrimSuffix(strings.ToLower(host), ".")
		if rest, ok := strings.CutPrefix(name, "*."); ok {
			r.Wildcard = true
			name = rest
		}
		if err := CheckHostName(name); err != nil {
			return HostRule{}, err
		}
		if name == "preset" && r.Port != 0 {
			// Its pattern, "preset:PORT", would read as a preset.
			return HostRule{}, fmt.Errorf("%q: a host named preset with a port reads as a preset reference; name the host fully", s)
		}
		r.Name = name
		r.Pattern = name
		if r.Wildcard {
			r.Pattern = "*." + name
		}
	}
	if r.Port != 0 {
		r.Pattern += ":" + strconv.Itoa(int(r.Port))
	}
	return r, nil
}

// splitPattern splits a pattern into its host and port ("" when none).
// An IPv6 address takes a port only in brackets.
func splitPattern(s string) (host, port string, err error) {
	if rest, ok := strings.CutPrefix(s, "["); ok {
		addr, after, ok := strings.Cut(rest, "]")
		if !ok {
			return "", "", errors.New("unclosed '['")
		}
		if a, err := netip.ParseAddr(addr); err != nil || !a.Is6() {
			return "", "", fmt.Errorf("%q in brackets is not an IPv6 address", addr)
		}
		if after == "" {
			return addr, "", nil
		}
		p, ok := strings.CutPrefix(after, ":")
		if !ok || p == "" {
			return "", "", fmt.Errorf("want [ADDRESS]:PORT, got %q after the brackets", after)
		}
		return addr, p, nil
	}
	switch strings.Count(s, ":") {
	case 0:
		return s, "", nil
	case 1:
		h, p, _ := strings.Cut(s, ":")
		if h == "" || p == "" {
			return "", "", errors.New("want HOST or HOST:PORT")
		}
		return h, p, nil
	}
	if _, err := netip.ParseAddr(s); err != nil {
		return "", "", errors.New("not a host name, an IPv4 address or an IPv6 address (an IPv6 address with a port goes in brackets)")
	}
	return s, "", nil
}

// CheckHostName checks that name, lower case and without a trailing dot,
// is a host name as patterns write them: dot-separated labels of letters,
// digits, '-' and '_', the last not all digits.
func CheckHostName(name string) error {
	if name == "" {
		return errors.New("no host name")
	}
	if strings.Contains(name, "*") {
		if name == "*" {
			return errors.New(`"*" alone would allow every host: use "network": true for that`)
		}
		return errors.New(`a wildcard is only "*." at the start of a pattern`)
	}
	if len(name) > 253 {
		return errors.New("host name longer than 253 characters")
	}
	labels := strings.Split(name, ".")
	for _, l := range labels {
		if l == "" {
			return errors.New("empty label in the host name")
		}
		if len(l) > 63 {
			return fmt.Errorf("label %q is longer than 63 characters", l)
		}
		if l[0] == '-' || l[len(l)-1] == '-' {
			return fmt.Errorf("label %q starts or ends with '-'", l)
		}
		for _, c := range []byte(l) {
			if !(c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '-' || c == '_') {
				return fmt.Errorf("character %q in the host name (non-ASCII names go in their xn-- form)", c)
			}
		}
	}
	if strings.Trim(labels[len(labels)-1], "0123456789") == "" {
		return fmt.Errorf("%q is neither a host name nor a valid IP address", name)
	}
	return nil
}

// networkJSON is the policy's "network" field: true, false (or null), or
// a NetworkAllowlist object.
type networkJSON struct {
	on    bool
	allow *NetworkAllowlist
}

func (n *networkJSON) UnmarshalJSON(b []byte) error {
	b = bytes.TrimSpace(b)
	switch string(b) {
	case "true":
		n.on = true
		return nil
	case "false", "null":
		return nil
	}
	if len(b) == 0 || b[0] != '{' {
		return fmt.Errorf(`field "network": want bool (true or false) or an allowlist object {"allow_hosts": [...]}, got JSON %s`, jsonKind(b))
	}
	var a NetworkAllowlist
	if err := decodeStrict(b, &a); err != nil {
		var typeErr *json.UnmarshalTypeError
		if errors.As(err, &typeErr) {
			return fmt.Errorf("field \"network.%s\": want %s, got JSON %s", typeErr.Field, typeErr.Type, typeErr.Value)
		}
		return fmt.Errorf("field \"network\": %w", err)
	}
	if a.AllowHosts == nil {
		return errors.New(`field "network": an allowlist object needs "allow_hosts" (an empty list allows no host)`)
	}
	n.allow = &a
	return nil
}

// decodeStrict decodes one JSON value into v, refusing unknown fields
// (the caller's decoder does not pass its own setting on to an
// UnmarshalJSON method).
func decodeStrict(b []byte, v any) error {
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	return dec.Decode(v)
}

// jsonKind names the kind of a JSON value, as encoding/json's type errors do.
func jsonKind(b []byte) string {
	if len(b) == 0 {
		return "nothing"
	}
	switch b[0] {
	case '"':
		return "string"
	case '[':
		return "array"
	case 't', 'f':
		return "bool"
	}
	return "number"
}
