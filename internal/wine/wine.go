// Package wine tells whether a Windows program runs under Wine, which runs
// Windows code on Linux without enforcing Windows security: DACLs are not
// stored, tokens are not restricted. cordon's CI runs its Windows plumbing
// there, and the Windows backend must know, so that it never claims
// isolation Wine does not provide.
package wine

// Detected reports whether the process runs under Wine rather than real
// Windows. It is always false on other operating systems.
func Detected() bool { return detected() }
