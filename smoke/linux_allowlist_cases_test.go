package smoke

import (
	"encoding/json"
	"fmt"
	"os"
	"strings"
	"testing"
)

// Linux rows: the network allowlist (--allow-host), end to end through
// the cordon binary, with curl against the host's listener on 127.0.0.1.
// curl is told --noproxy "" to use the proxy for 127.0.0.1, which the
// proxy variables' NO_PROXY leaves to the sandbox's own loopback.

// networkIs: cordon --json reported exactly these allowed and denied
// lines (${PORT} expanded).
func networkIs(allowed, denied string) check {
	return check{what: "--json network is allowed " + allowed + ", denied " + denied, fn: func(w *ws, r *result) error {
		var out struct {
			Network *struct {
				Allowed json.RawMessage `json:"allowed"`
				Denied  json.RawMessage `json:"denied"`
			} `json:"network"`
		}
		if err := json.Unmarshal([]byte(r.stdout), &out); err != nil {
			return err
		}
		if out.Network == nil {
			return fmt.Errorf("no network in %s", r.stdout)
		}
		if a, d := w.expand(allowed), w.expand(denied); string(out.Network.Allowed) != a || string(out.Network.Denied) != d {
			return fmt.Errorf("allowed %s, denied %s", out.Network.Allowed, out.Network.Denied)
		}
		return nil
	}}
}

// logHas: cordon.log has a line containing s (${PORT} expanded).
func logHas(s string) check {
	return check{what: "cordon.log has " + s, fn: func(w *ws, _ *result) error {
		b, err := os.ReadFile(w.path("state/cordon.log"))
		if err != nil {
			return err
		}
		if !strings.Contains(string(b), w.expand(s)) {
			return fmt.Errorf("it has:\n%s", b)
		}
		return nil
	}}
}

func allowlistRows() []tc {
	curl := []string{"curl"}
	get := `curl -sSf --max-time 10 --noproxy "" "http://127.0.0.1:$PORT/"`
	return []tc{
		{name: "allowlist/listed-address-reached", on: onLinux, needs: curl, listen: true,
			flags: []string{"--allow-host", "127.0.0.1:${PORT}"}, cmd: sh(get), want: ok, stdout: `\Ahello-from-host\n\z`,
			checks: []check{tcpAccepted(1), logHas("msg=NETWORK decision=allowed proto=http host=127.0.0.1 port=${PORT} addr=127.0.0.1 rule=127.0.0.1:${PORT}")}},
		{name: "allowlist/json-attribution", on: onLinux, needs: curl, listen: true,
			flags: []string{"--json", "--allow-host", "127.0.0.1:${PORT}", "--allow-host", "preset:npm"},
			cmd:   sh(get + `; curl -sS --max-time 10 --noproxy "" https://127.0.0.1:1/ ; curl -sS --max-time 10 -x "$ALL_PROXY" https://example.invalid/`),
			want:  anyExit, checks: []check{tcpAccepted(1), networkIs(
				`[{"host":"127.0.0.1","port":${PORT},"rule":"127.0.0.1:${PORT}","count":1}]`,
				`[{"host":"127.0.0.1","port":1,"reason":"address not in the allowlist (an address is allowed only when listed itself)","count":1},`+
					`{"host":"example.invalid","port":443,"reason":"not in the allowlist","count":1}]`)}},
		{name: "allowlist/unlisted-port-denied", on: onLinux, needs: curl, listen: true,
			flags: []string{"--allow-host", "127.0.0.1:1"}, cmd: sh(get), want: denied, stderr: `returned error: 403`,
			checks: []check{tcpAccepted(0)}},
		// A command that ignores the proxy reaches nothing, and the proxy
		// saw no connection.
		{name: "allowlist/ignoring-the-proxy-no-network", on: onLinux, needs: curl, listen: true,
			flags: []string{"--json", "--allow-host", "127.0.0.1:${PORT}"},
			cmd:   sh(`curl -sS --max-time 5 --noproxy '*' "http://127.0.0.1:$PORT/" || exit 3`), want: exitCode(3),
			checks: []check{tcpAccepted(0), networkIs(`[]`, `[]`)}},
		{name: "allowlist/policy-json", on: onLinux, needs: curl, listen: true,
			policy: `{"mode":"read-only","network":{"allow_hosts":["127.0.0.1:${PORT}"]}}`, cmd: sh(get), want: ok,
			stdout: `\Ahello-from-host\n\z`, checks: []check{tcpAccepted(1)}},
		{name: "allowlist/malformed-pattern-bad-policy", on: onLinux, flags: []string{"--allow-host", "https://registry.npmjs.org"},
			cmd: sh("true"), want: exitCode(125), stderr: `\Acordon: bad_policy: --allow-host "https://registry.npmjs.org": a host pattern is a host and an optional port, not a URL\n\z`},
		{name: "allowlist/malformed-policy-pattern", on: onLinux, policy: `{"mode":"read-only","network":{"allow_hosts":["a..b"]}}`,
			cmd: sh("true"), want: exitCode(125), stderr: `\Acordon: bad_policy: .*field "network.allow_hosts"\[0\] "a..b": empty label`},
		{name: "allowlist/unsandboxed-unavailable", on: onLinux, flags: []string{"--sandbox", "none", "--allow-host", "example.com"},
			cmd: sh("true"), want: exitCode(125), stderr: `cordon: unavailable: the none backend cannot enforce a network allowlist`},
		{name: "allowlist/unsandboxed-best-effort-says-so", on: onLinux, flags: []string{"--sandbox", "none", "--best-effort", "--allow-host", "example.com"},
			cmd: sh("echo ran"), want: ok, stdout: `\Aran\n\z`, stderr: `not enforced: network-allowlist: the none backend cannot enforce a network allowlist`},
	}
}

func TestLinuxAllowlist(t *testing.T) { runTable(t, allowlistRows()) }
