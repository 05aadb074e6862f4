package readacl

import (
	"github.com/cordon-sandbox/cordon/internal/aclplan"
	"github.com/cordon-sandbox/cordon/ntsec"
)

// standInUser is the sandbox user the plan and the proof check when
// Input.Users names none.
var standInUser, _ = ntsec.NewSID(5, 21, 7, 7, 7, 1100)

// SandboxToken describes the token a sandbox user's command is assumed to
// run with: the sandbox user, Everyone, Authenticated Users, Users,
// Interactive, its logon SID and group (CordonSandboxUsers) enabled,
// write-restricted to caps, the logon SID and Everyone, at Medium
// integrity.
//
// Write-restricted is the weakest restriction the command may run under
// for reads: restricting SIDs "are considered only when evaluating write
// access" (CreateRestrictedToken, Microsoft Learn), so a read this token
// cannot get, a fully restricted token cannot get either. Proving read
// isolation for it proves it for both.
func SandboxToken(user, group ntsec.SID, caps ...ntsec.SID) *ntsec.Token {
	// The write planner's model of the same token, at Medium: one model
	// of the runner's token for both proofs.
	return aclplan.ElevatedToken(aclplan.User{MediumIntegrity: true}, user, group, caps...)
}

// SystemDirs returns the usual system directories and toolchains from the
// environment (%SystemRoot%, %ProgramFiles%, %ProgramFiles(x86)%,
// %ProgramData%), leaving out those unset.
func SystemDirs(getenv func(string) string) []string {
	var out []string
	for _, v := range []string{"SystemRoot", "ProgramFiles", "ProgramFiles(x86)", "ProgramData"} {
		if d := getenv(v); d != "" {
			out = append(out, d)
		}
	}
	return out
}
