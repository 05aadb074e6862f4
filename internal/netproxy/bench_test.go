package netproxy

import (
	"bytes"
	"crypto/tls"
	"fmt"
	"io"
	"net/http"
	"testing"

	"golang.org/x/net/proxy"
)

// BenchmarkDownload fetches 10 MiB from a loopback server directly and
// through the proxy, side by side: plain HTTP directly and forwarded, and
// HTTPS directly, through a CONNECT tunnel and through SOCKS5.
//
//	go test -run XXX -bench Download ./internal/netproxy
func BenchmarkDownload(b *testing.B) {
	const size = 10 << 20
	body := bytes.Repeat([]byte("cordon-netproxy-"), size/16)
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Length", fmt.Sprint(len(body)))
		w.Write(body)
	})
	_, plainPort := newHTTPServer(b, h)
	_, tlsPort := newTLSServer(b, h)
	tp := startProxy(b, Config{}, "allowed.test", "127.0.0.1")
	_, pool := testCert()
	tlsConf := &tls.Config{RootCAs: pool}
	socks, err := proxy.SOCKS5("tcp", tp.addr, nil, proxy.Direct)
	if err != nil {
		b.Fatal(err)
	}
	direct := &http.Transport{TLSClientConfig: tlsConf, DisableKeepAlives: true}
	// Directly, the names would need the system's resolver: the direct
	// runs use the address, which is what the proxy connects to.
	cases := []struct {
		name string
		tr   *http.Transport
		url  string
	}{
		{"http/direct", direct, fmt.Sprintf("http://127.0.0.1:%d/", plainPort)},
		{"http/proxy-forward", &http.Transport{Proxy: http.ProxyURL(tp.url("http")), DisableKeepAlives: true}, fmt.Sprintf("http://allowed.test:%d/", plainPort)},
		{"https/direct", &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool, ServerName: "allowed.test"}, DisableKeepAlives: true}, fmt.Sprintf("https://127.0.0.1:%d/", tlsPort)},
		{"https/proxy-connect", &http.Transport{Proxy: http.ProxyURL(tp.url("http")), TLSClientConfig: tlsConf, DisableKeepAlives: true}, fmt.Sprintf("https://allowed.test:%d/", tlsPort)},
		{"https/proxy-socks5", &http.Transport{DialContext: socks.(proxy.ContextDialer).DialContext, TLSClientConfig: tlsConf, DisableKeepAlives: true}, fmt.Sprintf("https://allowed.test:%d/", tlsPort)},
	}
	for _, c := range cases {
		b.Run(c.name, func(b *testing.B) {
			client := &http.Client{Transport: c.tr}
			b.SetBytes(size)
			for b.Loop() {
				resp, err := client.Get(c.url)
				if err != nil {
					b.Fatal(err)
				}
				n, err := io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
				if err != nil || n != size {
					b.Fatalf("%d bytes, %v", n, err)
				}
			}
			c.tr.CloseIdleConnections()
		})
	}
}
