//go:build windows

package jobobject

// SetPidsInitialCapacity makes Pids start with room for n process IDs, so
// that a test with a few processes exercises the buffer growing. It returns
// a function restoring the previous value.
func SetPidsInitialCapacity(n uintptr) (restore func()) {
	old := pidsInitialCapacity
	pidsInitialCapacity = n
	return func() { pidsInitialCapacity = old }
}
