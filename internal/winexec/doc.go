// Package winexec holds the parts of launching a Windows process that need
// no Windows API: composing the command line, building the
// CREATE_UNICODE_ENVIRONMENT block, finding the program on PATH, and the
// environment that deters network use (proxy variables and ssh/scp stubs).
//
// The restricted-token backend hands the results to CreateProcessAsUserW.
// Keeping them here, in pure Go with no build tags, means the rules are
// unit-tested on every platform; only the system calls themselves need
// Windows (or Wine). winexec_windows_test.go checks the pure-Go code
// against the implementations Windows ships (CommandLineToArgvW,
// CreateProcessW); the name comparison the environment functions share
// with the rest of cordon is internal/envlist's Windows rule, checked there
// against CompareStringOrdinal.
//
// # Why not os/exec or syscall
//
// os/exec and syscall (and golang.org/x/sys/windows) do all of this for
// ordinary children, but a sandbox launcher needs different answers:
//
//   - The argv[0] rule: the program name is parsed by different rules from
//     the other arguments (no backslash escapes, no way to embed '"').
//     windows.ComposeCommandLine silently drops such quotes; CommandLine
//     reports an error, because an agent-chosen program name that cannot be
//     represented must not be launched as something else.
//   - LookPath never searches the current directory and ignores relative
//     PATH entries. The current directory of a sandboxed command is the
//     agent's workspace, where it can plant git.exe.
//   - EnvBlock sorts the block the way Windows documents, resolves names
//     that differ only in case (last one wins) instead of passing both, and
//     rejects malformed entries instead of passing them on.
//
// # Errors
//
// Every function that takes environment entries or arguments from the caller
// validates them (no NUL, valid UTF-8, well-formed NAME=value) and returns an
// error naming the offending entry rather than passing something Windows
// would read differently. Environment errors name the variable, never its
// value, so secrets in values do not end up in logs.
package winexec
