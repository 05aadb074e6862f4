package unsandboxed

import (
	"github.com/cordon-sandbox/cordon/internal/envlist"
	"github.com/cordon-sandbox/cordon/internal/ntfs"
	"github.com/cordon-sandbox/cordon/policy"
)

var (
	rules     = policy.Windows
	canonical = ntfs.FinalPath
)

// tempDirs are TEMP and TMP, as Windows programs read them.
func tempDirs(env []string) []string {
	temp, _ := envlist.Windows.Lookup(env, "TEMP")
	tmp, _ := envlist.Windows.Lookup(env, "TMP")
	return []string{temp, tmp}
}
