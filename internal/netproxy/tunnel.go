package netproxy

import (
	"bytes"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"net"
	"strings"
	"time"
)

var noDeadline time.Time

// tlsHandshakeRecord is the first byte of a TLS record carrying a
// handshake message, as a ClientHello opens every TLS connection.
const tlsHandshakeRecord = 0x16

// tunnel relays between the client and the upstream connection the
// decision d allowed, after checking the client's TLS ClientHello, if it
// opens with one, against d.Host; it records d (refused on a mismatch).
// prefix is what the client already sent. Data from upstream flows at
// once, so that protocols where the server speaks first work. It returns
// when both directions are done; the caller closes both connections.
func (p *Proxy) tunnel(client net.Conn, prefix []byte, up net.Conn, d Decision) {
	if !p.enter() {
		return
	}
	down := make(chan struct{})
	go func() {
		defer p.wg.Done()
		defer close(down)
		_, _ = io.Copy(client, up)
		closeWrite(client)
	}()
	prefix, err := p.checkClientHello(client, prefix, d.Host)
	if err != nil {
		d.Allowed, d.Reason = false, err.Error()
		p.record(d)
		client.Close()
		up.Close()
		<-down
		return
	}
	p.record(d)
	if len(prefix) > 0 {
		if _, err := up.Write(prefix); err != nil {
			up.Close()
			<-down
			return
		}
	}
	_, _ = io.Copy(up, client)
	closeWrite(up)
	<-down
}

// errHelloRead stops crypto/tls once it has parsed the ClientHello.
var errHelloRead = errors.New("netproxy: ClientHello read")

// checkClientHello reads the client's first bytes; if they open a TLS
// handshake, it reads the ClientHello (within the handshake timeout) and
// refuses a server name that is present and not host. It returns
// everything read, to be sent upstream first. A client that closes
// before sending anything is fine: there is nothing to check.
func (p *Proxy) checkClientHello(client net.Conn, prefix []byte, host string) ([]byte, error) {
	if len(prefix) == 0 {
		var b [1]byte
		n, err := client.Read(b[:])
		if n == 0 {
			if err == nil || err == io.EOF {
				return nil, nil
			}
			return nil, nil // the relay sees the same error and ends
		}
		prefix = b[:n]
	}
	if prefix[0] != tlsHandshakeRecord {
		return prefix, nil
	}
	_ = client.SetReadDeadline(time.Now().Add(p.handshake))
	defer client.SetReadDeadline(noDeadline)
	rc := &recordingConn{Conn: client, r: io.MultiReader(bytes.NewReader(prefix), client)}
	var name string
	seen := false
	cfg := &tls.Config{GetConfigForClient: func(h *tls.ClientHelloInfo) (*tls.Config, error) {
		name, seen = h.ServerName, true
		return nil, errHelloRead
	}}
	err := tls.Server(rc, cfg).Handshake()
	if !seen {
		var ne net.Error
		if errors.As(err, &ne) && ne.Timeout() {
			return nil, fmt.Errorf("no complete TLS ClientHello within %s", p.handshake)
		}
		return nil, fmt.Errorf("the client opened a TLS handshake that crypto/tls could not read (%v)", err)
	}
	if name != "" && !sameHost(name, host) {
		return nil, fmt.Errorf("TLS server name %q is not the host asked for", name)
	}
	return rc.buf.Bytes(), nil
}

// sameHost compares host names as DNS does: without case or a trailing
// dot.
func sameHost(a, b string) bool {
	return strings.EqualFold(strings.TrimSuffix(a, "."), strings.TrimSuffix(b, "."))
}

// recordingConn is the client connection as crypto/tls sees it while the
// proxy reads a ClientHello: reads come from r and are kept, writes (an
// alert) are dropped, deadlines are the proxy's business.
type recordingConn struct {
	net.Conn
	r   io.Reader
	buf bytes.Buffer
}

func (c *recordingConn) Read(b []byte) (int, error) {
	n, err := c.r.Read(b)
	c.buf.Write(b[:n])
	return n, err
}

func (c *recordingConn) Write(b []byte) (int, error)      { return len(b), nil }
func (c *recordingConn) Close() error                     { return nil }
func (c *recordingConn) SetDeadline(time.Time) error      { return nil }
func (c *recordingConn) SetReadDeadline(time.Time) error  { return nil }
func (c *recordingConn) SetWriteDeadline(time.Time) error { return nil }
