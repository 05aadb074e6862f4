// Command cordon runs the commands AI coding agents write inside a sandbox.
//
// Subcommands:
//
//	cordon run      run a command in the sandbox
//	cordon mcp      serve a sandboxed shell over the Model Context Protocol
//	cordon probe    which sandbox backends and layers work on this machine
//	cordon access   evaluate the NT access-check model: may this token do that?
//	cordon plan     compute and prove the ACL edits a policy needs
//	cordon explain  may the sandbox read, write or delete this path, and why?
//	cordon sids     the capability SIDs in cordon's store
//	cordon cleanup  remove every ACE the Windows backend added
//	cordon cache    the workspaces' tool-cache layers: list, clear
//	cordon setup    Windows: create or repair the elevated mode's sandbox users
//	cordon doctor   Windows: check the elevated mode, say how to fix each problem
//	cordon acl-helper  Windows: apply the elevated mode's queued read grants
//	cordon verify-network  Windows: prove the elevated mode's network fence
//
// Exit codes are stable so scripts can branch on them; each subcommand
// documents its own.
package main

import (
	"fmt"
	"io"
	"os"

	"github.com/cordon-sandbox/cordon"
)

func main() {
	// The Linux backend re-executes cordon to set each sandbox up; Init is
	// where that copy takes over.
	cordon.Init()
	os.Exit(run(os.Args[1:], os.Stdin, os.Stdout, os.Stderr))
}

// Exit codes shared by every subcommand.
const (
	exitOK       = 0
	exitNo       = 1 // the answer is no (access denied, …)
	exitBadInput = 2 // the input is malformed; nothing was done
)

const usage = `usage: cordon <command> [flags]

commands:
  run      run a command in the sandbox
  mcp      serve a sandboxed shell to an AI agent over the Model Context Protocol (stdio)
  probe    report which sandbox backends and layers work here
  access   evaluate the NT access-check model for a security descriptor and a token
  plan     compute and prove the ACL edits a policy needs on a Windows file-system snapshot
  explain  say whether the sandbox may read, write or delete a path, and which ACE decides
  sids     list the capability SIDs in cordon's store, or drop those of vanished workspaces
  cleanup  remove every ACE, label and placeholder the Windows backend added, and nothing else
  cache    list or clear the workspaces' tool-cache layers
  setup    Windows: create or repair the elevated mode's sandbox users (--dry-run, --remove)
  doctor   Windows: check every piece of the elevated mode and name the command that fixes each problem
  acl-helper  Windows: apply the elevated mode's queued read grants, one helper at a time
  verify-network  Windows: prove from inside the sandbox that the offline user is fenced and the online one is not

Run 'cordon <command> -h' for a command's flags.
`

func run(args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	if len(args) == 0 {
		fmt.Fprint(stderr, usage)
		return exitBadInput
	}
	switch args[0] {
	case "run":
		return runRun(args[1:], stdin, stdout, stderr)
	case "mcp":
		return runMCP(args[1:], stdin, stdout, stderr)
	case "probe":
		return runProbe(args[1:], stdout, stderr)
	case "access":
		return runAccess(args[1:], stdin, stdout, stderr)
	case "plan":
		return runPlan(args[1:], stdout, stderr)
	case "explain":
		return runExplain(args[1:], stdout, stderr)
	case "sids":
		return runSIDs(args[1:], stdout, stderr)
	case "cleanup":
		return runCleanup(args[1:], stdout, stderr)
	case "cache":
		return runCache(args[1:], stdout, stderr)
	case "setup":
		return runSetup(args[1:], stdout, stderr)
	case "doctor":
		return runDoctor(args[1:], stdout, stderr)
	case "acl-helper":
		return runACLHelper(args[1:], stdout, stderr)
	case "verify-network":
		return runVerifyNetwork(args[1:], stdout, stderr)
	case "runner": // hidden: the elevated mode's runner, started by cordon
		return runRunner(args[1:], stderr)
	case "-h", "-help", "--help", "help":
		fmt.Fprint(stdout, usage)
		return exitOK
	}
	fail(stderr, codeUsage, fmt.Errorf("unknown command %q", args[0]))
	fmt.Fprint(stderr, usage)
	return exitBadInput
}
