package mcpserver

import (
	"context"
	"fmt"
	"runtime"
	"slices"
	"strings"

	"github.com/cordon-sandbox/cordon/policy"
	"github.com/cordon-sandbox/cordon/sandbox"
	"github.com/google/jsonschema-go/jsonschema"
	"github.com/modelcontextprotocol/go-sdk/mcp"
)

// InfoOutput is the "sandbox_info" tool's structured result.
type InfoOutput struct {
	OS             string   `json:"os"`
	Shell          string   `json:"shell"`
	Mode           string   `json:"mode"`
	Workspace      string   `json:"workspace"`
	DefaultCwd     string   `json:"default_cwd"`
	WritableRoots  []string `json:"writable_roots"`
	Temp           string   `json:"temp"`
	ProtectedNames []string `json:"protected_names"`
	DenyRead       []string `json:"deny_read"`
	Network        bool     `json:"network"`
	// AllowHosts is the network allowlist, when there is one: the only
	// hosts the command reaches, through cordon's proxy.
	AllowHosts []string        `json:"allow_hosts,omitempty"`
	Env        EnvInfo         `json:"env"`
	Limits     LimitsInfo      `json:"limits"`
	TimeoutMS  int64           `json:"timeout_ms"`
	Sandbox    string          `json:"sandbox"`
	BestEffort bool            `json:"best_effort"`
	Probe      []sandbox.Probe `json:"probe"`
}

// EnvInfo is the environment policy, names only: never a value.
type EnvInfo struct {
	Filter string   `json:"filter"`
	Clear  bool     `json:"clear"`
	Keep   []string `json:"keep"`
	Set    []string `json:"set"`
}

// LimitsInfo are the resource limits of each command's tree; 0 is none.
type LimitsInfo struct {
	MemoryBytes uint64 `json:"memory_bytes"`
	Processes   uint32 `json:"processes"`
}

func strs(desc string) *jsonschema.Schema {
	return &jsonschema.Schema{Type: "array", Items: &jsonschema.Schema{Type: "string"}, Description: desc}
}

func infoOutputSchema() *jsonschema.Schema {
	layer := &jsonschema.Schema{Type: "object", Properties: map[string]*jsonschema.Schema{
		"name": str("The layer: a namespace, Landlock, seccomp, a restricted token, ..."), "available": {Type: "boolean"},
		"detail": str("Its version, or why it is missing."), "enforces": str("What it guarantees when present."),
	}, Required: []string{"name", "available", "enforces"}}
	probe := &jsonschema.Schema{Type: "object", Properties: map[string]*jsonschema.Schema{
		"backend": str("A sandbox backend."), "available": {Type: "boolean", Description: "The backend works on this machine."},
		"reason": str("Why not, when unavailable."), "layers": {Type: "array", Items: layer},
	}, Required: []string{"backend", "available", "layers"}}
	props := map[string]*jsonschema.Schema{
		"os":              str("The operating system: linux, windows, darwin."),
		"shell":           str("What runs a \"command\": /bin/sh -c, or cmd /c on Windows."),
		"mode":            str("read-only (nothing is writable) or workspace-write."),
		"workspace":       str("The workspace, every link resolved."),
		"default_cwd":     str("Where a command runs when the call gives no cwd."),
		"writable_roots":  strs("The directories commands may write, with everything below them but the protected names (empty when read-only). The temp directory is described in temp."),
		"temp":            str("What the command's temporary directory is."),
		"protected_names": strs("Names that stay read-only at the top of every writable root (.git, .codex, .claude, .vscode, ...)."),
		"deny_read":       strs("Paths commands may not read at all (credentials), as the policy gives them, resolved."),
		"network":         {Type: "boolean", Description: "Commands may use the network."},
		"env": {Type: "object", Description: "How the server's environment is filtered for commands (names only, never values).", Properties: map[string]*jsonschema.Schema{
			"filter": str("What the filter drops."), "clear": {Type: "boolean", Description: "Only a baseline (PATH, HOME, LANG, ...) and the kept names pass."},
			"keep": strs("Names (with * wildcards) exempt from the filter."), "set": strs("Names the policy sets, whatever the filter says."),
		}, Required: []string{"filter", "clear", "keep", "set"}},
		"limits": {Type: "object", Description: "Resource limits of each command with everything it starts; 0 is no limit.", Properties: map[string]*jsonschema.Schema{
			"memory_bytes": {Type: "integer", Minimum: jsonschema.Ptr(0.0)}, "processes": {Type: "integer", Minimum: jsonschema.Ptr(0.0)},
		}, Required: []string{"memory_bytes", "processes"}},
		"timeout_ms":  {Type: "integer", Description: "The default and maximum timeout of a run call, in milliseconds."},
		"sandbox":     str("The backend asked for: auto (the platform's sandbox), linux, restricted-token, or none (UNSANDBOXED)."),
		"best_effort": {Type: "boolean", Description: "Commands run even when a protection is missing here; each run result lists what was not enforced in degraded."},
		"probe":       {Type: "array", Items: probe, Description: "What each sandbox backend enforces on this machine, each layer tried for real (as 'cordon probe' reports)."},
	}
	order := []string{"os", "shell", "mode", "workspace", "default_cwd", "writable_roots", "temp", "protected_names", "deny_read", "network", "env", "limits", "timeout_ms", "sandbox", "best_effort", "probe"}
	return &jsonschema.Schema{Type: "object", Properties: props, Required: order, PropertyOrder: order}
}

func (s *Server) addSandboxInfo() {
	mcp.AddTool(s.mcp, &mcp.Tool{
		Name:  "sandbox_info",
		Title: "What the sandbox allows",
		Description: "Describe the sandbox every run call uses, fixed when this server started: mode, writable roots, protected names, deny-read paths, network, environment filter, " +
			"resource limits, timeout, and which protections this machine really enforces (each layer tried). Call it before planning commands, instead of probing by trial and error. Takes no arguments.",
		InputSchema:  &jsonschema.Schema{Type: "object", AdditionalProperties: &jsonschema.Schema{Not: &jsonschema.Schema{}}},
		OutputSchema: infoOutputSchema(),
		Annotations:  &mcp.ToolAnnotations{ReadOnlyHint: true, IdempotentHint: true, OpenWorldHint: jsonschema.Ptr(false)},
	}, s.sandboxInfo)
}

func (s *Server) info() InfoOutput {
	w, req := s.ws, s.cfg.Sandbox
	backend := req.Backend
	if backend == "" {
		backend = "auto"
	}
	env := EnvInfo{
		Filter: "drops variables whose names match *KEY*, *SECRET*, *TOKEN*, *PASSWORD* or *CREDENTIAL* (any case), SSH_AUTH_SOCK and GPG_AGENT_INFO, unless kept or set",
		Clear:  req.Policy.Env.Clear, Keep: append([]string{}, req.Policy.Env.Keep...), Set: []string{},
	}
	for k := range req.Policy.Env.Set {
		env.Set = append(env.Set, k)
	}
	slices.Sort(env.Set)
	return InfoOutput{
		OS: runtime.GOOS, Shell: shellName(), Mode: string(w.resolved.Mode), Workspace: w.root, DefaultCwd: w.dir,
		WritableRoots: append([]string{}, w.writable()...), Temp: tempText(w.resolved.Mode, req.Policy.ExcludeTmp),
		ProtectedNames: append([]string{}, w.resolved.Protected...), DenyRead: append([]string{}, w.resolved.DenyRead...),
		Network: w.resolved.Network, AllowHosts: allowHosts(w.resolved.Allowlist), Env: env,
		Limits:    LimitsInfo{MemoryBytes: req.Limits.Memory, Processes: req.Limits.Processes},
		TimeoutMS: req.Timeout.Milliseconds(), Sandbox: backend, BestEffort: req.BestEffort, Probe: s.probe(),
	}
}

// tempText says what the command's temp directory is, by platform, as
// cordon.Run makes it.
func tempText(mode policy.Mode, excluded bool) string {
	switch {
	case runtime.GOOS == "linux":
		return "every run gets a private, empty /tmp and /var/tmp (TMPDIR=/tmp), gone when the run ends"
	case mode == policy.ReadOnly || excluded:
		return "not writable"
	case runtime.GOOS == "windows":
		return "TEMP and TMP point at the workspace's own temp directory under cordon's state directory (or --temp), writable and kept between runs"
	}
	return "TMPDIR (or /tmp) is writable"
}

func (s *Server) sandboxInfo(ctx context.Context, _ *mcp.CallToolRequest, _ map[string]any) (*mcp.CallToolResult, InfoOutput, error) {
	out := s.info()
	return &mcp.CallToolResult{Content: []mcp.Content{&mcp.TextContent{Text: infoText(out)}}}, out, nil
}

// infoText is the policy as a model reads it best.
func infoText(o InfoOutput) string {
	var b strings.Builder
	fmt.Fprintf(&b, "OS %s; commands run with %s (or as argv, without a shell).\n", o.OS, o.Shell)
	fmt.Fprintf(&b, "mode: %s\nworkspace: %s\ndefault cwd: %s\n", o.Mode, o.Workspace, o.DefaultCwd)
	if o.Mode == string(policy.ReadOnly) {
		b.WriteString("writable: nothing (read-only)\n")
	} else {
		fmt.Fprintf(&b, "writable roots: %s\nprotected (read-only) at the top of each root: %s\n", strings.Join(o.WritableRoots, ", "), strings.Join(o.ProtectedNames, ", "))
	}
	fmt.Fprintf(&b, "temp: %s\n", o.Temp)
	if len(o.DenyRead) > 0 {
		fmt.Fprintf(&b, "unreadable (deny-read): %s\n", strings.Join(o.DenyRead, ", "))
	}
	fmt.Fprintf(&b, "network: %s\n", networkText(o.Network, o.AllowHosts))
	fmt.Fprintf(&b, "environment: %s", o.Env.Filter)
	if o.Env.Clear {
		b.WriteString("; cleared to a baseline")
	}
	if len(o.Env.Keep) > 0 {
		fmt.Fprintf(&b, "; kept: %s", strings.Join(o.Env.Keep, ", "))
	}
	if len(o.Env.Set) > 0 {
		fmt.Fprintf(&b, "; set: %s", strings.Join(o.Env.Set, ", "))
	}
	b.WriteString("\n")
	if o.Limits.MemoryBytes > 0 || o.Limits.Processes > 0 {
		fmt.Fprintf(&b, "limits: memory %d bytes, processes %d (0 = none)\n", o.Limits.MemoryBytes, o.Limits.Processes)
	}
	fmt.Fprintf(&b, "timeout: %d ms (default and maximum)\nsandbox: %s", o.TimeoutMS, o.Sandbox)
	if o.BestEffort {
		b.WriteString(" (best effort: runs even when a protection is missing, and says so)")
	}
	b.WriteString("\nenforced here:\n")
	for _, p := range o.Probe {
		if !p.Available {
			fmt.Fprintf(&b, "  %s: UNAVAILABLE: %s\n", p.Backend, p.Reason)
			continue
		}
		fmt.Fprintf(&b, "  %s: available\n", p.Backend)
		for _, l := range p.Layers {
			mark := "yes"
			if !l.Available {
				mark = "NO "
			}
			fmt.Fprintf(&b, "    %s %s: %s\n", mark, l.Name, l.Enforces)
		}
	}
	return b.String()
}

// allowHosts lists an allowlist's rules as patterns, or nil for none.
func allowHosts(a *policy.Allowlist) []string {
	if a == nil {
		return nil
	}
	hosts := make([]string, 0, len(a.Rules))
	for _, r := range a.Rules {
		hosts = append(hosts, r.Pattern)
	}
	return hosts
}

// networkText says what the command's network is, for a model to read.
func networkText(all bool, allow []string) string {
	switch {
	case all:
		return "full network access"
	case allow != nil:
		return "only these hosts, through a proxy the environment's HTTP_PROXY/HTTPS_PROXY/ALL_PROXY name (other hosts and direct connections are refused): " + strings.Join(allow, ", ")
	}
	return "NO network access (downloads, package installs and git fetch/push fail)"
}
