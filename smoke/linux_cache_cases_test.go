package smoke

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// Linux rows: the tool caches. Each row has a HOME of its own
// (${BASE}/home, with an existing ~/.cache) and its own state directory,
// so the caches and their layers are the row's.

// cacheHome gives the row its own HOME, set for cordon, the host helpers
// and the control run alike.
func cacheHome(t *testing.T, w *ws) {
	w.mkdir(t, "home/.cache")
	w.write(t, "home/.cache/keep", "the user's\n")
	w.vars["HOME"] = w.path("home")
}

// goHome is cacheHome plus a Go module in the workspace whose build has
// primed ~/.cache/go-build, unsandboxed.
func goHome(t *testing.T, w *ws) {
	cacheHome(t, w)
	for k, v := range map[string]string{"GOFLAGS": "-buildvcs=false", "GOTOOLCHAIN": "local", "GOPROXY": "off", "CGO_ENABLED": "0"} {
		w.vars[k] = v
	}
	w.write(t, "ws/go.mod", "module example.com/hello\n\ngo 1.22\n")
	w.write(t, "ws/main.go", "package main\n\nimport \"fmt\"\n\nfunc main() { fmt.Println(\"one\") }\n")
	cmd := exec.Command("go", "build", "-o", os.DevNull, ".")
	cmd.Dir, cmd.Env = w.dir, w.environ(nil)
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("priming the build cache: %v\n%s", err, out)
	}
}

// npmHome is cacheHome plus a package tarball in out/ that the user's
// ~/.npm already holds.
func npmHome(t *testing.T, w *ws) {
	cacheHome(t, w)
	w.mkdir(t, "out/pkg")
	w.write(t, "out/pkg/package.json", `{"name":"cordon-smoke-pkg","version":"1.0.0","main":"index.js"}`)
	w.write(t, "out/pkg/index.js", "module.exports = 'from the tarball';\n")
	w.write(t, "ws/package.json", `{"name":"app","version":"1.0.0"}`)
	for _, args := range [][]string{{"npm", "pack", "--silent"}, {"npm", "cache", "add", "cordon-smoke-pkg-1.0.0.tgz"}} {
		cmd := exec.Command(args[0], args[1:]...)
		cmd.Dir, cmd.Env = w.path("out/pkg"), w.environ(nil)
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("%q: %v\n%s", args, err, out)
		}
	}
}

// cordonCache runs `cordon cache ARGS` with the row's environment.
func (w *ws) cordonCache(args ...string) (code int, stdout, stderr string) {
	cmd := exec.Command(cordonBin, append([]string{"cache"}, args...)...)
	cmd.Env = w.environ(nil)
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	err := cmd.Run()
	var ee *exec.ExitError
	if err != nil && !errors.As(err, &ee) {
		return -1, "", err.Error()
	}
	return cmd.ProcessState.ExitCode(), out.String(), errb.String()
}

// cacheUsage is `cordon cache list --json`.
type cacheUsage struct {
	Workspaces []struct {
		Key       string `json:"key"`
		Workspace string `json:"workspace"`
		InUse     bool   `json:"in_use"`
		Bytes     int64  `json:"bytes"`
		Layers    []struct {
			Name  string `json:"name"`
			Cache string `json:"cache"`
			Bytes int64  `json:"bytes"`
			Files int    `json:"files"`
		} `json:"layers"`
	} `json:"workspaces"`
}

func (w *ws) cacheList() (cacheUsage, error) {
	var u cacheUsage
	code, out, errOut := w.cordonCache("list", "--json")
	if code != 0 {
		return u, fmt.Errorf("cordon cache list --json: exit %d: %s", code, errOut)
	}
	if err := json.Unmarshal([]byte(out), &u); err != nil {
		return u, fmt.Errorf("cordon cache list --json: %v\n%s", err, out)
	}
	return u, nil
}

// xdgLayer is the row workspace's ~/.cache layer in u: bytes and files.
func xdgLayer(u cacheUsage, wsDir string) (int64, int, error) {
	for _, ws := range u.Workspaces {
		if ws.Workspace != wsDir {
			continue
		}
		for _, l := range ws.Layers {
			if l.Name == "xdg-cache" {
				return l.Bytes, l.Files, nil
			}
		}
	}
	return 0, 0, fmt.Errorf("no xdg-cache layer for %s in %+v", wsDir, u)
}

func cacheRows() []tc {
	c := func(name string, r tc) tc {
		r.name, r.on = "caches/"+name, onLinux
		if r.setup == nil {
			r.setup = cacheHome
		}
		return r
	}
	return []tc{
		c("go-build-after-edit", tc{needs: []string{"go"}, setup: goHome,
			cmd:  sh(`sed -i 's/"one"/"two"/' main.go && go build -o hello . && ./hello`),
			want: ok, stdout: `\Atwo\n\z`, checks: []check{unchanged("home/.cache")}}),
		c("npm-install-local-tarball", tc{needs: []string{"npm", "node"}, setup: npmHome,
			cmd:  sh(`npm install --offline --no-audit --no-fund "$OUT/pkg/cordon-smoke-pkg-1.0.0.tgz" >/dev/null && node -e 'console.log(require("cordon-smoke-pkg"))'`),
			want: ok, stdout: `\Afrom the tarball\n\z`, checks: []check{unchanged("home/.npm"), unchanged("home/.cache")}}),
		c("write-lands-in-layer", tc{cmd: sh(`echo added > ~/.cache/added && echo changed > ~/.cache/keep && cat ~/.cache/keep`),
			want: ok, stdout: `\Achanged\n\z`, checks: []check{unchanged("home/.cache"), noFile("home/.cache/added")}}),
		c("unprivileged-write-lands-in-layer", tc{asUser: true, cmd: sh(`echo added > ~/.cache/added && rm ~/.cache/keep && ls -A ~/.cache`),
			want: ok, stdout: `\Aadded\n\z`, checks: []check{unchanged("home/.cache"), noFile("home/.cache/added"),
				custom("the layer holds the file and the whiteout", func(w *ws, _ *result) error {
					if _, n, err := xdgLayer(mustList(w), w.dir); err != nil || n != 1 {
						return fmt.Errorf("%d files in the layer, %v; want 1", n, err)
					}
					return nil
				})}}),
		c("no-cache-layers-read-only", tc{flags: []string{"--no-cache-layers"}, cmd: sh(`echo x > ~/.cache/x`),
			want: denied, checks: []check{noFile("home/.cache/x")}}),
		c("policy-off-read-only", tc{policy: `{"mode":"workspace-write","caches":{"off":true}}`, cmd: sh(`echo x > ~/.cache/x`),
			want: denied, checks: []check{noFile("home/.cache/x")}}),
		c("extra-cache-flag", tc{flags: []string{"--cache", "${BASE}/home/.toolcache"},
			setup: func(t *testing.T, w *ws) {
				cacheHome(t, w)
				w.mkdir(t, "home/.toolcache")
				w.write(t, "home/.toolcache/old", "old\n")
			},
			cmd:  sh(`echo new > ~/.toolcache/new && cat ~/.toolcache/old ~/.toolcache/new`),
			want: ok, stdout: `\Aold\nnew\n\z`, checks: []check{unchanged("home/.toolcache")}}),
		c("list-and-clear", tc{cmd: sh(`head -c 1000 /dev/zero > ~/.cache/kilo`), want: ok,
			checks: []check{custom("cordon cache list, clear --workspace, clear", func(w *ws, _ *result) error {
				u, err := w.cacheList()
				if err != nil {
					return err
				}
				if b, n, err := xdgLayer(u, w.dir); err != nil || b != 1000 || n != 1 {
					return fmt.Errorf("the layer holds %d bytes in %d files (%v), want 1000 in 1", b, n, err)
				}
				if code, out, errOut := w.cordonCache("clear", "--workspace", w.dir); code != 0 || out != "cleared "+u.Workspaces[0].Key+"\n" {
					return fmt.Errorf("clear --workspace: exit %d, %q %s", code, out, errOut)
				}
				if u, err := w.cacheList(); err != nil || len(u.Workspaces) != 0 {
					return fmt.Errorf("after clear: %+v, %v", u, err)
				}
				if code, out, _ := w.cordonCache("clear"); code != 0 || out != "nothing to clear\n" {
					return fmt.Errorf("clear with nothing: exit %d, %q", code, out)
				}
				return nil
			})}}),
		c("clear-refuses-running-workspace", tc{cmd: sh(`echo x > ~/.cache/x`), want: ok,
			checks: []check{custom("cordon cache clear while a run holds the workspace: busy", func(w *ws, _ *result) error {
				run := exec.Command(cordonBin, "run", "--cwd", w.dir, "--", "sh", "-c", `touch started; while [ ! -e go-on ]; do sleep 0.05; done`)
				run.Env = w.environ(nil)
				if err := run.Start(); err != nil {
					return err
				}
				defer run.Wait()
				defer os.WriteFile(filepath.Join(w.dir, "go-on"), nil, 0o644)
				for deadline := time.Now().Add(20 * time.Second); ; time.Sleep(20 * time.Millisecond) {
					if _, err := os.Stat(filepath.Join(w.dir, "started")); err == nil {
						break
					}
					if time.Now().After(deadline) {
						return errors.New("the holding run did not start")
					}
				}
				code, _, errOut := w.cordonCache("clear")
				if code != 1 || !strings.HasPrefix(errOut, "cordon: busy: ") {
					return fmt.Errorf("clear: exit %d, %q; want 1 and busy", code, errOut)
				}
				if _, n, err := xdgLayer(mustList(w), w.dir); err != nil || n != 1 {
					return fmt.Errorf("the busy layer was touched: %d files, %v", n, err)
				}
				return nil
			})}}),
		c("eviction-under-tiny-cap", tc{flags: []string{"--cache-cap", "2K"},
			cmd: sh(`cd ~/.cache && for f in a b c; do head -c 1024 /dev/zero > $f; done &&
				touch -d 2001-01-01 a && touch -d 2002-01-01 b && touch -d 2003-01-01 c`), want: ok,
			checks: []check{custom("the oldest file is evicted, the cap holds", func(w *ws, _ *result) error {
				if b, n, err := xdgLayer(mustList(w), w.dir); err != nil || b != 2048 || n != 2 {
					return fmt.Errorf("the layer holds %d bytes in %d files (%v), want 2048 in 2", b, n, err)
				}
				return nil
			})}}),
	}
}

func mustList(w *ws) cacheUsage {
	u, _ := w.cacheList()
	return u
}

// cacheBadInput: bad cache flags and fields are refused before anything
// runs, naming the field.
func cacheBadInput() []tc {
	never := []string{"cordon-smoke-never-runs"}
	bad := func(name, re string, flags ...string) tc {
		return tc{name: "caches/bad-input/" + name, on: onLinux, flags: flags, cmd: never, want: exitCode(125),
			stderr: `\Acordon: bad_policy: [^\n]*` + re + `[^\n]*\n\z`}
	}
	return []tc{
		bad("cap-unit", `--cache-cap`, "--cache-cap", "5X"),
		bad("empty-cache", `caches\.extra`, "--cache", ""),
		bad("unknown-field", `caches`, "--policy", `{"mode":"workspace-write","caches":{"bogus":1}}`),
		bad("cap-field", `caches\.cap`, "--policy", `{"mode":"workspace-write","caches":{"cap":"lots"}}`),
	}
}

func TestLinuxCaches(t *testing.T) { runTable(t, append(cacheRows(), cacheBadInput()...)) }
