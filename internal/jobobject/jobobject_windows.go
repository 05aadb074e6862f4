//go:build windows

package jobobject

import (
	"errors"
	"fmt"
	"sync"
	"unsafe"

	"golang.org/x/sys/windows"
)

// Job is an unnamed Windows job object whose processes all die when it is
// closed. Create one with [Create]; the zero Job is not usable.
type Job struct {
	// mu is held for reading by every call that uses handle and for
	// writing by Close, so a handle value is never used after it was
	// closed (and possibly reused by Windows for another object).
	mu     sync.RWMutex
	handle windows.Handle // 0 once closed
}

// baseLimits are set on every job; see the package documentation.
const baseLimits = windows.JOB_OBJECT_LIMIT_KILL_ON_JOB_CLOSE |
	windows.JOB_OBJECT_LIMIT_DIE_ON_UNHANDLED_EXCEPTION

// limitInfo returns the JOBOBJECT_EXTENDED_LIMIT_INFORMATION that Create
// sets for opts. LimitFlags decides which members count: JobMemoryLimit
// only with JOB_OBJECT_LIMIT_JOB_MEMORY, ActiveProcessLimit only with
// JOB_OBJECT_LIMIT_ACTIVE_PROCESS; the others are ignored.
func limitInfo(opts Options) (windows.JOBOBJECT_EXTENDED_LIMIT_INFORMATION, error) {
	var info windows.JOBOBJECT_EXTENDED_LIMIT_INFORMATION
	info.BasicLimitInformation.LimitFlags = baseLimits
	if opts.MemoryLimit != 0 {
		// JobMemoryLimit is a SIZE_T: 32 bits on 32-bit Windows.
		if uint64(uintptr(opts.MemoryLimit)) != opts.MemoryLimit {
			return info, fmt.Errorf("memory limit %d bytes does not fit this platform's SIZE_T", opts.MemoryLimit)
		}
		info.BasicLimitInformation.LimitFlags |= windows.JOB_OBJECT_LIMIT_JOB_MEMORY
		info.JobMemoryLimit = uintptr(opts.MemoryLimit)
	}
	if opts.ProcessLimit != 0 {
		info.BasicLimitInformation.LimitFlags |= windows.JOB_OBJECT_LIMIT_ACTIVE_PROCESS
		info.BasicLimitInformation.ActiveProcessLimit = opts.ProcessLimit
	}
	return info, nil
}

// UILimits are the JOBOBJECT_BASIC_UI_RESTRICTIONS flags Options.RestrictUI
// sets: all eight that winnt.h defines (values from
// https://learn.microsoft.com/windows/win32/api/winnt/ns-winnt-jobobject_basic_ui_restrictions).
const UILimits = windows.JOB_OBJECT_UILIMIT_HANDLES | windows.JOB_OBJECT_UILIMIT_READCLIPBOARD |
	windows.JOB_OBJECT_UILIMIT_WRITECLIPBOARD | windows.JOB_OBJECT_UILIMIT_GLOBALATOMS |
	windows.JOB_OBJECT_UILIMIT_DESKTOP | windows.JOB_OBJECT_UILIMIT_SYSTEMPARAMETERS |
	windows.JOB_OBJECT_UILIMIT_DISPLAYSETTINGS | windows.JOB_OBJECT_UILIMIT_EXITWINDOWS

// Create creates an unnamed job object with KILL_ON_JOB_CLOSE and
// DIE_ON_UNHANDLED_EXCEPTION and the limits in opts (with RestrictUI, also
// SetInformationJobObject(JobObjectBasicUIRestrictions, UILimits)). The handle is not
// inheritable. The caller must call [Job.Close], which kills every process
// still in the job.
//
// CreateJobObjectW: https://learn.microsoft.com/windows/win32/api/jobapi2/nf-jobapi2-createjobobjectw
// SetInformationJobObject: https://learn.microsoft.com/windows/win32/api/jobapi2/nf-jobapi2-setinformationjobobject
func Create(opts Options) (*Job, error) {
	info, err := limitInfo(opts)
	if err != nil {
		return nil, fmt.Errorf("job limits: %w", err)
	}
	// Nil security attributes: default security, handle not inheritable
	// (a child inheriting it would keep the job, and itself, alive past
	// Close). Nil name: no other process can open the job by name.
	h, err := windows.CreateJobObject(nil, nil)
	if err != nil {
		return nil, fmt.Errorf("create job object: %w", err)
	}
	if _, err := windows.SetInformationJobObject(h, windows.JobObjectExtendedLimitInformation,
		uintptr(unsafe.Pointer(&info)), uint32(unsafe.Sizeof(info))); err != nil {
		// Nothing can be in the job yet, so closing it kills nothing.
		_ = windows.CloseHandle(h)
		return nil, fmt.Errorf("set job limits: %w", err)
	}
	if opts.RestrictUI {
		ui := windows.JOBOBJECT_BASIC_UI_RESTRICTIONS{UIRestrictionsClass: UILimits}
		if _, err := windows.SetInformationJobObject(h, windows.JobObjectBasicUIRestrictions,
			uintptr(unsafe.Pointer(&ui)), uint32(unsafe.Sizeof(ui))); err != nil {
			_ = windows.CloseHandle(h)
			return nil, fmt.Errorf("set job UI restrictions 0x%x: %w", UILimits, err)
		}
	}
	return &Job{handle: h}, nil
}

// Handle returns the job's handle, for example for
// PROC_THREAD_ATTRIBUTE_JOB_LIST, which puts a new process into the job
// atomically at creation. It stays owned by the Job: do not close it, and
// do not use it after [Job.Close] (Handle then returns 0).
func (j *Job) Handle() windows.Handle {
	j.mu.RLock()
	defer j.mu.RUnlock()
	return j.handle
}

// with calls f with the job's handle, or returns ErrClosed.
func (j *Job) with(f func(h windows.Handle) error) error {
	j.mu.RLock()
	defer j.mu.RUnlock()
	if j.handle == 0 {
		return ErrClosed
	}
	return f(j.handle)
}

// Assign puts process into the job (AssignProcessToJobObject); the handle
// needs PROCESS_SET_QUOTA and PROCESS_TERMINATE access, which the handle
// returned by CreateProcess has. A process cannot leave a job, and its
// future children are in the job too.
//
// Assign a process before it runs: create it CREATE_SUSPENDED, Assign,
// then resume its main thread. Children a running process started before
// Assign stay outside the job.
//
// https://learn.microsoft.com/windows/win32/api/jobapi2/nf-jobapi2-assignprocesstojobobject
func (j *Job) Assign(process windows.Handle) error {
	return j.with(func(h windows.Handle) error {
		if err := windows.AssignProcessToJobObject(h, process); err != nil {
			return fmt.Errorf("assign process to job: %w", err)
		}
		return nil
	})
}

// Terminate ends every process in the job, and so the whole tree, with
// exitCode as their exit code (TerminateJobObject). The job stays usable.
// Terminating a job with no processes (never used, or already terminated)
// succeeds and does nothing, so Terminate may be called more than once.
//
// The processes may not have exited yet when Terminate returns: wait on
// their handles to know they have.
//
// https://learn.microsoft.com/windows/win32/api/jobapi2/nf-jobapi2-terminatejobobject
func (j *Job) Terminate(exitCode uint32) error {
	return j.with(func(h windows.Handle) error {
		if err := windows.TerminateJobObject(h, exitCode); err != nil {
			return fmt.Errorf("terminate job: %w", err)
		}
		return nil
	})
}

// Close closes the job's handle. Because cordon holds the only handle and
// the job has JOB_OBJECT_LIMIT_KILL_ON_JOB_CLOSE, this terminates every
// process still in the job. Closing an already closed Job returns nil.
func (j *Job) Close() error {
	j.mu.Lock()
	defer j.mu.Unlock()
	if j.handle == 0 {
		return nil
	}
	err := windows.CloseHandle(j.handle)
	j.handle = 0
	if err != nil {
		return fmt.Errorf("close job: %w", err)
	}
	return nil
}

// Pids returns the IDs of the processes now in the job
// (QueryInformationJobObject with JobObjectBasicProcessIdList), including
// those in nested jobs. It is a snapshot: processes may exit or start right
// after. To act on one, open it, then confirm with [Job.Contains] that the
// ID was not reused by an unrelated process in between. A job without
// processes gives an empty, non-nil slice.
//
// https://learn.microsoft.com/windows/win32/api/jobapi2/nf-jobapi2-queryinformationjobobject
func (j *Job) Pids() ([]uint32, error) {
	var pids []uint32
	err := j.with(func(h windows.Handle) error {
		var err error
		pids, err = queryPids(h)
		return err
	})
	return pids, err
}

// pidsInitialCapacity is how many process IDs the first query makes room
// for; a variable so that tests can exercise the growing path.
var pidsInitialCapacity uintptr = 16

// queryPids asks for the process list with a buffer that grows until the
// whole list fits. The process count can grow between calls, so it retries
// (a bounded number of times: a job whose process count keeps growing
// faster than we can query is an error, not a reason to loop forever).
func queryPids(h windows.Handle) ([]uint32, error) {
	const wordSize = unsafe.Sizeof(uintptr(0))
	header := unsafe.Offsetof(basicProcessIDList{}.ProcessIdList) / wordSize
	capacity := max(pidsInitialCapacity, 1) // the struct itself holds one ID
	for range 8 {
		buf := make([]uintptr, header+capacity)
		list := (*basicProcessIDList)(unsafe.Pointer(&buf[0]))
		err := windows.QueryInformationJobObject(h, windows.JobObjectBasicProcessIdList,
			uintptr(unsafe.Pointer(&buf[0])), uint32(uintptr(len(buf))*wordSize), nil)
		switch {
		case err == nil && list.NumberOfProcessIdsInList >= list.NumberOfAssignedProcesses:
			n := min(uintptr(list.NumberOfProcessIdsInList), capacity)
			pids := make([]uint32, 0, n)
			for _, id := range buf[header : header+n] {
				pids = append(pids, uint32(id)) // a process ID is a DWORD
			}
			return pids, nil
		case err == nil, errors.Is(err, windows.ERROR_MORE_DATA):
			// Too small: the header still tells how many are in the job.
			// Leave room for a few more that may start meanwhile.
			capacity = max(2*capacity, uintptr(list.NumberOfAssignedProcesses)+16)
		default:
			return nil, fmt.Errorf("query job process list: %w", err)
		}
	}
	return nil, errors.New("query job process list: the number of processes kept growing")
}

// Contains reports whether process is in the job (IsProcessInJob),
// directly or through a nested job. Windows documents that the handle
// needs PROCESS_QUERY_INFORMATION or PROCESS_QUERY_LIMITED_INFORMATION
// access; Wine 8 refuses the latter alone (access denied), so ask for
// PROCESS_QUERY_INFORMATION when opening a process to test.
//
// https://learn.microsoft.com/windows/win32/api/jobapi/nf-jobapi-isprocessinjob
func (j *Job) Contains(process windows.Handle) (bool, error) {
	var in int32
	err := j.with(func(h windows.Handle) error {
		if err := isProcessInJob(process, h, &in); err != nil {
			return fmt.Errorf("is process in job: %w", err)
		}
		return nil
	})
	return in != 0, err
}
