package netproxy

import (
	"bufio"
	"bytes"
	"crypto/tls"
	"encoding/binary"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/netip"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"golang.org/x/net/proxy"
)

func get(t *testing.T, c *http.Client, url string) (int, string, error) {
	t.Helper()
	resp, err := c.Get(url)
	if err != nil {
		return 0, "", err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b), err
}

func TestHTTPSByNameThroughConnect(t *testing.T) {
	_, port := newTLSServer(t, hello)
	// allowed.test resolves to 127.0.0.1, which a name may reach only
	// because the address is listed too.
	tp := startProxy(t, Config{}, "allowed.test", fmt.Sprintf("127.0.0.1:%d", port))
	c := clientVia(tp.url("http"))

	code, body, err := get(t, c, fmt.Sprintf("https://allowed.test:%d/x", port))
	if err != nil || code != 200 || body != fmt.Sprintf("hello allowed.test:%d", port) {
		t.Fatalf("allowed name: %d %q %v", code, body, err)
	}
	// A second name that resolves to the same server is not listed.
	if _, _, err := get(t, c, fmt.Sprintf("https://other.test:%d/", port)); err == nil || !strings.Contains(err.Error(), "Forbidden") {
		t.Errorf("unlisted name: %v, want the proxy's 403", err)
	}
	ds := tp.waitDecisions(t, 2)
	want := Decision{Proto: "connect", Host: "allowed.test", Port: port, Addr: netip.MustParseAddr("127.0.0.1"), Allowed: true,
		Rule: fmt.Sprintf("allowed.test, address 127.0.0.1:%d", port)}
	if d := ds[0]; d.Proto != want.Proto || d.Host != want.Host || d.Port != want.Port || d.Addr != want.Addr || !d.Allowed || d.Rule != want.Rule {
		t.Errorf("decision %+v, want %+v", d, want)
	}
	if d := ds[1]; d.Allowed || d.Host != "other.test" || d.Reason != "not in the allowlist" {
		t.Errorf("decision %+v, want other.test refused", d)
	}
	s := tp.Summary()
	if len(s.Allowed) != 1 || s.Allowed[0].Count != 1 || s.Allowed[0].Host != "allowed.test" ||
		len(s.Denied) != 1 || s.Denied[0].Host != "other.test" || s.Denied[0].Reason != "not in the allowlist" {
		t.Errorf("summary %+v", s)
	}
}

func TestDNSRebindingRefused(t *testing.T) {
	_, port := newTLSServer(t, hello)
	// rebind.test is listed, but it resolves to 127.0.0.1, which is not;
	// 127.0.0.1 on another port does not count either.
	tp := startProxy(t, Config{}, "rebind.test", "private.test", "127.0.0.1:1")
	c := clientVia(tp.url("http"))
	for _, name := range []string{"rebind.test", "private.test"} {
		if _, _, err := get(t, c, fmt.Sprintf("https://%s:%d/", name, port)); err == nil {
			t.Errorf("%s reached the loopback server", name)
		}
	}
	ds := tp.waitDecisions(t, 2)
	for _, d := range ds {
		if d.Allowed || !strings.Contains(d.Reason, "resolves only to addresses a name may not reach") || !strings.Contains(d.Reason, "127.0.0.1 (loopback)") {
			t.Errorf("decision %+v, want a refusal naming the loopback address", d)
		}
	}
	if !strings.Contains(ds[1].Reason, "10.11.12.13 (private)") {
		t.Errorf("private.test: %q does not name the private address", ds[1].Reason)
	}
	// The address literal itself is refused unless listed.
	if _, _, err := get(t, c, fmt.Sprintf("https://127.0.0.1:%d/", port)); err == nil {
		t.Error("an unlisted address literal was reached")
	}
	if d := tp.waitDecisions(t, 3)[2]; d.Allowed || !strings.Contains(d.Reason, "address not in the allowlist") {
		t.Errorf("address literal: %+v", d)
	}
}

func TestAddressLiteralListed(t *testing.T) {
	_, port := newTLSServer(t, hello)
	tp := startProxy(t, Config{}, "127.0.0.1")
	code, body, err := get(t, clientVia(tp.url("http")), fmt.Sprintf("https://127.0.0.1:%d/", port))
	if err != nil || code != 200 || !strings.HasPrefix(body, "hello 127.0.0.1") {
		t.Fatalf("listed address: %d %q %v", code, body, err)
	}
	// A name that is not listed does not become allowed by its address.
	if _, _, err := get(t, clientVia(tp.url("http")), fmt.Sprintf("https://allowed.test:%d/", port)); err == nil {
		t.Error("an unlisted name was reached through its listed address")
	}
}

// connectRaw sends a CONNECT request for target and returns the
// connection once the proxy answered 200.
func connectRaw(t *testing.T, proxyAddr, target string) net.Conn {
	t.Helper()
	c, err := net.Dial("tcp", proxyAddr)
	if err != nil {
		t.Fatal(err)
	}
	fmt.Fprintf(c, "CONNECT %s HTTP/1.1\r\nHost: %s\r\n\r\n", target, target)
	br := bufio.NewReader(c)
	resp, err := http.ReadResponse(br, &http.Request{Method: http.MethodConnect})
	if err != nil || resp.StatusCode != 200 {
		t.Fatalf("CONNECT %s: %v %v", target, resp, err)
	}
	return &bufConn{Conn: c, r: br}
}

// bufConn reads what a bufio.Reader took from Conn first.
type bufConn struct {
	net.Conn
	r *bufio.Reader
}

func (c *bufConn) Read(b []byte) (int, error) { return c.r.Read(b) }

func TestSNIMismatchRefused(t *testing.T) {
	_, port := newTLSServer(t, hello)
	tp := startProxy(t, Config{}, "allowed.test", "other.test", "127.0.0.1")
	_, pool := testCert()
	target := fmt.Sprintf("allowed.test:%d", port)
	for i, c := range []struct {
		sni string
		ok  bool
	}{
		{"ALLOWED.test", true}, // names compare without case
		{"other.test", false},  // allowed itself, but not the host the tunnel is for
		{"", true},             // no SNI: nothing to compare
	} {
		conn := connectRaw(t, tp.addr, target)
		tc := tls.Client(conn, &tls.Config{ServerName: c.sni, RootCAs: pool, InsecureSkipVerify: c.sni == ""})
		err := tc.Handshake()
		tc.Close()
		if (err == nil) != c.ok {
			t.Errorf("SNI %q through a tunnel to %s: handshake error %v", c.sni, target, err)
		}
		d := tp.waitDecisions(t, i+1)[i]
		if d.Allowed != c.ok || !c.ok && d.Reason != `TLS server name "other.test" is not the host asked for` {
			t.Errorf("SNI %q: decision %+v", c.sni, d)
		}
	}
}

func TestTLSClientHelloGarbageRefused(t *testing.T) {
	_, port := newTLSServer(t, hello)
	tp := startProxy(t, Config{HandshakeTimeout: 200 * time.Millisecond}, "allowed.test", "127.0.0.1")
	for i, junk := range [][]byte{
		{0x16, 0x03, 0x01, 0x00, 0x05, 1, 2, 3, 4, 5}, // a handshake record holding no ClientHello
		{0x16, 0x03, 0x01},                            // a record header cut short: the timeout ends it
	} {
		conn := connectRaw(t, tp.addr, fmt.Sprintf("allowed.test:%d", port))
		conn.Write(junk)
		conn.SetReadDeadline(time.Now().Add(10 * time.Second))
		if _, err := io.ReadAll(conn); err != nil {
			t.Errorf("junk %d: the tunnel was not closed: %v", i, err)
		}
		conn.Close()
		if d := tp.waitDecisions(t, i+1)[i]; d.Allowed || !strings.Contains(d.Reason, "TLS") {
			t.Errorf("junk %d: decision %+v", i, d)
		}
	}
}

func TestServerFirstProtocolThroughTunnel(t *testing.T) {
	// A server that speaks first (SSH, SMTP) gets its greeting through
	// before the client has sent anything.
	p := serveTCP(t, func(c net.Conn) {
		c.Write([]byte("220 hello\r\n"))
		b := make([]byte, 5)
		io.ReadFull(c, b)
		c.Write(bytes.ToUpper(b))
	})
	tp := startProxy(t, Config{}, "allowed.test", "127.0.0.1")
	conn := connectRaw(t, tp.addr, fmt.Sprintf("allowed.test:%d", p))
	defer conn.Close()
	conn.SetReadDeadline(time.Now().Add(10 * time.Second))
	br := bufio.NewReader(conn)
	if line, err := br.ReadString('\n'); err != nil || line != "220 hello\r\n" {
		t.Fatalf("greeting %q %v", line, err)
	}
	conn.Write([]byte("quit!"))
	if b, err := io.ReadAll(br); err != nil || string(b) != "QUIT!" {
		t.Errorf("reply %q %v", b, err)
	}
	if d := tp.waitDecisions(t, 1)[0]; !d.Allowed {
		t.Errorf("decision %+v", d)
	}
}

func TestPlainHTTPForward(t *testing.T) {
	var mu sync.Mutex
	var seen []http.Header
	_, port := newHTTPServer(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		seen = append(seen, r.Header.Clone())
		mu.Unlock()
		fmt.Fprintf(w, "plain %s %s", r.Host, r.URL)
	}))
	tp := startProxy(t, Config{}, "allowed.test", "127.0.0.1")
	c := clientVia(tp.url("http"))
	code, body, err := get(t, c, fmt.Sprintf("http://allowed.test:%d/a?b=c", port))
	if err != nil || code != 200 || body != fmt.Sprintf("plain allowed.test:%d /a?b=c", port) {
		t.Fatalf("allowed: %d %q %v", code, body, err)
	}
	code, body, err = get(t, c, fmt.Sprintf("http://other.test:%d/", port))
	if err != nil || code != http.StatusForbidden || !strings.Contains(body, "not in the allowlist") {
		t.Errorf("refused: %d %q %v", code, body, err)
	}
	mu.Lock()
	defer mu.Unlock()
	if len(seen) != 1 {
		t.Fatalf("the server saw %d requests, want 1", len(seen))
	}
	for _, h := range []string{"Proxy-Connection", "Proxy-Authorization", "X-Forwarded-For"} {
		if seen[0].Get(h) != "" {
			t.Errorf("forwarded header %s: %q", h, seen[0].Get(h))
		}
	}
	ds := tp.waitDecisions(t, 2)
	if !ds[0].Allowed || ds[0].Proto != "http" || ds[1].Allowed || ds[1].Host != "other.test" {
		t.Errorf("decisions %+v", ds)
	}
}

func TestSOCKS5RemoteDNS(t *testing.T) {
	_, port := newTLSServer(t, hello)
	tp := startProxy(t, Config{}, "allowed.test", "127.0.0.1")
	// x/net's SOCKS5 client sends the name, not an address: the proxy
	// resolves it (socks5h).
	d, err := proxy.SOCKS5("tcp", tp.addr, nil, proxy.Direct)
	if err != nil {
		t.Fatal(err)
	}
	_, pool := testCert()
	c := &http.Client{Transport: &http.Transport{
		DialContext:       d.(proxy.ContextDialer).DialContext,
		TLSClientConfig:   &tls.Config{RootCAs: pool},
		DisableKeepAlives: true,
	}}
	code, body, err := get(t, c, fmt.Sprintf("https://allowed.test:%d/", port))
	if err != nil || code != 200 || body != fmt.Sprintf("hello allowed.test:%d", port) {
		t.Fatalf("SOCKS5: %d %q %v", code, body, err)
	}
	if _, err := d.Dial("tcp", fmt.Sprintf("other.test:%d", port)); err == nil || !strings.Contains(err.Error(), "not allowed") {
		t.Errorf("SOCKS5 to an unlisted name: %v", err)
	}
	if _, err := d.Dial("tcp", fmt.Sprintf("nowhere.test:%d", port)); err == nil {
		t.Error("SOCKS5 to an unlisted, unresolvable name connected")
	}
	ds := tp.waitDecisions(t, 3)
	if !ds[0].Allowed || ds[0].Proto != "socks5" || ds[0].Host != "allowed.test" || ds[1].Allowed || ds[1].Host != "other.test" {
		t.Errorf("decisions %+v", ds)
	}
}

func TestSOCKS5AddressTypes(t *testing.T) {
	p := serveTCP(t, func(c net.Conn) { c.Write([]byte("hi")) })
	tp := startProxy(t, Config{}, "127.0.0.1")
	req := func(atyp byte, addr []byte) []byte {
		b := []byte{5, 1, 0, 5, 1, 0, atyp}
		b = append(b, addr...)
		return binary.BigEndian.AppendUint16(b, p)
	}
	for _, c := range []struct {
		name  string
		req   []byte
		reply byte
	}{
		{"IPv4", req(socksIPv4, []byte{127, 0, 0, 1}), socksSucceeded},
		{"IPv4-mapped IPv6", req(socksIPv6, netip.MustParseAddr("::ffff:127.0.0.1").AsSlice()), socksSucceeded},
		{"name of a listed address", req(socksDomain, append([]byte{9}, "127.0.0.1"...)), socksSucceeded},
		{"unlisted IPv6", req(socksIPv6, netip.MustParseAddr("::1").AsSlice()), socksNotAllowed},
		{"BIND", append([]byte{5, 1, 0, 5, 2, 0, 1, 127, 0, 0, 1}, 0, 80), socksCmdNotSupported},
		{"address type 9", []byte{5, 1, 0, 5, 1, 0, 9, 0, 0}, socksAddrNotSupported},
	} {
		conn, err := net.Dial("tcp", tp.addr)
		if err != nil {
			t.Fatal(err)
		}
		conn.Write(c.req)
		conn.SetReadDeadline(time.Now().Add(10 * time.Second))
		b, _ := io.ReadAll(conn)
		conn.Close()
		if len(b) < 4 || b[0] != 5 || b[1] != 0 || b[3] != c.reply {
			t.Errorf("%s: got %v, want reply %d", c.name, b, c.reply)
		}
		if c.reply == socksSucceeded && !bytes.HasSuffix(b, []byte("hi")) {
			t.Errorf("%s: no data through the tunnel: %v", c.name, b)
		}
	}
}

func TestGarbage(t *testing.T) {
	tp := startProxy(t, Config{HandshakeTimeout: 300 * time.Millisecond}, "allowed.test")
	cases := []struct {
		name, in, want string // want: a prefix of the answer
		decision       bool
	}{
		{"binary", "\x00\xff\xfe garbage \r\n\r\n", "HTTP/1.1 400", true},
		{"origin-form request", "GET / HTTP/1.1\r\nHost: x\r\n\r\n", "HTTP/1.1 400", true},
		{"https URL", "GET https://allowed.test/ HTTP/1.1\r\nHost: allowed.test\r\n\r\n", "HTTP/1.1 400", true},
		{"CONNECT without port", "CONNECT allowed.test HTTP/1.1\r\nHost: allowed.test\r\n\r\n", "HTTP/1.1 400", true},
		{"CONNECT port 0", "CONNECT allowed.test:0 HTTP/1.1\r\nHost: allowed.test:0\r\n\r\n", "HTTP/1.1 400", true},
		{"CONNECT garbage target", "CONNECT [::1 HTTP/1.1\r\n\r\n", "HTTP/1.1 400", true},
		{"CONNECT to a name that is none", "CONNECT a%20b.allowed.test:443 HTTP/1.1\r\n\r\n", "HTTP/1.1 400", true},
		{"CONNECT to a long name", "CONNECT " + strings.Repeat("a.", 5000) + "test:443 HTTP/1.1\r\n\r\n", "HTTP/1.1 400", true},
		{"huge header", "GET http://allowed.test/ HTTP/1.1\r\nX: " + strings.Repeat("a", 100<<10) + "\r\n\r\n", "HTTP/1.1 431", true},
		{"truncated request", "GET http://allowed.test/ HTTP/1.1\r\nHost: a", "", true},
		{"SOCKS5 wanting a password", "\x05\x01\x02", "\x05\xff", true},
		{"SOCKS5 greeting only", "\x05\x01\x00", "\x05\x00", false},
		{"SOCKS5 truncated request", "\x05\x01\x00\x05\x01\x00\x03\x10ab", "\x05\x00\x05\x01", true},
		{"SOCKS4", "\x04\x01\x00\x50\x7f\x00\x00\x01\x00", "\x00\x5b", true},
		{"nothing at all", "", "", false},
	}
	n := 0
	for _, c := range cases {
		conn, err := net.Dial("tcp", tp.addr)
		if err != nil {
			t.Fatal(err)
		}
		conn.Write([]byte(c.in))
		// Each ends with the proxy closing the connection: at once, or
		// when the handshake timeout runs out.
		conn.SetReadDeadline(time.Now().Add(10 * time.Second))
		b, err := io.ReadAll(conn)
		conn.Close()
		// The proxy closing with input unread makes the kernel reset the
		// connection, which may drop the answer.
		reset := isReset(err)
		if err != nil && !reset {
			t.Errorf("%s: not closed by the proxy: %v", c.name, err)
		}
		if !(reset && len(b) == 0) && !strings.HasPrefix(string(b), c.want) {
			t.Errorf("%s: answer %q, want it to start with %q", c.name, b, c.want)
		}
		if c.decision {
			n++
			if d := tp.waitDecisions(t, n)[n-1]; d.Allowed || d.Reason == "" {
				t.Errorf("%s: decision %+v", c.name, d)
			}
		}
	}
	time.Sleep(50 * time.Millisecond)
	ds := tp.decisions()
	if len(ds) != n {
		t.Errorf("%d decisions, want %d: %v", len(ds), n, ds)
	}
	for _, d := range ds {
		if len(d.Host) > maxHost+len("…") {
			t.Errorf("a decision keeps a host of %d bytes", len(d.Host))
		}
	}
}

// TestParallelNoLeak: 50 HTTPS fetches at once through one proxy, by
// CONNECT and SOCKS5; then Close leaves no goroutine and no descriptor
// behind.
func TestParallelNoLeak(t *testing.T) {
	g0, fd0 := runtime.NumGoroutine(), openFDs(t)
	func() {
		srv, port := newTLSServer(t, hello)
		defer srv.Close()
		tp := startProxy(t, Config{}, "allowed.test", "127.0.0.1")
		socks, err := proxy.SOCKS5("tcp", tp.addr, nil, proxy.Direct)
		if err != nil {
			t.Fatal(err)
		}
		_, pool := testCert()
		var wg sync.WaitGroup
		errs := make(chan error, 50)
		for i := range 50 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				tr := &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool}, DisableKeepAlives: true}
				if i%2 == 0 {
					tr.Proxy = http.ProxyURL(tp.url("http"))
				} else {
					tr.DialContext = socks.(proxy.ContextDialer).DialContext
				}
				defer tr.CloseIdleConnections()
				resp, err := (&http.Client{Transport: tr, Timeout: 30 * time.Second}).Get(fmt.Sprintf("https://allowed.test:%d/%d", port, i))
				if err != nil {
					errs <- err
					return
				}
				b, _ := io.ReadAll(resp.Body)
				resp.Body.Close()
				if !strings.HasPrefix(string(b), "hello allowed.test") {
					errs <- fmt.Errorf("fetch %d: %q", i, b)
				}
			}()
		}
		wg.Wait()
		close(errs)
		for err := range errs {
			t.Error(err)
		}
		// A tunnel left open, and an idle client: Close ends both.
		open := connectRaw(t, tp.addr, fmt.Sprintf("allowed.test:%d", port))
		defer open.Close()
		idle, err := net.Dial("tcp", tp.addr)
		if err != nil {
			t.Fatal(err)
		}
		defer idle.Close()
		if s := tp.Summary(); len(s.Allowed) != 1 || s.Allowed[0].Count < 50 {
			t.Errorf("summary %+v, want 50 allowed", s)
		}
		tp.Close()
		open.SetReadDeadline(time.Now().Add(10 * time.Second))
		if _, err := io.ReadAll(open); err != nil {
			t.Errorf("an open tunnel survived Close: %v", err)
		}
		if err := <-tp.done; err != ErrClosed {
			t.Errorf("Serve: %v", err)
		}
		tp.done <- ErrClosed // for the cleanup
	}()
	http.DefaultTransport.(*http.Transport).CloseIdleConnections()
	if !settle(func() bool { return runtime.NumGoroutine() <= g0 }) {
		t.Errorf("goroutines: %d before, %d after Close:\n%s", g0, runtime.NumGoroutine(), goroutines())
	}
	if fd0 >= 0 && !settle(func() bool { return openFDs(t) <= fd0 }) {
		t.Errorf("descriptors: %d before, %d after Close", fd0, openFDs(t))
	}
}

func TestMaxConnsWaits(t *testing.T) {
	tp := startProxy(t, Config{MaxConns: 1}, "allowed.test")
	first, err := net.Dial("tcp", tp.addr)
	if err != nil {
		t.Fatal(err)
	}
	first.Write([]byte{5, 1, 0}) // holds its slot after the greeting
	b := make([]byte, 2)
	if _, err := io.ReadFull(first, b); err != nil {
		t.Fatal(err)
	}
	second, err := net.Dial("tcp", tp.addr) // queued by the kernel
	if err != nil {
		t.Fatal(err)
	}
	defer second.Close()
	second.Write([]byte{5, 1, 0})
	got := make(chan error, 1)
	go func() {
		second.SetReadDeadline(time.Now().Add(20 * time.Second))
		_, err := io.ReadFull(second, b)
		got <- err
	}()
	select {
	case err := <-got:
		t.Fatalf("the second connection was served while the first held the only slot (%v)", err)
	case <-time.After(100 * time.Millisecond):
	}
	first.Close()
	if err := <-got; err != nil {
		t.Errorf("the second connection was not served after the first closed: %v", err)
	}
}

func TestNonPublic(t *testing.T) {
	for a, want := range map[string]string{
		"127.0.0.1":                "loopback",
		"127.255.0.9":              "loopback",
		"::1":                      "loopback",
		"0.0.0.0":                  "unspecified",
		"::":                       "unspecified",
		"169.254.169.254":          "link-local",
		"fe80::1":                  "link-local",
		"10.1.1.1":                 "private",
		"172.16.0.1":               "private",
		"192.168.1.1":              "private",
		"fd00::1":                  "private",
		"224.0.0.1":                "multicast",
		"ff02::1":                  "multicast",
		"100.64.0.1":               "shared address space",
		"255.255.255.255":          "reserved",
		"0.1.2.3":                  "this network",
		"64:ff9b::7f00:1":          "loopback",
		"64:ff9b::a00:1":           "private",
		"2002:a9fe:a9fe::1":        "link-local",
		"::7f00:1":                 "IPv4-compatible",
		"8.8.8.8":                  "",
		"2606:4700:4700::1111":     "",
		"64:ff9b::808:808":         "",
		"2a00:1450:4001:80b::200e": "",
	} {
		if got := nonPublic(netip.MustParseAddr(a)); got != want {
			t.Errorf("nonPublic(%s) = %q, want %q", a, got, want)
		}
	}
}

func TestCloseBeforeServe(t *testing.T) {
	p := New(Config{})
	p.Close()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	if err := p.Serve(l); err != ErrClosed {
		t.Errorf("Serve after Close: %v", err)
	}
	if _, err := net.Dial("tcp", l.Addr().String()); err == nil {
		t.Error("Serve after Close left the listener open")
	}
}
