package main

import (
	"errors"
	"fmt"
	"io"

	"github.com/cordon-sandbox/cordon"
)

// The CLI's errors are cordon.Error values, so that there is one coded
// error, printed in one form, "cordon: CODE: message".

// coded gives err the stable code the CLI prints with it.
func coded(code string, err error) error { return &cordon.Error{Code: code, Err: err} }

// fail prints a one-line error with a stable code, "cordon: CODE: message".
func fail(stderr io.Writer, code string, err error) {
	fmt.Fprintf(stderr, "cordon: %v\n", &cordon.Error{Code: code, Err: err})
}

// report prints err with its code ("error" when it has none) and returns
// the bad-input exit status.
func report(stderr io.Writer, err error) int {
	var c *cordon.Error
	if errors.As(err, &c) {
		fail(stderr, c.Code, c.Err)
	} else {
		fail(stderr, "error", err)
	}
	return exitBadInput
}
