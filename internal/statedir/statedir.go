// Package statedir is cordon's state directory: where it is, the file
// locks that let several cordon processes share it, and the atomic writes
// that keep its files whole across a crash. The capability SID store, the
// record of applied ACEs, the run locks and the log all live there.
package statedir

import (
	"fmt"
	"os"
	"path/filepath"
	"runtime"
)

// Env overrides [Dir] on every OS.
const Env = "CORDON_STATE_DIR"

// Dir returns cordon's state directory: $CORDON_STATE_DIR if set;
// otherwise %LOCALAPPDATA%\cordon on Windows, and $XDG_STATE_HOME/cordon or
// $HOME/.local/state/cordon elsewhere. It does not create the directory.
// Relative paths are refused (and a relative XDG_STATE_HOME is ignored, as the
// XDG specification asks): a store that moved with the working directory
// would hand out new SIDs in every directory cordon is started from.
func Dir() (string, error) { return dir(runtime.GOOS, os.Getenv) }

func dir(goos string, getenv func(string) string) (string, error) {
	abs := func(name, val string) (string, error) {
		if !filepath.IsAbs(val) {
			return "", fmt.Errorf("statedir: %s=%q is not an absolute path", name, val)
		}
		return filepath.Clean(val), nil
	}
	if d := getenv(Env); d != "" {
		return abs(Env, d)
	}
	if goos == "windows" {
		d := getenv("LOCALAPPDATA")
		if d == "" {
			return "", fmt.Errorf("statedir: LOCALAPPDATA is not set (set it or %s)", Env)
		}
		d, err := abs("LOCALAPPDATA", d)
		return filepath.Join(d, "cordon"), err
	}
	if d := getenv("XDG_STATE_HOME"); d != "" && filepath.IsAbs(d) {
		return filepath.Join(filepath.Clean(d), "cordon"), nil
	}
	home := getenv("HOME")
	if home == "" {
		return "", fmt.Errorf("statedir: HOME is not set and XDG_STATE_HOME is not an absolute path (set one of them or %s)", Env)
	}
	home, err := abs("HOME", home)
	return filepath.Join(home, ".local", "state", "cordon"), err
}
