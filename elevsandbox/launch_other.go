//go:build !windows

package elevsandbox

// launch is how the backend starts the runner, on Windows only.
type launch struct{}
