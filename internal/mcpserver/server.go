// Package mcpserver is cordon's Model Context Protocol server: a shell
// whose every command runs in one sandbox, fixed when the server starts.
//
// The server offers the tools "run" (run a command, get its exit code and
// output) and "sandbox_info" (what the sandbox allows and what this machine
// enforces), and on Windows "explain" (may the sandbox read, write or
// delete a path). Nothing a tool call says can widen the sandbox: a call's
// working directory must lie in the workspace or an extra writable root, its
// timeout is capped at the server's, and there is no argument for the
// network or the policy. Commands run through cordon.Run, so each is logged
// to cordon.log exactly as 'cordon run' logs it, and each has a sandbox of
// its own: calls run concurrently.
package mcpserver

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"time"

	"github.com/cordon-sandbox/cordon"
	"github.com/cordon-sandbox/cordon/policy"
	"github.com/cordon-sandbox/cordon/sandbox"
	"github.com/modelcontextprotocol/go-sdk/mcp"
)

// DefaultTimeout is the server's timeout, the default and maximum of every
// call, when the configuration sets none: a server always has one, so that
// no call can run for ever.
const DefaultTimeout = 10 * time.Minute

// DefaultOutputLimit is how many bytes of each stream a result keeps when
// Config.OutputLimit is zero: its first and last halves, with the middle
// left out and the result marked truncated.
const DefaultOutputLimit = 100_000

// Config fixes the sandbox of every call.
type Config struct {
	// Sandbox is the sandbox as 'cordon run' flags describe it: Policy,
	// Dir (the default working directory; empty means the policy's cwd,
	// then the current directory), Timeout (the default and the maximum of
	// a call; zero means DefaultTimeout), Env, Backend, BestEffort, Limits,
	// MediumIntegrity and Temp. Its Command, Stdin, Stdout, Stderr and
	// CaptureLimit are ignored.
	Sandbox cordon.Request
	// OutputLimit bounds the bytes of each stream a result keeps; zero
	// means DefaultOutputLimit.
	OutputLimit int
	// Version is the server version reported to clients.
	Version string
}

// Server is a configured MCP server.
type Server struct {
	cfg Config
	ws  *workspace
	mcp *mcp.Server

	mu     sync.Mutex
	life   context.Context // ends every call when Run's context ends
	active int             // calls running a command
	idle   *sync.Cond      // signalled when active drops to 0

	probeOnce sync.Once
	probes    []sandbox.Probe
}

// New checks cfg and builds the server. Its errors are *cordon.Error with
// the codes 'cordon run' uses: "bad_policy" for a policy that does not
// resolve or names a root that is not a directory, "bad_request" for the
// rest.
func New(cfg Config) (*Server, error) {
	if cfg.Sandbox.Timeout < 0 {
		return nil, &cordon.Error{Code: cordon.CodeBadRequest, Err: fmt.Errorf("--timeout %s is negative", cfg.Sandbox.Timeout)}
	}
	if cfg.Sandbox.Timeout == 0 {
		cfg.Sandbox.Timeout = DefaultTimeout
	}
	if cfg.OutputLimit <= 0 {
		cfg.OutputLimit = DefaultOutputLimit
	}
	if err := checkBackend(cfg.Sandbox.Backend); err != nil {
		return nil, err
	}
	ws, err := newWorkspace(&cfg.Sandbox)
	if err != nil {
		return nil, err
	}
	s := &Server{cfg: cfg, ws: ws, life: context.Background()}
	s.idle = sync.NewCond(&s.mu)
	s.mcp = mcp.NewServer(&mcp.Implementation{Name: "cordon", Title: "cordon sandboxed shell", Version: cfg.Version},
		&mcp.ServerOptions{Instructions: s.instructions()})
	s.addRun()
	s.addSandboxInfo()
	s.addExplain() // Windows only
	return s, nil
}

// MCP returns the underlying SDK server, for connecting it to a transport
// of one's own (tests use the in-memory one).
func (s *Server) MCP() *mcp.Server { return s.mcp }

// Run serves one session on t until the client ends it (for stdio: until
// stdin closes) or ctx ends. Either way every command still running is
// killed with its whole process tree, and waited for, before Run returns;
// both are a clean end, a nil error.
func (s *Server) Run(ctx context.Context, t mcp.Transport) error {
	s.mu.Lock()
	s.life = ctx
	s.mu.Unlock()
	done := make(chan error, 1)
	go func() { done <- s.mcp.Run(ctx, t) }()
	select {
	case err := <-done:
		s.waitCalls()
		if ctx.Err() != nil {
			return nil
		}
		return err
	case <-ctx.Done():
		// The SDK closes the session once the calls in flight return, and
		// they return once their commands are killed, which callContext
		// does now. Not waiting for the session itself: its reader may be
		// blocked on a stdin that nothing will close.
		s.waitCalls()
		return nil
	}
}

// callContext is ctx, also ended when the server's Run context ends (the
// SDK does not carry that into calls: a command must not outlive the
// server). The call counts as running until the returned func is called.
func (s *Server) callContext(ctx context.Context) (context.Context, context.CancelFunc) {
	s.mu.Lock()
	life := s.life
	s.active++
	s.mu.Unlock()
	ctx, cancel := context.WithCancel(ctx)
	stop := context.AfterFunc(life, cancel)
	return ctx, func() {
		stop()
		cancel()
		s.mu.Lock()
		s.active--
		if s.active == 0 {
			s.idle.Broadcast()
		}
		s.mu.Unlock()
	}
}

// waitCalls waits until no call runs a command.
func (s *Server) waitCalls() {
	s.mu.Lock()
	for s.active > 0 {
		s.idle.Wait()
	}
	s.mu.Unlock()
}

// checkBackend refuses a --sandbox name no backend here has, at start
// rather than at the first call.
func checkBackend(name string) error {
	if name == "" || name == "auto" {
		return nil
	}
	var names []string
	for _, b := range cordon.Backends() {
		if b.Name() == name {
			return nil
		}
		names = append(names, b.Name())
	}
	return &cordon.Error{Code: cordon.CodeBadRequest, Err: fmt.Errorf("unknown sandbox backend %q (want auto or one of %v here)", name, names)}
}

// probe is what 'cordon probe' reports, tried once per server.
func (s *Server) probe() []sandbox.Probe {
	s.probeOnce.Do(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		for _, p := range cordon.Probe(ctx) {
			if p.Layers == nil {
				p.Layers = []sandbox.Layer{} // the schema says an array
			}
			s.probes = append(s.probes, p)
		}
	})
	return s.probes
}

// shell is the platform shell a "command" runs in.
func shell(command string) []string {
	if runtime.GOOS == "windows" {
		return []string{"cmd", "/c", command}
	}
	return []string{"/bin/sh", "-c", command}
}

// goosName is the operating system's name, for descriptions.
func goosName() string {
	switch runtime.GOOS {
	case "linux":
		return "Linux"
	case "windows":
		return "Windows"
	case "darwin":
		return "macOS"
	}
	return runtime.GOOS
}

// shellName says the same in words, for descriptions.
func shellName() string {
	if runtime.GOOS == "windows" {
		return "cmd /c"
	}
	return "/bin/sh -c"
}

func (s *Server) instructions() string {
	w := s.ws
	writes := "nothing: the sandbox is read-only"
	if w.resolved.Mode == policy.WorkspaceWrite {
		writes = fmt.Sprintf("only inside %s", joinPaths(w.writable()))
	}
	net := networkText(w.resolved.Network, allowHosts(w.resolved.Allowlist))
	return fmt.Sprintf(`Every command given to the "run" tool runs in a sandbox fixed when this server started, on %s. Commands may write %s, never the protected names %s inside those roots. Network: %s. The working directory defaults to %s; a call's cwd must lie in the workspace or a writable root. Each call is killed after %s at most. Call "sandbox_info" to see the whole policy and what this machine enforces before planning commands.`,
		goosName(), writes, strings.Join(w.resolved.Protected, ", "), net, w.dir, s.cfg.Sandbox.Timeout)
}

// joinPaths lists paths for a sentence.
func joinPaths(ps []string) string {
	switch len(ps) {
	case 0:
		return "nothing"
	case 1:
		return ps[0]
	}
	return strings.Join(ps[:len(ps)-1], ", ") + " and " + ps[len(ps)-1]
}

// abs makes p absolute against the current directory.
func abs(p string) (string, error) {
	if p == "" {
		return os.Getwd()
	}
	return filepath.Abs(p)
}
