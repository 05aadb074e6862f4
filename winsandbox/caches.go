package winsandbox

import (
	"fmt"
	"strings"

	"github.com/cordon-sandbox/cordon/internal/cachelayer"
	"github.com/cordon-sandbox/cordon/internal/envlist"
	"github.com/cordon-sandbox/cordon/policy"
)

// Tool caches (policy.Cache, internal/cachelayer). Windows has no overlay
// to put over the user's cache, so each tool is given a cache of its
// workspace's own through its variable (GOCACHE, GOMODCACHE,
// npm_config_cache, PIP_CACHE_DIR, CARGO_HOME, MAVEN_OPTS's
// -Dmaven.repo.local, GRADLE_USER_HOME):
//
//   - The directory is <own temp>\cache\<VARIABLE>, below the workspace's
//     own temp directory (WorkspaceTemp, a policy.RootOwnTemp root). That
//     root is granted the workspace's capability SID and labelled Low by
//     the plan, and everything below inherits both; so the layer needs no
//     ACE of its own, and the plan's proof, which holds every other
//     workspace's SID off that root, covers it. The user's caches are
//     written by nobody: they lie outside the roots, where the token's
//     write-restricted pass finds no capability SID granted and, at Low
//     integrity, the Medium label refuses every write.
//   - Only a temp directory of the workspace's own may hold the layers. With
//     --temp (a directory of the caller's, granted the generic SID that
//     every workspace's sandbox holds) or exclude_tmp there is none: the
//     caches then stay read-only, as everything outside the roots, and the
//     log says why.
//   - A variable the policy's own env.set gives a value (policy.Cache.Fixed)
//     is left as the policy set it; a cache without a variable (the
//     policy's extra caches) cannot be redirected. Both stay read-only,
//     and the log says so. The caller's own variables (an inherited
//     GOCACHE) name the cache only: the tool is pointed at the layer.
//   - Read-only mode and "caches": {"off": true} have no caches
//     (policy.Resolved.Caches is empty): the environment is left alone.
//   - The tool starts from an empty cache (it does not read the user's),
//     and the layer is kept between runs: the next run of the workspace
//     finds what this one put there. Concurrent runs of one workspace
//     share it, as the tools' own caches are shared between their
//     processes.

// cacheSubdir is the directory of the workspace's own temp directory that
// holds its cache layers, one directory per variable.
const cacheSubdir = "cache"

// cacheRedirect is what a run does with its tool caches.
type cacheRedirect struct {
	// Env is the command's environment with each redirected tool's
	// variable pointed at its directory.
	Env []string
	// Base is <own temp>\cache, "" when nothing is redirected.
	Base string
	// Dirs are the directories the variables point at, to create before
	// the command starts (Base\<VARIABLE>, one per variable).
	Dirs []string
	// Caches are the caches redirected, for workspace.json.
	Caches []policy.Cache
	// Notes say, for the log, what was redirected and what stays
	// read-only, and why.
	Notes []string
}

// redirectCaches decides, from the resolved policy and the command's
// environment env, which tool variables point where (see the comment at
// the top of this file). r must be resolved with Windows rules; its own
// temp root, if any, is the layers' home.
func redirectCaches(r *policy.Resolved, env []string) cacheRedirect {
	out := cacheRedirect{Env: env}
	if r.Mode != policy.WorkspaceWrite || len(r.Caches) == 0 {
		return out
	}
	own, why := ownTempRoot(r)
	if own == "" {
		out.Notes = append(out.Notes, "tool caches stay read-only: "+why)
		return out
	}
	var layers []cachelayer.Layer
	for _, c := range r.Caches {
		switch {
		case c.Var == "":
			out.Notes = append(out.Notes, fmt.Sprintf("tool cache %s (%s): no variable to point elsewhere: stays read-only", c.Name, c.Path))
		case c.Fixed:
			out.Notes = append(out.Notes, fmt.Sprintf("tool cache %s (%s): the policy sets %s itself: left as set, the cache stays read-only", c.Name, c.Path, c.Var))
		default:
			// Flat: without an overlay, nesting means nothing; each
			// variable gets a directory of its own.
			layers = append(layers, cachelayer.Layer{Cache: c})
			out.Caches = append(out.Caches, c)
		}
	}
	if len(layers) == 0 {
		return out
	}
	out.Base = strings.TrimRight(own, `\`) + `\` + cacheSubdir
	base := func(v string) string { return out.Base + `\` + v }
	out.Env, out.Dirs, _ = cachelayer.Redirect(env, envlist.Windows, `\`, layers, base)
	out.Env = quoteMavenRepo(out.Env, base("MAVEN_OPTS"))
	var vars []string
	for _, d := range out.Dirs {
		vars = append(vars, d[len(out.Base)+1:])
	}
	out.Notes = append(out.Notes, fmt.Sprintf("tool caches: %s point at the workspace's own directories in %s; your caches stay read-only", strings.Join(vars, ", "), out.Base))
	return out
}

// ownTempRoot returns the run's temp root that belongs to this workspace
// alone (policy.RootOwnTemp: granted the workspace's SID only), or "" and
// why there is none.
func ownTempRoot(r *policy.Resolved) (string, string) {
	shared := ""
	for _, root := range r.Roots {
		switch root.Kind {
		case policy.RootOwnTemp:
			return root.Path, ""
		case policy.RootTemp:
			shared = root.Path
		}
	}
	if shared != "" {
		return "", fmt.Sprintf("the temp directory %s is not the workspace's own (every workspace's sandbox may write it), so it cannot hold the workspace's cache layers; without --temp they live in the workspace's own temp directory", shared)
	}
	return "", "the temp directories are excluded (exclude_tmp), and the layers live in the workspace's own temp directory"
}

// quoteMavenRepo quotes the -Dmaven.repo.local=dir that Redirect appended
// to MAVEN_OPTS in env. mvn.cmd expands %MAVEN_OPTS% unquoted into java's
// command line, so a space in dir (C:\Users\Jane Doe\…) would split it
// and an & would end cmd's command; inside quotes neither does, and java's
// argument parsing (the Microsoft C runtime's rules) takes the quotes out:
// -Dmaven.repo.local="C:\a b" is the one argument -Dmaven.repo.local=C:\a b.
// dir ends in no backslash, which would escape the closing quote.
func quoteMavenRepo(env []string, dir string) []string {
	opts, ok := envlist.Windows.Lookup(env, "MAVEN_OPTS")
	plain := "-Dmaven.repo.local=" + dir
	if !ok || !strings.HasSuffix(opts, plain) {
		return env
	}
	return envlist.Windows.Set(env, "MAVEN_OPTS", strings.TrimSuffix(opts, plain)+`-Dmaven.repo.local="`+dir+`"`)
}
