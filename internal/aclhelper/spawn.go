package aclhelper

import (
	"fmt"
	"os"
)

// HelperCommand is the cordon subcommand that runs the helper.
const HelperCommand = "acl-helper"

// helperArgs are the arguments StartDetached gives cordon: the helper
// drains the journal in stateDir, which the caller filled (Enqueue)
// before starting it, or which extra (`--cwd DIR ...`) has it plan and
// fill itself, off the caller's path.
func helperArgs(stateDir string, extra []string) []string {
	return append([]string{HelperCommand, "--state-dir", stateDir}, extra...)
}

// checkSpawn checks StartDetached's arguments and makes the state
// directory, the helper's working directory: a long-lived process must
// not sit in the caller's cwd, which Windows would then refuse to delete.
func checkSpawn(exe, stateDir string) error {
	if exe == "" || stateDir == "" {
		return fmt.Errorf("start the read-ACL helper: the executable and the state directory are required")
	}
	if err := os.MkdirAll(stateDir, 0o700); err != nil {
		return fmt.Errorf("start the read-ACL helper: %w", err)
	}
	return nil
}
