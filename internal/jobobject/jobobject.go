// Package jobobject wraps the Windows job objects that cordon's Windows
// restricted-token backend puts every sandboxed command into.
//
// # Why a job
//
// A sandboxed command is a process tree, not a process: a shell starts
// compilers, test runners start workers. cordon must be able to end all of
// it, and must not leave any of it behind. A job object gives that:
//
//   - JOB_OBJECT_LIMIT_KILL_ON_JOB_CLOSE: "causes all processes associated
//     with the job to terminate when the last handle to the job is closed".
//     The job is unnamed and its handle not inheritable, so cordon holds
//     the only handle: the tree dies on timeout or cancellation (cordon
//     closes the job) and also when cordon itself dies, however that
//     happens, since the kernel closes a dead process's handles.
//   - JOB_OBJECT_LIMIT_DIE_ON_UNHANDLED_EXCEPTION: forces
//     SetErrorMode(SEM_NOGPFAULTERRORBOX) on every process in the job, so a
//     process that crashes ends with the exception code as its exit status
//     instead of showing a Windows Error Reporting dialog that nobody will
//     answer, which would hang the run until its timeout.
//   - Optional JOB_OBJECT_LIMIT_JOB_MEMORY and
//     JOB_OBJECT_LIMIT_ACTIVE_PROCESS: a cap on the committed memory of the
//     whole tree and on the number of processes alive in it at once (a
//     fork-bomb guard); see [Options].
//
// Processes started by a process in the job belong to the job too. Neither
// JOB_OBJECT_LIMIT_BREAKAWAY_OK nor JOB_OBJECT_LIMIT_SILENT_BREAKAWAY_OK is
// set, so no process can leave the job: CreateProcess with
// CREATE_BREAKAWAY_FROM_JOB fails with access denied inside it.
//
// Microsoft documents the flags in "JOBOBJECT_BASIC_LIMIT_INFORMATION
// structure (winnt.h)", member LimitFlags:
// https://learn.microsoft.com/windows/win32/api/winnt/ns-winnt-jobobject_basic_limit_information
// and the memory limit in "JOBOBJECT_EXTENDED_LIMIT_INFORMATION structure",
// member JobMemoryLimit (which requires JOB_OBJECT_LIMIT_JOB_MEMORY):
// https://learn.microsoft.com/windows/win32/api/winnt/ns-winnt-jobobject_extended_limit_information
// The object itself: https://learn.microsoft.com/windows/win32/procthread/job-objects
//
// With [Options.RestrictUI] the job also closes what a private desktop
// does not: the window station's clipboard and global atom table are
// shared by every desktop in it, and USER handles of the user's own
// windows can be guessed.
//
// # API (Windows)
//
//	job, err := jobobject.Create(jobobject.Options{MemoryLimit: 2 << 30})
//	defer job.Close()               // kills whatever is still in the job
//	job.Handle()                    // for PROC_THREAD_ATTRIBUTE_JOB_LIST
//	job.Assign(process)             // a process started CREATE_SUSPENDED
//	job.Terminate(exitCode)         // end the whole tree, keep the job
//	job.Pids()                      // snapshot of the processes in it
//	job.Contains(process)           // IsProcessInJob
//
// A process should be in the job before it runs any code of its own: either
// create it with the job in PROC_THREAD_ATTRIBUTE_JOB_LIST (atomic), or
// create it CREATE_SUSPENDED, [Job.Assign] it, then resume its thread.
// Assigning a running process races with the children it may already have
// started, which would stay outside the job.
//
// Every process in the job counts, not only the ones cordon starts: a
// console program started without a console to share gets a new one, and
// the conhost.exe serving it joins the job (observed under Wine; Windows 8
// and later also start conhost.exe on behalf of the console program). It
// appears in [Job.Pids] and counts against [Options.ProcessLimit]; starting
// the command with a pseudoconsole or DETACHED_PROCESS avoids the extra
// console.
//
// A Job is safe for concurrent use. After [Job.Close], its other methods
// return [ErrClosed].
//
// # Other operating systems
//
// Only [Options], [ErrClosed] and a stub [Create] (with Close, Terminate and
// Pids) exist there; Create always fails with an error matching
// errors.ErrUnsupported. Handle, Assign and Contains are Windows-only
// because their signatures use windows.Handle, a type that does not exist
// elsewhere; portable code can still hold a *Job and call Close. This keeps
// `go vet ./...` clean on Linux without build tags in callers that only
// create and close jobs.
//
// # Testing
//
// Under Wine (see internal/testutil) the tests check the plumbing: jobs are
// created, processes assigned, listed and recognised, and Terminate and
// Close kill a process and its child. Wine 8 accepts but does not enforce
// JOB_OBJECT_LIMIT_ACTIVE_PROCESS or the memory limit, and reports
// LimitFlags=0 when the limits are read back; it accepts the UI
// restrictions but answers their query with ERROR_INVALID_FUNCTION and
// enforces none of them. The tests
// that check those limits, and that breakaway is refused, run only on real
// Windows
// (testutil.RealWindows, CORDON_REAL_WINDOWS=1).
package jobobject

import "errors"

// Options are the optional limits of a job. The zero value sets none of
// them; KILL_ON_JOB_CLOSE and DIE_ON_UNHANDLED_EXCEPTION are always set.
type Options struct {
	// MemoryLimit caps the committed memory of all processes in the job
	// together, in bytes (JOB_OBJECT_LIMIT_JOB_MEMORY, JobMemoryLimit).
	// An allocation that would exceed it fails. 0 means no limit.
	MemoryLimit uint64

	// ProcessLimit caps how many processes may be alive in the job at once
	// (JOB_OBJECT_LIMIT_ACTIVE_PROCESS, ActiveProcessLimit). A process in
	// the job that tries to create one more gets an error from
	// CreateProcess; assigning one more fails and, as documented for
	// AssignProcessToJobObject, terminates the process being assigned.
	// 0 means no limit.
	ProcessLimit uint32

	// RestrictUI sets every JOBOBJECT_BASIC_UI_RESTRICTIONS limit
	// (UILimits): the processes in the job may not use USER handles (such
	// as windows) of processes outside it, read or write the clipboard,
	// use the global atom table, create or switch desktops, change system
	// parameters or display settings, or log off or shut down. See
	// https://learn.microsoft.com/windows/win32/api/winnt/ns-winnt-jobobject_basic_ui_restrictions
	RestrictUI bool
}

// ErrClosed is returned by the methods of a [Job] after [Job.Close].
var ErrClosed = errors.New("jobobject: job is closed")
