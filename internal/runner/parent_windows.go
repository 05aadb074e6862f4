//go:build windows

package runner

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"time"
	"unsafe"

	"golang.org/x/sys/windows"

	"github.com/cordon-sandbox/cordon/internal/runnerpipe"
	"github.com/cordon-sandbox/cordon/internal/winapi"
	"github.com/cordon-sandbox/cordon/internal/winexec"
	"github.com/cordon-sandbox/cordon/ntsec"
)

// ErrStart is wrapped by LogonStart's error: the runner process could not
// be created (the logon failed, or the account may not run the program).
var ErrStart = errors.New("runner: the runner did not start")

// Started is a runner process as a StartFunc started it. Handle keeps its
// process ID from being reused until the pipe's client was checked
// against it.
type Started struct {
	PID    uint32
	Handle windows.Handle
}

// StartFunc starts the runner: program exe with arguments args (args[0]
// is not the program name).
type StartFunc func(exe string, args []string) (Started, error)

// LogonStart starts the runner as the local account user with password,
// through CreateProcessWithLogonW with LOGON_WITH_PROFILE (the runner then
// has the sandbox user's profile, registry hive and environment), in the
// caller's session, without a window, in the system directory (which
// every account may read: the caller's working directory may not be
// readable by the sandbox user). The runner gets no standard handles: it
// speaks only over its pipe.
func LogonStart(user, password string) StartFunc {
	return func(exe string, args []string) (Started, error) {
		line, err := winexec.CommandLine(append([]string{exe}, args...))
		if err != nil {
			return Started{}, fmt.Errorf("runner: command line: %w", err)
		}
		u16 := func(s string) *uint16 { p, _ := windows.UTF16PtrFromString(s); return p }
		cmd, err := windows.UTF16FromString(line) // lpCommandLine may be written to
		if err != nil {
			return Started{}, fmt.Errorf("runner: command line: %w", err)
		}
		sys, err := windows.GetSystemDirectory()
		if err != nil {
			return Started{}, fmt.Errorf("runner: the system directory: %w", err)
		}
		var si windows.StartupInfo
		si.Cb = uint32(unsafe.Sizeof(si))
		var pi windows.ProcessInformation
		if err := winapi.CreateProcessWithLogonW(u16(user), u16("."), u16(password), winapi.LOGON_WITH_PROFILE,
			u16(exe), &cmd[0], windows.CREATE_NO_WINDOW|windows.CREATE_UNICODE_ENVIRONMENT, nil, u16(sys), &si, &pi); err != nil {
			return Started{}, fmt.Errorf("%w: CreateProcessWithLogonW as %s: %w", ErrStart, user, err)
		}
		windows.CloseHandle(pi.Thread)
		return Started{PID: pi.ProcessId, Handle: pi.Process}, nil
	}
}

// Remote options: how cordon starts its runner and what it asks it to run.
type RemoteOptions struct {
	// Exe is the runner's program (cordon itself) and Args the
	// arguments before the runner's Config ("runner" for cordon).
	Exe  string
	Args []string
	// SandboxUser is the account the runner runs as: the only SID the
	// pipe's DACL admits (runnerpipe.SDDL).
	SandboxUser ntsec.SID
	// Start starts the runner (LogonStart in cordon).
	Start StartFunc
	// WinePlumbing is passed on to the runner (Config.WinePlumbing).
	WinePlumbing bool
	// ConnectTimeout bounds the wait for the runner to connect; 0 means
	// 60 seconds (a first logon creates the profile, which takes a while).
	ConnectTimeout time.Duration

	// Prepare makes the Spawn from the runner's token (Fixed for a Spawn
	// made beforehand).
	Prepare        Prepare
	Stdin          io.Reader
	Stdout, Stderr io.Writer
}

// Running is a command running through a runner.
type Running struct {
	remote *Remote
	conn   *runnerpipe.Conn
	runner windows.Handle
	exited chan struct{} // closed once the runner process has ended
}

// StartRemote creates the pipe (runnerpipe.Listen, for o.SandboxUser
// only), starts the runner with o.Start, accepts its connection only from
// that process (runnerpipe.Listener.Accept checks the client's process ID,
// while cordon holds the runner's handle so the ID cannot be reused),
// checks its nonce, makes the Spawn (o.Prepare, given the runner's token),
// sends it and waits for Ready. A runner that
// exits before connecting ends the wait at once. On error the runner is
// ended and nothing is left open.
func StartRemote(ctx context.Context, o RemoteOptions) (_ *Running, err error) {
	name, err := runnerpipe.NewName()
	if err != nil {
		return nil, err
	}
	nonce, err := runnerpipe.NewNonce()
	if err != nil {
		return nil, err
	}
	l, err := runnerpipe.Listen(name, o.SandboxUser)
	if err != nil {
		return nil, err
	}
	defer l.Close()
	cfg := Config{Pipe: name, Server: uint32(os.Getpid()), Nonce: nonce, WinePlumbing: o.WinePlumbing}
	st, err := o.Start(o.Exe, append(append([]string(nil), o.Args...), cfg.Args()...))
	if err != nil {
		return nil, err
	}
	r := &Running{runner: st.Handle, exited: make(chan struct{})}
	defer func() {
		if err != nil {
			windows.TerminateProcess(st.Handle, 1)
			err = errors.Join(err, r.close())
		}
	}()
	timeout := o.ConnectTimeout
	if timeout == 0 {
		timeout = 60 * time.Second
	}
	actx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	exited := r.exited
	go func() {
		// Ends the accept when the runner dies first; the handle stays
		// open until Running.close, after this wait returned.
		windows.WaitForSingleObject(st.Handle, windows.INFINITE)
		close(exited)
		cancel()
	}()
	if r.conn, err = l.Accept(actx, st.PID); err != nil {
		select {
		case <-exited:
			var code uint32
			windows.GetExitCodeProcess(st.Handle, &code)
			return nil, fmt.Errorf("runner: the runner (process %d) exited with code %d before it connected: %w", st.PID, code, err)
		default:
		}
		return nil, err
	}
	if r.remote, err = Drive(ctx, r.conn, nonce, o.Prepare, o.Stdin, o.Stdout, o.Stderr); err != nil {
		return nil, err
	}
	return r, nil
}

// PID is the command's process ID.
func (r *Running) PID() uint32 { return r.remote.PID() }

// Kill asks the runner to end the command's job; if the pipe is gone, it
// ends the runner, whose job handle is the only one, so that
// KILL_ON_JOB_CLOSE ends the command's tree.
func (r *Running) Kill() error {
	if err := r.remote.Terminate(); err != nil {
		if terr := windows.TerminateProcess(r.runner, 1); terr != nil {
			return errors.Join(err, terr)
		}
	}
	return nil
}

// Wait relays the command's output until its exit, then closes the pipe
// and waits for the runner to end.
func (r *Running) Wait() (*runnerpipe.Exit, error) {
	exit, err := r.remote.Wait()
	return exit, errors.Join(err, r.close())
}

// close closes the pipe, waits a bounded time for the runner to exit
// (it does once its Exit is sent and the pipe is closed), ends it if it
// has not, and closes its handle.
func (r *Running) close() error {
	var errs []error
	if r.conn != nil {
		errs = append(errs, r.conn.Close())
		r.conn = nil
	}
	if r.runner != 0 {
		select {
		case <-r.exited:
		case <-time.After(10 * time.Second):
			windows.TerminateProcess(r.runner, 1)
			<-r.exited // the watcher's wait on the handle ends before it is closed
		}
		errs = append(errs, windows.CloseHandle(r.runner))
		r.runner = 0
	}
	return errors.Join(errs...)
}
