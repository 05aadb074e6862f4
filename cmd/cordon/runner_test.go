package main

import (
	"bytes"
	"strings"
	"testing"
)

func TestRunnerRefusesABadCommandLine(t *testing.T) {
	for name, args := range map[string][]string{
		"nothing":      {"runner"},
		"foreign pipe": {"runner", "--pipe", `\\.\pipe\other`, "--server", "4", "--nonce", "00112233445566778899aabbccddeeff"},
	} {
		var stdout, stderr bytes.Buffer
		if code := run(args, strings.NewReader(""), &stdout, &stderr); code != exitBadInput {
			t.Errorf("%s: exit %d, want %d", name, code, exitBadInput)
		}
		if !strings.Contains(stderr.String(), "cordon: usage: runner:") {
			t.Errorf("%s: stderr %q", name, &stderr)
		}
	}
}
