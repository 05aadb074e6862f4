//go:build windows

package winapi

import (
	"unsafe"

	"golang.org/x/sys/windows"
)

// Flags of CreateRestrictedToken.
//
//nolint:revive,stylecheck // Windows names
const (
	DISABLE_MAX_PRIVILEGE = 0x1
	SANDBOX_INERT         = 0x2
	LUA_TOKEN             = 0x4
	// WRITE_RESTRICTED makes the restricting SIDs constrain write access
	// only: reads are checked against the token's normal SIDs alone.
	WRITE_RESTRICTED = 0x8
)

// BOOL CreateRestrictedToken(
//   [in]           HANDLE               ExistingTokenHandle,
//   [in]           DWORD                Flags,
//   [in]           DWORD                DisableSidCount,
//   [in, optional] PSID_AND_ATTRIBUTES  SidsToDisable,
//   [in]           DWORD                DeletePrivilegeCount,
//   [in, optional] PLUID_AND_ATTRIBUTES PrivilegesToDelete,
//   [in]           DWORD                RestrictedSidCount,
//   [in, optional] PSID_AND_ATTRIBUTES  SidsToRestrict,
//   [out]          PHANDLE              NewTokenHandle
// );
//
//sys	createRestrictedToken(existing windows.Token, flags uint32, disableSidCount uint32, sidsToDisable *windows.SIDAndAttributes, deletePrivilegeCount uint32, privilegesToDelete *windows.LUIDAndAttributes, restrictedSidCount uint32, sidsToRestrict *windows.SIDAndAttributes, newToken *windows.Token) (err error) = advapi32.CreateRestrictedToken

// CreateRestrictedToken returns a new primary token derived from existing
// (opened with TOKEN_DUPLICATE): sidsToDisable become deny-only,
// privilegesToDelete are removed, and a non-empty sidsToRestrict makes the
// token restricted (their Attributes must be zero). flags is a combination
// of DISABLE_MAX_PRIVILEGE, SANDBOX_INERT, LUA_TOKEN and WRITE_RESTRICTED.
// The caller closes the new token.
func CreateRestrictedToken(existing windows.Token, flags uint32, sidsToDisable []windows.SIDAndAttributes, privilegesToDelete []windows.LUIDAndAttributes, sidsToRestrict []windows.SIDAndAttributes) (windows.Token, error) {
	var (
		pDisable  *windows.SIDAndAttributes
		pDelete   *windows.LUIDAndAttributes
		pRestrict *windows.SIDAndAttributes
	)
	if len(sidsToDisable) > 0 {
		pDisable = &sidsToDisable[0]
	}
	if len(privilegesToDelete) > 0 {
		pDelete = &privilegesToDelete[0]
	}
	if len(sidsToRestrict) > 0 {
		pRestrict = &sidsToRestrict[0]
	}
	var tok windows.Token
	err := createRestrictedToken(existing, flags,
		uint32(len(sidsToDisable)), pDisable,
		uint32(len(privilegesToDelete)), pDelete,
		uint32(len(sidsToRestrict)), pRestrict, &tok)
	if err != nil {
		return 0, err
	}
	return tok, nil
}

// GenericMapping is GENERIC_MAPPING: the specific rights each generic right
// stands for on one kind of object.
//
//	typedef struct _GENERIC_MAPPING {
//	  ACCESS_MASK GenericRead;
//	  ACCESS_MASK GenericWrite;
//	  ACCESS_MASK GenericExecute;
//	  ACCESS_MASK GenericAll;
//	} GENERIC_MAPPING;
type GenericMapping struct {
	GenericRead    uint32
	GenericWrite   uint32
	GenericExecute uint32
	GenericAll     uint32
}

// FileGenericMapping is the generic mapping of files and directories
// (FILE_GENERIC_READ, FILE_GENERIC_WRITE, FILE_GENERIC_EXECUTE,
// FILE_ALL_ACCESS).
var FileGenericMapping = GenericMapping{
	GenericRead:    0x120089,
	GenericWrite:   0x120116,
	GenericExecute: 0x1200A0,
	GenericAll:     0x1F01FF,
}

// BOOL AccessCheck(
//   [in]            PSECURITY_DESCRIPTOR pSecurityDescriptor,
//   [in]            HANDLE               ClientToken,
//   [in]            DWORD                DesiredAccess,
//   [in]            PGENERIC_MAPPING     GenericMapping,
//   [out, optional] PPRIVILEGE_SET       PrivilegeSet,
//   [in, out]       LPDWORD              PrivilegeSetLength,
//   [out]           LPDWORD              GrantedAccess,
//   [out]           LPBOOL               AccessStatus
// );
//
//sys	accessCheck(sd *windows.SECURITY_DESCRIPTOR, clientToken windows.Token, desiredAccess uint32, genericMapping *GenericMapping, privilegeSet *byte, privilegeSetLength *uint32, grantedAccess *uint32, accessStatus *int32) (err error) = advapi32.AccessCheck

// AccessCheck runs Windows' access check for an impersonation token
// (opened with TOKEN_QUERY) on an object protected by sd, which must hold an
// owner, a group and a DACL (present, possibly null). desired must already be
// mapped (MapGenericMask); generic bits in the descriptor's ACEs are mapped
// with mapping. It reports whether access is granted and the granted rights
// (every right the token may have when desired holds MAXIMUM_ALLOWED); err is
// set only when the call itself fails.
func AccessCheck(sd *windows.SECURITY_DESCRIPTOR, clientToken windows.Token, desired uint32, mapping *GenericMapping) (granted uint32, ok bool, err error) {
	// PRIVILEGE_SET with room for a few LUID_AND_ATTRIBUTES; the field is
	// optional in the prototype, but Windows versions have failed calls
	// that passed none. Word-aligned, as the LUIDs inside want.
	var privs [32]uint64
	privLen := uint32(len(privs) * 8)
	var status int32
	if err := accessCheck(sd, clientToken, desired, mapping, (*byte)(unsafe.Pointer(&privs[0])), &privLen, &granted, &status); err != nil {
		return 0, false, err
	}
	return granted, status != 0, nil
}
