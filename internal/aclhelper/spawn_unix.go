//go:build unix

package aclhelper

import (
	"context"
	"fmt"
	"os/exec"
	"syscall"
)

// StartDetached starts `exe acl-helper --state-dir stateDir` in a session
// of its own (setsid: no controlling terminal, no signals from the
// caller's), its standard streams on /dev/null, in stateDir, and returns
// once it has started. The read grants exist on Windows only
// (spawn_windows.go); this twin lets the start, drain and exit of a
// detached helper be tested on Linux with the file mutex.
func StartDetached(ctx context.Context, exe, stateDir string, extra ...string) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	if err := checkSpawn(exe, stateDir); err != nil {
		return err
	}
	cmd := exec.Command(exe, helperArgs(stateDir, extra)...)
	cmd.Dir = stateDir
	cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true}
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("start the read-ACL helper %s: %w", exe, err)
	}
	// Reap it when it exits, so that a long-lived caller (cordon mcp)
	// collects no zombies; nothing waits for it here.
	go cmd.Wait()
	return nil
}
