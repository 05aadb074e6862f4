//go:build !windows

package sandboxusers

import "os"

// makePrivateDir creates dir readable by its owner only.
func makePrivateDir(dir string) error { return os.MkdirAll(dir, 0o700) }
