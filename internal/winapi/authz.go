//go:build windows

package winapi

import (
	"errors"
	"unsafe"

	"golang.org/x/sys/windows"
)

// Handles of the Authz API (authz.h). Each is an opaque pointer-sized value;
// a zero handle is "none".
type (
	AuthzResourceManagerHandle    uintptr // AUTHZ_RESOURCE_MANAGER_HANDLE
	AuthzClientContextHandle      uintptr // AUTHZ_CLIENT_CONTEXT_HANDLE
	AuthzAuditEventHandle         uintptr // AUTHZ_AUDIT_EVENT_HANDLE
	AuthzAccessCheckResultsHandle uintptr // AUTHZ_ACCESS_CHECK_RESULTS_HANDLE
)

// Flags of AuthzInitializeResourceManager.
//
//nolint:revive,stylecheck // Windows names
const (
	AUTHZ_RM_FLAG_NO_AUDIT                       = 0x1
	AUTHZ_RM_FLAG_INITIALIZE_UNDER_IMPERSONATION = 0x2
	AUTHZ_RM_FLAG_NO_CENTRAL_ACCESS_POLICIES     = 0x4
)

// Flags of AuthzInitializeContextFromSid.
//
//nolint:revive,stylecheck // Windows names
const (
	// AUTHZ_SKIP_TOKEN_GROUPS makes the context hold only the user SID: no
	// group lookup (which would need a real account and a domain
	// controller) takes place.
	AUTHZ_SKIP_TOKEN_GROUPS  = 0x2
	AUTHZ_REQUIRE_S4U_LOGON  = 0x4
	AUTHZ_COMPUTE_PRIVILEGES = 0x8
)

// Flags of AuthzAccessCheck.
//
//nolint:revive,stylecheck // Windows names
const (
	AUTHZ_ACCESS_CHECK_NO_DEEP_COPY_SD = 0x1
)

// AUTHZ_CONTEXT_INFORMATION_CLASS values for AuthzGetInformationFromContext.
//
//nolint:revive,stylecheck // Windows names
const (
	AuthzContextInfoUserSid        = 1 // TOKEN_USER
	AuthzContextInfoGroupsSids     = 2 // TOKEN_GROUPS
	AuthzContextInfoRestrictedSids = 3 // TOKEN_GROUPS
	AuthzContextInfoPrivileges     = 4 // TOKEN_PRIVILEGES
)

// AuthzAccessRequest is AUTHZ_ACCESS_REQUEST:
//
//	typedef struct _AUTHZ_ACCESS_REQUEST {
//	  ACCESS_MASK       DesiredAccess;
//	  PSID              PrincipalSelfSid;
//	  POBJECT_TYPE_LIST ObjectTypeList;
//	  DWORD             ObjectTypeListLength;
//	  PVOID             OptionalArguments;
//	} AUTHZ_ACCESS_REQUEST;
//
// Go lays it out as C does on every Windows architecture: on amd64 and arm64
// 4 bytes of padding follow DesiredAccess and ObjectTypeListLength, so that
// the pointers are 8-byte aligned (40 bytes in all); on 386 there is none (20
// bytes).
type AuthzAccessRequest struct {
	DesiredAccess        uint32
	PrincipalSelfSid     *windows.SID
	ObjectTypeList       unsafe.Pointer // *OBJECT_TYPE_LIST; nil for a plain check
	ObjectTypeListLength uint32
	OptionalArguments    unsafe.Pointer
}

// AuthzAccessReply is AUTHZ_ACCESS_REPLY:
//
//	typedef struct _AUTHZ_ACCESS_REPLY {
//	  DWORD        ResultListLength;
//	  PACCESS_MASK GrantedAccessMask;
//	  PDWORD       SaclEvaluationResults;
//	  PDWORD       Error;
//	} AUTHZ_ACCESS_REPLY;
//
// The three arrays have ResultListLength elements each (one without an
// object type list) and belong to the caller. SaclEvaluationResults may be
// nil. 32 bytes on amd64 and arm64, 16 on 386.
type AuthzAccessReply struct {
	ResultListLength      uint32
	GrantedAccessMask     *uint32
	SaclEvaluationResults *uint32
	Error                 *uint32
}

// BOOL AuthzInitializeResourceManager(
//   [in]           DWORD                            Flags,
//   [in, optional] PFN_AUTHZ_DYNAMIC_ACCESS_CHECK   pfnDynamicAccessCheck,
//   [in, optional] PFN_AUTHZ_COMPUTE_DYNAMIC_GROUPS pfnComputeDynamicGroups,
//   [in, optional] PFN_AUTHZ_FREE_DYNAMIC_GROUPS    pfnFreeDynamicGroups,
//   [in]           PCWSTR                           szResourceManagerName,
//   [out]          PAUTHZ_RESOURCE_MANAGER_HANDLE   phAuthzResourceManager
// );
//
//sys	authzInitializeResourceManager(flags uint32, dynamicAccessCheck uintptr, computeDynamicGroups uintptr, freeDynamicGroups uintptr, name *uint16, rm *AuthzResourceManagerHandle) (err error) = authz.AuthzInitializeResourceManager

// AuthzInitializeResourceManager creates a resource manager without
// callbacks (no dynamic groups, no callback ACEs). name may be empty.
// Free it with AuthzFreeResourceManager.
func AuthzInitializeResourceManager(flags uint32, name string) (AuthzResourceManagerHandle, error) {
	var p *uint16
	if name != "" {
		var err error
		if p, err = windows.UTF16PtrFromString(name); err != nil {
			return 0, err
		}
	}
	var rm AuthzResourceManagerHandle
	if err := authzInitializeResourceManager(flags, 0, 0, 0, p, &rm); err != nil {
		return 0, err
	}
	return rm, nil
}

// BOOL AuthzFreeResourceManager(
//   [in] AUTHZ_RESOURCE_MANAGER_HANDLE hAuthzResourceManager
// );
//
//sys	AuthzFreeResourceManager(rm AuthzResourceManagerHandle) (err error) = authz.AuthzFreeResourceManager

// BOOL AuthzInitializeContextFromSid(
//   [in]           DWORD                         Flags,
//   [in]           PSID                          UserSid,
//   [in, optional] AUTHZ_RESOURCE_MANAGER_HANDLE hAuthzResourceManager,
//   [in, optional] PLARGE_INTEGER                pExpirationTime,
//   [in]           LUID                          Identifier,
//   [in, optional] PVOID                         DynamicGroupArgs,
//   [out]         PAUTHZ_CLIENT_CONTEXT_HANDLE   phAuthzClientContext
// );
//
// Identifier is a LUID passed by value. On amd64 and arm64 an 8-byte struct
// travels in one register, so it is one uint64 argument there; on 386 it is
// two 32-bit stack slots, low part first. mkwinsyscall does not split
// arguments, hence two bindings of the same function.
//
//sys	authzInitializeContextFromSid64(flags uint32, userSid *windows.SID, rm AuthzResourceManagerHandle, expirationTime *int64, identifier uint64, dynamicGroupArgs unsafe.Pointer, ctx *AuthzClientContextHandle) (err error) = authz.AuthzInitializeContextFromSid
//sys	authzInitializeContextFromSid32(flags uint32, userSid *windows.SID, rm AuthzResourceManagerHandle, expirationTime *int64, identifierLow uint32, identifierHigh int32, dynamicGroupArgs unsafe.Pointer, ctx *AuthzClientContextHandle) (err error) = authz.AuthzInitializeContextFromSid

// AuthzInitializeContextFromSid creates a client context for userSid.
// expirationTime may be nil (no expiry); identifier is not used by Windows
// and is normally the zero LUID. With AUTHZ_SKIP_TOKEN_GROUPS the context
// holds the user SID alone, and AuthzAddSidsToContext can then describe any
// group membership. Free it with AuthzFreeContext.
func AuthzInitializeContextFromSid(flags uint32, userSid *windows.SID, rm AuthzResourceManagerHandle, expirationTime *int64, identifier windows.LUID) (AuthzClientContextHandle, error) {
	var ctx AuthzClientContextHandle
	var err error
	if unsafe.Sizeof(uintptr(0)) == 8 {
		id := uint64(identifier.LowPart) | uint64(uint32(identifier.HighPart))<<32
		err = authzInitializeContextFromSid64(flags, userSid, rm, expirationTime, id, nil, &ctx)
	} else {
		err = authzInitializeContextFromSid32(flags, userSid, rm, expirationTime, identifier.LowPart, identifier.HighPart, nil, &ctx)
	}
	if err != nil {
		return 0, err
	}
	return ctx, nil
}

// BOOL AuthzAddSidsToContext(
//   [in]  AUTHZ_CLIENT_CONTEXT_HANDLE  hAuthzClientContext,
//   [in]  PSID_AND_ATTRIBUTES          Sids,
//   [in]  DWORD                        SidCount,
//   [in]  PSID_AND_ATTRIBUTES          RestrictedSids,
//   [in]  DWORD                        RestrictedSidCount,
//   [out] PAUTHZ_CLIENT_CONTEXT_HANDLE phNewAuthzClientContext
// );
//
//sys	authzAddSidsToContext(ctx AuthzClientContextHandle, sids *windows.SIDAndAttributes, sidCount uint32, restrictedSids *windows.SIDAndAttributes, restrictedSidCount uint32, newCtx *AuthzClientContextHandle) (err error) = authz.AuthzAddSidsToContext

// AuthzAddSidsToContext returns a new client context: ctx plus the group
// SIDs sids (with their SE_GROUP_* attributes) and the restricting SIDs
// restricted, which make the new context restricted. ctx stays valid and
// must still be freed; so must the new context.
func AuthzAddSidsToContext(ctx AuthzClientContextHandle, sids, restricted []windows.SIDAndAttributes) (AuthzClientContextHandle, error) {
	var ps, pr *windows.SIDAndAttributes
	if len(sids) > 0 {
		ps = &sids[0]
	}
	if len(restricted) > 0 {
		pr = &restricted[0]
	}
	var out AuthzClientContextHandle
	if err := authzAddSidsToContext(ctx, ps, uint32(len(sids)), pr, uint32(len(restricted)), &out); err != nil {
		return 0, err
	}
	return out, nil
}

// BOOL AuthzFreeContext(
//   [in] AUTHZ_CLIENT_CONTEXT_HANDLE hAuthzClientContext
// );
//
//sys	AuthzFreeContext(ctx AuthzClientContextHandle) (err error) = authz.AuthzFreeContext

// BOOL AuthzGetInformationFromContext(
//   [in]  AUTHZ_CLIENT_CONTEXT_HANDLE     hAuthzClientContext,
//   [in]  AUTHZ_CONTEXT_INFORMATION_CLASS InfoClass,
//   [in]  DWORD                           BufferSize,
//   [out] PDWORD                          pSizeRequired,
//   [out] PVOID                           Buffer
// );
//
//sys	authzGetInformationFromContext(ctx AuthzClientContextHandle, infoClass uint32, bufferSize uint32, sizeRequired *uint32, buffer unsafe.Pointer) (err error) = authz.AuthzGetInformationFromContext

// AuthzGetInformationFromContext returns one AuthzContextInfo* class of
// ctx in a buffer aligned for the structure it holds (TOKEN_USER,
// TOKEN_GROUPS, …), growing the buffer as Windows asks.
func AuthzGetInformationFromContext(ctx AuthzClientContextHandle, infoClass uint32) (unsafe.Pointer, error) {
	const word = unsafe.Sizeof(uintptr(0))
	size := uint32(256)
	for {
		buf := make([]uintptr, (uintptr(size)+word-1)/word)
		var need uint32
		err := authzGetInformationFromContext(ctx, infoClass, uint32(uintptr(len(buf))*word), &need, unsafe.Pointer(&buf[0]))
		if err == nil {
			return unsafe.Pointer(&buf[0]), nil
		}
		if !errors.Is(err, windows.ERROR_INSUFFICIENT_BUFFER) || need <= size {
			return nil, err
		}
		size = need
	}
}

// BOOL AuthzAccessCheck(
//   [in]            DWORD                              Flags,
//   [in]            AUTHZ_CLIENT_CONTEXT_HANDLE        hAuthzClientContext,
//   [in]            PAUTHZ_ACCESS_REQUEST              pRequest,
//   [in, optional]  AUTHZ_AUDIT_EVENT_HANDLE           hAuditEvent,
//   [in]            PSECURITY_DESCRIPTOR               pSecurityDescriptor,
//   [in, optional]  PSECURITY_DESCRIPTOR               *OptionalSecurityDescriptorArray,
//   [in, optional]  DWORD                              OptionalSecurityDescriptorCount,
//   [in, out]       PAUTHZ_ACCESS_REPLY                pReply,
//   [out, optional] PAUTHZ_ACCESS_CHECK_RESULTS_HANDLE phAccessCheckResults
// );
//
//sys	authzAccessCheck(flags uint32, ctx AuthzClientContextHandle, request *AuthzAccessRequest, auditEvent AuthzAuditEventHandle, sd *windows.SECURITY_DESCRIPTOR, optionalSDs **windows.SECURITY_DESCRIPTOR, optionalSDCount uint32, reply *AuthzAccessReply, results *AuthzAccessCheckResultsHandle) (err error) = authz.AuthzAccessCheck

// AuthzAccessCheck checks whether ctx gets desired on an object protected by
// sd, with no object type list, no audit and no cached results. It returns
// the granted mask and the per-request error Windows reports in the reply: 0
// (ERROR_SUCCESS) when access is granted, typically ERROR_ACCESS_DENIED when
// not; err is set only when the call itself fails.
//
// Authz takes no GENERIC_MAPPING: desired must hold specific rights (or
// MAXIMUM_ALLOWED), and generic bits in the descriptor's ACEs are compared as
// they are, unmapped. Windows requires sd to have an owner and a DACL
// (present, possibly null), else the call fails with ERROR_INVALID_PARAMETER.
func AuthzAccessCheck(flags uint32, ctx AuthzClientContextHandle, desired uint32, sd *windows.SECURITY_DESCRIPTOR) (granted uint32, accessErr windows.Errno, err error) {
	var errCode uint32
	req := AuthzAccessRequest{DesiredAccess: desired}
	reply := AuthzAccessReply{
		ResultListLength:  1,
		GrantedAccessMask: &granted,
		Error:             &errCode,
	}
	if err := authzAccessCheck(flags, ctx, &req, 0, sd, nil, 0, &reply, nil); err != nil {
		return 0, 0, err
	}
	return granted, windows.Errno(errCode), nil
}
