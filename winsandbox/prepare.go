package winsandbox

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"strings"
	"time"

	"github.com/cordon-sandbox/cordon/internal/aclplan"
	"github.com/cordon-sandbox/cordon/internal/capsid"
	"github.com/cordon-sandbox/cordon/internal/envlist"
	"github.com/cordon-sandbox/cordon/internal/fsview"
	"github.com/cordon-sandbox/cordon/internal/gitdir"
	"github.com/cordon-sandbox/cordon/internal/winexec"
	"github.com/cordon-sandbox/cordon/ntsec"
	"github.com/cordon-sandbox/cordon/policy"
)

// LaunchEnv is the environment the command gets: env, plus the pager
// defaults (a sandboxed command has no terminal for a pager to wait on)
// and, when the policy has no network, the network-lockdown variables,
// stubsDir (holding winexec.DenyStubs) first on PATH and .BAT/.CMD first
// in PATHEXT, so that ssh and scp resolve to the stubs. TEMP and TMP are
// left as env has them: they are what the policy's temp roots were
// resolved from, so they name exactly the temp directories the run may
// write (none in read-only mode, where writing there fails).
func LaunchEnv(env []string, r *policy.Resolved, stubsDir string) []string {
	env = winexec.PagerEnv(env)
	if !r.Network {
		env = winexec.NetworkOff(env)
		env = winexec.PrependPath(env, stubsDir)
		env = winexec.PreferBatchExt(env)
	}
	return env
}

// getenv returns the value of name in env, by Windows' rules.
func getenv(env []string, name string) string {
	v, _ := envlist.Windows.Lookup(env, name)
	return v
}

// AuditRoots are the directories the world-writable audit visits: where a
// command is likely to write (the cwd, TEMP and TMP, USERPROFILE and its
// AppData\LocalLow, PUBLIC), every PATH entry (a writable one would let the
// sandbox plant a program the user later runs), the system drive's root,
// the Windows directory and ProgramData. PATH is split on ';' only.
// Relative, empty and duplicate entries are dropped.
func AuditRoots(env []string, cwd string) []string {
	var out []string
	seen := map[string]bool{}
	add := func(p string) {
		k, err := fsview.Key(p)
		if err != nil || seen[k] {
			return
		}
		seen[k] = true
		out = append(out, p)
	}
	add(cwd)
	for _, v := range []string{"TEMP", "TMP", "USERPROFILE", "PUBLIC"} {
		add(getenv(env, v))
	}
	// LocalLow is Low-labelled: its label does not hold a Low sandbox
	// back, so the audit must see it (aclplan.AuditReport.LowLabelled).
	if p := getenv(env, "USERPROFILE"); p != "" {
		add(p + `\AppData\LocalLow`)
	}
	for _, d := range winexec.SplitPathList(getenv(env, "PATH")) {
		add(d)
	}
	if d := getenv(env, "SystemDrive"); d != "" {
		add(d + `\`)
	}
	add(getenv(env, "SystemRoot"))
	add(getenv(env, "ProgramData"))
	return out
}

// runSIDs gets the run's capability SIDs from the store in dir, creating
// the ones missing: the generic and read-only SIDs, and the workspace's own
// when the policy writes one. It also returns the other workspaces' SIDs,
// whose sandboxes the proof checks cannot write this workspace, and the
// SIDs the sandbox token holds.
func runSIDs(store *capsid.Store, r *policy.Resolved, now time.Time) (aclplan.SIDs, []ntsec.SID, error) {
	if _, err := store.EnsureBase(); err != nil {
		return aclplan.SIDs{}, nil, err
	}
	s := aclplan.SIDs{Generic: store.Generic, ReadOnly: store.ReadOnly}
	var wsKey string
	if r.Mode == policy.WorkspaceWrite {
		key, err := fsview.Key(r.Cwd)
		if err != nil {
			return aclplan.SIDs{}, nil, fmt.Errorf("workspace %s: %w", r.Cwd, err)
		}
		ws, _, err := store.EnsureWorkspace(key, r.Cwd, now)
		if err != nil {
			return aclplan.SIDs{}, nil, err
		}
		s.Workspace, wsKey = ws.SID, key
	}
	for _, w := range store.List() {
		if w.Key != wsKey {
			s.Others = append(s.Others, w.SID)
		}
	}
	if r.Mode == policy.WorkspaceWrite {
		return s, []ntsec.SID{s.Workspace, s.Generic}, nil
	}
	return s, []ntsec.SID{s.ReadOnly}, nil
}

// TempDirName is the directory of the state directory that holds the
// per-workspace temp directories.
const TempDirName = "tmp"

// WorkspaceTemp is the temp directory cordon gives the workspace cwd (a
// final path) under the state directory state: state\tmp\<16 hex digits of
// the SHA-256 of the workspace's comparison key>. One per workspace, kept
// between runs and never shared: it is granted the workspace's own SID
// (policy.RootOwnTemp) and labelled Low, so the user's own %TEMP% is left
// alone: ACEs stamped there would stay on everything the user's other
// programs put in it. It is not created here.
func WorkspaceTemp(state, cwd string) (string, error) {
	key, err := fsview.Key(cwd)
	if err != nil {
		return "", fmt.Errorf("workspace temp for %s: %w", cwd, err)
	}
	sum := sha256.Sum256([]byte(key))
	return strings.TrimRight(state, `\/`) + `\` + TempDirName + `\` + hex.EncodeToString(sum[:8]), nil
}

// inTempBase reports whether root lies in the state directory's temp area,
// the one part of it a sandbox may be granted.
func inTempBase(root, state string) bool {
	base := strings.TrimRight(state, `\/`) + `\` + TempDirName
	return policy.Windows.Within(root, base) && !policy.Windows.Within(base, root)
}

// gitDirs resolves the roots' git directories with the resolver the Linux
// backend uses (internal/gitdir), on the real file system with Windows
// path rules, and returns them for the planner with the resolver's notes.
// The roots are final paths, as the resolver needs.
func gitDirs(r *policy.Resolved) (aclplan.GitDirs, []string) {
	var roots []string
	for _, root := range r.Roots {
		roots = append(roots, root.Path)
	}
	if len(roots) == 0 {
		return aclplan.GitDirs{}, nil
	}
	return toGitDirs(gitdir.Resolve(gitdir.OS(), gitdir.Windows, roots))
}

func toGitDirs(res gitdir.Result) (aclplan.GitDirs, []string) {
	g := aclplan.GitDirs{Pins: res.Pins, Guards: res.Guards}
	for _, f := range res.Protect {
		g.Protect = append(g.Protect, f.Path)
	}
	return g, res.Notes
}
