package mcpserver

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/cordon-sandbox/cordon/policy"
	"github.com/google/jsonschema-go/jsonschema"
)

// The "explain" tool, registered on Windows only (explain_windows.go),
// says what the policy lets the sandbox do to a path. It is the policy's
// verdict, path by path; 'cordon explain --tree' proves the ACL plan ACE
// by ACE on a file-system snapshot. The logic here is portable, so that it
// is tested everywhere.

// ExplainInput is the "explain" tool's input.
type ExplainInput struct {
	Path string `json:"path"`
}

// ExplainOutput is the "explain" tool's structured result.
type ExplainOutput struct {
	Path   string  `json:"path"`
	Read   Verdict `json:"read"`
	Write  Verdict `json:"write"`
	Delete Verdict `json:"delete"`
}

// Verdict is one answer and its reason.
type Verdict struct {
	Allowed bool   `json:"allowed"`
	Why     string `json:"why"`
}

const explainDescription = "Say whether a command in this sandbox may read, write and delete a path, and why: the deny-read list, the writable root it lies in, a protected name (.git, ...). " +
	"It is the policy's verdict (your own file permissions still apply on top). Use it before a run to learn whether a write will be refused."

func explainInputSchema() *jsonschema.Schema {
	return &jsonschema.Schema{
		Type:                 "object",
		Properties:           map[string]*jsonschema.Schema{"path": str("A file or directory: absolute, or relative to the server's default working directory. It need not exist.")},
		Required:             []string{"path"},
		AdditionalProperties: &jsonschema.Schema{Not: &jsonschema.Schema{}},
	}
}

func explainOutputSchema() *jsonschema.Schema {
	verdict := func(q string) *jsonschema.Schema {
		return &jsonschema.Schema{Type: "object", Description: "May the sandbox " + q + " it?", Properties: map[string]*jsonschema.Schema{
			"allowed": {Type: "boolean"}, "why": str("The rule that decides."),
		}, Required: []string{"allowed", "why"}}
	}
	return &jsonschema.Schema{
		Type: "object",
		Properties: map[string]*jsonschema.Schema{
			"path": str("The path, absolute, links resolved where it exists."),
			"read": verdict("read"), "write": verdict("write"), "delete": verdict("delete or rename"),
		},
		Required:      []string{"path", "read", "write", "delete"},
		PropertyOrder: []string{"path", "read", "write", "delete"},
	}
}

// resolvePath makes p absolute (relative to the default directory) and
// resolves the links of its longest existing part.
func (w *workspace) resolvePath(p string) (string, error) {
	if strings.TrimSpace(p) == "" {
		return "", fmt.Errorf("path is empty")
	}
	a, err := w.rules.Abs(w.dir, p)
	if err != nil {
		return "", fmt.Errorf("path %q: %v", p, err)
	}
	rest := ""
	for cur := a; ; {
		if _, err := os.Lstat(cur); err == nil {
			c := canonical(cur)
			if rest != "" {
				c = filepath.Join(c, rest)
			}
			return w.rules.Abs("", c)
		}
		parent := filepath.Dir(cur)
		if parent == cur {
			return a, nil
		}
		rest = filepath.Join(filepath.Base(cur), rest)
		cur = parent
	}
}

// explain is the policy's verdict on p.
func (w *workspace) explain(p string) (ExplainOutput, error) {
	path, err := w.resolvePath(p)
	if err != nil {
		return ExplainOutput{}, err
	}
	return w.verdicts(path), nil
}

// verdicts is the policy's verdict on path, absolute and resolved.
func (w *workspace) verdicts(path string) ExplainOutput {
	out := ExplainOutput{Path: path}
	r := w.resolved
	for _, d := range r.DenyRead {
		if w.rules.Within(path, d) {
			why := fmt.Sprintf("it is at or below %s, on the deny-read list: the sandbox may not touch it at all", d)
			out.Read, out.Write, out.Delete = Verdict{false, why}, Verdict{false, why}, Verdict{false, why}
			return out
		}
	}
	out.Read = Verdict{true, "it is not on the deny-read list; reading is limited only by your own rights"}
	if r.Mode == policy.ReadOnly {
		no := Verdict{false, "the sandbox is read-only"}
		out.Write, out.Delete = no, no
		return out
	}
	root, ok := r.RootOf(path)
	if !ok {
		no := Verdict{false, fmt.Sprintf("it is outside every writable root (%s; the run's own temp directory aside, see sandbox_info)", joinPaths(w.writable()))}
		out.Write, out.Delete = no, no
		return out
	}
	for _, rt := range r.RootsOf(path) {
		if name, ok := w.protectedIn(path, rt.Path); ok {
			no := Verdict{false, fmt.Sprintf("%s is a protected name at the top of the writable root %s: it stays read-only", name, rt.Path)}
			out.Write, out.Delete = no, no
			return out
		}
	}
	out.Write = Verdict{true, fmt.Sprintf("it is inside the writable root %s (%s)", root.Path, root.Kind)}
	if w.rules.Within(root.Path, path) {
		out.Delete = Verdict{false, fmt.Sprintf("it is the writable root %s itself, which the sandbox cannot delete or rename", root.Path)}
	} else {
		out.Delete = Verdict{true, out.Write.Why}
	}
	return out
}

// protectedIn returns the protected name path lies at or below, at the top
// of root.
func (w *workspace) protectedIn(path, root string) (string, bool) {
	for _, name := range w.resolved.Protected {
		top, err := w.rules.Abs(root, name)
		if err == nil && w.rules.Within(path, top) {
			return name, true
		}
	}
	return "", false
}
