package capsid

import (
	"bufio"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"github.com/cordon-sandbox/cordon/internal/statedir"
)

// The concurrency tests re-execute the test binary as separate cordon-like
// processes, the way runc's integration tests do: TestMain runs a helper
// instead of the tests when helperEnv names one.
const (
	helperEnv = "CAPSID_TEST_HELPER" // "add" or "hold"
	prefixEnv = "CAPSID_TEST_PREFIX" // add: workspace key prefix
	countEnv  = "CAPSID_TEST_COUNT"  // add: how many workspaces
)

func TestMain(m *testing.M) {
	switch mode := os.Getenv(helperEnv); mode {
	case "":
		os.Exit(m.Run())
	case "add":
		err := helperAdd()
		if err != nil {
			fmt.Fprintln(os.Stderr, "helper add:", err)
			os.Exit(1)
		}
		os.Exit(0)
	case "hold":
		if err := helperHold(); err != nil {
			fmt.Fprintln(os.Stderr, "helper hold:", err)
			os.Exit(1)
		}
		os.Exit(0)
	default:
		fmt.Fprintf(os.Stderr, "unknown %s=%q\n", helperEnv, mode)
		os.Exit(2)
	}
}

// helperAdd prints "ready", waits for a line on stdin (so that all helpers
// start together), adds its workspaces one Update each, and prints
// "KEY SID" per workspace and "generic SID".
func helperAdd() error {
	dir, err := statedir.Dir()
	if err != nil {
		return err
	}
	n, err := strconv.Atoi(os.Getenv(countEnv))
	if err != nil {
		return err
	}
	fmt.Println("ready")
	if _, err := bufio.NewReader(os.Stdin).ReadString('\n'); err != nil {
		return fmt.Errorf("waiting for go: %w", err)
	}
	got, generic, err := addWorkspaces(dir, os.Getenv(prefixEnv), n)
	if err != nil {
		return err
	}
	for k, sid := range got {
		fmt.Println(k, sid)
	}
	fmt.Println("generic", generic)
	return nil
}

// addWorkspaces is one concurrent worker, in a goroutine or a helper
// process: n Updates, each adding workspace prefix-i. It returns the SID each
// got and the generic SID it saw.
func addWorkspaces(dir, prefix string, n int) (map[string]string, string, error) {
	got := map[string]string{}
	var generic string
	for i := range n {
		key := fmt.Sprintf("%s-%02d", prefix, i)
		var w Workspace
		s, err := Update(context.Background(), dir, func(s *Store) error {
			if _, err := s.EnsureBase(); err != nil {
				return err
			}
			var err error
			w, _, err = s.EnsureWorkspace(key, filepath.Join(dir, "ws", key), time.Now())
			return err
		})
		if err != nil {
			return nil, "", err
		}
		if generic != "" && s.Generic.String() != generic {
			return nil, "", fmt.Errorf("generic SID changed from %s to %s", generic, s.Generic)
		}
		generic = s.Generic.String()
		got[key] = w.SID.String()
	}
	return got, generic, nil
}

// helperHold takes the exclusive lock, prints "locked" and keeps the lock
// until stdin closes or the process is killed.
func helperHold() error {
	dir, err := statedir.Dir()
	if err != nil {
		return err
	}
	release, err := statedir.Lock(context.Background(), filepath.Join(dir, LockName), true)
	if err != nil {
		return err
	}
	fmt.Println("locked")
	bufio.NewReader(os.Stdin).ReadString('\n')
	release()
	return nil
}
