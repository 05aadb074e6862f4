// Package netproxy is cordon's network allowlist: a proxy that connects a
// sandboxed command only to the hosts a policy.Allowlist names, and says
// what it did with every connection. It knows nothing of sandboxes: a
// backend hands it a listener that only the command can reach (on Linux,
// a TCP listener on the loopback of the sandbox's own network namespace)
// and makes sure the command has no other way out.
//
// # Protocols
//
// One listener speaks both, told apart by the first byte:
//
//   - HTTP/1.1 proxy requests (net/http's server parses them): CONNECT
//     host:port opens a tunnel; a request for an absolute http:// URL is
//     forwarded (httputil.ReverseProxy, one upstream connection per
//     request, no compression or proxy of its own). https:// URLs go
//     through CONNECT, as every client sends them.
//   - SOCKS5 (RFC 1928), the CONNECT command only, without
//     authentication, with the host given as a name (socks5h://, the
//     proxy resolves it), an IPv4 or an IPv6 address. This is the small
//     subset clients use, implemented here: a library would bring the
//     BIND and UDP ASSOCIATE commands, authentication and its own
//     resolution and dialling, all of which would have to be switched off
//     or wrapped to keep the checks below in one place.
//   - SOCKS4 is answered with a refusal.
//
// # Decisions
//
// For each request the proxy decides, in order:
//
//  1. The host must match a rule of the allowlist on that port
//     (policy.Allowlist.MatchName); an address literal must be listed
//     itself (MatchAddr): no name rule ever admits an address.
//  2. A name is resolved by the proxy (Config.Resolver, the system's by
//     default): the client never resolves. Every address it resolves to
//     that is loopback, link-local, private, unspecified, multicast or
//     otherwise not public (nonPublic) is dropped unless that address is
//     itself listed: a DNS answer cannot turn an allowed name into a way
//     to the host's own services or the local network (DNS rebinding).
//     The proxy then connects to exactly an address it checked, never
//     to the name again.
//  3. A tunnel (CONNECT, SOCKS5) whose client opens with a TLS
//     ClientHello has it read before any of it goes upstream
//     (crypto/tls parses it: tls.Server with GetConfigForClient on a
//     connection that records what it reads, which is then replayed
//     upstream); a server name (SNI) that is present and not the host
//     asked for closes the tunnel, so an allowed host cannot front for
//     another one on the same servers.
//
// Each request's Decision (host, port, allowed or refused, the rule or
// the reason) goes to Config.OnDecision and into the counts Summary
// returns. A connection closed before it sent a request (a SOCKS5
// greeting alone included: that is how a backend checks the proxy
// answers) gets none; one that sent something that is no request gets a
// refusal.
//
// # Resources
//
// A connection that has not finished its request within
// Config.HandshakeTimeout is closed, and so is a TLS ClientHello that
// takes longer. A tunnel has no idle timeout: a slow download is not an
// idle handshake. At most Config.MaxConns client connections are served
// at once; more wait to be accepted. Each costs a bounded number of
// goroutines: the one serving it, and one more for a tunnel's second
// direction (a forwarded HTTP request: net/http's two per upstream
// connection). Close closes the listeners and every connection and
// returns when every goroutine of the proxy has ended.
package netproxy

import (
	"context"
	"errors"
	"io"
	"log"
	"net"
	"net/http"
	"net/http/httputil"
	"net/netip"
	"sync"
	"time"

	"github.com/cordon-sandbox/cordon/policy"
)

// Resolver resolves host names to addresses; *net.Resolver is one.
// Whatever it answers, the proxy checks every address as it would the
// system's answer, and connects only to an address it checked.
type Resolver interface {
	LookupNetIP(ctx context.Context, network, host string) ([]netip.Addr, error)
}

// Config configures a Proxy.
type Config struct {
	// Allow is the allowlist; nil allows nothing.
	Allow *policy.Allowlist
	// Resolver resolves names; nil means net.DefaultResolver.
	Resolver Resolver
	// OnDecision, when set, is called with each decision as it is made,
	// from the goroutine serving the connection.
	OnDecision func(Decision)
	// HandshakeTimeout bounds a client's request (and a TLS
	// ClientHello); zero means DefaultHandshakeTimeout.
	HandshakeTimeout time.Duration
	// DialTimeout bounds resolving a name and connecting to it; zero
	// means DefaultDialTimeout.
	DialTimeout time.Duration
	// MaxConns bounds the client connections served at once; zero means
	// DefaultMaxConns.
	MaxConns int
}

// Defaults of Config.
const (
	DefaultHandshakeTimeout = 10 * time.Second
	DefaultDialTimeout      = 30 * time.Second
	DefaultMaxConns         = 512
	httpIdleTimeout         = 2 * time.Minute
)

// ErrClosed is returned by Serve once the proxy is closed.
var ErrClosed = errors.New("netproxy: closed")

// Proxy is the allowlist proxy. Its zero value is not usable: see New.
type Proxy struct {
	allow      *policy.Allowlist
	resolver   Resolver
	onDecision func(Decision)
	handshake  time.Duration
	dialer     net.Dialer
	sem        chan struct{}

	ctx    context.Context
	cancel context.CancelFunc

	httpLn    *chanListener
	httpSrv   *http.Server
	httpOnce  sync.Once
	rp        *httputil.ReverseProxy
	transport *http.Transport

	wg     sync.WaitGroup // every goroutine of the proxy but the callers' Serve
	mu     sync.Mutex
	closed bool
	lns    map[net.Listener]struct{}
	conns  map[io.Closer]struct{}
	counts map[countKey]int
}

// New returns a proxy for cfg; it serves nothing until Serve.
func New(cfg Config) *Proxy {
	p := &Proxy{
		allow:      cfg.Allow,
		resolver:   cfg.Resolver,
		onDecision: cfg.OnDecision,
		handshake:  cfg.HandshakeTimeout,
		lns:        map[net.Listener]struct{}{},
		conns:      map[io.Closer]struct{}{},
		counts:     map[countKey]int{},
	}
	if p.resolver == nil {
		p.resolver = net.DefaultResolver
	}
	if p.handshake <= 0 {
		p.handshake = DefaultHandshakeTimeout
	}
	p.dialer.Timeout = cfg.DialTimeout
	if p.dialer.Timeout <= 0 {
		p.dialer.Timeout = DefaultDialTimeout
	}
	max := cfg.MaxConns
	if max <= 0 {
		max = DefaultMaxConns
	}
	p.sem = make(chan struct{}, max)
	p.ctx, p.cancel = context.WithCancel(context.Background())
	p.httpLn = newChanListener()
	p.transport = &http.Transport{
		// Proxy is nil: the proxy connects directly, never through
		// cordon's own HTTP_PROXY.
		DialContext:            p.dialChecked,
		DisableKeepAlives:      true,
		DisableCompression:     true,
		MaxResponseHeaderBytes: 1 << 20,
	}
	p.rp = &httputil.ReverseProxy{
		Rewrite:       func(*httputil.ProxyRequest) {}, // the URL is already absolute
		Transport:     p.transport,
		FlushInterval: -1,
		ErrorLog:      log.New(io.Discard, "", 0),
		ErrorHandler: func(w http.ResponseWriter, r *http.Request, err error) {
			http.Error(w, "cordon: upstream: "+err.Error(), http.StatusBadGateway)
		},
	}
	p.httpSrv = &http.Server{
		Handler:           http.HandlerFunc(p.serveHTTP),
		ReadHeaderTimeout: p.handshake,
		IdleTimeout:       httpIdleTimeout,
		MaxHeaderBytes:    64 << 10,
		ErrorLog:          log.New(io.Discard, "", 0),
		ConnContext: func(ctx context.Context, c net.Conn) context.Context {
			return context.WithValue(ctx, httpConnKey{}, c)
		},
		ConnState: p.httpConnState,
	}
	return p
}

// Serve accepts connections on l until the proxy is closed (it then
// returns ErrClosed) or l fails. The proxy closes l when it returns.
func (p *Proxy) Serve(l net.Listener) error {
	p.mu.Lock()
	if p.closed {
		p.mu.Unlock()
		l.Close()
		return ErrClosed
	}
	p.lns[l] = struct{}{}
	p.mu.Unlock()
	defer func() {
		p.mu.Lock()
		delete(p.lns, l)
		p.mu.Unlock()
		l.Close()
	}()
	p.httpOnce.Do(func() {
		if p.enter() {
			go func() {
				defer p.wg.Done()
				_ = p.httpSrv.Serve(p.httpLn)
			}()
		}
	})
	var backoff time.Duration
	for {
		select {
		case p.sem <- struct{}{}:
		case <-p.ctx.Done():
			return ErrClosed
		}
		c, err := l.Accept()
		if err != nil {
			<-p.sem
			if p.ctx.Err() != nil {
				return ErrClosed
			}
			var te interface{ Temporary() bool }
			if errors.As(err, &te) && te.Temporary() {
				// Out of descriptors, say: wait, as net/http does.
				backoff = min(max(2*backoff, 5*time.Millisecond), time.Second)
				select {
				case <-time.After(backoff):
				case <-p.ctx.Done():
				}
				continue
			}
			return err
		}
		backoff = 0
		if !p.track(c) || !p.enter() {
			p.untrack(c)
			c.Close()
			<-p.sem
			return ErrClosed
		}
		go func() {
			defer p.wg.Done()
			p.serveConn(c)
		}()
	}
}

// Close stops every Serve, closes every connection and waits for the
// proxy's goroutines to end. The Summary stays readable.
func (p *Proxy) Close() error {
	p.mu.Lock()
	if p.closed {
		p.mu.Unlock()
		p.wg.Wait()
		return nil
	}
	p.closed = true
	var closers []io.Closer
	for l := range p.lns {
		closers = append(closers, l)
	}
	for c := range p.conns {
		closers = append(closers, c)
	}
	p.mu.Unlock()
	p.cancel()
	for _, c := range closers {
		c.Close()
	}
	p.httpLn.Close()
	p.httpSrv.Close()
	p.transport.CloseIdleConnections()
	p.wg.Wait()
	return nil
}

// enter adds a goroutine to the proxy's wait group unless it is closed.
func (p *Proxy) enter() bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.closed {
		return false
	}
	p.wg.Add(1)
	return true
}

// track records c, to be closed by Close; false if already closed.
func (p *Proxy) track(c io.Closer) bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.closed {
		return false
	}
	p.conns[c] = struct{}{}
	return true
}

func (p *Proxy) untrack(c io.Closer) {
	p.mu.Lock()
	delete(p.conns, c)
	p.mu.Unlock()
}

// hold tracks an upstream connection until release closes it; when the
// proxy is closing it closes it at once and reports false. The connection
// stays unwrapped, so that a tunnel can splice(2) to it.
func (p *Proxy) hold(up net.Conn) (release func(), ok bool) {
	if !p.track(up) {
		up.Close()
		return nil, false
	}
	return func() {
		p.untrack(up)
		up.Close()
	}, true
}

// serveConn tells the protocol from the first byte and serves it. The
// connection holds one slot of p.sem until it is closed.
func (p *Proxy) serveConn(c net.Conn) {
	var once sync.Once
	release := func() {
		once.Do(func() {
			p.untrack(c)
			c.Close()
			<-p.sem
		})
	}
	_ = c.SetReadDeadline(time.Now().Add(p.handshake))
	var first [1]byte
	if _, err := io.ReadFull(c, first[:]); err != nil {
		release() // closed, or idle, before a request: no decision
		return
	}
	switch first[0] {
	case socks5Version:
		p.serveSOCKS5(c)
		release()
	case socks4Version:
		p.record(Decision{Proto: "socks4", Reason: "SOCKS4 is not supported: use SOCKS5 (socks5h://)", fail: failRequest})
		_, _ = c.Write([]byte{0, 0x5b, 0, 0, 0, 0, 0, 0}) // request rejected
		release()
	default:
		hc := &httpConn{Conn: c, prefix: first[:], release: release}
		if !p.httpLn.push(hc) {
			release()
		}
	}
}

// closeWrite half-closes c's sending side where it can, else closes it.
func closeWrite(c net.Conn) {
	if cw, ok := c.(interface{ CloseWrite() error }); ok {
		_ = cw.CloseWrite()
		return
	}
	_ = c.Close()
}
