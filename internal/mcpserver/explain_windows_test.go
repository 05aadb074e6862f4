package mcpserver_test

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/cordon-sandbox/cordon"
	"github.com/cordon-sandbox/cordon/internal/mcpserver"
	"github.com/cordon-sandbox/cordon/internal/testutil"
	"github.com/cordon-sandbox/cordon/policy"
	"github.com/modelcontextprotocol/go-sdk/mcp"
)

// The explain tool through a client, on Windows (under Wine in CI: it
// reads paths and the policy only, which Wine serves as Windows does).
func TestExplainTool(t *testing.T) {
	t.Setenv("CORDON_STATE_DIR", testutil.TempDir(t))
	ws := testutil.CanonicalTempDir(t)
	if err := os.MkdirAll(filepath.Join(ws, "src"), 0o755); err != nil {
		t.Fatal(err)
	}
	cs := serve(t, mcpserver.Config{Sandbox: cordon.Request{Policy: policy.Policy{Mode: policy.WorkspaceWrite}, Dir: ws}}, nil)
	for _, c := range []struct {
		path         string
		write, isErr bool
		why          string
	}{
		{`src\main.go`, true, false, "writable root"},
		{filepath.Join(ws, ".GIT", "config"), false, false, "protected name"},
		{os.Getenv("SystemRoot") + `\win.ini`, false, false, "outside every writable root"},
		{"", false, true, "empty"},
	} {
		res, err := cs.CallTool(context.Background(), &mcp.CallToolParams{Name: "explain", Arguments: map[string]any{"path": c.path}})
		if err != nil {
			t.Fatalf("%s: %v", c.path, err)
		}
		b, _ := json.Marshal(res.StructuredContent)
		var out mcpserver.ExplainOutput
		json.Unmarshal(b, &out)
		text := res.Content[0].(*mcp.TextContent).Text
		if res.IsError != c.isErr || (!c.isErr && out.Write.Allowed != c.write) || !strings.Contains(text, c.why) {
			t.Errorf("%s: isError %v, %s\n%s", c.path, res.IsError, b, text)
		}
	}
}
