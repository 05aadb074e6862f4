package netproxy

import (
	"bytes"
	"errors"
	"io"
	"net"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/cordon-sandbox/cordon/policy"
)

// FuzzSOCKS5Request: the request parser never panics, and what it accepts
// is a CONNECT with a host and the port it was given.
func FuzzSOCKS5Request(f *testing.F) {
	f.Add([]byte{5, 1, 0, 1, 127, 0, 0, 1, 0, 80})
	f.Add(append(append([]byte{5, 1, 0, 3, 12}, "allowed.test"...), 1, 187))
	f.Add([]byte{5, 1, 0, 4, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 0, 22})
	f.Add([]byte{5, 2, 0, 1, 1, 2, 3, 4, 0, 0})
	f.Add([]byte{5, 1, 0, 3, 0, 0, 80})
	f.Fuzz(func(t *testing.T, b []byte) {
		req, err := readSOCKS5Request(bytes.NewReader(b))
		if err != nil {
			var e *errSOCKS
			if len(b) > 0 && !errors.As(err, &e) {
				t.Fatalf("%v: a malformed request must be an errSOCKS, got %T %v", b, err, err)
			}
			return
		}
		if req.cmd != socksConnect || req.host == "" || len(b) < 8 {
			t.Fatalf("%v parsed to %+v", b, req)
		}
	})
}

// FuzzFrontEnd feeds arbitrary bytes to a proxy that allows one name,
// which leads to an echo server: nothing panics, every connection ends,
// and whatever the proxy answers is in the protocol the client opened
// with.
func FuzzFrontEnd(f *testing.F) {
	echoPort := serveTCP(f, func(c net.Conn) {
		c.SetDeadline(time.Now().Add(time.Second))
		io.Copy(c, c)
	})
	allow, err := (&policy.NetworkAllowlist{AllowHosts: []string{"allowed.test", "127.0.0.1"}}).Resolve()
	if err != nil {
		f.Fatal(err)
	}
	p := New(Config{Allow: allow, Resolver: testNames, HandshakeTimeout: 50 * time.Millisecond, DialTimeout: time.Second})
	l := newChanListener() // in-memory connections, net.Pipe's
	served := make(chan error, 1)
	go func() { served <- p.Serve(l) }()
	defer func() {
		p.Close()
		<-served
	}()

	target := "allowed.test:" + strconv.Itoa(int(echoPort))
	f.Add([]byte("CONNECT " + target + " HTTP/1.1\r\nHost: " + target + "\r\n\r\nping"))
	f.Add([]byte("GET http://" + target + "/ HTTP/1.1\r\nHost: " + target + "\r\n\r\n"))
	f.Add([]byte("CONNECT other.test:443 HTTP/1.1\r\n\r\n"))
	f.Add(append(append(append([]byte{5, 1, 0, 5, 1, 0, 3, 12}, "allowed.test"...), byte(echoPort>>8), byte(echoPort)), "ping"...))
	f.Add([]byte{5, 1, 0, 5, 1, 0, 1, 127, 0, 0, 1, 0, 80})
	f.Add([]byte{4, 1, 0, 80, 127, 0, 0, 1, 0})
	f.Add([]byte("CONNECT " + target + " HTTP/1.1\r\n\r\n\x16\x03\x01\x00\x05hello"))
	f.Add([]byte("\x00\x00garbage"))
	f.Fuzz(func(t *testing.T, in []byte) {
		c, server := net.Pipe()
		defer c.Close()
		if !l.push(server) {
			t.Skip("proxy closed")
		}
		go func() {
			c.SetWriteDeadline(time.Now().Add(time.Second))
			c.Write(in)
		}()
		c.SetReadDeadline(time.Now().Add(300 * time.Millisecond))
		out, _ := io.ReadAll(io.LimitReader(c, 1<<20))
		if len(out) == 0 || len(in) == 0 {
			return
		}
		switch in[0] {
		case socks5Version:
			if out[0] != socks5Version {
				t.Fatalf("SOCKS5 client got %q", out)
			}
		case socks4Version:
			if out[0] != 0 {
				t.Fatalf("SOCKS4 client got %q", out)
			}
		default:
			if !strings.HasPrefix(string(out), "HTTP/1.") {
				t.Fatalf("HTTP client got %q", out)
			}
		}
	})
}
