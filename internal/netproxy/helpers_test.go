package netproxy

import (
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"runtime"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/cordon-sandbox/cordon/internal/netproxy/netproxytest"
	"github.com/cordon-sandbox/cordon/policy"
)

// testNames resolves the test names to the loopback servers.
var testNames = netproxytest.Names

// testCert is netproxytest's certificate, and a pool that trusts it.
func testCert() (tls.Certificate, *x509.CertPool) { return netproxytest.Cert(), netproxytest.Pool() }

// hello answers every request with "hello <host>" and the request's Host.
var hello = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
	fmt.Fprintf(w, "hello %s", r.Host)
})

var newTLSServer = netproxytest.NewTLSServer

var port = netproxytest.Port

// serveTCP serves each connection to a loopback listener with handle,
// until the test ends, and returns the port.
func serveTCP(t testing.TB, handle func(net.Conn)) uint16 {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { l.Close() })
	go func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			go func() {
				defer c.Close()
				handle(c)
			}()
		}
	}()
	return port(t, l.Addr())
}

func newHTTPServer(t testing.TB, h http.Handler) (*httptest.Server, uint16) {
	t.Helper()
	s := httptest.NewServer(h)
	t.Cleanup(s.Close)
	return s, port(t, s.Listener.Addr())
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

// openFDs counts this process's open descriptors, or returns -1 where
// it cannot (not Linux: under Wine /proc/self/fd lists Wine's own).
func openFDs(t testing.TB) int {
	t.Helper()
	if runtime.GOOS != "linux" {
		return -1
	}
	ents, err := os.ReadDir("/proc/self/fd")
	if err != nil {
		t.Fatalf("no /proc/self/fd: %v", err)
	}
	return len(ents)
}

// isReset reports a connection reset by the peer (ECONNRESET, or
// Windows' WSAECONNRESET).
func isReset(err error) bool {
	return errors.Is(err, syscall.ECONNRESET) || runtime.GOOS == "windows" && errors.Is(err, syscall.Errno(10054))
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
