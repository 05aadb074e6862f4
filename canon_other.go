//go:build !windows

package cordon

// canonicalPath is Windows' alias resolution; elsewhere the Linux backend
// resolves symbolic links itself when it binds the roots.
var canonicalPath func(string) string
