package smoke

import (
	"crypto/sha1"
	"crypto/sha512"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
)

// The agent's everyday case with the network: npm install from a registry
// the allowlist names, with the cache layers, through the built binary. The
// registry is a stub on the host's loopback (the public one is not
// reachable from CI); npm reaches it only through cordon's proxy, since the
// sandbox has no other way out, and writes its cache through the layer.
func TestWorkloadNpmInstallThroughAllowlist(t *testing.T) {
	if cordonBin == "" {
		t.Skip("the smoke suite cannot run here: " + windowsSkipReason())
	}
	for _, tool := range []string{"node", "npm"} {
		if _, err := exec.LookPath(tool); err != nil {
			fmt.Fprintf(os.Stderr, "WARNING: workload npm-through-allowlist skipped: %s is not installed\n", tool)
			t.Skipf("%s is not installed", tool)
		}
	}
	base, err := os.MkdirTemp(baseParent(tc{}), "workload-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(base) })
	ws, home, state, dep := filepath.Join(base, "ws"), filepath.Join(base, "home"), filepath.Join(base, "state"), filepath.Join(base, "dep")
	for _, d := range []string{ws, home, state} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	writeFiles(t, dep, map[string]string{
		"package.json": `{"name":"wl-dep","version":"1.0.0","main":"index.js"}`,
		"index.js":     "module.exports = () => 'from the registry';\n",
	})
	env := append(workloadEnv(home, state), "npm_config_update_notifier=false", "npm_config_audit=false", "npm_config_fund=false")
	// Packed with a cache of its own, so that the tarball must come from
	// the registry, not from the user's cache.
	hostRun(t, dep, append(env, "npm_config_cache="+filepath.Join(base, "pack-cache")), "npm", "pack", "--pack-destination", base)
	tgz, err := os.ReadFile(filepath.Join(base, "wl-dep-1.0.0.tgz"))
	if err != nil {
		t.Fatal(err)
	}
	writeFiles(t, ws, map[string]string{
		"package.json": `{"name":"wl","version":"1.0.0","scripts":{"test":"node -e \"if (require('wl-dep')() !== 'from the registry') process.exit(1)\""}}`,
	})
	port, served := npmRegistryStub(t, tgz)
	before := treeState(t, filepath.Join(home, ".npm"))

	// cordon's NO_PROXY names 127.0.0.1, the sandbox's own loopback, and
	// npm honours it over --noproxy; this stub is on the host's loopback,
	// standing for a remote registry, so the script drops NO_PROXY.
	script := fmt.Sprintf(`set -e
unset NO_PROXY no_proxy
npm install --no-audit --no-fund --fetch-retries=0 --registry=http://127.0.0.1:%d/ wl-dep
npm test`, port)

	// Control: without the host in the allowlist the proxy refuses it.
	stdout, stderr, err := runWorkload(t, ws, env, script, "--allow-host", "registry.npmjs.org")
	if err == nil {
		t.Errorf("control: npm install from an unlisted registry succeeded\nstdout:\n%s\nstderr:\n%s", stdout, stderr)
	}
	if n := served.Load(); n != 0 {
		t.Errorf("control: the unlisted registry served %d requests", n)
	}

	stdout, stderr, err = runWorkload(t, ws, env, script, "--allow-host", fmt.Sprintf("127.0.0.1:%d", port), "--json")
	if err != nil {
		t.Fatalf("npm install through the allowlist failed: %v\nstdout:\n%s\nstderr:\n%s", err, stdout, stderr)
	}
	var res struct {
		ExitCode int `json:"exit_code"`
		Network  struct {
			Allowed []struct {
				Host  string `json:"host"`
				Port  int    `json:"port"`
				Count int    `json:"count"`
			} `json:"allowed"`
		} `json:"network"`
	}
	if err := json.Unmarshal([]byte(stdout), &res); err != nil {
		t.Fatalf("--json: %v\n%s", err, stdout)
	}
	if res.ExitCode != 0 || len(res.Network.Allowed) != 1 || res.Network.Allowed[0].Port != port || res.Network.Allowed[0].Count < 1 {
		t.Errorf("the run or its network report: %s", stdout)
	}
	if served.Load() < 2 {
		t.Errorf("the registry served %d requests; want the metadata and the tarball", served.Load())
	}
	if _, err := os.Stat(filepath.Join(ws, "node_modules", "wl-dep", "index.js")); err != nil {
		t.Errorf("the package was not installed in the workspace: %v", err)
	}
	if after := treeState(t, filepath.Join(home, ".npm")); after != before {
		t.Errorf("the sandboxed npm changed the host's ~/.npm:\nbefore:\n%s\nafter:\n%s", before, after)
	}
}

// npmRegistryStub serves one package, wl-dep 1.0.0 from tgz, as the npm
// registry does (the metadata document and the tarball), on the host's
// loopback, counting the requests it answers.
func npmRegistryStub(t *testing.T, tgz []byte) (port int, served *atomic.Int64) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port = ln.Addr().(*net.TCPAddr).Port
	sha := sha1.Sum(tgz)
	sum := sha512.Sum512(tgz)
	tarball := fmt.Sprintf("http://127.0.0.1:%d/wl-dep/-/wl-dep-1.0.0.tgz", port)
	doc, _ := json.Marshal(map[string]any{
		"name": "wl-dep", "dist-tags": map[string]string{"latest": "1.0.0"},
		"versions": map[string]any{"1.0.0": map[string]any{
			"name": "wl-dep", "version": "1.0.0", "main": "index.js",
			"dist": map[string]string{"tarball": tarball, "shasum": hex.EncodeToString(sha[:]), "integrity": "sha512-" + base64.StdEncoding.EncodeToString(sum[:])},
		}},
	})
	served = new(atomic.Int64)
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch {
		case r.URL.Path == "/wl-dep":
			w.Header().Set("Content-Type", "application/json")
			w.Write(doc)
		case strings.HasSuffix(r.URL.Path, "/wl-dep-1.0.0.tgz"):
			w.Header().Set("Content-Type", "application/octet-stream")
			w.Write(tgz)
		default:
			http.NotFound(w, r)
			return
		}
		served.Add(1)
	})}
	go srv.Serve(ln)
	t.Cleanup(func() { srv.Close() })
	return port, served
}
