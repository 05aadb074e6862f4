package winexec

import (
	"errors"
	"fmt"
	"strings"

	"github.com/cordon-sandbox/cordon/internal/envlist"
)

// DefaultPathExt is the extension list LookPath uses when PATHEXT is unset
// or lists nothing, the order cmd.exe uses by default.
const DefaultPathExt = ".COM;.EXE;.BAT;.CMD"

// ErrNotFound is wrapped by LookPath's error when no file matched.
var ErrNotFound = errors.New("executable file not found")

// LookPath finds the program a sandboxed command names, the way a sandbox
// launcher should on Windows, and returns the path to pass to
// CreateProcessW as lpApplicationName. env is the environment the command
// will get (PATH and PATHEXT are looked up in it case-insensitively, the
// last entry winning, as EnvBlock resolves them); isFile reports whether a
// path names an existing regular file, so the search itself is pure and
// testable.
//
// A name that contains '\', '/' or ':' (a drive, as in C:\x or C:x, or a
// stream) is a path and is used as is: isFile(name) first and, if that fails
// and the name has no extension, name+ext for each PATHEXT extension. A
// relative path is relative to the command's working directory; the caller
// asked for it explicitly.
//
// Any other name is searched for in each directory of PATH in turn (split
// on ';', where '"' quotes a part so that "C:\a;b" is one directory; empty
// parts skipped). In each directory, a name that has an extension (a '.' in
// it) is tried as given first, then name+ext for each PATHEXT extension
// (DefaultPathExt when PATHEXT is unset). The first file found wins, so the
// directory order matters more than the extension order. A bare name
// without extension is never tried in a PATH directory: CreateProcess
// cannot run an extension-less file, and the ones found there are usually
// Unix shell scripts (Git for Windows ships some) that shadow git.exe.
// Directories are joined with '\'.
//
// The current directory is not searched, unlike CreateProcess's own search
// and cmd.exe (the behaviour NoDefaultCurrentDirectoryInExePath turns off):
// a sandboxed command's current directory is usually its workspace, where
// the agent can write, so it could plant git.exe there and have the
// launcher run it outside whatever the policy meant by "git". For the same
// reason PATH entries that are not fully qualified ("." or "bin", "\tools",
// "C:tools") are skipped; the error says which.
//
// The error, when nothing is found, names the program, the PATH and the
// extensions searched, and wraps ErrNotFound.
func LookPath(name string, env []string, isFile func(path string) bool) (string, error) {
	switch {
	case name == "":
		return "", errors.New("winexec: LookPath: empty program name")
	case isFile == nil:
		return "", errors.New("winexec: LookPath: isFile is nil")
	}
	if err := checkArg(name); err != nil {
		return "", fmt.Errorf("winexec: LookPath: program name %q %w", name, err)
	}
	exts := pathExts(env)

	if strings.ContainsAny(name, `\/:`) {
		if strings.HasSuffix(name, `\`) || strings.HasSuffix(name, "/") {
			return "", fmt.Errorf("winexec: LookPath: %q names a directory, not a program", name)
		}
		if isFile(name) {
			return name, nil
		}
		if hasExt(name) {
			return "", fmt.Errorf("winexec: LookPath: %q: %w", name, ErrNotFound)
		}
		for _, e := range exts {
			if isFile(name + e) {
				return name + e, nil
			}
		}
		return "", fmt.Errorf("winexec: LookPath: %q (also with extensions %s): %w", name, strings.Join(exts, ";"), ErrNotFound)
	}

	path, ok := envlist.Windows.Lookup(env, "PATH")
	if !ok {
		return "", fmt.Errorf("winexec: LookPath: %q: PATH is not set: %w", name, ErrNotFound)
	}
	var candidates []string
	if hasExt(name) {
		candidates = append(candidates, name)
	}
	for _, e := range exts {
		candidates = append(candidates, name+e)
	}
	var skipped []string
	for _, dir := range SplitPathList(path) {
		if !isFullyQualified(dir) {
			skipped = append(skipped, dir)
			continue
		}
		for _, c := range candidates {
			if p := joinPath(dir, c); isFile(p) {
				return p, nil
			}
		}
	}
	msg := fmt.Sprintf("winexec: LookPath: %q not found in PATH %q with extensions %s", name, path, strings.Join(exts, ";"))
	if len(skipped) > 0 {
		msg += fmt.Sprintf(" (relative PATH entries ignored: %q)", skipped)
	}
	return "", fmt.Errorf("%s: %w", msg, ErrNotFound)
}

// SplitPathList splits a Windows PATH value into directories as cmd.exe and
// Go's filepath.SplitList do: at ';', except inside '"' quotes, which are
// removed. Empty parts are dropped.
func SplitPathList(path string) []string {
	var dirs []string
	var b strings.Builder
	inQuote := false
	flush := func() {
		if b.Len() > 0 {
			dirs = append(dirs, b.String())
			b.Reset()
		}
	}
	for i := 0; i < len(path); i++ {
		switch c := path[i]; {
		case c == '"':
			inQuote = !inQuote
		case c == ';' && !inQuote:
			flush()
		default:
			b.WriteByte(c)
		}
	}
	flush()
	return dirs
}

// pathExts returns the PATHEXT extensions from env in lower case, each with
// a leading '.', or those of DefaultPathExt if PATHEXT is unset or empty.
func pathExts(env []string) []string {
	v, _ := envlist.Windows.Lookup(env, "PATHEXT")
	exts := splitExts(v)
	if len(exts) == 0 {
		exts = splitExts(DefaultPathExt)
	}
	for i, e := range exts {
		exts[i] = strings.ToLower(e)
	}
	return exts
}

// splitExts splits a PATHEXT value, dropping empty parts and adding a
// missing leading '.'.
func splitExts(v string) []string {
	var exts []string
	for _, e := range strings.Split(v, ";") {
		e = strings.TrimSpace(e)
		if e == "" {
			continue
		}
		if e[0] != '.' {
			e = "." + e
		}
		exts = append(exts, e)
	}
	return exts
}

// hasExt reports whether the last element of name has an extension.
func hasExt(name string) bool {
	return strings.LastIndexByte(name, '.') > strings.LastIndexAny(name, `:\/`)
}

// isFullyQualified reports whether dir names the same directory whatever
// the current directory and drive: C:\x, or a UNC or device path \\x.
func isFullyQualified(dir string) bool {
	isSep := func(c byte) bool { return c == '\\' || c == '/' }
	if len(dir) >= 2 && isSep(dir[0]) && isSep(dir[1]) {
		return true
	}
	return len(dir) >= 3 && isLetter(dir[0]) && dir[1] == ':' && isSep(dir[2])
}

func isLetter(c byte) bool { return c|0x20 >= 'a' && c|0x20 <= 'z' }

// joinPath joins a directory and a file name with '\'.
func joinPath(dir, file string) string {
	if strings.HasSuffix(dir, `\`) || strings.HasSuffix(dir, "/") {
		return dir + file
	}
	return dir + `\` + file
}
