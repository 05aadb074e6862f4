package mcpserver

import (
	"context"
	"fmt"

	"github.com/google/jsonschema-go/jsonschema"
	"github.com/modelcontextprotocol/go-sdk/mcp"
)

// addExplain registers "explain": on Windows, where whether a write will be
// refused is harder to guess than on Linux.
func (s *Server) addExplain() {
	mcp.AddTool(s.mcp, &mcp.Tool{
		Name:         "explain",
		Title:        "May the sandbox touch this path?",
		Description:  explainDescription,
		InputSchema:  explainInputSchema(),
		OutputSchema: explainOutputSchema(),
		Annotations:  &mcp.ToolAnnotations{ReadOnlyHint: true, IdempotentHint: true, OpenWorldHint: jsonschema.Ptr(false)},
	}, s.explainTool)
}

func (s *Server) explainTool(_ context.Context, _ *mcp.CallToolRequest, in ExplainInput) (*mcp.CallToolResult, ExplainOutput, error) {
	out, err := s.ws.explain(in.Path)
	if err != nil {
		return nil, out, err
	}
	return &mcp.CallToolResult{Content: []mcp.Content{&mcp.TextContent{Text: explainText(out)}}}, out, nil
}

func explainText(o ExplainOutput) string {
	yes := func(v Verdict) string {
		if v.Allowed {
			return "yes: " + v.Why
		}
		return "no: " + v.Why
	}
	return fmt.Sprintf("%s\n  read:   %s\n  write:  %s\n  delete: %s\n", o.Path, yes(o.Read), yes(o.Write), yes(o.Delete))
}
