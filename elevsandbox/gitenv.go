package elevsandbox

import (
	"strconv"

	"github.com/cordon-sandbox/cordon/internal/envlist"
)

// trustRepositories adds `safe.directory=*` to the command's git
// configuration, in command scope (GIT_CONFIG_COUNT, GIT_CONFIG_KEY_n,
// GIT_CONFIG_VALUE_n: "git config", ENVIRONMENT), which git reads as
// protected configuration. Without it the sandbox's own git refuses your
// repository: git for Windows trusts a worktree only when its owner is the
// user git runs as, and the command runs as a sandbox account, not you.
//
// Trusting every repository inside the sandbox widens nothing: the
// ownership check keeps one user from running hooks and config another
// user planted, and what a repository's config can make git run inside
// the sandbox, the sandboxed command can already run itself. Your own git,
// outside, still checks ownership, so a repository the sandbox creates
// stays "dubious" to you (README, The elevated mode). Entries the caller
// set are kept; a GIT_CONFIG_COUNT that is not a count is left alone,
// since git then rejects the whole command-scope configuration anyway.
func trustRepositories(env []string) []string {
	rules := envlist.Windows
	n := 0
	if v, ok := rules.Lookup(env, "GIT_CONFIG_COUNT"); ok && v != "" {
		c, err := strconv.Atoi(v)
		if err != nil || c < 0 {
			return env
		}
		n = c
	}
	env = append([]string{}, env...)
	env = rules.Set(env, "GIT_CONFIG_KEY_"+strconv.Itoa(n), "safe.directory")
	env = rules.Set(env, "GIT_CONFIG_VALUE_"+strconv.Itoa(n), "*")
	return rules.Set(env, "GIT_CONFIG_COUNT", strconv.Itoa(n+1))
}
