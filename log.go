package cordon

import (
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/cordon-sandbox/cordon/internal/netproxy"
	"github.com/cordon-sandbox/cordon/internal/statedir"
)

// logger writes one concise line per event of a command to cordon.log in
// the state directory: its start (with the names of the environment
// variables the policy dropped), then its success or failure with exit
// code and duration. CORDON_DEBUG=1 adds detail (the full command line, the
// backend's degradations). Logging never fails a run: a state directory that
// cannot be written just means no log.
type logger struct {
	l     *slog.Logger
	f     *os.File
	debug bool
}

func (lg *logger) close() {
	if lg.f != nil {
		lg.f.Close()
	}
}

// maxLoggedCommand is how much of a command line a log line keeps.
const maxLoggedCommand = 200

func newLogger() *logger {
	lg := &logger{debug: os.Getenv("CORDON_DEBUG") == "1"}
	dir, err := statedir.Dir()
	if err != nil {
		return lg
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return lg
	}
	f, err := os.OpenFile(filepath.Join(dir, "cordon.log"), os.O_CREATE|os.O_APPEND|os.O_WRONLY, 0o600)
	if err != nil {
		return lg
	}
	level := slog.LevelInfo
	if lg.debug {
		level = slog.LevelDebug
	}
	// Lines are written whole by one write call, so concurrent cordon
	// processes appending to the log do not interleave within a line.
	lg.f = f
	lg.l = slog.New(slog.NewTextHandler(f, &slog.HandlerOptions{Level: level}))
	return lg
}

func shortCommand(cmd []string) string {
	s := strings.Join(cmd, " ")
	if len(s) > maxLoggedCommand {
		s = s[:maxLoggedCommand] + "…"
	}
	return s
}

// start logs the start of cmd and the names of the variables the policy
// dropped from its environment (names only: values are never logged).
func (lg *logger) start(backend string, cmd []string, envDropped []string) {
	if lg.l == nil {
		return
	}
	attrs := []any{"backend", backend, "cmd", shortCommand(cmd)}
	if len(envDropped) > 0 {
		attrs = append(attrs, "env_dropped", strings.Join(envDropped, ","))
	}
	lg.l.Info("START", attrs...)
	if lg.debug {
		lg.l.Debug("command", "argv", fmt.Sprintf("%q", cmd))
	}
}

// notes logs what the backend found while setting the sandbox up and left
// alone, one line each.
func (lg *logger) notes(notes []string) {
	if lg.l == nil {
		return
	}
	for _, n := range notes {
		lg.l.Info("NOTE", "note", n)
	}
}

// network logs one decision of the run's allowlist proxy, as it is made.
func (lg *logger) network(d netproxy.Decision) {
	if lg.l == nil {
		return
	}
	attrs := []any{"proto", d.Proto, "host", d.Host, "port", d.Port}
	if d.Allowed {
		lg.l.Info("NETWORK", append([]any{"decision", "allowed"}, append(attrs, "addr", d.Addr.String(), "rule", d.Rule)...)...)
		return
	}
	if d.Addr.IsValid() {
		attrs = append(attrs, "addr", d.Addr.String())
	}
	lg.l.Info("NETWORK", append([]any{"decision", "denied"}, append(attrs, "reason", d.Reason)...)...)
}

func (lg *logger) finish(cmd []string, r Result) {
	if lg.l == nil {
		return
	}
	msg := "SUCCESS"
	if r.ExitCode != 0 || r.TimedOut {
		msg = "FAILURE"
	}
	lg.l.Info(msg, "cmd", shortCommand(cmd), "exit", r.ExitCode, "timed_out", r.TimedOut, "duration", r.Duration.Round(time.Microsecond))
	if lg.debug && len(r.Degraded) > 0 {
		lg.l.Debug("degraded", "missing", strings.Join(r.Degraded, ","))
	}
}

func (lg *logger) failure(cmd []string, code int, d time.Duration, err error) {
	if lg.l == nil {
		return
	}
	lg.l.Info("FAILURE", "cmd", shortCommand(cmd), "exit", code, "duration", d.Round(time.Microsecond), "error", err.Error())
}
