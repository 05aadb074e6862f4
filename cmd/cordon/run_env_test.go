package main

import (
	"encoding/json"
	"os"
	"runtime"
	"slices"
	"strings"
	"testing"

	"github.com/cordon-sandbox/cordon/internal/testutil"
)

// The environment flags: the default filter drops secrets, --env-keep and
// --env bring variables through, --json names what was dropped and never
// a value, and the flags add to the policy's "env" settings.
func TestRunEnvFlags(t *testing.T) {
	if runtime.GOOS == "windows" {
		t.Skip("uses /bin/sh")
	}
	t.Setenv("CORDON_STATE_DIR", testutil.TempDir(t))
	t.Setenv("GITHUB_TOKEN", "s3cret-gh")
	t.Setenv("NPM_TOKEN", "s3cret-npm")
	t.Setenv("CORDON_TEST_EDITOR", "vi")
	// CI is set in CI (CI=true): the cases below expect it unset unless a
	// flag sets it. t.Setenv restores it afterwards.
	t.Setenv("CI", "")
	os.Unsetenv("CI")
	ws := testutil.TempDir(t)
	script := `echo "gh=${GITHUB_TOKEN-unset} npm=${NPM_TOKEN-unset} editor=${CORDON_TEST_EDITOR-unset} ci=${CI-unset}"`
	run := func(flags ...string) (out struct {
		ExitCode   int       `json:"exit_code"`
		Stdout     string    `json:"stdout"`
		EnvDropped *[]string `json:"env_dropped"`
	}, raw string) {
		t.Helper()
		args := append([]string{"run", "--sandbox", "none", "--json", "--cwd", ws}, flags...)
		code, raw, errOut := runCLI(t, "", append(args, "--", "sh", "-c", script)...)
		if code != 0 {
			t.Fatalf("%v: exit %d\n%s%s", flags, code, raw, errOut)
		}
		if err := json.Unmarshal([]byte(raw), &out); err != nil {
			t.Fatalf("%v: %v\n%s", flags, err, raw)
		}
		if out.EnvDropped == nil {
			t.Fatalf("%v: no env_dropped in %s", flags, raw)
		}
		if strings.Count(raw, "s3cret") > strings.Count(out.Stdout, "s3cret") {
			t.Errorf("%v: a dropped value is in the output: %s", flags, raw)
		}
		return out, raw
	}

	out, _ := run()
	if out.Stdout != "gh=unset npm=unset editor=vi ci=unset\n" || !slices.Contains(*out.EnvDropped, "GITHUB_TOKEN") || !slices.Contains(*out.EnvDropped, "NPM_TOKEN") {
		t.Errorf("default: %q, dropped %v", out.Stdout, *out.EnvDropped)
	}
	out, _ = run("--env-keep", "NPM_*", "--env", "CI=1")
	if out.Stdout != "gh=unset npm=s3cret-npm editor=vi ci=1\n" || slices.Contains(*out.EnvDropped, "NPM_TOKEN") || !slices.Contains(*out.EnvDropped, "GITHUB_TOKEN") {
		t.Errorf("keep and set: %q, dropped %v", out.Stdout, *out.EnvDropped)
	}
	out, _ = run("--env-clear", "--env", "GITHUB_TOKEN=fake")
	if out.Stdout != "gh=fake npm=unset editor=unset ci=unset\n" || !slices.Contains(*out.EnvDropped, "CORDON_TEST_EDITOR") || slices.Contains(*out.EnvDropped, "GITHUB_TOKEN") {
		t.Errorf("clear: %q, dropped %v", out.Stdout, *out.EnvDropped)
	}
	// The flags add to the policy: its keep and the flag's clear compose,
	// and --env replaces the policy's value.
	pol := `{"mode":"workspace-write","env":{"keep":["CORDON_TEST_*"],"set":{"CI":"policy"}}}`
	out, _ = run("--policy", pol, "--env-clear", "--env", "CI=flag")
	if out.Stdout != "gh=unset npm=unset editor=vi ci=flag\n" {
		t.Errorf("policy and flags: %q, dropped %v", out.Stdout, *out.EnvDropped)
	}
	out, _ = run("--env-keep", "*")
	if out.Stdout != "gh=s3cret-gh npm=s3cret-npm editor=vi ci=unset\n" || len(*out.EnvDropped) != 0 {
		t.Errorf("keep *: %q, dropped %v", out.Stdout, *out.EnvDropped)
	}
}

func TestRunEnvBadFlags(t *testing.T) {
	t.Setenv("CORDON_STATE_DIR", testutil.TempDir(t))
	cases := []struct {
		flags []string
		code  string
		want  string
	}{
		{[]string{"--env", "NOEQUALS"}, "bad_request", "--env: want NAME=VALUE"},
		{[]string{"--env", "=s3cret"}, "bad_request", "--env: empty variable name"},
		{[]string{"--env-keep", ""}, "bad_request", "--env-keep: empty variable name"},
		{[]string{"--env-keep", "A=B"}, "bad_request", `--env-keep: variable name "A=B" contains '='`},
		{[]string{"--policy", `{"mode":"read-only","env":{"bogus":1}}`}, "bad_policy", `field "env": json: unknown field "bogus"`},
		{[]string{"--policy", `{"mode":"read-only","env":{"set":{"A=B":"s3cret"}}}`}, "bad_policy", `field "env.set"`},
	}
	for _, c := range cases {
		args := append(append([]string{"run", "--sandbox", "none"}, c.flags...), "--", "cordon-never-runs")
		code, out, errOut := runCLI(t, "", args...)
		if code != exitSetup || out != "" || !strings.HasPrefix(errOut, "cordon: "+c.code+": ") || !strings.Contains(errOut, c.want) || strings.Count(errOut, "\n") != 1 {
			t.Errorf("%v: exit %d, stdout %q, stderr %q; want 125 and %s naming %q", c.flags, code, out, errOut, c.code, c.want)
		}
		if strings.Contains(errOut, "s3cret") {
			t.Errorf("%v: the error shows a value: %s", c.flags, errOut)
		}
	}
}
