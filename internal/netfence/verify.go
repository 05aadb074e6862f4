package netfence

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"net"
	"os"
	"syscall"
	"time"
)

// Outcome is what one probe saw.
type Outcome string

const (
	// OutcomeBlocked: the local stack refused the operation with an
	// access error (WSAEACCES from a WFP block at ALE_AUTH_CONNECT, EACCES
	// or EPERM elsewhere): the fence, or a firewall, stopped it on this
	// machine.
	OutcomeBlocked Outcome = "blocked"
	// OutcomeConnected: a TCP connection was established.
	OutcomeConnected Outcome = "connected"
	// OutcomeAnswered: a DNS server answered the query.
	OutcomeAnswered Outcome = "answered"
	// OutcomeResolved: the system resolver returned addresses.
	OutcomeResolved Outcome = "resolved"
	// OutcomeRefused: the remote end (or something on the way) refused:
	// the packet left the machine or reached a local port.
	OutcomeRefused Outcome = "refused"
	// OutcomeTimeout: nothing came back in time. A WFP block of a UDP
	// send may look like this too: the datagram is dropped silently.
	OutcomeTimeout Outcome = "timeout"
	// OutcomeUnreachable: no route or no network.
	OutcomeUnreachable Outcome = "unreachable"
	// OutcomeError: any other failure; Result.Err says which.
	OutcomeError Outcome = "error"
)

// Reached reports whether the outcome shows traffic got through.
func (o Outcome) Reached() bool {
	return o == OutcomeConnected || o == OutcomeAnswered || o == OutcomeResolved || o == OutcomeRefused
}

// ProbeKind is what a probe tries.
type ProbeKind string

const (
	// ProbeTCP dials Target (host:port, an address) over TCP.
	ProbeTCP ProbeKind = "tcp"
	// ProbeDNSUDP sends one DNS query for Name to Target over UDP and
	// waits for an answer with the same ID.
	ProbeDNSUDP ProbeKind = "dns-udp"
	// ProbeResolve asks the system resolver for Name. On Windows that is
	// the DNS Client service, which sends the query as NETWORK SERVICE,
	// not as the sandbox user: a filter keyed on the sandbox user does not
	// see it, so "resolved" here shows names still leave the machine.
	ProbeResolve ProbeKind = "resolve"
)

// Probe is one check Verify runs.
type Probe struct {
	Name    string
	Kind    ProbeKind
	Target  string // host:port for ProbeTCP and ProbeDNSUDP
	Query   string // the name to look up, for ProbeDNSUDP and ProbeResolve
	Timeout time.Duration
}

// Result is one probe's outcome.
type Result struct {
	Probe   string    `json:"probe"`
	Kind    ProbeKind `json:"kind"`
	Target  string    `json:"target"`
	Outcome Outcome   `json:"outcome"`
	Err     string    `json:"error,omitempty"`
}

// Report is what Verify found.
type Report struct {
	Results []Result `json:"results"`
}

// Direct reports whether any direct probe (TCP or DNS to an address, not
// the system resolver) got traffic through.
func (r Report) Direct() bool {
	for _, res := range r.Results {
		if res.Kind != ProbeResolve && res.Outcome.Reached() {
			return true
		}
	}
	return false
}

// Fenced reports whether some TCP probe was refused on this machine with
// an access error (positive evidence of a filter, not merely of an absent
// network) and no direct probe got through. A UDP probe that timed out
// does not count against it (WFP drops a blocked datagram silently), nor
// does a probe with no route (an IPv6 probe on an IPv4-only machine fails
// at the route lookup, before WFP's connect layer); a TCP timeout does,
// since it may have been the remote end not answering.
func (r Report) Fenced() bool {
	tcpBlocked := false
	for _, res := range r.Results {
		switch {
		case res.Kind == ProbeResolve:
		case res.Outcome == OutcomeBlocked:
			tcpBlocked = tcpBlocked || res.Kind == ProbeTCP
		case res.Outcome == OutcomeUnreachable:
		case res.Kind == ProbeDNSUDP && res.Outcome == OutcomeTimeout:
		default:
			return false
		}
	}
	return tcpBlocked
}

// DefaultProbes are the probes Verify runs: a TCP connection to a public
// address over IPv4 and IPv6, a DNS query straight to a public resolver,
// and a lookup through the system resolver. Each has a short timeout.
var DefaultProbes = []Probe{
	{Name: "tcp-ipv4", Kind: ProbeTCP, Target: "1.1.1.1:443", Timeout: 3 * time.Second},
	{Name: "tcp-ipv6", Kind: ProbeTCP, Target: "[2606:4700:4700::1111]:443", Timeout: 3 * time.Second},
	{Name: "dns-udp", Kind: ProbeDNSUDP, Target: "1.1.1.1:53", Query: "example.com", Timeout: 3 * time.Second},
	{Name: "system-resolver", Kind: ProbeResolve, Query: "example.com", Timeout: 3 * time.Second},
}

// Verify runs DefaultProbes from the current process, for `cordon
// verify-network` to run inside the sandbox as the offline user (expect
// Fenced) and as the online user (expect Direct).
func Verify(ctx context.Context) Report { return VerifyWith(ctx, DefaultProbes) }

// VerifyWith runs probes one after another and reports each.
func VerifyWith(ctx context.Context, probes []Probe) Report {
	var r Report
	for _, p := range probes {
		r.Results = append(r.Results, runProbe(ctx, p))
	}
	return r
}

func runProbe(ctx context.Context, p Probe) Result {
	res := Result{Probe: p.Name, Kind: p.Kind, Target: p.Target}
	if p.Kind == ProbeResolve {
		res.Target = p.Query
	}
	timeout := p.Timeout
	if timeout <= 0 {
		timeout = 3 * time.Second
	}
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	var err error
	switch p.Kind {
	case ProbeTCP:
		var c net.Conn
		var d net.Dialer
		if c, err = d.DialContext(ctx, "tcp", p.Target); err == nil {
			c.Close()
			res.Outcome = OutcomeConnected
			return res
		}
	case ProbeDNSUDP:
		if err = dnsQuery(ctx, p.Target, p.Query); err == nil {
			res.Outcome = OutcomeAnswered
			return res
		}
	case ProbeResolve:
		var addrs []string
		if addrs, err = net.DefaultResolver.LookupHost(ctx, p.Query); err == nil && len(addrs) > 0 {
			res.Outcome = OutcomeResolved
			return res
		}
		if err == nil {
			err = errors.New("no addresses")
		}
	default:
		err = fmt.Errorf("unknown probe kind %q", p.Kind)
	}
	res.Outcome = Classify(err)
	res.Err = err.Error()
	return res
}

// Classify maps a dial, read or lookup error to an Outcome.
func Classify(err error) Outcome {
	var errno syscall.Errno
	switch {
	case err == nil:
		return OutcomeError
	case errors.As(err, &errno) && isAccessErrno(errno):
		return OutcomeBlocked
	case errors.As(err, &errno) && isRefusedErrno(errno):
		return OutcomeRefused
	case errors.As(err, &errno) && isUnreachableErrno(errno):
		return OutcomeUnreachable
	case errors.Is(err, context.DeadlineExceeded) || errors.Is(err, os.ErrDeadlineExceeded):
		return OutcomeTimeout
	}
	var ne net.Error
	if errors.As(err, &ne) && ne.Timeout() {
		return OutcomeTimeout
	}
	return OutcomeError
}

// dnsQuery sends one A query for name to server over UDP and waits for a
// reply carrying the same ID. Any well-formed reply counts, NXDOMAIN
// included: it shows the query left and came back.
func dnsQuery(ctx context.Context, server, name string) error {
	var d net.Dialer
	c, err := d.DialContext(ctx, "udp", server)
	if err != nil {
		return err
	}
	defer c.Close()
	if dl, ok := ctx.Deadline(); ok {
		c.SetDeadline(dl)
	}
	q, id, err := dnsMessage(name)
	if err != nil {
		return err
	}
	if _, err := c.Write(q); err != nil {
		return err
	}
	buf := make([]byte, 512)
	for {
		n, err := c.Read(buf)
		if err != nil {
			return err
		}
		if n >= 12 && binary.BigEndian.Uint16(buf) == id && buf[2]&0x80 != 0 {
			return nil
		}
	}
}

// dnsMessage builds a recursive A query for name and returns it with its
// ID.
func dnsMessage(name string) ([]byte, uint16, error) {
	id := uint16(time.Now().UnixNano())
	msg := []byte{byte(id >> 8), byte(id), 0x01, 0x00, 0, 1, 0, 0, 0, 0, 0, 0}
	start := 0
	for i := 0; i <= len(name); i++ {
		if i < len(name) && name[i] != '.' {
			continue
		}
		label := name[start:i]
		if len(label) == 0 || len(label) > 63 {
			return nil, 0, fmt.Errorf("dns name %q: bad label", name)
		}
		msg = append(msg, byte(len(label)))
		msg = append(msg, label...)
		start = i + 1
	}
	msg = append(msg, 0, 0, 1, 0, 1) // root, QTYPE A, QCLASS IN
	return msg, id, nil
}
