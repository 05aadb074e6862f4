package unsandboxed

import (
	"github.com/cordon-sandbox/cordon/internal/ntfs"
	"github.com/cordon-sandbox/cordon/policy"
)

var (
	rules     = policy.Windows
	canonical = ntfs.FinalPath
)

// tempDirs are TEMP and TMP, as Windows programs read them.
func tempDirs(env []string) []string {
	return []string{policy.WindowsEnv.Lookup(env, "TEMP"), policy.WindowsEnv.Lookup(env, "TMP")}
}
