package netproxy

// Attribution: what the proxy did with each request (Decision), and the
// counts by host, port and rule or reason that --json reports (Summary).

import (
	"fmt"
	"net"
	"net/netip"
	"sort"
	"time"
)

// Decision is what the proxy did with one request.
type Decision struct {
	Time time.Time `json:"time"`
	// Proto is "connect", "http", "socks5" or "socks4".
	Proto string `json:"proto"`
	// Host is the host as the client asked for it: a name or an address
	// (empty when the request was unreadable).
	Host string `json:"host"`
	Port uint16 `json:"port"`
	// Addr is the address connected to (or last tried), when one was.
	Addr    netip.Addr `json:"addr,omitzero"`
	Allowed bool       `json:"allowed"`
	// Rule is the allowlist rule that allowed the host.
	Rule string `json:"rule,omitempty"`
	// Reason says why a request was refused or failed.
	Reason string `json:"reason,omitempty"`
	fail   failKind
}

func (d Decision) String() string {
	target := net.JoinHostPort(d.Host, fmt.Sprint(d.Port))
	if d.Allowed {
		return fmt.Sprintf("allowed %s %s (%s) by %s", d.Proto, target, d.Addr, d.Rule)
	}
	return fmt.Sprintf("denied %s %s: %s", d.Proto, target, d.Reason)
}

// failKind is why a request was not connected, for the protocol's answer.
type failKind int

const (
	failNone    failKind = iota
	failRequest          // a malformed request
	failPolicy           // the allowlist refuses it
	failLookup           // the name did not resolve
	failDial             // no checked address answered
)

// Count is one line of a Summary: how many requests for Host:Port were
// allowed by Rule, or refused for Reason.
type Count struct {
	Host   string `json:"host"`
	Port   uint16 `json:"port"`
	Rule   string `json:"rule,omitempty"`
	Reason string `json:"reason,omitempty"`
	Count  int    `json:"count"`
}

// Summary counts the proxy's decisions.
type Summary struct {
	Allowed []Count `json:"allowed"`
	Denied  []Count `json:"denied"`
}

// maxCounts bounds the distinct lines a Summary keeps; the rest are
// counted together in one more.
const maxCounts = 1024

type countKey struct {
	allowed    bool
	host       string
	port       uint16
	ruleReason string
}

// Summary returns the decisions so far, counted by host, port and rule or
// reason, the most frequent first.
func (p *Proxy) Summary() Summary {
	p.mu.Lock()
	defer p.mu.Unlock()
	s := Summary{Allowed: []Count{}, Denied: []Count{}}
	for k, n := range p.counts {
		c := Count{Host: k.host, Port: k.port, Count: n}
		if k.allowed {
			c.Rule = k.ruleReason
			s.Allowed = append(s.Allowed, c)
		} else {
			c.Reason = k.ruleReason
			s.Denied = append(s.Denied, c)
		}
	}
	for _, l := range [][]Count{s.Allowed, s.Denied} {
		sort.Slice(l, func(i, j int) bool {
			a, b := l[i], l[j]
			if a.Count != b.Count {
				return a.Count > b.Count
			}
			if a.Host != b.Host {
				return a.Host < b.Host
			}
			if a.Port != b.Port {
				return a.Port < b.Port
			}
			return a.Rule+a.Reason < b.Rule+b.Reason
		})
	}
	return s
}

// maxHost bounds the host a decision keeps: a client may send up to a
// header's worth, and the counts keep up to maxCounts of them.
const maxHost = 256

// record counts d and hands it to OnDecision.
func (p *Proxy) record(d Decision) {
	if d.Time.IsZero() {
		d.Time = time.Now()
	}
	if len(d.Host) > maxHost {
		d.Host = d.Host[:maxHost] + "…"
	}
	k := countKey{allowed: d.Allowed, host: d.Host, port: d.Port, ruleReason: d.Reason}
	if d.Allowed {
		k.ruleReason = d.Rule
	}
	p.mu.Lock()
	if _, ok := p.counts[k]; !ok && len(p.counts) >= maxCounts {
		k = countKey{allowed: d.Allowed, host: "(others)", ruleReason: fmt.Sprintf("more than %d distinct requests: counted together", maxCounts)}
	}
	p.counts[k]++
	p.mu.Unlock()
	if p.onDecision != nil {
		p.onDecision(d)
	}
}
