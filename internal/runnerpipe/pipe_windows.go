package runnerpipe

import (
	"context"
	"errors"
	"fmt"
	"os"
	"runtime"
	"time"
	"unsafe"

	"golang.org/x/sys/windows"

	"github.com/cordon-sandbox/cordon/ntsec"
)

// The pipe is one duplex byte pipe, not a pair: one name to create and
// guard, one connection to check, and the order of Spawn and Ready on a
// single stream. A duplex pipe needs overlapped I/O, since synchronous
// reads and writes on one handle are serialised by Windows (a runner
// blocked reading Stdin could not write Output); Go 1.25 and later put an
// overlapped handle given to os.NewFile on the runtime's I/O completion
// port, so Read and Write run concurrently and deadlines work
// (https://go.dev/doc/go1.25#os).
//
// go-winio's ListenPipe is not used: it creates a listening instance for
// every client with no instance limit, so a second client could connect
// while the first is checked, and it offers no client process ID check.
const (
	bufferSize = 64 << 10
	// pipeMode: bytes in, bytes out, blocking semantics (overlapped I/O
	// makes it asynchronous for us), and no clients from other machines
	// (https://learn.microsoft.com/en-us/windows/win32/ipc/pipe-remote-clients).
	pipeMode = windows.PIPE_TYPE_BYTE | windows.PIPE_READMODE_BYTE | windows.PIPE_WAIT | windows.PIPE_REJECT_REMOTE_CLIENTS
	// openMode: FILE_FLAG_FIRST_PIPE_INSTANCE makes CreateNamedPipe fail
	// if any process already created a pipe of this name, so nobody can
	// squat the name and wait for the runner to connect to them.
	openMode = windows.PIPE_ACCESS_DUPLEX | windows.FILE_FLAG_FIRST_PIPE_INSTANCE | windows.FILE_FLAG_OVERLAPPED
)

// ErrNameTaken is wrapped by Listen when a pipe of that name exists.
var ErrNameTaken = errors.New("runnerpipe: a pipe of that name already exists")

// WrongPeerError is returned when the process at the other end of the
// pipe is not the one expected: Accept's client is not the runner cordon
// started, or Dial's server is not cordon.
type WrongPeerError struct {
	Role      string // "client" or "server"
	Want, Got uint32 // process IDs
}

func (e *WrongPeerError) Error() string {
	return fmt.Sprintf("runnerpipe: the pipe's %s is process %d, not %d: refused", e.Role, e.Got, e.Want)
}

// Listener is the server end of a runner pipe before its one client
// connects.
type Listener struct {
	h    windows.Handle
	name string
}

// Listen creates the pipe name (NewName) with SecurityDescriptor for
// sandboxUser: one instance only, so that once the runner connects nobody
// else can, with 64 KiB buffers. The handle is not inheritable.
func Listen(name string, sandboxUser ntsec.SID) (*Listener, error) {
	sddl, err := SDDL(sandboxUser)
	if err != nil {
		return nil, err
	}
	sd, err := windows.SecurityDescriptorFromString(sddl)
	if err != nil {
		return nil, fmt.Errorf("runnerpipe: %s: %w", sddl, err)
	}
	if dacl, _, err := sd.DACL(); err != nil || dacl == nil {
		return nil, fmt.Errorf("runnerpipe: %s: no DACL (%v)", sddl, err)
	}
	sa := &windows.SecurityAttributes{SecurityDescriptor: sd}
	sa.Length = uint32(unsafe.Sizeof(*sa))
	n, err := windows.UTF16PtrFromString(name)
	if err != nil {
		return nil, fmt.Errorf("runnerpipe: pipe name %q: %w", name, err)
	}
	h, err := windows.CreateNamedPipe(n, openMode, pipeMode, 1, bufferSize, bufferSize, 0, sa)
	runtime.KeepAlive(sd)
	if err != nil {
		// With FILE_FLAG_FIRST_PIPE_INSTANCE an existing name gives
		// ERROR_ACCESS_DENIED; so does an existing pipe of another
		// owner whose DACL refuses us a new instance.
		if errors.Is(err, windows.ERROR_ACCESS_DENIED) || errors.Is(err, windows.ERROR_PIPE_BUSY) {
			return nil, fmt.Errorf("%w: %s (%w)", ErrNameTaken, name, err)
		}
		return nil, fmt.Errorf("runnerpipe: CreateNamedPipe %s: %w", name, err)
	}
	return &Listener{h: h, name: name}, nil
}

// Name is the pipe's name, for the runner's command line.
func (l *Listener) Name() string { return l.name }

// Close closes the pipe if Accept has not taken it; it may be called more
// than once.
func (l *Listener) Close() error {
	if l.h == 0 {
		return nil
	}
	err := windows.CloseHandle(l.h)
	l.h = 0
	return err
}

// Accept waits until a client connects or ctx ends, then checks with
// GetNamedPipeClientProcessId that the client is process clientPID, the
// runner cordon started
// (https://learn.microsoft.com/en-us/windows/win32/api/winbase/nf-winbase-getnamedpipeclientprocessid).
// Any other client is refused with a *WrongPeerError before a byte is
// exchanged, and the pipe is closed: a stranger connecting first is an
// attack on this run, which fails rather than waits for a second client.
//
// The caller must hold a handle to the runner's process until Accept
// returns, so that its process ID cannot be reused by another process.
// Accept is called once; the Listener is spent afterwards, whatever the
// outcome.
func (l *Listener) Accept(ctx context.Context, clientPID uint32) (_ *Conn, err error) {
	if l.h == 0 {
		return nil, errors.New("runnerpipe: Accept on a closed or spent listener")
	}
	defer func() {
		if err != nil {
			l.Close()
		}
	}()
	if err := connect(ctx, l.h); err != nil {
		return nil, fmt.Errorf("runnerpipe: waiting for the runner on %s: %w", l.name, err)
	}
	var pid uint32
	if err := windows.GetNamedPipeClientProcessId(l.h, &pid); err != nil {
		return nil, fmt.Errorf("runnerpipe: GetNamedPipeClientProcessId: %w", err)
	}
	if pid != clientPID {
		return nil, &WrongPeerError{Role: "client", Want: clientPID, Got: pid}
	}
	h := l.h
	l.h = 0
	return newConn(h, l.name, pid), nil
}

// connect runs an overlapped ConnectNamedPipe on h and waits for it or
// for ctx; on ctx's end it cancels the operation (CancelIoEx) and waits for
// the cancellation, so the OVERLAPPED is never released while Windows may
// still write it
// (https://learn.microsoft.com/en-us/windows/win32/api/namedpipeapi/nf-namedpipeapi-connectnamedpipe).
func connect(ctx context.Context, h windows.Handle) error {
	done, err := windows.CreateEvent(nil, 1, 0, nil)
	if err != nil {
		return fmt.Errorf("CreateEvent: %w", err)
	}
	defer windows.CloseHandle(done)
	// The OVERLAPPED lives on the heap, pinned, until the operation ends.
	var pin runtime.Pinner
	defer pin.Unpin()
	ov := &windows.Overlapped{HEvent: done}
	pin.Pin(ov)
	switch err := windows.ConnectNamedPipe(h, ov); {
	case err == nil, errors.Is(err, windows.ERROR_PIPE_CONNECTED):
		// The client connected between CreateNamedPipe and now.
		return ctx.Err()
	case !errors.Is(err, windows.ERROR_IO_PENDING):
		return fmt.Errorf("ConnectNamedPipe: %w", err)
	}
	cancelled, err := windows.CreateEvent(nil, 1, 0, nil)
	if err != nil {
		windows.CancelIoEx(h, ov)
		var n uint32
		windows.GetOverlappedResult(h, ov, &n, true)
		return fmt.Errorf("CreateEvent: %w", err)
	}
	defer windows.CloseHandle(cancelled)
	stop := context.AfterFunc(ctx, func() { windows.SetEvent(cancelled) })
	defer stop()
	ev, err := windows.WaitForMultipleObjects([]windows.Handle{done, cancelled}, false, windows.INFINITE)
	if err != nil || ev != windows.WAIT_OBJECT_0 {
		windows.CancelIoEx(h, ov)
	}
	var n uint32
	if err := windows.GetOverlappedResult(h, ov, &n, true); err != nil {
		if errors.Is(err, windows.ERROR_OPERATION_ABORTED) && ctx.Err() != nil {
			return ctx.Err()
		}
		return fmt.Errorf("ConnectNamedPipe: %w", err)
	}
	return ctx.Err()
}

// Dial connects to the runner pipe name, as the runner, and checks with
// GetNamedPipeServerProcessId that its server is process serverPID, the
// cordon that started the runner
// (https://learn.microsoft.com/en-us/windows/win32/api/winbase/nf-winbase-getnamedpipeserverprocessid).
// It opens the pipe with ClientAccess only, and with SECURITY_IDENTIFICATION
// quality of service: the server may learn who the client is but never
// impersonate it
// (https://learn.microsoft.com/en-us/windows/win32/api/fileapi/nf-fileapi-createfilew#security-quality-of-service).
// The one instance is free only until a client takes it, so Dial does not
// wait: a busy pipe is an error.
func Dial(name string, serverPID uint32) (_ *Conn, err error) {
	n, err := windows.UTF16PtrFromString(name)
	if err != nil {
		return nil, fmt.Errorf("runnerpipe: pipe name %q: %w", name, err)
	}
	h, err := windows.CreateFile(n, uint32(ClientAccess), 0, nil, windows.OPEN_EXISTING,
		windows.FILE_FLAG_OVERLAPPED|windows.SECURITY_SQOS_PRESENT|windows.SECURITY_IDENTIFICATION, 0)
	if err != nil {
		return nil, fmt.Errorf("runnerpipe: opening %s: %w", name, err)
	}
	defer func() {
		if err != nil {
			windows.CloseHandle(h)
		}
	}()
	var pid uint32
	if err := windows.GetNamedPipeServerProcessId(h, &pid); err != nil {
		return nil, fmt.Errorf("runnerpipe: GetNamedPipeServerProcessId: %w", err)
	}
	if pid != serverPID {
		return nil, &WrongPeerError{Role: "server", Want: serverPID, Got: pid}
	}
	return newConn(h, name, pid), nil
}

// Conn is a connected runner pipe, either end. Read and Write may run
// concurrently; deadlines apply as on an os.File.
type Conn struct {
	f    *os.File
	peer uint32
}

func newConn(h windows.Handle, name string, peer uint32) *Conn {
	return &Conn{f: os.NewFile(uintptr(h), name), peer: peer}
}

// PeerPID is the process ID checked at the other end.
func (c *Conn) PeerPID() uint32 { return c.peer }

// Read reads from the pipe; it returns io.EOF once the other end closed
// it and everything it wrote was read.
func (c *Conn) Read(p []byte) (int, error) { return c.f.Read(p) }

// Write writes to the pipe.
func (c *Conn) Write(p []byte) (int, error) { return c.f.Write(p) }

// SetDeadline sets the read and write deadline (os.File.SetDeadline).
func (c *Conn) SetDeadline(t time.Time) error { return c.f.SetDeadline(t) }

// Close closes the pipe; a pending Read or Write returns an error.
func (c *Conn) Close() error { return c.f.Close() }
