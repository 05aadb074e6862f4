package netfence

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"net"
	"os"
	"syscall"
	"testing"
	"time"

	"github.com/cordon-sandbox/cordon/internal/testutil"
)

// Every probe here targets loopback only.

func TestVerifyTCP(t *testing.T) {
	openAddr, closedAddr := testutil.LoopbackPorts(t)

	r := VerifyWith(context.Background(), []Probe{
		{Name: "open", Kind: ProbeTCP, Target: openAddr, Timeout: 5 * time.Second},
		{Name: "closed", Kind: ProbeTCP, Target: closedAddr, Timeout: 5 * time.Second},
	})
	if got := r.Results[0].Outcome; got != OutcomeConnected {
		t.Errorf("open port: %s (%s)", got, r.Results[0].Err)
	}
	if got := r.Results[1].Outcome; got != OutcomeRefused {
		t.Errorf("closed port: %s (%s)", got, r.Results[1].Err)
	}
	if !r.Direct() || r.Fenced() {
		t.Errorf("report %+v: Direct=%v Fenced=%v", r, r.Direct(), r.Fenced())
	}
}

// fakeDNS answers every query on a loopback UDP port with a header-only
// reply of the same ID, or never answers when silent.
func fakeDNS(t *testing.T, silent bool) string {
	t.Helper()
	pc, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { pc.Close() })
	go func() {
		buf := make([]byte, 512)
		for {
			n, from, err := pc.ReadFrom(buf)
			if err != nil {
				return
			}
			if silent || n < 12 {
				continue
			}
			reply := make([]byte, 12)
			copy(reply, buf[:2])
			reply[2] = 0x81 // QR, RD
			reply[3] = 0x83 // RA, NXDOMAIN
			// A reply with another ID first: it must be ignored.
			wrong := append([]byte(nil), reply...)
			binary.BigEndian.PutUint16(wrong, binary.BigEndian.Uint16(reply)+1)
			pc.WriteTo(wrong, from)
			pc.WriteTo(reply, from)
		}
	}()
	return pc.LocalAddr().String()
}

func TestVerifyDNS(t *testing.T) {
	if testutil.UnderWine() {
		t.Skip("Wine 8 cannot open a UDP listener (WSAIoctl SIO_UDP_CONNRESET fails with WSAEOPNOTSUPP)")
	}
	r := VerifyWith(context.Background(), []Probe{
		{Name: "answers", Kind: ProbeDNSUDP, Target: fakeDNS(t, false), Query: "example.com", Timeout: 5 * time.Second},
		{Name: "silent", Kind: ProbeDNSUDP, Target: fakeDNS(t, true), Query: "example.com", Timeout: 200 * time.Millisecond},
		{Name: "bad name", Kind: ProbeDNSUDP, Target: fakeDNS(t, false), Query: "a..b", Timeout: time.Second},
	})
	want := []Outcome{OutcomeAnswered, OutcomeTimeout, OutcomeError}
	for i, w := range want {
		if got := r.Results[i]; got.Outcome != w {
			t.Errorf("%s: %s (%s), want %s", got.Probe, got.Outcome, got.Err, w)
		}
	}
}

func TestVerifyResolve(t *testing.T) {
	r := VerifyWith(context.Background(), []Probe{{Name: "localhost", Kind: ProbeResolve, Query: "localhost", Timeout: 5 * time.Second}})
	if got := r.Results[0]; got.Outcome != OutcomeResolved || got.Target != "localhost" {
		t.Errorf("%+v", got)
	}
	// The system resolver does not count as a direct way out.
	if r.Direct() {
		t.Error("a resolver lookup counted as direct traffic")
	}
}

func TestDNSMessage(t *testing.T) {
	msg, id, err := dnsMessage("example.com")
	if err != nil {
		t.Fatal(err)
	}
	if binary.BigEndian.Uint16(msg) != id || msg[2] != 1 || binary.BigEndian.Uint16(msg[4:]) != 1 {
		t.Errorf("header % x", msg[:12])
	}
	if q := string(msg[12:]); q != "\x07example\x03com\x00\x00\x01\x00\x01" {
		t.Errorf("question %q", q)
	}
	for _, bad := range []string{"", "a..b", "trailing.", string(make([]byte, 64))} {
		if _, _, err := dnsMessage(bad); err == nil {
			t.Errorf("dnsMessage(%q) accepted", bad)
		}
	}
}

func TestClassify(t *testing.T) {
	op := func(err error) error {
		return &net.OpError{Op: "dial", Net: "tcp", Err: os.NewSyscallError("connect", err)}
	}
	cases := []struct {
		err  error
		want Outcome
	}{
		{op(testErrnos.access), OutcomeBlocked},
		{op(testErrnos.access2), OutcomeBlocked},
		{op(testErrnos.refused), OutcomeRefused},
		{op(testErrnos.unreachable), OutcomeUnreachable},
		{op(syscall.Errno(0x7fff)), OutcomeError},
		{fmt.Errorf("dial: %w", context.DeadlineExceeded), OutcomeTimeout},
		{op(os.ErrDeadlineExceeded), OutcomeTimeout},
		{errors.New("something else"), OutcomeError},
		{nil, OutcomeError},
	}
	for _, c := range cases {
		if got := Classify(c.err); got != c.want {
			t.Errorf("Classify(%v) = %s, want %s", c.err, got, c.want)
		}
	}
}

func TestReportFenced(t *testing.T) {
	res := func(k ProbeKind, o Outcome) Result { return Result{Kind: k, Outcome: o} }
	cases := []struct {
		name           string
		results        []Result
		fenced, direct bool
	}{
		{"all blocked", []Result{res(ProbeTCP, OutcomeBlocked), res(ProbeDNSUDP, OutcomeBlocked)}, true, false},
		{"udp silently dropped", []Result{res(ProbeTCP, OutcomeBlocked), res(ProbeDNSUDP, OutcomeTimeout)}, true, false},
		{"resolver leaks, direct fenced", []Result{res(ProbeTCP, OutcomeBlocked), res(ProbeResolve, OutcomeResolved)}, true, false},
		{"tcp timeout is no proof", []Result{res(ProbeTCP, OutcomeTimeout), res(ProbeDNSUDP, OutcomeTimeout)}, false, false},
		{"no network at all", []Result{res(ProbeTCP, OutcomeUnreachable)}, false, false},
		{"IPv4-only machine", []Result{res(ProbeTCP, OutcomeBlocked), res(ProbeTCP, OutcomeUnreachable)}, true, false},
		{"tcp timeout beside a block", []Result{res(ProbeTCP, OutcomeBlocked), res(ProbeTCP, OutcomeTimeout)}, false, false},
		{"tcp error beside a block", []Result{res(ProbeTCP, OutcomeBlocked), res(ProbeTCP, OutcomeError)}, false, false},
		{"one connected", []Result{res(ProbeTCP, OutcomeBlocked), res(ProbeTCP, OutcomeConnected)}, false, true},
		{"dns answered", []Result{res(ProbeTCP, OutcomeBlocked), res(ProbeDNSUDP, OutcomeAnswered)}, false, true},
		{"refused means it left", []Result{res(ProbeTCP, OutcomeRefused)}, false, true},
		{"empty", nil, false, false},
	}
	for _, c := range cases {
		r := Report{Results: c.results}
		if r.Fenced() != c.fenced || r.Direct() != c.direct {
			t.Errorf("%s: Fenced=%v Direct=%v, want %v %v", c.name, r.Fenced(), r.Direct(), c.fenced, c.direct)
		}
	}
}
