package netproxy

import (
	"encoding/binary"
	"fmt"
	"io"
	"net"
	"net/netip"
)

// The SOCKS5 subset of RFC 1928 the proxy speaks.
const (
	socks4Version = 4
	socks5Version = 5

	socksNoAuth       = 0x00
	socksNoAcceptable = 0xff

	socksConnect = 1

	socksIPv4   = 1
	socksDomain = 3
	socksIPv6   = 4

	socksSucceeded        = 0
	socksGeneralFailure   = 1
	socksNotAllowed       = 2
	socksHostUnreachable  = 4
	socksCmdNotSupported  = 7
	socksAddrNotSupported = 8
)

// socksRequest is a parsed SOCKS5 request.
type socksRequest struct {
	cmd  byte
	host string
	port uint16
}

// readSOCKS5Greeting reads the method selection after the version byte
// and reports whether "no authentication" is among the methods.
func readSOCKS5Greeting(r io.Reader) (noAuth bool, err error) {
	var n [1]byte
	if _, err := io.ReadFull(r, n[:]); err != nil {
		return false, err
	}
	methods := make([]byte, n[0])
	if _, err := io.ReadFull(r, methods); err != nil {
		return false, err
	}
	for _, m := range methods {
		if m == socksNoAuth {
			return true, nil
		}
	}
	return false, nil
}

// errSOCKS is a malformed or unsupported request, with the reply code
// that says so.
type errSOCKS struct {
	reply byte
	msg   string
}

func (e *errSOCKS) Error() string { return e.msg }

// readSOCKS5Request reads a request (RFC 1928 section 4). An io error
// before the first byte is returned as is (the client went away after the
// greeting); anything malformed is an *errSOCKS.
func readSOCKS5Request(r io.Reader) (socksRequest, error) {
	var req socksRequest
	var h [4]byte
	if _, err := io.ReadFull(r, h[:1]); err != nil {
		return req, err
	}
	if _, err := io.ReadFull(r, h[1:]); err != nil {
		return req, &errSOCKS{socksGeneralFailure, "truncated SOCKS5 request"}
	}
	if h[0] != socks5Version {
		return req, &errSOCKS{socksGeneralFailure, fmt.Sprintf("SOCKS5 request of version %d", h[0])}
	}
	req.cmd = h[1]
	switch h[3] {
	case socksIPv4, socksIPv6:
		b := make([]byte, 4)
		if h[3] == socksIPv6 {
			b = make([]byte, 16)
		}
		if _, err := io.ReadFull(r, b); err != nil {
			return req, &errSOCKS{socksGeneralFailure, "truncated SOCKS5 address"}
		}
		a, _ := netip.AddrFromSlice(b)
		req.host = a.Unmap().String()
	case socksDomain:
		var n [1]byte
		if _, err := io.ReadFull(r, n[:]); err != nil {
			return req, &errSOCKS{socksGeneralFailure, "truncated SOCKS5 address"}
		}
		b := make([]byte, n[0])
		if _, err := io.ReadFull(r, b); err != nil {
			return req, &errSOCKS{socksGeneralFailure, "truncated SOCKS5 host name"}
		}
		if n[0] == 0 {
			return req, &errSOCKS{socksGeneralFailure, "empty SOCKS5 host name"}
		}
		req.host = string(b)
	default:
		return req, &errSOCKS{socksAddrNotSupported, fmt.Sprintf("SOCKS5 address type %d", h[3])}
	}
	var port [2]byte
	if _, err := io.ReadFull(r, port[:]); err != nil {
		return req, &errSOCKS{socksGeneralFailure, "truncated SOCKS5 port"}
	}
	req.port = binary.BigEndian.Uint16(port[:])
	if req.cmd != socksConnect {
		return req, &errSOCKS{socksCmdNotSupported, fmt.Sprintf("SOCKS5 command %d: only CONNECT (1) is supported", req.cmd)}
	}
	return req, nil
}

// socksReply writes a reply with a zero bound address: the client learns
// nothing of the proxy's side of the connection.
func socksReply(w io.Writer, code byte) error {
	_, err := w.Write([]byte{socks5Version, code, 0, socksIPv4, 0, 0, 0, 0, 0, 0})
	return err
}

// serveSOCKS5 serves a SOCKS5 client whose version byte has been read,
// under the handshake deadline serveConn set.
func (p *Proxy) serveSOCKS5(c net.Conn) {
	noAuth, err := readSOCKS5Greeting(c)
	if err != nil {
		return // gone during the greeting: no request, no decision
	}
	if !noAuth {
		p.record(Decision{Proto: "socks5", Reason: "no acceptable SOCKS5 authentication method: the proxy takes none", fail: failRequest})
		_, _ = c.Write([]byte{socks5Version, socksNoAcceptable})
		return
	}
	if _, err := c.Write([]byte{socks5Version, socksNoAuth}); err != nil {
		return
	}
	req, err := readSOCKS5Request(c)
	if err != nil {
		if e, ok := err.(*errSOCKS); ok {
			p.record(Decision{Proto: "socks5", Host: req.host, Port: req.port, Reason: e.msg, fail: failRequest})
			_ = socksReply(c, e.reply)
		}
		return // else gone after the greeting (a liveness check): no decision
	}
	up, d := p.open(p.ctx, "socks5", req.host, req.port)
	if up == nil {
		p.record(d)
		code := byte(socksNotAllowed)
		switch d.fail {
		case failLookup, failDial:
			code = socksHostUnreachable
		case failRequest:
			code = socksGeneralFailure
		}
		_ = socksReply(c, code)
		return
	}
	release, ok := p.hold(up)
	if !ok {
		return
	}
	defer release()
	if err := socksReply(c, socksSucceeded); err != nil {
		p.record(d)
		return
	}
	_ = c.SetDeadline(noDeadline)
	p.tunnel(c, nil, up, d)
}
