package main

import (
	"reflect"
	"strings"
	"testing"

	"github.com/cordon-sandbox/cordon/internal/testutil"
	"github.com/cordon-sandbox/cordon/policy"
)

// --allow-host makes or extends the policy's allowlist; it and --network
// exclude each other, also across flag and policy; a malformed pattern is
// bad_policy and named.
func TestRunNetworkFlags(t *testing.T) {
	t.Setenv("CORDON_STATE_DIR", testutil.TempDir(t))
	p := policy.Policy{Mode: policy.ReadOnly, NetworkAllowlist: &policy.NetworkAllowlist{AllowHosts: []string{"a.example"}}}
	if err := addNetworkFlags(&p, false, []string{"b.example:443", "preset:go"}); err != nil {
		t.Fatal(err)
	}
	if want := []string{"a.example", "b.example:443", "preset:go"}; !reflect.DeepEqual(p.NetworkAllowlist.AllowHosts, want) {
		t.Errorf("allow_hosts %v, want %v", p.NetworkAllowlist.AllowHosts, want)
	}
	p = policy.Policy{Mode: policy.ReadOnly}
	if err := addNetworkFlags(&p, true, nil); err != nil || !p.Network || p.NetworkAllowlist != nil {
		t.Errorf("--network: %+v %v", p, err)
	}

	cases := []struct {
		flags []string
		code  string
		want  string
	}{
		{[]string{"--allow-host", "https://a.example"}, "bad_policy", `--allow-host "https://a.example": a host pattern is a host`},
		{[]string{"--allow-host", "preset:nuget"}, "bad_policy", `--allow-host "preset:nuget": unknown preset`},
		{[]string{"--network", "--allow-host", "a.example"}, "bad_request", "give one"},
		{[]string{"--policy", `{"mode":"read-only","network":true}`, "--allow-host", "a.example"}, "bad_request", `"network" is true`},
		{[]string{"--policy", `{"mode":"read-only","network":{"allow_hosts":[]}}`, "--network"}, "bad_request", `"network" is an allowlist`},
		{[]string{"--policy", `{"mode":"read-only","network":{"allow_hosts":["*.*.example"]}}`}, "bad_policy", `field "network.allow_hosts"[0] "*.*.example"`},
		{[]string{"--allow-host", "a.example"}, "unavailable", "the none backend cannot enforce a network allowlist"},
	}
	for _, c := range cases {
		args := append(append([]string{"run", "--sandbox", "none"}, c.flags...), "--", "cordon-never-runs")
		code, out, errOut := runCLI(t, "", args...)
		if code != exitSetup || out != "" || !strings.Contains(errOut, "cordon: "+c.code+": ") || !strings.Contains(errOut, c.want) {
			t.Errorf("%v: exit %d, stdout %q, stderr %q; want 125 and %s naming %q", c.flags, code, out, errOut, c.code, c.want)
		}
	}
}
