//go:build windows

package aclhelper

import (
	"context"
	"errors"
	"fmt"
	"os/exec"
	"syscall"

	"golang.org/x/sys/windows"
)

// StartDetached starts `exe acl-helper --state-dir stateDir`, the helper
// that drains the read-grant journal in stateDir, and returns as soon as
// it has started, without waiting for it: `cordon run` enqueues its read
// grants (Enqueue), calls this and goes on. A helper already running
// takes the new items instead (the new one sees the mutex held and exits
// at once), so calling it on every run is cheap and safe.
//
// The helper is cut loose from the caller, as "Process Creation Flags"
// (Microsoft Learn) describes: DETACHED_PROCESS (no console, so closing
// the caller's console does not end it), CREATE_NEW_PROCESS_GROUP (a
// Ctrl+C in the caller's console is not delivered to it), and
// CREATE_BREAKAWAY_FROM_JOB when the caller's job allows it (a harness
// that runs cordon in a kill-on-close job would otherwise kill the helper
// with cordon). A job that forbids breakaway makes CreateProcess fail
// with ERROR_ACCESS_DENIED; the helper is then started inside the job,
// and if the job kills it, the next start resumes from the journal.
//
// It inherits no handle of the caller's but its standard handles, which
// are the NUL device: os/exec opens NUL for nil streams and passes only
// the standard handles through PROC_THREAD_ATTRIBUTE_HANDLE_LIST
// (syscall.StartProcess), so no pipe of the caller's is held open by the
// helper (which would make a caller reading its child's output wait for
// the helper). Its working directory is stateDir, never the caller's
// cwd, which it would keep from being deleted. Its environment is the
// caller's: it runs as the same user.
func StartDetached(ctx context.Context, exe, stateDir string, extra ...string) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	if err := checkSpawn(exe, stateDir); err != nil {
		return err
	}
	flags := uint32(windows.DETACHED_PROCESS | windows.CREATE_NEW_PROCESS_GROUP)
	err := startWith(exe, stateDir, extra, flags|windows.CREATE_BREAKAWAY_FROM_JOB)
	if errors.Is(err, windows.ERROR_ACCESS_DENIED) {
		err = startWith(exe, stateDir, extra, flags)
	}
	return err
}

func startWith(exe, stateDir string, extra []string, flags uint32) error {
	cmd := exec.Command(exe, helperArgs(stateDir, extra)...)
	cmd.Dir = stateDir
	cmd.SysProcAttr = &syscall.SysProcAttr{CreationFlags: flags}
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("start the read-ACL helper %s: %w", exe, err)
	}
	// Release closes the process handle; nothing waits for the helper.
	return cmd.Process.Release()
}
