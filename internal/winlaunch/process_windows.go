//go:build windows

package winlaunch

import (
	"errors"
	"fmt"
	"io"
	"sync"

	"golang.org/x/sys/windows"

	"github.com/cordon-sandbox/cordon/internal/jobobject"
)

// Process is a process Start started. Its methods are safe for concurrent
// use: the backend typically blocks in Wait in one goroutine and calls Kill
// from another on timeout.
type Process struct {
	pid        int
	job        *jobobject.Job // nil: Kill ends the process alone
	jobAtBirth bool

	mu     sync.Mutex     // guards handle against Kill racing Wait's close
	handle windows.Handle // the process; 0 once Wait has closed it

	exited  chan struct{} // closed by watch once the process has exited
	code    uint32        // exit code, valid once exited is closed
	codeErr error         // why code could not be read

	copies  sync.WaitGroup // the stdout and stderr copies
	copyMu  sync.Mutex
	copyErr error

	waitOnce sync.Once
	waitCode int
	waitErr  error
}

// Pid returns the process ID.
func (p *Process) Pid() int { return p.pid }

// JobAtBirth reports whether the process was created inside its job by
// PROC_THREAD_ATTRIBUTE_JOB_LIST (true), or created suspended and assigned
// to the job before it ran (false: Windows before 10, which refuses the
// attribute, or a Windows that accepts it but did not act on it, which
// Start checks with IsProcessInJob). Either way it ran no code outside the
// job. It is false when there is no job. Wine 8 honours the attribute.
func (p *Process) JobAtBirth() bool { return p.jobAtBirth }

// Exited returns a channel that is closed when the process itself has
// exited, which may be long before Wait returns (see Wait). The backend
// uses it to terminate the job once the command is done, so that
// background grandchildren holding the output pipes do not keep Wait
// blocked.
func (p *Process) Exited() <-chan struct{} { return p.exited }

// watch waits for the process to exit and records its exit code.
func (p *Process) watch() {
	defer close(p.exited)
	// p.handle stays open until Wait, which first waits for p.exited.
	ev, err := windows.WaitForSingleObject(p.handle, windows.INFINITE)
	if err != nil || ev != windows.WAIT_OBJECT_0 {
		p.codeErr = fmt.Errorf("winlaunch: waiting for process %d: event %#x: %v", p.pid, ev, err)
		return
	}
	// The process has exited, so this is its exit code, never
	// STILL_ACTIVE (259) meaning "running".
	// https://learn.microsoft.com/windows/win32/api/processthreadsapi/nf-processthreadsapi-getexitcodeprocess
	if err := windows.GetExitCodeProcess(p.handle, &p.code); err != nil {
		p.codeErr = fmt.Errorf("winlaunch: exit code of process %d: %w", p.pid, err)
	}
}

// Wait waits for the process to exit and for the copies of its standard
// output and error to end, then releases the process handle and returns
// the exit code (GetExitCodeProcess). The code is a DWORD: a process that
// died of an exception has the NTSTATUS as its code (0xC0000005 is
// 3221225477 on 64-bit Windows); one Kill ended has KilledExitCode.
//
// The copies end when every holder of the pipes has closed them, so a
// grandchild that inherited stdout and still runs keeps Wait blocked. Wait
// never kills: terminate the job (Kill, or Job.Terminate after Exited) to
// end such grandchildren.
//
// The copy from Stdin is not waited for, and its errors are not reported:
// a command need not read its input, and a Stdin that never returns must
// not keep Wait blocked. The copy ends, and closes the pipe, when Stdin
// reports EOF or an error or when no process holds the pipe's read end
// any more.
//
// err reports a failure to wait or to read the exit code (the exit code is
// then -1), or a write to Stdout or Stderr that failed; in the last case
// the exit code is still valid, and the copy went on reading (and
// discarding) the output so that the command was not disturbed. Wait may
// be called more than once and returns the same result.
func (p *Process) Wait() (exitCode int, err error) {
	p.waitOnce.Do(func() {
		<-p.exited
		p.copies.Wait()
		p.mu.Lock()
		_ = windows.CloseHandle(p.handle)
		p.handle = 0
		p.mu.Unlock()
		if p.codeErr != nil {
			p.waitCode, p.waitErr = -1, p.codeErr
			return
		}
		p.waitCode = int(p.code)
		p.copyMu.Lock()
		p.waitErr = p.copyErr
		p.copyMu.Unlock()
	})
	return p.waitCode, p.waitErr
}

// Kill ends the process with exit code KilledExitCode: with a job, every
// process in the job (TerminateJobObject), including grandchildren and
// whatever else the caller put there; without one, the process alone
// (TerminateProcess). Kill does not wait for them to die; Wait does. It
// may be called more than once, and after the process exited or Wait
// returned; a job already closed has killed everything (it was created
// with JOB_OBJECT_LIMIT_KILL_ON_JOB_CLOSE), so that is no error either.
func (p *Process) Kill() error {
	if p.job != nil {
		if err := p.job.Terminate(KilledExitCode); err != nil && !errors.Is(err, jobobject.ErrClosed) {
			return fmt.Errorf("winlaunch: kill process %d: %w", p.pid, err)
		}
		return nil
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.handle == 0 {
		return nil // Wait returned: the process has exited
	}
	if err := windows.TerminateProcess(p.handle, KilledExitCode); err != nil {
		// Terminating a process that has exited fails (access denied).
		if ev, werr := windows.WaitForSingleObject(p.handle, 0); werr == nil && ev == windows.WAIT_OBJECT_0 {
			return nil
		}
		return fmt.Errorf("winlaunch: kill process %d: %w", p.pid, err)
	}
	return nil
}

// startCopies starts the goroutines that copy the standard streams. They
// own cordon's ends of the pipes and close them when done.
func (p *Process) startCopies(s *stdio, opts Options) {
	if s.stdinW != 0 {
		go copyIn(s.stdinW, opts.Stdin)
	}
	if s.outR != 0 {
		p.copies.Add(1)
		go p.copyOut(s.outR, opts.Stdout, "stdout")
	}
	if s.errR != 0 {
		p.copies.Add(1)
		go p.copyOut(s.errR, opts.Stderr, "stderr")
	}
}

// copyOut copies the pipe h to w until every writer of the pipe has closed
// it. A failed write is recorded once; the copy goes on reading so that the
// command does not see a broken pipe because of cordon's sink.
func (p *Process) copyOut(h windows.Handle, w io.Writer, what string) {
	defer p.copies.Done()
	defer windows.CloseHandle(h)
	buf := make([]byte, 32<<10)
	writing := true
	for {
		var n uint32
		err := windows.ReadFile(h, buf, &n, nil)
		if n > 0 && writing {
			if _, werr := w.Write(buf[:n]); werr != nil {
				writing = false
				p.recordCopyErr(fmt.Errorf("winlaunch: copying %s of process %d: %w", what, p.pid, werr))
			}
		}
		switch {
		case errors.Is(err, windows.ERROR_BROKEN_PIPE):
			return // every writer closed the pipe: end of output
		case err != nil:
			p.recordCopyErr(fmt.Errorf("winlaunch: reading %s of process %d: %w", what, p.pid, err))
			return
		}
	}
}

func (p *Process) recordCopyErr(err error) {
	p.copyMu.Lock()
	defer p.copyMu.Unlock()
	p.copyErr = errors.Join(p.copyErr, err)
}

// copyIn copies r to the pipe h and closes it. Errors end the copy
// silently; see Wait.
func copyIn(h windows.Handle, r io.Reader) {
	defer windows.CloseHandle(h)
	buf := make([]byte, 32<<10)
	for {
		n, rerr := r.Read(buf)
		for b := buf[:n]; len(b) > 0; {
			var done uint32
			if err := windows.WriteFile(h, b, &done, nil); err != nil {
				return // ERROR_NO_DATA: nobody reads the pipe any more
			}
			b = b[done:]
		}
		if rerr != nil {
			return
		}
	}
}

// stdio holds the handles of the three standard streams during Start.
type stdio struct {
	child  [3]windows.Handle // the child's ends: stdin, stdout, stderr (stderr may equal stdout)
	stdinW windows.Handle    // cordon's end of the stdin pipe, or 0 (NUL)
	outR   windows.Handle    // cordon's end of the stdout pipe, or 0 (NUL)
	errR   windows.Handle    // cordon's end of the stderr pipe, or 0 (NUL, or shared with stdout)
}

// newStdio creates the pipes and NUL handles for opts, all
// non-inheritable, then makes the child's ends inheritable. On error it
// leaves nothing open.
func newStdio(opts Options) (_ *stdio, err error) {
	s := &stdio{}
	defer func() {
		if err != nil {
			s.closeChild()
			s.closeParent()
		}
	}()
	if opts.Stdin == nil {
		if s.child[0], err = openNUL(windows.GENERIC_READ); err != nil {
			return nil, err
		}
	} else if s.child[0], s.stdinW, err = pipe(); err != nil {
		return nil, err
	}
	if opts.Stdout == nil {
		if s.child[1], err = openNUL(windows.GENERIC_WRITE); err != nil {
			return nil, err
		}
	} else if s.outR, s.child[1], err = pipe(); err != nil {
		return nil, err
	}
	switch {
	case opts.Stderr != nil && sameWriter(opts.Stdout, opts.Stderr):
		s.child[2] = s.child[1]
	case opts.Stderr == nil:
		if s.child[2], err = openNUL(windows.GENERIC_WRITE); err != nil {
			return nil, err
		}
	default:
		if s.errR, s.child[2], err = pipe(); err != nil {
			return nil, err
		}
	}
	for _, h := range s.child {
		if err := windows.SetHandleInformation(h, windows.HANDLE_FLAG_INHERIT, windows.HANDLE_FLAG_INHERIT); err != nil {
			return nil, fmt.Errorf("SetHandleInformation(HANDLE_FLAG_INHERIT): %w", err)
		}
	}
	return s, nil
}

// pipe creates an anonymous pipe; neither end is inheritable.
// https://learn.microsoft.com/windows/win32/procthread/creating-a-child-process-with-redirected-input-and-output
func pipe() (r, w windows.Handle, err error) {
	if err := windows.CreatePipe(&r, &w, nil, 64<<10); err != nil {
		return 0, 0, fmt.Errorf("CreatePipe: %w", err)
	}
	return r, w, nil
}

// openNUL opens the NUL device, not inheritable.
func openNUL(access uint32) (windows.Handle, error) {
	name, err := windows.UTF16PtrFromString("NUL")
	if err != nil {
		return 0, err
	}
	h, err := windows.CreateFile(name, access,
		windows.FILE_SHARE_READ|windows.FILE_SHARE_WRITE, nil, windows.OPEN_EXISTING, 0, 0)
	if err != nil {
		return 0, fmt.Errorf("open NUL: %w", err)
	}
	return h, nil
}

// closeChild closes the child's ends (each once).
func (s *stdio) closeChild() {
	for i, h := range s.child {
		if h != 0 && (i < 2 || h != s.child[1]) {
			_ = windows.CloseHandle(h)
		}
	}
	s.child = [3]windows.Handle{}
}

// closeParent closes cordon's ends, when the process could not be started.
func (s *stdio) closeParent() {
	for _, h := range []windows.Handle{s.stdinW, s.outR, s.errR} {
		if h != 0 {
			_ = windows.CloseHandle(h)
		}
	}
	s.stdinW, s.outR, s.errR = 0, 0, 0
}

// sameWriter reports whether a and b are the same writer, as os/exec
// decides whether Stdout and Stderr can share a pipe. Writers of a type
// that cannot be compared are never the same.
func sameWriter(a, b io.Writer) (same bool) {
	defer func() {
		if recover() != nil {
			same = false
		}
	}()
	return a == b
}
