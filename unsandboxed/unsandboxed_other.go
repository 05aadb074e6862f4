//go:build !unix

package unsandboxed

import "os/exec"

// setGroup does nothing here: on Windows the restricted-token backend puts
// the tree in a job object; unsandboxed runs kill the direct child only.
func setGroup(*exec.Cmd) {}

func killGroup(cmd *exec.Cmd) error {
	if cmd.Process == nil {
		return nil
	}
	cmd.Process.Kill()
	return nil
}

func exitCode(e *exec.ExitError) int { return e.ExitCode() }
