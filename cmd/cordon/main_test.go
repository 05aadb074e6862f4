package main

import (
	"os"
	"testing"

	"github.com/cordon-sandbox/cordon"
)

// asCordonEnv makes the test binary behave as the cordon command: tests
// that need cordon's executable (a detached `cordon acl-helper`, the
// inside half of `cordon verify-network`) start the test binary with it
// set. The variable is inherited by what that copy starts in turn.
const asCordonEnv = "CORDON_TEST_BINARY_IS_CORDON"

func TestMain(m *testing.M) {
	// A sandbox started by a copy acting as cordon re-executes the test
	// binary with the stage's environment alone: Init takes over there.
	cordon.Init()
	if os.Getenv(asCordonEnv) == "1" {
		os.Exit(run(os.Args[1:], os.Stdin, os.Stdout, os.Stderr))
	}
	os.Exit(m.Run())
}
