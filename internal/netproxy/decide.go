package netproxy

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"strings"
	"time"

	"github.com/cordon-sandbox/cordon/policy"
)

// open decides a request for host:port and, when the allowlist allows it,
// connects to an address it checked. It returns the connection (nil when
// refused or failed) and the decision, which the caller records once the
// request is done with (a tunnel first reads the TLS ClientHello).
func (p *Proxy) open(ctx context.Context, proto, host string, port uint16) (net.Conn, Decision) {
	d := Decision{Time: time.Now(), Proto: proto, Host: host, Port: port}
	refuse := func(kind failKind, format string, args ...any) (net.Conn, Decision) {
		d.fail, d.Reason = kind, fmt.Sprintf(format, args...)
		return nil, d
	}
	if port == 0 {
		return refuse(failRequest, "port 0")
	}
	var cands []netip.Addr
	if addr, err := netip.ParseAddr(host); err == nil {
		if addr.Zone() != "" {
			return refuse(failPolicy, "an address with a zone is never allowed")
		}
		r, ok := p.allow.MatchAddr(addr, port)
		if !ok {
			return refuse(failPolicy, "address not in the allowlist (an address is allowed only when listed itself)")
		}
		d.Rule = r.String()
		cands = []netip.Addr{addr.Unmap()}
	} else {
		name := strings.TrimSuffix(strings.ToLower(host), ".")
		if err := policy.CheckHostName(name); err != nil {
			return refuse(failRequest, "not a host name: %v", err)
		}
		r, ok := p.allow.MatchName(name, port)
		if !ok {
			return refuse(failPolicy, "not in the allowlist")
		}
		d.Rule = r.String()
		lctx, cancel := context.WithTimeout(ctx, p.dialer.Timeout)
		addrs, err := p.resolver.LookupNetIP(lctx, "ip", name)
		cancel()
		if err != nil {
			return refuse(failLookup, "lookup failed: %s", shortErr(err))
		}
		var refused []string
		for _, a := range addrs {
			a = a.Unmap()
			why := nonPublic(a)
			if why == "" {
				cands = append(cands, a)
				continue
			}
			if ar, ok := p.allow.MatchAddr(a, port); ok {
				cands = append(cands, a)
				d.Rule = r.String() + ", address " + ar.String()
				continue
			}
			refused = append(refused, a.String()+" ("+why+")")
		}
		if len(cands) == 0 {
			if len(refused) == 0 {
				return refuse(failLookup, "lookup found no address")
			}
			return refuse(failPolicy, "resolves only to addresses a name may not reach: %s (list the address itself to allow it)", strings.Join(refused, ", "))
		}
	}
	var lastErr error
	for _, a := range cands {
		d.Addr = a
		c, err := p.dialer.DialContext(ctx, "tcp", netip.AddrPortFrom(a, port).String())
		if err == nil {
			d.Allowed = true
			return c, d
		}
		lastErr = err
	}
	return refuse(failDial, "connect failed: %s", shortErr(lastErr))
}

// shortErr drops the address details net's errors repeat.
func shortErr(err error) string {
	var oe *net.OpError
	if errors.As(err, &oe) && oe.Err != nil {
		err = oe.Err
	}
	var de *net.DNSError
	if errors.As(err, &de) {
		return de.Err
	}
	if errors.Is(err, context.DeadlineExceeded) {
		return "timed out"
	}
	return err.Error()
}

// nonPublic says why a name may not lead to addr ("" when it may): the
// address is loopback, link-local, private, unspecified, multicast, or in
// another range that never is a public host (IANA special-purpose
// registries); an IPv6 address that embeds an IPv4 one (NAT64, 6to4) is
// judged by that. addr is unmapped.
func nonPublic(addr netip.Addr) string {
	switch {
	case !addr.IsValid():
		return "invalid"
	case addr.IsUnspecified():
		return "unspecified"
	case addr.IsLoopback():
		return "loopback"
	case addr.IsLinkLocalUnicast():
		return "link-local"
	case addr.IsMulticast():
		return "multicast"
	case addr.IsPrivate():
		return "private"
	}
	for _, r := range specialRanges {
		if r.prefix.Contains(addr) {
			return r.why
		}
	}
	if addr.Is6() {
		b := addr.As16()
		switch {
		case nat64.Contains(addr):
			return nonPublic(netip.AddrFrom4([4]byte(b[12:16])))
		case sixToFour.Contains(addr):
			return nonPublic(netip.AddrFrom4([4]byte(b[2:6])))
		}
	}
	return ""
}

var (
	nat64     = netip.MustParsePrefix("64:ff9b::/96")
	sixToFour = netip.MustParsePrefix("2002::/16")
)

var specialRanges = []struct {
	prefix netip.Prefix
	why    string
}{
	{netip.MustParsePrefix("0.0.0.0/8"), "this network"},
	{netip.MustParsePrefix("100.64.0.0/10"), "shared address space"},
	{netip.MustParsePrefix("192.0.0.0/24"), "IETF protocol assignments"},
	{netip.MustParsePrefix("192.0.2.0/24"), "documentation"},
	{netip.MustParsePrefix("198.18.0.0/15"), "benchmarking"},
	{netip.MustParsePrefix("198.51.100.0/24"), "documentation"},
	{netip.MustParsePrefix("203.0.113.0/24"), "documentation"},
	{netip.MustParsePrefix("240.0.0.0/4"), "reserved"}, // and the broadcast address
	{netip.MustParsePrefix("::/96"), "IPv4-compatible"},
	{netip.MustParsePrefix("64:ff9b:1::/48"), "local NAT64"},
	{netip.MustParsePrefix("100::/64"), "discard-only"},
	{netip.MustParsePrefix("2001:db8::/32"), "documentation"},
	{netip.MustParsePrefix("fec0::/10"), "site-local"},
}

// upstreamKey carries a forwarded request's checked connection to the
// transport's dialChecked.
type upstreamKey struct{}

// dialChecked is the forwarding transport's DialContext: it hands out the
// connection serveForward opened after its checks, once, and never dials
// anything itself.
func (p *Proxy) dialChecked(ctx context.Context, network, addr string) (net.Conn, error) {
	if up, ok := ctx.Value(upstreamKey{}).(*checkedConn); ok {
		if c := up.take(); c != nil {
			return c, nil
		}
	}
	return nil, errors.New("no checked connection for this request")
}
