//go:build windows

package winlaunch

import (
	"errors"
	"fmt"
	"io"
	"os"
	"slices"
	"unsafe"

	"golang.org/x/sys/windows"

	"github.com/cordon-sandbox/cordon/internal/jobobject"
	"github.com/cordon-sandbox/cordon/internal/winexec"
)

// Options says what to start; see the package documentation for each
// field.
type Options struct {
	Token          windows.Token // 0: the caller's token (CreateProcessW)
	Args           []string      // Args[0] is looked up in Env's PATH
	Dir            string        // full path; "": cordon's working directory
	Env            []string      // the whole environment; nil: empty
	Stdin          io.Reader     // nil: NUL
	Stdout, Stderr io.Writer     // nil: NUL
	Job            *jobobject.Job

	// ProcessSecurity and ThreadSecurity, when not nil, are the security
	// descriptors of the new process and its first thread
	// (lpProcessAttributes and lpThreadAttributes, handles not
	// inheritable); nil means the default, which Windows takes from the
	// token's default DACL.
	ProcessSecurity, ThreadSecurity *windows.SECURITY_DESCRIPTOR

	// Desktop is the "WindowStation\Desktop" the process runs on
	// (STARTUPINFO.lpDesktop); "" means the caller's own desktop.
	Desktop string
}

// procThreadAttributeJobList is PROC_THREAD_ATTRIBUTE_JOB_LIST (winbase.h,
// Windows 10 and later), which golang.org/x/sys/windows v0.50.0 lacks:
// ProcThreadAttributeValue(ProcThreadAttributeJobList = 13, thread FALSE,
// input TRUE, additive FALSE). Its value is an array of job handles; the
// new process is put into each of them before it runs.
const procThreadAttributeJobList = 13 | 0x00020000 // PROC_THREAD_ATTRIBUTE_INPUT

// jobListAttribute is the attribute Start sets for the job; a variable so
// that a test can replace it with one Windows does not know, to take the
// fallback path that Windows before 10 takes.
var jobListAttribute uintptr = procThreadAttributeJobList

// creationFlags are always set; see the package documentation (Console).
const creationFlags = windows.EXTENDED_STARTUPINFO_PRESENT |
	windows.CREATE_UNICODE_ENVIRONMENT | windows.CREATE_NO_WINDOW

// Start starts the process opts describes and returns once it runs (or
// failed to start, in which case nothing of it is left running). The
// caller must call Wait, which releases the process's resources.
//
// The steps:
//
//  1. The program is found with winexec.LookPath (PATH and PATHEXT from
//     opts.Env, never the current directory) and made a full path, the
//     command line composed with winexec.CommandLine and the environment
//     block built with winexec.EnvBlock.
//  2. Each standard stream gets an anonymous pipe (CreatePipe) or, when its
//     reader or writer is nil, the NUL device. All of them are created
//     non-inheritable; the child's three ends are then made inheritable
//     (SetHandleInformation), and closed in cordon as soon as the process
//     exists (or failed to). cordon's ends are never inheritable.
//  3. The attribute list holds PROC_THREAD_ATTRIBUTE_HANDLE_LIST with the
//     child's three handles and, with a job, PROC_THREAD_ATTRIBUTE_JOB_LIST
//     with the job. With a job the process is created CREATE_SUSPENDED in
//     any case. If Windows refuses the job list (before Windows 10:
//     ERROR_NOT_SUPPORTED from UpdateProcThreadAttribute or
//     ERROR_INVALID_PARAMETER from CreateProcess) the process is created
//     without it. Either way Start then checks with IsProcessInJob, assigns
//     the suspended process to the job if it is not yet in it
//     (AssignProcessToJobObject), and only then resumes its thread; so the
//     process never runs a single instruction outside the job, and
//     Process.JobAtBirth tells which way it got there.
//
// The error names the program; when it was not found, it also names the
// PATH searched and wraps winexec.ErrNotFound.
func Start(opts Options) (*Process, error) {
	if len(opts.Args) == 0 {
		return nil, errors.New("winlaunch: Start: no command (empty Args)")
	}
	name := opts.Args[0]
	fail := func(format string, a ...any) (*Process, error) {
		return nil, fmt.Errorf("winlaunch: start %q: "+format, append([]any{name}, a...)...)
	}
	base := opts.Dir
	if base == "" {
		wd, err := os.Getwd()
		if err != nil {
			return fail("working directory: %w", err)
		}
		base = wd
	} else if !fullyQualified(base) {
		return fail("working directory %q is not a full path", base)
	}
	app, err := winexec.LookPath(name, opts.Env, func(p string) bool {
		full, err := appPath(p, base)
		if err != nil {
			return false
		}
		fi, err := os.Stat(full)
		return err == nil && fi.Mode().IsRegular()
	})
	if err != nil {
		return fail("%w", err)
	}
	if app, err = appPath(app, base); err != nil {
		return fail("%w", err)
	}
	line, err := winexec.CommandLine(opts.Args)
	if err != nil {
		return fail("%w", err)
	}
	env, err := winexec.EnvBlock(opts.Env)
	if err != nil {
		return fail("%w", err)
	}
	app16, err := windows.UTF16PtrFromString(app)
	if err != nil {
		return fail("%w", err)
	}
	line16, err := windows.UTF16FromString(line) // CreateProcessW may write to it
	if err != nil {
		return fail("%w", err)
	}
	var desktop16 *uint16
	if opts.Desktop != "" {
		if desktop16, err = windows.UTF16PtrFromString(opts.Desktop); err != nil {
			return fail("desktop: %w", err)
		}
	}
	var dir16 *uint16
	if opts.Dir != "" {
		if dir16, err = windows.UTF16PtrFromString(opts.Dir); err != nil {
			return fail("%w", err)
		}
	}

	s, err := newStdio(opts)
	if err != nil {
		return fail("%w", err)
	}
	defer s.closeChild() // the child has its own copies once it exists
	c := creation{
		token: opts.Token, app: app16, line: &line16[0], env: &env[0], dir: dir16,
		std: s.child, flags: creationFlags,
		proc: securityAttributes(opts.ProcessSecurity), thread: securityAttributes(opts.ThreadSecurity),
		desktop: desktop16,
	}
	if opts.Job != nil {
		c.job = opts.Job.Handle()
		if c.job == 0 {
			s.closeParent()
			return fail("%w", jobobject.ErrClosed)
		}
		c.flags |= windows.CREATE_SUSPENDED
	}
	pi, jobList, err := c.create()
	if err != nil {
		s.closeParent()
		return fail("%s %s: %w", c.function(), app, err)
	}
	p := &Process{pid: int(pi.ProcessId), job: opts.Job, handle: pi.Process, exited: make(chan struct{})}
	if opts.Job != nil {
		if err := p.enterJob(pi, jobList); err != nil {
			_ = windows.TerminateProcess(pi.Process, KilledExitCode)
			_ = windows.CloseHandle(pi.Thread)
			_ = windows.CloseHandle(pi.Process)
			s.closeParent()
			return fail("%w", err)
		}
	}
	_ = windows.CloseHandle(pi.Thread)
	p.startCopies(s, opts)
	go p.watch()
	return p, nil
}

// enterJob makes sure the suspended process is in p.job, then resumes it.
func (p *Process) enterJob(pi *windows.ProcessInformation, jobList bool) error {
	if jobList {
		in, err := p.job.Contains(pi.Process)
		if err != nil {
			return err
		}
		p.jobAtBirth = in
	}
	if !p.jobAtBirth {
		if err := p.job.Assign(pi.Process); err != nil {
			return err
		}
	}
	if _, err := windows.ResumeThread(pi.Thread); err != nil {
		return fmt.Errorf("ResumeThread: %w", err)
	}
	return nil
}

// creation holds the arguments of one CreateProcess(AsUser)W call.
type creation struct {
	token     windows.Token
	app, line *uint16
	env       *uint16
	dir       *uint16
	std       [3]windows.Handle // stdin, stdout, stderr: inherited, and nothing else
	job       windows.Handle    // 0: none
	flags     uint32
	proc      *windows.SecurityAttributes // nil: default security
	thread    *windows.SecurityAttributes
	desktop   *uint16 // nil: the caller's desktop
}

func (c *creation) function() string {
	if c.token != 0 {
		return "CreateProcessAsUser"
	}
	return "CreateProcess"
}

// create creates the process, with the job list if there is a job and
// Windows accepts it, else without. jobList reports whether the process
// was created with the job list.
func (c *creation) create() (pi *windows.ProcessInformation, jobList bool, err error) {
	if c.job == 0 {
		pi, err = c.createWith(false)
		return pi, false, err
	}
	pi, err = c.createWith(true)
	if err == nil {
		return pi, true, nil
	}
	if !errors.Is(err, windows.ERROR_NOT_SUPPORTED) && !errors.Is(err, windows.ERROR_INVALID_PARAMETER) {
		return nil, false, err
	}
	pi, err2 := c.createWith(false)
	if err2 != nil {
		return nil, false, fmt.Errorf("with the job list: %w; without it: %w", err, err2)
	}
	return pi, false, nil
}

// createWith makes the attribute list and calls CreateProcess(AsUser)W.
func (c *creation) createWith(jobList bool) (*windows.ProcessInformation, error) {
	n := uint32(1)
	if jobList {
		n++
	}
	attrs, err := windows.NewProcThreadAttributeList(n)
	if err != nil {
		return nil, fmt.Errorf("InitializeProcThreadAttributeList: %w", err)
	}
	defer attrs.Delete()
	// Each handle once (stdout and stderr may share a pipe). Update keeps
	// the pointers alive until Delete.
	var inherit []windows.Handle
	for _, h := range c.std {
		if !slices.Contains(inherit, h) {
			inherit = append(inherit, h)
		}
	}
	if err := attrs.Update(windows.PROC_THREAD_ATTRIBUTE_HANDLE_LIST,
		unsafe.Pointer(&inherit[0]), uintptr(len(inherit))*unsafe.Sizeof(inherit[0])); err != nil {
		return nil, fmt.Errorf("UpdateProcThreadAttribute(HANDLE_LIST): %w", err)
	}
	if jobList {
		jobs := []windows.Handle{c.job}
		if err := attrs.Update(jobListAttribute,
			unsafe.Pointer(&jobs[0]), unsafe.Sizeof(jobs[0])); err != nil {
			return nil, fmt.Errorf("UpdateProcThreadAttribute(JOB_LIST): %w", err)
		}
	}
	si := &windows.StartupInfoEx{ProcThreadAttributeList: attrs.List()}
	si.Cb = uint32(unsafe.Sizeof(*si))
	si.Flags = windows.STARTF_USESTDHANDLES
	si.Desktop = c.desktop
	si.StdInput, si.StdOutput, si.StdErr = c.std[0], c.std[1], c.std[2]
	pi := new(windows.ProcessInformation)
	// bInheritHandles must be TRUE for the handle list to apply; the list
	// then limits inheritance to exactly its handles.
	if c.token != 0 {
		err = windows.CreateProcessAsUser(c.token, c.app, c.line, c.proc, c.thread, true, c.flags, c.env, c.dir, &si.StartupInfo, pi)
	} else {
		err = windows.CreateProcess(c.app, c.line, c.proc, c.thread, true, c.flags, c.env, c.dir, &si.StartupInfo, pi)
	}
	if err != nil {
		return nil, err
	}
	return pi, nil
}

// securityAttributes wraps sd in a SECURITY_ATTRIBUTES whose handle is not
// inheritable, or returns nil for a nil sd.
// https://learn.microsoft.com/windows/win32/api/wtypesbase/ns-wtypesbase-security_attributes
func securityAttributes(sd *windows.SECURITY_DESCRIPTOR) *windows.SecurityAttributes {
	if sd == nil {
		return nil
	}
	sa := &windows.SecurityAttributes{SecurityDescriptor: sd}
	sa.Length = uint32(unsafe.Sizeof(*sa))
	return sa
}
