// Package netproxytest has what the tests of the allowlist proxy share,
// in its own package and through the sandboxes: names for loopback test
// servers, and a certificate for them.
package netproxytest

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"io"
	"log"
	"math/big"
	"net"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"sync"
	"testing"
	"time"
)

// Resolver answers from a map; other names do not exist. It is the tests'
// way to give names to loopback servers: the proxy checks its answers as
// it checks the system's.
type Resolver map[string][]string

func (r Resolver) LookupNetIP(ctx context.Context, network, host string) ([]netip.Addr, error) {
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

// Names are the names the tests use: each resolves to the loopback
// (private.test to a private address too), and Cert is valid for each.
var Names = Resolver{
	"allowed.test": {"127.0.0.1"},
	"other.test":   {"127.0.0.1"},
	"rebind.test":  {"127.0.0.1"},
	"private.test": {"10.11.12.13", "127.0.0.1"},
}

type certs struct {
	cert tls.Certificate
	pool *x509.CertPool
	pem  []byte
}

var testCerts = sync.OnceValue(func() certs {
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
		IPAddresses:           []net.IP{net.IPv4(127, 0, 0, 1)},
	}
	for n := range Names {
		tmpl.DNSNames = append(tmpl.DNSNames, n)
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
	return certs{
		cert: tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key, Leaf: leaf},
		pool: pool,
		pem:  pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}),
	}
})

// Cert is a self-signed certificate for Names and 127.0.0.1.
func Cert() tls.Certificate { return testCerts().cert }

// Pool trusts Cert.
func Pool() *x509.CertPool { return testCerts().pool }

// PEM is Cert in PEM, for a client's CA file.
func PEM() []byte { return testCerts().pem }

// NewTLSServer starts an HTTPS server on 127.0.0.1 with Cert, closed when
// the test ends, and returns it with its port.
func NewTLSServer(t testing.TB, h http.Handler) (*httptest.Server, uint16) {
	t.Helper()
	s := httptest.NewUnstartedServer(h)
	s.TLS = &tls.Config{Certificates: []tls.Certificate{Cert()}}
	s.Config.ErrorLog = log.New(io.Discard, "", 0) // handshakes the tests cut short
	s.StartTLS()
	t.Cleanup(s.Close)
	return s, Port(t, s.Listener.Addr())
}

// Port is the port of a TCP address.
func Port(t testing.TB, a net.Addr) uint16 {
	t.Helper()
	ap, err := netip.ParseAddrPort(a.String())
	if err != nil {
		t.Fatal(err)
	}
	return ap.Port()
}
