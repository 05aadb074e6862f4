//go:build !windows

package winlaunch

// Nothing else here: Start, Options and Process exist only on Windows,
// because their types (windows.Token, windows.Handle) come from
// golang.org/x/sys/windows, which does not build elsewhere. Their only
// caller, the restricted-token backend, is Windows-only too, so stubs
// would be dead code. This file exists to say so; the portable helpers
// in winlaunch.go are tested on every platform.
