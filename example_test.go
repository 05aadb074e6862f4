//go:build unix

package cordon_test

import (
	"context"
	"fmt"
	"os"
	"time"

	"github.com/cordon-sandbox/cordon"
	"github.com/cordon-sandbox/cordon/policy"
)

// Run a command that may write only inside its workspace. (A program using
// the Linux backend calls cordon.Init first thing in main.)
func ExampleRun() {
	dir, _ := os.MkdirTemp("", "workspace")
	defer os.RemoveAll(dir)
	res, err := cordon.Run(context.Background(), cordon.Request{
		Policy:  policy.Policy{Mode: policy.WorkspaceWrite},
		Command: []string{"sh", "-c", "echo ok > inside.txt && cat inside.txt"},
		Dir:     dir,
		Env:     []string{"PATH=/usr/bin:/bin"},
		Timeout: 10 * time.Second,
		Backend: "none", // "auto" picks the platform's sandbox
	})
	if err != nil {
		fmt.Println("could not run:", err)
		return
	}
	fmt.Printf("exit %d: %s", res.ExitCode, res.Stdout)
	// Output: exit 0: ok
}
