package netproxy

import (
	"context"
	"net"
	"net/http"
	"strconv"
	"sync"
	"sync/atomic"
)

// httpConn is a client connection that speaks HTTP, handed to net/http's
// server with the byte serveConn read first put back. Closing it releases
// its slot.
type httpConn struct {
	net.Conn
	prefix  []byte
	release func()
	served  atomic.Bool // a request reached serveHTTP
}

func (c *httpConn) Read(b []byte) (int, error) {
	if len(c.prefix) > 0 {
		n := copy(b, c.prefix)
		c.prefix = c.prefix[n:]
		return n, nil
	}
	return c.Conn.Read(b)
}

func (c *httpConn) Close() error {
	c.release()
	return nil
}

type httpConnKey struct{}

// httpConnState records a refusal for a connection that net/http closed
// without a request reaching serveHTTP: it sent something that is not an
// HTTP request, or not all of one in time.
func (p *Proxy) httpConnState(c net.Conn, s http.ConnState) {
	hc, ok := c.(*httpConn)
	if ok && s == http.StateClosed && !hc.served.Load() {
		p.record(Decision{Proto: "http", Reason: "not an HTTP or SOCKS5 request, or not all of one in time", fail: failRequest})
	}
}

func (p *Proxy) serveHTTP(w http.ResponseWriter, r *http.Request) {
	if hc, ok := r.Context().Value(httpConnKey{}).(*httpConn); ok {
		hc.served.Store(true)
	}
	if !p.enter() {
		http.Error(w, "cordon: the proxy is closing", http.StatusServiceUnavailable)
		return
	}
	defer p.wg.Done()
	if r.Method == http.MethodConnect {
		p.serveConnect(w, r)
		return
	}
	p.serveForward(w, r)
}

// refuseHTTP records d and answers the client with the status its
// failure calls for.
func (p *Proxy) refuseHTTP(w http.ResponseWriter, d Decision) {
	p.record(d)
	code := http.StatusForbidden
	switch d.fail {
	case failRequest:
		code = http.StatusBadRequest
	case failLookup, failDial:
		code = http.StatusBadGateway
	}
	w.Header().Set("Connection", "close")
	http.Error(w, "cordon: "+d.String(), code)
}

// serveConnect opens a tunnel to the CONNECT request's host:port.
func (p *Proxy) serveConnect(w http.ResponseWriter, r *http.Request) {
	host, port, err := splitHostPort(r.Host)
	if err != nil {
		p.refuseHTTP(w, Decision{Proto: "connect", Host: r.Host, Reason: "malformed CONNECT target: " + err.Error(), fail: failRequest})
		return
	}
	up, d := p.open(r.Context(), "connect", host, port)
	if up == nil {
		p.refuseHTTP(w, d)
		return
	}
	release, ok := p.hold(up)
	if !ok {
		return
	}
	defer release()
	conn, brw, err := http.NewResponseController(w).Hijack()
	if err != nil {
		d.Allowed, d.Reason, d.fail = false, "hijack: "+err.Error(), failRequest
		p.record(d)
		return
	}
	defer conn.Close()
	// What the client sent after its request, the byte serveConn read
	// first if net/http did not take it, then the raw connection, so that
	// the relay can splice(2) from it.
	var prefix []byte
	client := conn
	if hc, ok := conn.(*httpConn); ok {
		prefix, client = hc.prefix, hc.Conn
		hc.prefix = nil
	}
	if n := brw.Reader.Buffered(); n > 0 {
		b, _ := brw.Reader.Peek(n)
		prefix = append(prefix, b...)
	}
	_ = client.SetDeadline(noDeadline)
	if _, err := client.Write([]byte("HTTP/1.1 200 Connection established\r\n\r\n")); err != nil {
		p.record(d) // connected; the client went away
		return
	}
	p.tunnel(client, prefix, up, d)
}

// serveForward forwards a request for an absolute http:// URL.
func (p *Proxy) serveForward(w http.ResponseWriter, r *http.Request) {
	if !r.URL.IsAbs() || r.URL.Host == "" {
		p.refuseHTTP(w, Decision{Proto: "http", Host: r.Host, Reason: "not a proxy request: want an absolute http:// URL, or CONNECT", fail: failRequest})
		return
	}
	if r.URL.Scheme != "http" {
		p.refuseHTTP(w, Decision{Proto: "http", Host: r.URL.Hostname(), Reason: "only http:// URLs are forwarded: " + r.URL.Scheme + ":// goes through CONNECT", fail: failRequest})
		return
	}
	port := uint16(80)
	if s := r.URL.Port(); s != "" {
		n, err := strconv.ParseUint(s, 10, 16)
		if err != nil {
			p.refuseHTTP(w, Decision{Proto: "http", Host: r.URL.Hostname(), Reason: "bad port " + strconv.Quote(s), fail: failRequest})
			return
		}
		port = uint16(n)
	}
	up, d := p.open(r.Context(), "http", r.URL.Hostname(), port)
	if up == nil {
		p.refuseHTTP(w, d)
		return
	}
	p.record(d)
	cc := &checkedConn{p: p}
	if !cc.set(up) {
		return
	}
	defer cc.closeUnused()
	p.rp.ServeHTTP(w, r.WithContext(context.WithValue(r.Context(), upstreamKey{}, cc)))
}

// checkedConn is the connection serveForward checked, for the
// transport to take once. It stays tracked until closed.
type checkedConn struct {
	p    *Proxy
	mu   sync.Mutex
	c    net.Conn
	used bool
}

func (cc *checkedConn) set(c net.Conn) bool {
	tc := &trackedConn{Conn: c, p: cc.p}
	if !cc.p.track(tc) {
		c.Close()
		return false
	}
	cc.c = tc
	return true
}

func (cc *checkedConn) take() net.Conn {
	cc.mu.Lock()
	defer cc.mu.Unlock()
	if cc.used {
		return nil
	}
	cc.used = true
	return cc.c
}

// closeUnused closes the connection if the transport never took it.
func (cc *checkedConn) closeUnused() {
	if c := cc.take(); c != nil {
		c.Close()
	}
}

// trackedConn is untracked when closed.
type trackedConn struct {
	net.Conn
	p    *Proxy
	once sync.Once
}

func (c *trackedConn) Close() error {
	c.once.Do(func() { c.p.untrack(c) })
	return c.Conn.Close()
}

// splitHostPort splits a CONNECT target; the port is required.
func splitHostPort(hostport string) (string, uint16, error) {
	host, ps, err := net.SplitHostPort(hostport)
	if err != nil {
		return "", 0, err
	}
	n, err := strconv.ParseUint(ps, 10, 16)
	if err != nil || n == 0 {
		return "", 0, &net.AddrError{Err: "bad port", Addr: hostport}
	}
	if host == "" {
		return "", 0, &net.AddrError{Err: "no host", Addr: hostport}
	}
	return host, uint16(n), nil
}
