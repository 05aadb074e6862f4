//go:build windows

package jobobject

// Bindings golang.org/x/sys/windows v0.50.0 lacks. Everything else (job
// creation, limits, assignment, termination, queries) comes from x/sys.

// BOOL IsProcessInJob(
//   [in]           HANDLE ProcessHandle,
//   [in, optional] HANDLE JobHandle,
//   [out]          PBOOL  Result
// );
//
// https://learn.microsoft.com/windows/win32/api/jobapi/nf-jobapi-isprocessinjob
//
//sys	isProcessInJob(process windows.Handle, job windows.Handle, result *int32) (err error) = kernel32.IsProcessInJob

// basicProcessIDList is the fixed part of JOBOBJECT_BASIC_PROCESS_ID_LIST
// (winnt.h), the answer to QueryInformationJobObject(JobObjectBasicProcessIdList):
//
//	typedef struct _JOBOBJECT_BASIC_PROCESS_ID_LIST {
//	  DWORD     NumberOfAssignedProcesses;
//	  DWORD     NumberOfProcessIdsInList;
//	  ULONG_PTR ProcessIdList[1];
//	} JOBOBJECT_BASIC_PROCESS_ID_LIST;
//
// ProcessIdList really has NumberOfProcessIdsInList elements, as many as
// the caller's buffer holds.
// https://learn.microsoft.com/windows/win32/api/winnt/ns-winnt-jobobject_basic_process_id_list
type basicProcessIDList struct {
	NumberOfAssignedProcesses uint32
	NumberOfProcessIdsInList  uint32
	ProcessIdList             [1]uintptr
}
