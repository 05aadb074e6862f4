package ntsec

// Process- and thread-specific access rights, from Microsoft's "Process
// Security and Access Rights"
// (https://learn.microsoft.com/en-us/windows/win32/procthread/process-security-and-access-rights)
// and "Thread Security and Access Rights"
// (https://learn.microsoft.com/en-us/windows/win32/procthread/thread-security-and-access-rights).
const (
	ProcessTerminate               AccessMask = 0x0001
	ProcessCreateThread            AccessMask = 0x0002
	ProcessSetSessionID            AccessMask = 0x0004
	ProcessVMOperation             AccessMask = 0x0008
	ProcessVMRead                  AccessMask = 0x0010
	ProcessVMWrite                 AccessMask = 0x0020
	ProcessDupHandle               AccessMask = 0x0040
	ProcessCreateProcess           AccessMask = 0x0080
	ProcessSetQuota                AccessMask = 0x0100
	ProcessSetInformation          AccessMask = 0x0200
	ProcessQueryInformation        AccessMask = 0x0400
	ProcessSuspendResume           AccessMask = 0x0800
	ProcessQueryLimitedInformation AccessMask = 0x1000
	ProcessSetLimitedInformation   AccessMask = 0x2000
	// ProcessAllAccess is PROCESS_ALL_ACCESS on Windows Vista and later:
	// STANDARD_RIGHTS_REQUIRED | SYNCHRONIZE | 0xFFFF.
	ProcessAllAccess AccessMask = 0x1FFFFF

	ThreadTerminate               AccessMask = 0x0001
	ThreadSuspendResume           AccessMask = 0x0002
	ThreadGetContext              AccessMask = 0x0008
	ThreadSetContext              AccessMask = 0x0010
	ThreadSetInformation          AccessMask = 0x0020
	ThreadQueryInformation        AccessMask = 0x0040
	ThreadSetThreadToken          AccessMask = 0x0080
	ThreadImpersonate             AccessMask = 0x0100
	ThreadDirectImpersonation     AccessMask = 0x0200
	ThreadSetLimitedInformation   AccessMask = 0x0400
	ThreadQueryLimitedInformation AccessMask = 0x0800
	ThreadResume                  AccessMask = 0x1000
	// ThreadAllAccess is THREAD_ALL_ACCESS on Windows Vista and later.
	ThreadAllAccess AccessMask = 0x1FFFFF
)

// ProcessMapping is the generic mapping of process objects.
//
// Microsoft documents the rights but not the mapping; these values are the
// ones the kernel's Process object type reports (NtQueryObject,
// ObjectTypesInformation), as listed by James Forshaw's NtObjectManager
// (Get-NtType Process) and in "Windows Security Internals" (2024), ch. 4:
//
//   - GENERIC_READ: READ_CONTROL | PROCESS_VM_READ | PROCESS_QUERY_INFORMATION (0x20410);
//   - GENERIC_WRITE: READ_CONTROL | PROCESS_CREATE_THREAD | PROCESS_VM_OPERATION |
//     PROCESS_VM_WRITE | PROCESS_DUP_HANDLE | PROCESS_CREATE_PROCESS |
//     PROCESS_SET_QUOTA | PROCESS_SET_INFORMATION | PROCESS_SUSPEND_RESUME (0x20BEA);
//   - GENERIC_EXECUTE: READ_CONTROL | SYNCHRONIZE | PROCESS_TERMINATE |
//     PROCESS_QUERY_LIMITED_INFORMATION (0x121001);
//   - GENERIC_ALL: PROCESS_ALL_ACCESS.
//
// So under the model's reading of "write access" (WriteRights: All minus
// Read and Execute) a WRITE_RESTRICTED token's restricting SIDs decide
// PROCESS_CREATE_THREAD, PROCESS_VM_OPERATION, PROCESS_VM_WRITE,
// PROCESS_DUP_HANDLE, PROCESS_CREATE_PROCESS, PROCESS_SET_QUOTA,
// PROCESS_SET_INFORMATION, PROCESS_SUSPEND_RESUME, PROCESS_SET_SESSIONID,
// PROCESS_SET_LIMITED_INFORMATION, DELETE, WRITE_DAC and WRITE_OWNER; they
// do not decide PROCESS_VM_READ, PROCESS_QUERY_INFORMATION,
// PROCESS_QUERY_LIMITED_INFORMATION, PROCESS_TERMINATE, READ_CONTROL or
// SYNCHRONIZE, which the user's normal SIDs alone decide. That the kernel
// draws the line there is a hypothesis real Windows must confirm
// (windows-access-check.md, section 4).
var ProcessMapping = GenericMapping{
	Read:    ReadControl | ProcessVMRead | ProcessQueryInformation,
	Write:   ReadControl | ProcessCreateThread | ProcessVMOperation | ProcessVMWrite | ProcessDupHandle | ProcessCreateProcess | ProcessSetQuota | ProcessSetInformation | ProcessSuspendResume,
	Execute: ReadControl | Synchronize | ProcessTerminate | ProcessQueryLimitedInformation,
	All:     ProcessAllAccess,
}

// ThreadMapping is the generic mapping of thread objects, from the same
// source as ProcessMapping:
//
//   - GENERIC_READ: READ_CONTROL | THREAD_GET_CONTEXT | THREAD_QUERY_INFORMATION (0x20048);
//   - GENERIC_WRITE: READ_CONTROL | THREAD_TERMINATE | THREAD_SUSPEND_RESUME |
//     THREAD_ALERT (0x4) | THREAD_SET_CONTEXT | THREAD_SET_INFORMATION |
//     THREAD_SET_LIMITED_INFORMATION (0x20437);
//   - GENERIC_EXECUTE: READ_CONTROL | SYNCHRONIZE | THREAD_QUERY_LIMITED_INFORMATION |
//     THREAD_RESUME (0x121800);
//   - GENERIC_ALL: THREAD_ALL_ACCESS.
var ThreadMapping = GenericMapping{
	Read:    ReadControl | ThreadGetContext | ThreadQueryInformation,
	Write:   ReadControl | ThreadTerminate | ThreadSuspendResume | 0x4 | ThreadSetContext | ThreadSetInformation | ThreadSetLimitedInformation,
	Execute: ReadControl | Synchronize | ThreadQueryLimitedInformation | ThreadResume,
	All:     ThreadAllAccess,
}

var processRightNames = map[AccessMask]string{
	ProcessTerminate: "PROCESS_TERMINATE", ProcessCreateThread: "PROCESS_CREATE_THREAD",
	ProcessSetSessionID: "PROCESS_SET_SESSIONID", ProcessVMOperation: "PROCESS_VM_OPERATION",
	ProcessVMRead: "PROCESS_VM_READ", ProcessVMWrite: "PROCESS_VM_WRITE",
	ProcessDupHandle: "PROCESS_DUP_HANDLE", ProcessCreateProcess: "PROCESS_CREATE_PROCESS",
	ProcessSetQuota: "PROCESS_SET_QUOTA", ProcessSetInformation: "PROCESS_SET_INFORMATION",
	ProcessQueryInformation: "PROCESS_QUERY_INFORMATION", ProcessSuspendResume: "PROCESS_SUSPEND_RESUME",
	ProcessQueryLimitedInformation: "PROCESS_QUERY_LIMITED_INFORMATION",
	ProcessSetLimitedInformation:   "PROCESS_SET_LIMITED_INFORMATION",
}

var threadRightNames = map[AccessMask]string{
	ThreadTerminate: "THREAD_TERMINATE", ThreadSuspendResume: "THREAD_SUSPEND_RESUME", 0x4: "THREAD_ALERT",
	ThreadGetContext: "THREAD_GET_CONTEXT", ThreadSetContext: "THREAD_SET_CONTEXT",
	ThreadSetInformation: "THREAD_SET_INFORMATION", ThreadQueryInformation: "THREAD_QUERY_INFORMATION",
	ThreadSetThreadToken: "THREAD_SET_THREAD_TOKEN", ThreadImpersonate: "THREAD_IMPERSONATE",
	ThreadDirectImpersonation: "THREAD_DIRECT_IMPERSONATION", ThreadSetLimitedInformation: "THREAD_SET_LIMITED_INFORMATION",
	ThreadQueryLimitedInformation: "THREAD_QUERY_LIMITED_INFORMATION", ThreadResume: "THREAD_RESUME",
}
