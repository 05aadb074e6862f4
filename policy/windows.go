package policy

import (
	"fmt"

	"github.com/cordon-sandbox/cordon/internal/winpath"
)

// Windows are the path rules of Windows, whatever OS cordon runs on:
// case-insensitive names, "\" and "/" separators, drive letters and UNC
// shares, trailing dots and spaces ignored (winpath). A relative path is
// resolved against a base; drive-relative ("C:x") and root-relative ("\x")
// paths are refused rather than guessed, since their meaning depends on a
// per-drive current directory the policy does not have.
var Windows Rules = windowsRules{}

type windowsRules struct{}

func (windowsRules) Abs(base, p string) (string, error) {
	if wp, err := winpath.Parse(p); err == nil {
		if wp.Kind == winpath.KindDevice || wp.Stream != "" {
			return "", fmt.Errorf("not a directory path")
		}
		return wp.String(), nil
	} else if base == "" || !plainRelative(p) {
		return "", err
	}
	bp, err := winpath.Parse(base)
	if err != nil {
		return "", fmt.Errorf("base %q: %w", base, err)
	}
	joined, err := winpath.Parse(bp.String() + `\` + p)
	if err != nil {
		return "", err
	}
	if joined.Kind == winpath.KindDevice || joined.Stream != "" {
		return "", fmt.Errorf("not a directory path")
	}
	return joined.String(), nil
}

func (windowsRules) Within(p, root string) bool {
	pp, err1 := winpath.Parse(p)
	rp, err2 := winpath.Parse(root)
	return err1 == nil && err2 == nil && pp.Within(rp)
}

func (windowsRules) EqualName(a, b string) bool { return winpath.EqualName(a, b) }

// plainRelative reports whether p is relative to a directory ("a\b",
// "..\x"), not to a drive's current directory ("C:x") or the current
// drive's root ("\x").
func plainRelative(p string) bool {
	if p == "" || p[0] == '\\' || p[0] == '/' {
		return false
	}
	return len(p) < 2 || p[1] != ':'
}
