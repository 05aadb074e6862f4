package linuxsandbox

// The network allowlist (a policy whose "network" lists hosts).
//
// The command keeps a network namespace of its own, as without network,
// whose only interface is its loopback: no route leads anywhere else, so
// a program that ignores the proxy variables reaches nothing. The one way
// out is cordon's proxy (Spec.Proxy, internal/netproxy), and it is
// reached without a forwarder and without any path in the file system:
//
//  1. The init, still holding CAP_NET_ADMIN in its namespaces, brings the
//     loopback up, binds a TCP socket to 127.0.0.1:ProxyPort and listens.
//  2. It hands that listening socket to the parent over a Unix socket
//     (fd 5, SCM_RIGHTS) and closes its own copy.
//  3. The parent serves the proxy on it: it accepts, in the host's
//     network namespace, connections that were made in the sandbox's. A
//     socket belongs to the namespace it was created in, not to the
//     process that holds it (network_namespaces(7)), so the proxy's own
//     connections upstream go out through the host's network, and the
//     command's stay in its namespace.
//  4. Before restricting itself the init connects to 127.0.0.1:ProxyPort
//     and checks the proxy answers a SOCKS5 greeting: the run fails with
//     a setup error, and never starts the command, when the proxy is not
//     serving. Once the parent stops serving (Wait), connections are
//     refused: there is nothing to fall back to.
//
// The alternative, a forwarder in the init relaying each connection to a
// Unix socket the parent listens on, bind-mounted into the sandbox, needs
// a goroutine and a copy per connection in PID 1 after its seccomp and
// Landlock, a mount point in a read-only tree, and a socket the command
// can connect to by path. Handing over the listener needs none of that:
// the init's part ends before it restricts itself, and the proxy splices
// bytes straight between the command's socket and the upstream one.
//
// The command's restrictions stay those of a run without network, but
// for what the proxy needs: seccomp allows AF_INET and AF_INET6 sockets
// (netLoopback; every other family but AF_UNIX stays refused, vsock among
// them, which a network namespace does not separate), and Landlock, from
// ABI 4, allows connecting to the proxy's port only and binding none
// (unless allow_local_binding; below ABI 4 the command may listen on its
// own loopback, which nothing outside can reach). /run stays hidden, and
// pathname Unix sockets elsewhere are as reachable as without network
// (see the package documentation).
//
// The command finds the proxy through HTTP_PROXY, HTTPS_PROXY (both
// http://127.0.0.1:ProxyPort), ALL_PROXY (socks5h://, so names are
// resolved by the proxy), NO_PROXY=localhost,127.0.0.1, and their
// lower-case forms, which replace any it inherited.

import (
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"golang.org/x/sys/unix"
)

const (
	// ProxyPort is the port of the allowlist proxy on the sandbox's
	// loopback. The namespace is the sandbox's alone, so it is always
	// free.
	ProxyPort = 3128
	// proxyFD is the init's end of the socket it hands the listener over.
	proxyFD = 5
	// proxyCheckTimeout bounds the init's check that the proxy answers.
	proxyCheckTimeout = 10 * time.Second
)

// proxySpec is what the init needs for the proxy's listener.
type proxySpec struct {
	Port uint16 `json:"port"`
}

// proxyVars are the variables proxyEnv sets; any the command inherited
// are dropped.
var proxyVars = []string{"HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "NO_PROXY"}

// proxyEnv returns env with the proxy variables pointing at the proxy on
// the sandbox's loopback.
func proxyEnv(env []string, port uint16) []string {
	var out []string
	for _, kv := range env {
		k, _, _ := strings.Cut(kv, "=")
		drop := false
		for _, v := range proxyVars {
			drop = drop || k == v || k == strings.ToLower(v)
		}
		if !drop {
			out = append(out, kv)
		}
	}
	addr := "127.0.0.1:" + strconv.Itoa(int(port))
	values := map[string]string{
		"HTTP_PROXY":  "http://" + addr,
		"HTTPS_PROXY": "http://" + addr,
		"ALL_PROXY":   "socks5h://" + addr,
		"NO_PROXY":    "localhost,127.0.0.1",
	}
	for _, v := range proxyVars {
		out = append(out, v+"="+values[v], strings.ToLower(v)+"="+values[v])
	}
	return out
}

// allowlistPayload adds to the stage's spec what a run with a network
// allowlist needs: the proxy variables, the seccomp and Landlock rules
// that let the command reach the proxy's port, and the init's proxySpec
// (nil when the plan does not enforce the allowlist).
func allowlistPayload(ex *execSpec, lp plan, localBinding bool) *proxySpec {
	if !lp.allowlist {
		return nil
	}
	ex.Loopback = true
	ex.Env = proxyEnv(ex.Env, ProxyPort)
	if ex.Landlock != nil {
		ex.Landlock.ConnectTCP = []uint16{ProxyPort}
		ex.Landlock.LocalNet = localBinding
	}
	return &proxySpec{Port: ProxyPort}
}

// netMode is the seccomp network mode of an execSpec.
func (s *execSpec) netMode() netMode {
	switch {
	case !s.NetworkOff:
		return netOpen
	case s.Loopback:
		return netLoopback
	}
	return netOff
}

// addNetAdmin keeps CAP_NET_ADMIN for a stage in a new network namespace,
// to bring its loopback up (the stage drops it with every other
// capability before the command starts). A root caller keeps it anyway.
func addNetAdmin(sys *syscall.SysProcAttr) {
	if os.Getuid() != 0 {
		sys.AmbientCaps = append(sys.AmbientCaps, unix.CAP_NET_ADMIN)
	}
}

// --- the init's side ---

// listenForProxy is the init's part: loopback up, the listener made and
// handed to the parent on proxyFD, then the check that the parent serves
// the proxy on it.
func listenForProxy(s *proxySpec) error {
	ctrl := os.NewFile(proxyFD, "proxy")
	if ctrl == nil {
		return errors.New("network allowlist: no proxy descriptor")
	}
	defer ctrl.Close()
	if err := loopbackUp(); err != nil {
		return fmt.Errorf("network allowlist: %w", err)
	}
	fd, err := listenLoopback(s.Port)
	if err != nil {
		return fmt.Errorf("network allowlist: %w", err)
	}
	err = unix.Sendmsg(int(ctrl.Fd()), []byte{'L'}, unix.UnixRights(fd), nil, 0)
	// The parent's copy, in flight or received, keeps the socket alive;
	// with this one closed, a parent that is not serving it refuses
	// connections at once.
	unix.Close(fd)
	if err != nil {
		return fmt.Errorf("network allowlist: hand the listener to cordon: %w", err)
	}
	return checkProxy(s.Port)
}

// loopbackUp brings the namespace's loopback interface up (it starts
// down), which gives it 127.0.0.1.
func loopbackUp() error {
	s, err := unix.Socket(unix.AF_INET, unix.SOCK_DGRAM|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		return fmt.Errorf("bring lo up: %w", err)
	}
	defer unix.Close(s)
	ifr, err := unix.NewIfreq("lo")
	if err != nil {
		return fmt.Errorf("bring lo up: %w", err)
	}
	if err := unix.IoctlIfreq(s, unix.SIOCGIFFLAGS, ifr); err != nil {
		return fmt.Errorf("bring lo up: SIOCGIFFLAGS: %w", err)
	}
	ifr.SetUint16(ifr.Uint16() | unix.IFF_UP)
	if err := unix.IoctlIfreq(s, unix.SIOCSIFFLAGS, ifr); err != nil {
		return fmt.Errorf("bring lo up: SIOCSIFFLAGS: %w", err)
	}
	return nil
}

// listenLoopback returns a TCP socket listening on 127.0.0.1:port (0: any
// free port).
func listenLoopback(port uint16) (int, error) {
	fd, err := unix.Socket(unix.AF_INET, unix.SOCK_STREAM|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		return -1, fmt.Errorf("listen on 127.0.0.1:%d: %w", port, err)
	}
	if err := unix.Bind(fd, &unix.SockaddrInet4{Port: int(port), Addr: [4]byte{127, 0, 0, 1}}); err != nil {
		unix.Close(fd)
		return -1, fmt.Errorf("bind 127.0.0.1:%d: %w", port, err)
	}
	if err := unix.Listen(fd, unix.SOMAXCONN); err != nil {
		unix.Close(fd)
		return -1, fmt.Errorf("listen on 127.0.0.1:%d: %w", port, err)
	}
	return fd, nil
}

// checkProxy connects to the proxy as the command would and checks that
// it answers a SOCKS5 greeting (no authentication). The proxy records
// nothing for a connection that ends there.
func checkProxy(port uint16) error {
	addr := "127.0.0.1:" + strconv.Itoa(int(port))
	c, err := net.DialTimeout("tcp4", addr, proxyCheckTimeout)
	if err != nil {
		return fmt.Errorf("network allowlist: the proxy does not answer: %w", err)
	}
	defer c.Close()
	_ = c.SetDeadline(time.Now().Add(proxyCheckTimeout))
	var b [2]byte
	_, err = c.Write([]byte{5, 1, 0})
	if err == nil {
		_, err = io.ReadFull(c, b[:])
	}
	if err != nil {
		return fmt.Errorf("network allowlist: the proxy does not answer: %w", err)
	}
	if b != [2]byte{5, 0} {
		return fmt.Errorf("network allowlist: the proxy answered %x to a SOCKS5 greeting", b)
	}
	return nil
}

// --- the parent's side ---

// proxyLink is the parent's end of the listener hand-over: it receives the
// listener from the init and serves the proxy on it until closed.
type proxyLink struct {
	child *os.File      // the init's end, fd 5 there; closed here once the init runs
	conn  *net.UnixConn // ours
	serve func(net.Listener) error
	done  chan struct{}

	mu     sync.Mutex
	closed bool
	ln     net.Listener
}

// newProxyLink makes the socket pair; serve is called with the listener
// once it arrives.
func newProxyLink(serve func(net.Listener) error) (*proxyLink, error) {
	fds, err := unix.Socketpair(unix.AF_UNIX, unix.SOCK_STREAM|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		return nil, fmt.Errorf("linux sandbox: proxy socket pair: %w", err)
	}
	ours := os.NewFile(uintptr(fds[0]), "proxy link")
	c, err := net.FileConn(ours)
	ours.Close()
	if err != nil {
		unix.Close(fds[1])
		return nil, fmt.Errorf("linux sandbox: proxy socket pair: %w", err)
	}
	return &proxyLink{child: os.NewFile(uintptr(fds[1]), "proxy link (init)"), conn: c.(*net.UnixConn), serve: serve, done: make(chan struct{})}, nil
}

// started is called once the init has been started (or failed to): the
// parent drops the init's end, so that the init's exit ends the wait for
// the listener, and waits for it.
func (l *proxyLink) started() {
	l.child.Close()
	l.await()
}

// await receives the listener in the background and serves it.
func (l *proxyLink) await() {
	go func() {
		defer close(l.done)
		ln, err := recvListener(l.conn)
		if err != nil {
			return // the init failed first, and says why on its status pipe
		}
		l.mu.Lock()
		if l.closed {
			l.mu.Unlock()
			ln.Close()
			return
		}
		l.ln = ln
		l.mu.Unlock()
		// Serve returns when the proxy is closed or close closes ln; a
		// proxy that fails at once is what the init's check finds.
		go func() { _ = l.serve(ln) }()
	}()
}

// close stops serving: connections to the proxy's port are refused from
// now on. It is safe to call more than once, and on a nil link.
func (l *proxyLink) close() {
	if l == nil {
		return
	}
	l.mu.Lock()
	l.closed = true
	ln := l.ln
	l.mu.Unlock()
	l.conn.Close()
	l.child.Close()
	<-l.done
	if ln != nil {
		ln.Close()
	}
}

// recvListener receives one listening socket over c.
func recvListener(c *net.UnixConn) (net.Listener, error) {
	buf := make([]byte, 1)
	oob := make([]byte, unix.CmsgSpace(4))
	// net receives descriptors with MSG_CMSG_CLOEXEC on Linux.
	_, oobn, _, _, err := c.ReadMsgUnix(buf, oob)
	if err != nil {
		return nil, err
	}
	msgs, err := unix.ParseSocketControlMessage(oob[:oobn])
	if err != nil || len(msgs) != 1 {
		return nil, fmt.Errorf("no listener in the message (%v)", err)
	}
	fds, err := unix.ParseUnixRights(&msgs[0])
	if err != nil || len(fds) != 1 {
		for _, fd := range fds {
			unix.Close(fd)
		}
		return nil, fmt.Errorf("want one descriptor, got %d (%v)", len(fds), err)
	}
	f := os.NewFile(uintptr(fds[0]), "proxy listener")
	defer f.Close()
	return net.FileListener(f)
}

// --- the probe ---

// probeProxyFD is the probe stage's end of the hand-over socket.
const probeProxyFD = 3

// probeProxyLink gives the probe stage a hand-over socket (fd 3) and, in
// the parent, answers the stage's check with a SOCKS5 "no authentication"
// on the listener it hands over, as the proxy would. tryNet says the
// stage has a network namespace, where it tries.
func probeProxyLink(cmd *exec.Cmd, tryNet bool) (*proxyLink, error) {
	l, err := newProxyLink(func(ln net.Listener) error {
		defer ln.Close()
		c, err := ln.Accept()
		if err != nil {
			return err
		}
		defer c.Close()
		_ = c.SetDeadline(time.Now().Add(proxyCheckTimeout))
		var b [3]byte
		if _, err := io.ReadFull(c, b[:]); err != nil {
			return err
		}
		_, err = c.Write([]byte{5, 0})
		return err
	})
	if err != nil {
		return nil, err
	}
	cmd.ExtraFiles = []*os.File{l.child}
	if tryNet {
		addNetAdmin(cmd.SysProcAttr)
	}
	// cmd.Run starts and waits for the stage in one call: the listener
	// is awaited from now on, and close ends the wait after the run.
	l.await()
	return l, nil
}

// probeAllowlist is the probe stage's try of what listenForProxy does.
func probeAllowlist(rep *probeReport) {
	err := func() error {
		if err := loopbackUp(); err != nil {
			return err
		}
		fd, err := listenLoopback(0)
		if err != nil {
			return err
		}
		sa, err := unix.Getsockname(fd)
		if err == nil {
			err = unix.Sendmsg(probeProxyFD, []byte{'L'}, unix.UnixRights(fd), nil, 0)
		}
		unix.Close(fd)
		unix.Close(probeProxyFD)
		if err != nil {
			return fmt.Errorf("hand the listener to cordon: %w", err)
		}
		return checkProxy(uint16(sa.(*unix.SockaddrInet4).Port))
	}()
	if err != nil {
		rep.AllowlistErr = err.Error()
	}
}
