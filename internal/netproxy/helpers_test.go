package netproxy

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"fmt"
	"io"
	"log"
	"math/big"
	"net"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"net/url"
	"os"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/cordon-sandbox/cordon/policy"
)

// fakeResolver answers from a map; other names do not exist. It is the
// tests' way to give names to the loopback servers: the proxy checks its
// answers like the system's.
type fakeResolver map[string][]string

func (r fakeResolver) LookupNetIP(ctx context.Context, network, host string) ([]netip.Addr, error) {
	addrs, ok := r[host]
	if !ok {
		return nil, &net.DNSError{Err: "no such host", Name: host, IsNotFound: true}
	}
	var out []netip.Addr
	for _, a := range addrs {
		out = append(out, netip.MustParseAddr(a))
	}
	return out, nil
}

// testNames are the names the tests' servers answer to.
var testNames = fakeResolver{
	"allowed.test": {"127.0.0.1"},
	"other.test":   {"127.0.0.1"},
	"rebind.test":  {"127.0.0.1"},
	"private.test": {"10.11.12.13", "127.0.0.1"},
}

// testCert is a self-signed certificate for the test names and 127.0.0.1,
// and a pool that trusts it.
var testCert = sync.OnceValues(func() (tls.Certificate, *x509.CertPool) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		panic(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber:          big.NewInt(1),
		Subject:               pkix.Name{CommonName: "cordon netproxy test"},
		NotBefore:             time.Now().Add(-time.Hour),
		NotAfter:              time.Now().Add(24 * time.Hour),
		KeyUsage:              x509.KeyUsageDigitalSignature | x509.KeyUsageCertSign,
		ExtKeyUsage:           []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		BasicConstraintsValid: true,
		IsCA:                  true,
		DNSNames:              []string{"allowed.test", "other.test", "rebind.test", "private.test"},
		IPAddresses:           []net.IP{net.IPv4(127, 0, 0, 1)},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		panic(err)
	}
	leaf, err := x509.ParseCertificate(der)
	if err != nil {
		panic(err)
	}
	pool := x509.NewCertPool()
	pool.AddCert(leaf)
	return tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key, Leaf: leaf}, pool
})

// hello answers every request with "hello <host>" and the request's Host.
var hello = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
	fmt.Fprintf(w, "hello %s", r.Host)
})

// newTLSServer starts an HTTPS server on 127.0.0.1 with testCert.
func newTLSServer(t testing.TB, h http.Handler) (*httptest.Server, uint16) {
	t.Helper()
	cert, _ := testCert()
	s := httptest.NewUnstartedServer(h)
	s.TLS = &tls.Config{Certificates: []tls.Certificate{cert}}
	s.Config.ErrorLog = log.New(io.Discard, "", 0) // handshakes the tests cut short
	s.StartTLS()
	t.Cleanup(s.Close)
	return s, port(t, s.Listener.Addr())
}

func newHTTPServer(t testing.TB, h http.Handler) (*httptest.Server, uint16) {
	t.Helper()
	s := httptest.NewServer(h)
	t.Cleanup(s.Close)
	return s, port(t, s.Listener.Addr())
}

func port(t testing.TB, a net.Addr) uint16 {
	t.Helper()
	ap, err := netip.ParseAddrPort(a.String())
	if err != nil {
		t.Fatal(err)
	}
	return ap.Port()
}

// testProxy is a proxy serving on 127.0.0.1, with the decisions it made.
type testProxy struct {
	*Proxy
	addr string
	mu   sync.Mutex
	log  []Decision
	done chan error
}

func (tp *testProxy) decisions() []Decision {
	tp.mu.Lock()
	defer tp.mu.Unlock()
	return append([]Decision(nil), tp.log...)
}

// waitDecisions waits until the proxy has made n decisions (a tunnel's
// comes when its client's first bytes have been checked) and returns them.
func (tp *testProxy) waitDecisions(t testing.TB, n int) []Decision {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		d := tp.decisions()
		if len(d) >= n {
			return d
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d decisions, waited for %d: %v", len(d), n, d)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func (tp *testProxy) url(scheme string) *url.URL {
	return &url.URL{Scheme: scheme, Host: tp.addr}
}

// startProxy serves a proxy for the allowlist patterns on a loopback port,
// with testNames as its resolver unless cfg has one. It is closed at the
// end of the test.
func startProxy(t testing.TB, cfg Config, patterns ...string) *testProxy {
	t.Helper()
	if cfg.Allow == nil {
		a, err := (&policy.NetworkAllowlist{AllowHosts: patterns}).Resolve()
		if err != nil {
			t.Fatal(err)
		}
		cfg.Allow = a
	}
	if cfg.Resolver == nil {
		cfg.Resolver = testNames
	}
	tp := &testProxy{done: make(chan error, 1)}
	cfg.OnDecision = func(d Decision) {
		tp.mu.Lock()
		tp.log = append(tp.log, d)
		tp.mu.Unlock()
	}
	tp.Proxy = New(cfg)
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	tp.addr = l.Addr().String()
	go func() { tp.done <- tp.Serve(l) }()
	t.Cleanup(func() {
		tp.Close()
		if err := <-tp.done; err != ErrClosed {
			t.Errorf("Serve returned %v, want ErrClosed", err)
		}
	})
	return tp
}

// clientVia is an HTTP client that goes through the proxy at u and trusts
// testCert.
func clientVia(u *url.URL) *http.Client {
	_, pool := testCert()
	return &http.Client{
		Transport: &http.Transport{
			Proxy:             http.ProxyURL(u),
			TLSClientConfig:   &tls.Config{RootCAs: pool},
			DisableKeepAlives: true,
		},
		Timeout: 20 * time.Second,
	}
}

// openFDs counts this process's open descriptors.
func openFDs(t testing.TB) int {
	t.Helper()
	ents, err := os.ReadDir("/proc/self/fd")
	if err != nil {
		t.Skipf("no /proc/self/fd: %v", err)
	}
	return len(ents)
}

// settle waits until cond holds, for at most 10 s, and reports whether
// it did: goroutines and descriptors take a moment to go after Close.
func settle(cond func() bool) bool {
	for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); time.Sleep(10 * time.Millisecond) {
		if cond() {
			return true
		}
	}
	return cond()
}

// goroutines lists the goroutines still running, for a leak report.
func goroutines() string {
	b := make([]byte, 1<<20)
	b = b[:runtime.Stack(b, true)]
	return strings.TrimSpace(string(b))
}
