//go:build !windows

package policy

// HostEnv are the environment rules of the OS cordon was built for.
var HostEnv = POSIXEnv
