package unsandboxed

import (
	"fmt"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"

	"github.com/cordon-sandbox/cordon/internal/envlist"
)

// lookPath resolves name through the PATH of env (not of cordon's own
// environment), as the command's shell would. PATH is found
// case-insensitively, on every platform.
func lookPath(name string, env []string) (string, error) {
	if strings.ContainsRune(name, filepath.Separator) || (runtime.GOOS == "windows" && strings.ContainsRune(name, '/')) {
		return name, nil
	}
	path, _ := envlist.Windows.Lookup(env, "PATH")
	for _, dir := range filepath.SplitList(path) {
		if dir == "" {
			dir = "."
		}
		p := filepath.Join(dir, name)
		if lp, err := exec.LookPath(p); err == nil {
			return lp, nil
		}
	}
	return "", fmt.Errorf("%s: command not found in PATH", name)
}
