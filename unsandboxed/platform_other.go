//go:build !windows

package unsandboxed

import "github.com/cordon-sandbox/cordon/policy"

var (
	rules     = policy.POSIX
	canonical func(string) string
)

// tempDirs is empty: the policy's temp roots describe what a sandbox
// would make writable, and this backend makes nothing writable.
func tempDirs([]string) []string { return nil }
