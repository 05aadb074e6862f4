//go:build windows

package tokenlaunch

import (
	"errors"
	"fmt"
	"io"

	"golang.org/x/sys/windows"

	"github.com/cordon-sandbox/cordon/internal/jobobject"
	"github.com/cordon-sandbox/cordon/internal/restrictedtoken"
	"github.com/cordon-sandbox/cordon/internal/windesktop"
	"github.com/cordon-sandbox/cordon/internal/winlaunch"
	"github.com/cordon-sandbox/cordon/ntsec"
)

// WinSD converts sd to a self-relative Windows descriptor (through SDDL,
// which SecurityDescriptorFromString parses into Go memory), refusing one
// that came out without a DACL: a null DACL would grant everyone
// everything.
func WinSD(sd *ntsec.SecurityDescriptor) (*windows.SECURITY_DESCRIPTOR, error) {
	w, err := windows.SecurityDescriptorFromString(sd.SDDL())
	if err != nil {
		return nil, fmt.Errorf("%s: %w", sd.SDDL(), err)
	}
	if dacl, _, err := w.DACL(); err != nil || dacl == nil {
		return nil, fmt.Errorf("%s: no DACL (%v)", sd.SDDL(), err)
	}
	return w, nil
}

// SDs are the descriptors of the command's process and first thread,
// granting user, SYSTEM and the run SID (restrictedtoken.ProcessSD,
// ThreadSD), so that no other sandbox can open the command's processes
// for writing.
func SDs(user, run ntsec.SID) (proc, thread *windows.SECURITY_DESCRIPTOR, err error) {
	if proc, err = WinSD(restrictedtoken.ProcessSD(user, run)); err != nil {
		return nil, nil, fmt.Errorf("the process descriptor: %w", err)
	}
	if thread, err = WinSD(restrictedtoken.ThreadSD(user, run)); err != nil {
		return nil, nil, fmt.Errorf("the thread descriptor: %w", err)
	}
	return proc, thread, nil
}

// PrivateDesktop creates a desktop in the caller's window station,
// granted to user, SYSTEM and the run SID only (restrictedtoken.DesktopSD).
func PrivateDesktop(user, run ntsec.SID) (*windesktop.Desktop, error) {
	sd, err := WinSD(restrictedtoken.DesktopSD(user, run))
	if err != nil {
		return nil, fmt.Errorf("the desktop descriptor: %w", err)
	}
	d, err := windesktop.Create(sd)
	if err != nil {
		return nil, fmt.Errorf("a private desktop: %w", err)
	}
	return d, nil
}

// Options say what Start starts.
type Options struct {
	// Token is the command's token (restrictedtoken.Caller.Create); 0
	// runs it with the caller's own, which only plumbing under Wine does.
	// The caller keeps it and may close it once Start returned.
	Token windows.Token
	// User is the token's user and Run the run SID: the process, thread
	// and desktop descriptors grant them (and SYSTEM) only.
	User, Run ntsec.SID
	// Job are the job's options.
	Job jobobject.Options
	// PrivateDesktop starts the command on a desktop of its own.
	PrivateDesktop bool

	Args           []string
	Dir            string
	Env            []string
	Stdin          io.Reader
	Stdout, Stderr io.Writer
}

// Process is a command Start started, with its job and desktop.
type Process struct {
	p       *winlaunch.Process
	job     *jobobject.Job
	desktop *windesktop.Desktop
}

// Start creates the job and the desktop and starts the command in them
// (winlaunch.Start). Once the command itself has exited, the job is
// terminated: nothing it left running outlives it, and no grandchild
// holding its output pipes keeps Wait blocked. On error nothing is left
// running and nothing is left open.
func Start(o Options) (_ *Process, err error) {
	proc, thread, err := SDs(o.User, o.Run)
	if err != nil {
		return nil, err
	}
	p := &Process{}
	defer func() {
		if err != nil {
			err = errors.Join(err, p.release())
		}
	}()
	if p.job, err = jobobject.Create(o.Job); err != nil {
		return nil, err
	}
	desktop := ""
	if o.PrivateDesktop {
		if p.desktop, err = PrivateDesktop(o.User, o.Run); err != nil {
			return nil, err
		}
		desktop = p.desktop.Name()
	}
	if p.p, err = winlaunch.Start(winlaunch.Options{
		Token: o.Token, Args: o.Args, Dir: o.Dir, Env: o.Env,
		Stdin: o.Stdin, Stdout: o.Stdout, Stderr: o.Stderr, Job: p.job,
		ProcessSecurity: proc, ThreadSecurity: thread, Desktop: desktop,
	}); err != nil {
		return nil, err
	}
	job, exited := p.job, p.p.Exited()
	go func() {
		<-exited
		job.Terminate(winlaunch.KilledExitCode) // after Close: does nothing
	}()
	return p, nil
}

// Pid is the command's process ID.
func (p *Process) Pid() int { return p.p.Pid() }

// Kill ends the command and its whole job.
func (p *Process) Kill() error { return p.p.Kill() }

// Wait waits for the command and its output (winlaunch.Process.Wait), then
// closes the job (killing whatever is left in it) and the desktop.
func (p *Process) Wait() (int, error) {
	code, err := p.p.Wait()
	return code, errors.Join(err, p.release())
}

// release closes the job, then the desktop, on which no process of the
// run is left once the job is gone. It may be called more than once.
func (p *Process) release() error {
	var errs []error
	if p.job != nil {
		errs = append(errs, p.job.Close())
	}
	if p.desktop != nil {
		errs = append(errs, p.desktop.Close())
	}
	return errors.Join(errs...)
}
