// Package smoke is cordon's cross-platform smoke suite. It has no code of
// its own: its tests build the cordon binary once and run it, as a user or
// an agent would, against a fresh workspace per case, then check on the host
// what the sandboxed command did and did not manage to change.
//
// Each case is a row in a table (linux_cases_test.go, windows_cases_test.go,
// smoke_test.go, and the attacks on the Linux backend in
// linux_escape_*_test.go): the platforms it applies to, the policy and
// flags, the command, the expected exit status and the host-side checks. Every row must
// be able to fail; rows that expect a denial can run their command once more
// unsandboxed (--sandbox none) as a control, proving the command itself
// works.
//
// Linux rows run for real. Windows rows (the commands an agent runs most:
// shells, git, package managers) run the restricted-token backend on real
// Windows with CORDON_REAL_WINDOWS=1 only (the windows workflow), never
// under Wine, which enforces nothing. A row that needs a part of cordon
// that does not exist yet names it, and is skipped.
package smoke
