package main

import (
	"errors"
	"fmt"
	"io"

	"github.com/cordon-sandbox/cordon"
)

// The CLI's errors are cordon.Error values, so that there is one coded
// error, printed in one form, "cordon: CODE: message". A failed Run brings
// cordon's own codes (cordon.CodeBadRequest, ...), which the CLI also uses
// for the same faults in its flags; these are the codes only the CLI gives.
const (
	codeUsage         = "usage"       // the command line is malformed
	codeError         = "error"       // an error that came without a code
	codeInterrupted   = "interrupted" // Run returned ctx's error: cordon got SIGINT or SIGTERM
	codeBadSDDL       = "bad_sddl"
	codeBadToken      = "bad_token"
	codeBadRights     = "bad_rights"
	codeBadTree       = "bad_tree"
	codeBadPath       = "bad_path"
	codeBadStore      = "bad_store"
	codeBadRecord     = "bad_record"
	codeStateDir      = "state_dir"
	codeCleanupFailed = "cleanup_failed"
)

// coded gives err the stable code the CLI prints with it.
func coded(code string, err error) error { return &cordon.Error{Code: code, Err: err} }

// fail prints a one-line error with a stable code, "cordon: CODE: message".
func fail(stderr io.Writer, code string, err error) {
	fmt.Fprintf(stderr, "cordon: %v\n", &cordon.Error{Code: code, Err: err})
}

// report prints err with its code (codeError when it has none) and returns
// the bad-input exit status.
func report(stderr io.Writer, err error) int {
	var c *cordon.Error
	if errors.As(err, &c) {
		fail(stderr, c.Code, c.Err)
	} else {
		fail(stderr, codeError, err)
	}
	return exitBadInput
}
