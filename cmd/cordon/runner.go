package main

import (
	"context"
	"io"

	"github.com/cordon-sandbox/cordon/internal/runner"
)

// codeRunner is the code of a runner that failed.
const codeRunner = "runner_failed"

// runRunner is `cordon runner`, a hidden subcommand: the elevated mode's
// runner (internal/runner), which cordon itself starts as a sandbox user
// with the pipe, its own process ID and a nonce on the command line. It
// serves one command and exits: 0 once the command's exit was reported
// (whatever the command's own code), 1 when the conversation failed (the
// command was then killed), 2 for a malformed command line. Nobody runs
// it by hand: it refuses a pipe not served by the process it names.
func runRunner(args []string, stderr io.Writer) int {
	cfg, err := runner.ParseArgs(args, stderr)
	if err != nil {
		fail(stderr, codeUsage, err)
		return exitBadInput
	}
	if err := runner.Run(context.Background(), cfg); err != nil {
		fail(stderr, codeRunner, err)
		return exitNo
	}
	return exitOK
}
