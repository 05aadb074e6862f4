// Package policy is cordon's sandbox policy: what a sandboxed command may
// write, which names inside its writable roots stay protected, and whether it
// may use the network. It is OS-independent; paths are resolved by the rules
// of the platform the policy will be enforced on (Rules), so a Windows policy
// can be resolved and planned on Linux.
package policy

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"sort"
	"strings"
)

// Mode is what the sandboxed command may write.
type Mode string

const (
	// ReadOnly: nothing, except the null device.
	ReadOnly Mode = "read-only"
	// WorkspaceWrite: the cwd, the temp directories unless excluded, and the
	// extra writable roots — minus the protected names inside them.
	WorkspaceWrite Mode = "workspace-write"
)

// DefaultProtectedNames are protected inside every writable root: a
// sandboxed command that could write them could plant git hooks or config
// (run later by the user's own git, outside the sandbox), rewrite an
// agent's instructions or settings (Claude Code's project settings run
// hook commands, Gemini CLI's and Cursor's start MCP servers), or set what
// the user's editor runs when it opens the folder (VS Code's tasks and
// settings, JetBrains' run configurations). All run outside the sandbox,
// as the user.
var DefaultProtectedNames = []string{".git", ".codex", ".agents", ".claude", ".gemini", ".cursor", ".vscode", ".idea"}

// Policy is a sandbox policy as the user writes it. Paths may be relative:
// Resolve makes them absolute against Cwd.
type Policy struct {
	Mode Mode `json:"mode"`
	// Cwd is the directory the policy is relative to, and the workspace
	// root. Empty means the command's working directory.
	Cwd string `json:"cwd,omitempty"`
	// WritableRoots are extra writable roots (workspace-write only),
	// absolute or relative to Cwd.
	WritableRoots []string `json:"writable_roots,omitempty"`
	// ExcludeTmp leaves the temp directories (TEMP/TMP, TMPDIR) out of the
	// writable roots.
	ExcludeTmp bool `json:"exclude_tmp,omitempty"`
	// ProtectedNames are protected in addition to DefaultProtectedNames.
	ProtectedNames []string `json:"protected_names,omitempty"`
	// Network allows all network access. In JSON, "network" is true,
	// false, or an allowlist object (NetworkAllowlist).
	Network bool `json:"network,omitempty"`
	// NetworkAllowlist, when set, allows only the hosts it lists, through
	// cordon's proxy; Network must then be false. It is the JSON
	// "network" field when that is an object.
	NetworkAllowlist *NetworkAllowlist `json:"-"`
	// Env filters the command's environment: by default the variables
	// matching DefaultEnvFilter are dropped (see EnvPolicy).
	Env EnvPolicy `json:"env,omitzero"`
	// DenyRead are paths the command may not read (absolute, relative to
	// Cwd, or ~/...), in addition to the default list (DefaultDenyRead)
	// unless DefaultDenyRead is false. A deny-read path wins over a
	// writable root that contains it.
	DenyRead []string `json:"deny_read,omitempty"`
	// DefaultDenyRead, when false, turns the default deny-read list off;
	// nil means on.
	DefaultDenyRead *bool `json:"default_deny_read,omitempty"`
	// Caches are the tool caches given to a workspace-write command
	// through layers of its workspace's own (see CachePolicy).
	Caches CachePolicy `json:"caches,omitzero"`
}

// Preset returns the policy of a preset name: "read-only" or
// "workspace-write".
func Preset(name string) (Policy, bool) {
	switch Mode(name) {
	case ReadOnly, WorkspaceWrite:
		return Policy{Mode: Mode(name)}, true
	}
	return Policy{}, false
}

// Parse reads a policy given as a preset name, inline JSON, or @FILE (JSON
// read from FILE). Unknown JSON fields are rejected; every error names the
// field or file at fault.
func Parse(s string) (Policy, error) {
	s = strings.TrimSpace(s)
	if p, ok := Preset(s); ok {
		return p, nil
	}
	if strings.HasPrefix(s, "@") {
		b, err := os.ReadFile(s[1:])
		if err != nil {
			return Policy{}, fmt.Errorf("policy file: %w", err)
		}
		p, err := ParseJSON(bytes.NewReader(b))
		if err != nil {
			return Policy{}, fmt.Errorf("policy file %s: %w", s[1:], err)
		}
		return p, nil
	}
	if strings.HasPrefix(s, "{") {
		return ParseJSON(strings.NewReader(s))
	}
	return Policy{}, fmt.Errorf("policy %q: want read-only, workspace-write, a JSON object or @FILE", s)
}

// ParseJSON reads a policy object such as
//
//	{"mode":"workspace-write","writable_roots":["../shared"],"exclude_tmp":true,
//	 "protected_names":[".env"],"network":false,
//	 "env":{"set":{"GOFLAGS":"-mod=mod"},"keep":["NPM_TOKEN"],"clear":false},
//	 "caches":{"extra":["~/.cache-of-my-tool"],"off":false,"cap":"5G"}}
//
// where "network" may also be an allowlist:
// {"allow_hosts":["registry.npmjs.org","preset:pypi"],"allow_local_binding":false}.
func ParseJSON(r io.Reader) (Policy, error) {
	dec := json.NewDecoder(io.LimitReader(r, 1<<20))
	dec.DisallowUnknownFields()
	var p Policy
	if err := dec.Decode(&p); err != nil {
		var typeErr *json.UnmarshalTypeError
		if errors.As(err, &typeErr) {
			return Policy{}, fmt.Errorf("policy: field %q: want %s, got JSON %s", typeErr.Field, typeErr.Type, typeErr.Value)
		}
		return Policy{}, fmt.Errorf("policy: %w", err)
	}
	if dec.More() {
		return Policy{}, fmt.Errorf("policy: trailing data after the JSON object")
	}
	if err := p.Validate(); err != nil {
		return Policy{}, err
	}
	return p, nil
}

// Validate checks what can be checked without resolving paths.
func (p Policy) Validate() error {
	switch p.Mode {
	case ReadOnly:
		if len(p.WritableRoots) > 0 {
			return fmt.Errorf("policy: field \"writable_roots\": a read-only policy has no writable roots")
		}
	case WorkspaceWrite:
	case "":
		return fmt.Errorf("policy: field \"mode\" is required (read-only or workspace-write)")
	default:
		return fmt.Errorf("policy: field \"mode\": %q is not read-only or workspace-write", p.Mode)
	}
	for i, r := range p.WritableRoots {
		if strings.TrimSpace(r) == "" {
			return fmt.Errorf("policy: field \"writable_roots\"[%d] is empty", i)
		}
	}
	for i, n := range p.ProtectedNames {
		if err := validName(n); err != nil {
			return fmt.Errorf("policy: field \"protected_names\"[%d]: %w", i, err)
		}
	}
	for i, d := range p.DenyRead {
		if strings.TrimSpace(d) == "" {
			return fmt.Errorf("policy: field \"deny_read\"[%d] is empty", i)
		}
	}
	if p.NetworkAllowlist != nil {
		if p.Network {
			return fmt.Errorf("policy: field \"network\": all network (true) and an allowlist at once")
		}
		if _, err := p.NetworkAllowlist.Resolve(); err != nil {
			return err
		}
	}
	if err := p.Caches.Validate(); err != nil {
		return err
	}
	return p.Env.Validate()
}

// UnmarshalJSON reads a policy object; "network" is true, false or an
// allowlist object. Unknown fields are rejected.
func (p *Policy) UnmarshalJSON(b []byte) error {
	type plain Policy
	var aux struct {
		*plain
		Network networkJSON `json:"network"` // shadows plain's
	}
	aux.plain = (*plain)(p)
	if err := decodeStrict(b, &aux); err != nil {
		var typeErr *json.UnmarshalTypeError
		if errors.As(err, &typeErr) {
			typeErr.Field = strings.TrimPrefix(typeErr.Field, "plain.")
		}
		return err
	}
	p.Network, p.NetworkAllowlist = aux.Network.on, aux.Network.allow
	return nil
}

// MarshalJSON writes the policy as ParseJSON reads it.
func (p Policy) MarshalJSON() ([]byte, error) {
	type plain Policy
	aux := struct {
		plain
		Network any `json:"network,omitempty"` // shadows plain's
	}{plain: plain(p)}
	switch {
	case p.NetworkAllowlist != nil:
		aux.Network = p.NetworkAllowlist
	case p.Network:
		aux.Network = true
	}
	return json.Marshal(aux)
}

func validName(n string) error {
	switch {
	case n == "":
		return fmt.Errorf("empty name")
	case n == "." || n == "..":
		return fmt.Errorf("%q is not a name", n)
	case strings.ContainsAny(n, `/\:`+"\x00"):
		return fmt.Errorf("%q is not a single name (no separators or colons)", n)
	}
	return nil
}

// Protected returns the protected names: the defaults and the policy's own,
// without duplicates (compared case-insensitively, as NTFS would).
func (p Policy) Protected() []string {
	seen := map[string]bool{}
	var out []string
	for _, n := range append(append([]string{}, DefaultProtectedNames...), p.ProtectedNames...) {
		k := strings.ToLower(n)
		if !seen[k] {
			seen[k] = true
			out = append(out, n)
		}
	}
	sort.Strings(out[len(DefaultProtectedNames):])
	return out
}
