package policy

import (
	"fmt"
	"path"
	"strings"
)

// POSIX are the path rules of Linux and other Unix systems: "/" separators,
// case-sensitive names. Abs cleans lexically ("a/../b" is "b"); symbolic
// links are the enforcing backend's business, which opens paths without
// following them.
var POSIX Rules = posixRules{}

type posixRules struct{}

func (posixRules) Abs(base, p string) (string, error) {
	if strings.ContainsRune(p, 0) {
		return "", fmt.Errorf("path contains a NUL byte")
	}
	if !path.IsAbs(p) {
		if base == "" {
			return "", fmt.Errorf("path is not absolute")
		}
		p = path.Join(base, p)
	}
	return path.Clean(p), nil
}

func (posixRules) Within(p, root string) bool {
	if root == "/" {
		return strings.HasPrefix(p, "/")
	}
	return p == root || strings.HasPrefix(p, root+"/")
}

func (posixRules) EqualName(a, b string) bool { return a == b }
