package main

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/cordon-sandbox/cordon/internal/testutil"
)

// tsSDKVersion is the official TypeScript SDK the test installs: pinned,
// so that a new release cannot change the test under us.
const tsSDKVersion = "1.32.2"

// tsClient drives cordon mcp with the official TypeScript SDK's client
// (validating each result against the tool's output schema, as it does)
// and prints what it got as one JSON object.
const tsClient = `import { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { StdioClientTransport } from "@modelcontextprotocol/sdk/client/stdio.js";

const [bin, ws] = process.argv.slice(2);
const transport = new StdioClientTransport({ command: bin, args: ["mcp", "--cwd", ws, "--timeout", "30s"], env: { ...process.env } });
const client = new Client({ name: "cordon-ts-test", version: "1.0.0" });
await client.connect(transport);
const tools = await client.listTools();
const failed = await client.callTool({ name: "run", arguments: { command: "echo from-typescript; exit 4" } });
const argv = await client.callTool({ name: "run", arguments: { argv: ["printf", "%s", "a b"], stdin: "unused" } });
const refused = await client.callTool({ name: "run", arguments: { command: "pwd", cwd: "/" } });
const progress = [];
const streamed = await client.callTool({ name: "run", arguments: { command: "echo streamed-line" } }, undefined,
  { onprogress: (p) => progress.push(p) });
const info = await client.callTool({ name: "sandbox_info", arguments: {} });
await client.close();
console.log(JSON.stringify({ tools: tools.tools.map((t) => t.name), failed, argv, refused, streamed, progress, info }));
`

// loudSkip skips with a warning on stderr that does not scroll by unseen.
func loudSkip(t *testing.T, format string, args ...any) {
	t.Helper()
	msg := fmt.Sprintf(format, args...)
	fmt.Fprintf(os.Stderr, "\n!!!! WARNING: %s: SKIPPED: %s\n\n", t.Name(), msg)
	t.Skip("WARNING: " + msg)
}

// npmDir is the test's own npm directory, with the TypeScript SDK
// installed: $CORDON_NPM_CACHE, or cordon-test-npm in the user's cache
// directory, reused between runs.
func npmDir(t *testing.T) string {
	t.Helper()
	dir := os.Getenv("CORDON_NPM_CACHE")
	if dir == "" {
		cache, err := os.UserCacheDir()
		if err != nil {
			t.Fatalf("no cache directory for the npm packages (set CORDON_NPM_CACHE): %v", err)
		}
		dir = filepath.Join(cache, "cordon-test-npm")
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	pkg := fmt.Sprintf(`{"private": true, "name": "cordon-test-npm", "dependencies": {"@modelcontextprotocol/sdk": %q}}`+"\n", tsSDKVersion)
	if err := os.WriteFile(filepath.Join(dir, "package.json"), []byte(pkg), 0o644); err != nil {
		t.Fatal(err)
	}
	installed, _ := os.ReadFile(filepath.Join(dir, "node_modules", "@modelcontextprotocol", "sdk", "package.json"))
	var meta struct{ Version string }
	if json.Unmarshal(installed, &meta) == nil && meta.Version == tsSDKVersion {
		return dir
	}
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, "npm", "install", "--no-audit", "--no-fund")
	cmd.Dir = dir
	if out, err := cmd.CombinedOutput(); err != nil {
		msg := fmt.Sprintf("npm install @modelcontextprotocol/sdk@%s in %s failed (registry unreachable?): %v\n%s", tsSDKVersion, dir, err, out)
		if os.Getenv("CI") == "true" {
			t.Fatal(msg) // node is here: CI must not lose this test silently
		}
		loudSkip(t, "%s", msg)
	}
	return dir
}

// A client nobody here wrote: the official TypeScript SDK's, over stdio.
func TestMCPTypeScriptClient(t *testing.T) {
	if runtime.GOOS != "linux" {
		t.Skip("runs commands with /bin/sh in the Linux sandbox")
	}
	node, err := exec.LookPath("node")
	if err != nil {
		loudSkip(t, "node is not installed: the official TypeScript MCP client cannot run")
	}
	if _, err := exec.LookPath("npm"); err != nil {
		loudSkip(t, "npm is not installed: the official TypeScript MCP client cannot be installed")
	}
	dir := npmDir(t)
	// Node resolves the SDK from the script's own directory.
	script := filepath.Join(dir, "cordon-mcp-client.mjs")
	if err := os.WriteFile(script, []byte(tsClient), 0o644); err != nil {
		t.Fatal(err)
	}
	bin := buildCordon(t)
	ws := testutil.CanonicalTempDir(t)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, node, script, bin, ws)
	cmd.Env = append(os.Environ(), "CORDON_STATE_DIR="+testutil.CanonicalTempDir(t))
	var stderr strings.Builder
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("node client: %v\nstdout: %s\nstderr: %s", err, out, stderr.String())
	}
	type result struct {
		IsError           bool `json:"isError"`
		Content           []struct{ Type, Text string }
		StructuredContent map[string]any `json:"structuredContent"`
	}
	var got struct {
		Tools                                 []string
		Failed, Argv, Refused, Streamed, Info result
		Progress                              []struct {
			Message  string
			Progress float64
		}
	}
	if err := json.Unmarshal(out, &got); err != nil {
		t.Fatalf("client output: %v\n%s", err, out)
	}
	if slices.Sort(got.Tools); !slices.Equal(got.Tools, []string{"run", "sandbox_info"}) {
		t.Errorf("tools %v", got.Tools)
	}
	if f := got.Failed; f.IsError || f.StructuredContent["exit_code"] != 4.0 || f.StructuredContent["stdout"] != "from-typescript\n" || len(f.Content) == 0 || !strings.Contains(f.Content[0].Text, "exit code 4") {
		t.Errorf("failed run: %+v", f)
	}
	if a := got.Argv; a.IsError || a.StructuredContent["stdout"] != "a b" {
		t.Errorf("argv run: %+v", a)
	}
	if r := got.Refused; !r.IsError || len(r.Content) == 0 || !strings.Contains(r.Content[0].Text, "outside the workspace "+ws) {
		t.Errorf("refused run: %+v", r)
	}
	if s := got.Streamed; s.IsError || s.StructuredContent["stdout"] != "streamed-line\n" {
		t.Errorf("streamed run: %+v", s)
	}
	if len(got.Progress) == 0 || !strings.Contains(got.Progress[0].Message, "streamed-line") {
		t.Errorf("progress notifications: %+v", got.Progress)
	}
	if i := got.Info; i.IsError || i.StructuredContent["mode"] != "workspace-write" || i.StructuredContent["workspace"] != ws {
		t.Errorf("sandbox_info: %+v", i)
	}
}
