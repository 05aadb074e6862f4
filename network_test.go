package cordon

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/cordon-sandbox/cordon/internal/testutil"
	"github.com/cordon-sandbox/cordon/policy"
	"github.com/cordon-sandbox/cordon/sandbox"
)

// proxyBackend enforces the allowlist as far as Run can see: it serves
// Spec.Proxy on a loopback listener and, as its "command", asks the proxy
// for each of targets by CONNECT.
type proxyBackend struct {
	fakeBackend
	targets []string
	served  chan error
}

func (proxyBackend) Features() sandbox.Features { return sandbox.Features{NetworkAllowlist: true} }

func (b proxyBackend) Start(_ context.Context, s sandbox.Spec) (sandbox.Process, error) {
	if s.Proxy == nil {
		return nil, fmt.Errorf("no proxy in the spec")
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	go func() { b.served <- s.Proxy.Serve(l) }()
	for _, target := range b.targets {
		c, err := net.Dial("tcp", l.Addr().String())
		if err != nil {
			return nil, err
		}
		fmt.Fprintf(c, "CONNECT %s HTTP/1.1\r\nHost: %s\r\n\r\n", target, target)
		resp, err := http.ReadResponse(bufio.NewReader(c), nil)
		if err != nil {
			return nil, err
		}
		io.Copy(io.Discard, resp.Body)
		c.Close()
	}
	return fakeProcess{}, nil
}

// specBackend enforces no allowlist (fakePlatform's Features) and keeps
// the spec it was given.
type specBackend struct {
	fakeBackend
	spec *sandbox.Spec
}

func (b specBackend) Start(_ context.Context, s sandbox.Spec) (sandbox.Process, error) {
	*b.spec = s
	return fakeProcess{}, nil
}

// Run starts the allowlist proxy for a backend that enforces allowlists,
// reports its decisions in Result.Network and cordon.log, and closes it
// after the run. A backend that cannot enforce one is refused, or with
// best effort runs without network and says so.
func TestRunNetworkAllowlist(t *testing.T) {
	state := testutil.TempDir(t)
	t.Setenv("CORDON_STATE_DIR", state)
	pol := policy.Policy{Mode: policy.ReadOnly, NetworkAllowlist: &policy.NetworkAllowlist{AllowHosts: []string{"allowed.invalid"}}}
	req := Request{Policy: pol, Command: []string{"x"}, Dir: testutil.TempDir(t), Env: []string{}}

	b := proxyBackend{targets: []string{"denied.invalid:443", "denied.invalid:443", "127.0.0.1:22"}, served: make(chan error, 1)}
	res, err := run(context.Background(), req, func(string) (sandbox.Backend, error) { return b, nil })
	if err != nil {
		t.Fatal(err)
	}
	if err := <-b.served; err == nil || !strings.Contains(err.Error(), "closed") {
		t.Errorf("the proxy was not closed after the run: Serve returned %v", err)
	}
	want := &NetworkReport{Allowed: []NetworkUse{}, Denied: []NetworkUse{
		{Host: "denied.invalid", Port: 443, Reason: "not in the allowlist", Count: 2},
		{Host: "127.0.0.1", Port: 22, Reason: "address not in the allowlist (an address is allowed only when listed itself)", Count: 1},
	}}
	if fmt.Sprint(res.Network) != fmt.Sprint(want) {
		t.Errorf("Network = %+v, want %+v", res.Network, want)
	}
	log, err := os.ReadFile(filepath.Join(state, "cordon.log"))
	if err != nil {
		t.Fatal(err)
	}
	if n := strings.Count(string(log), "msg=NETWORK decision=denied proto=connect host=denied.invalid port=443 reason=\"not in the allowlist\""); n != 2 {
		t.Errorf("cordon.log has %d lines for the refused host, want 2:\n%s", n, log)
	}

	// No request reached the proxy: an empty report, not a missing one.
	b.targets = nil
	if res, err := run(context.Background(), req, func(string) (sandbox.Backend, error) { return b, nil }); err != nil || res.Network == nil || len(res.Network.Allowed)+len(res.Network.Denied) != 0 {
		t.Errorf("no request: %+v, %v", res.Network, err)
	}

	var spec sandbox.Spec
	plain := specBackend{spec: &spec}
	if _, err := run(context.Background(), req, func(string) (sandbox.Backend, error) { return plain, nil }); ErrorCode(err) != "unavailable" || !strings.Contains(err.Error(), "network allowlist") {
		t.Errorf("a backend without allowlists: %v, want unavailable", err)
	}
	req.BestEffort = true
	res, err = run(context.Background(), req, func(string) (sandbox.Backend, error) { return plain, nil })
	if err != nil || res.Network != nil || spec.Proxy != nil || spec.Policy.Network || len(res.Degraded) != 1 || !strings.HasPrefix(res.Degraded[0], "network-allowlist:") {
		t.Errorf("best effort without allowlists: %+v, %v; spec %+v", res, err, spec)
	}
}
