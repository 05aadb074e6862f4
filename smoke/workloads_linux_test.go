package smoke

import (
	"archive/zip"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// The workload table: the toolchains an agent runs, each in a fresh
// workspace under workspace-write with the network off, through the built
// binary, with dependencies already cached or vendored. Each row says what
// it needs; a row whose tool is missing here is skipped loudly. HOME is a
// fresh directory of the test's, so the tools' caches are the test's own,
// layered by cordon like a user's.

// workload is one row of the table.
type workload struct {
	name  string
	tools []string // on PATH, or the row is skipped
	needs string   // what the row needs beyond the tools, for the README
	// caches are the tool's caches below HOME that the row writes: without
	// cordon's cache layers it fails, and with them they are unchanged.
	caches []string
	// setup prepares the workspace (and HOME) on the host, unsandboxed,
	// and returns the script to run in the sandbox and extra environment.
	setup func(t *testing.T, ws, home string) (script string, env []string)
}

func workloads() []workload {
	return []workload{
		{name: "go build and test after an edit", tools: []string{"go"}, needs: "the standard library only", setup: goWorkload, caches: []string{".cache/go-build"}},
		{name: "npm install of a local tarball, then npm test", tools: []string{"node", "npm"}, needs: "the package as a tarball", setup: npmWorkload, caches: []string{".npm"}},
		{name: "python venv and pip install of a local package", tools: []string{"python3"}, needs: "the package as a wheel; the venv module", setup: pipWorkload},
		{name: "cargo build", tools: []string{"cargo"}, needs: "a crate without dependencies, or vendored ones", setup: cargoWorkload},
		{name: "make with gcc", tools: []string{"make", "gcc"}, needs: "nothing", setup: makeWorkload},
		{name: "git status, diff, log, stash list", tools: []string{"git"}, needs: "nothing", setup: gitWorkload},
		{name: "mvn -o package with a test", tools: []string{"mvn", "javac"}, needs: "Maven's plugins in ~/.m2, here Debian's (pinned)", setup: mvnWorkload},
	}
}

func TestWorkloads(t *testing.T) {
	if cordonBin == "" {
		t.Skip("the smoke suite cannot run here: " + windowsSkipReason())
	}
	for _, wl := range workloads() {
		t.Run(wl.name, func(t *testing.T) {
			for _, tool := range wl.tools {
				if _, err := exec.LookPath(tool); err != nil {
					fmt.Fprintf(os.Stderr, "WARNING: workload %q skipped: %s is not installed\n", wl.name, tool)
					t.Skipf("%s is not installed", tool)
				}
			}
			// Not below /tmp, which the sandbox replaces: HOME's caches
			// there would be writable without any layer.
			base, err := os.MkdirTemp(baseParent(tc{}), "workload-")
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { os.RemoveAll(base) })
			ws, home, state := filepath.Join(base, "ws"), filepath.Join(base, "home"), filepath.Join(base, "state")
			for _, d := range []string{ws, filepath.Join(home, ".cache"), state} {
				if err := os.MkdirAll(d, 0o755); err != nil {
					t.Fatal(err)
				}
			}
			script, env := wl.setup(t, ws, home)
			env = append(workloadEnv(home, state), env...)
			before := make([]string, len(wl.caches))
			for i, c := range wl.caches {
				before[i] = treeState(t, filepath.Join(home, c))
			}
			if len(wl.caches) > 0 {
				// Control: without the layers the tool's cache is read-only.
				stdout, stderr, err := runWorkload(t, ws, env, script, "--no-cache-layers")
				if err == nil || !strings.Contains(stderr, "read-only file system") {
					t.Errorf("control: without cache layers %s did not fail on its read-only cache: %v\nstdout:\n%s\nstderr:\n%s", wl.name, err, stdout, stderr)
				}
			}
			if stdout, stderr, err := runWorkload(t, ws, env, script); err != nil {
				t.Errorf("%s failed in the sandbox: %v\nstdout:\n%s\nstderr:\n%s", wl.name, err, stdout, stderr)
			}
			for i, c := range wl.caches {
				if after := treeState(t, filepath.Join(home, c)); after != before[i] {
					t.Errorf("the sandboxed %s changed the host's %s; the layer should have taken the writes:\nbefore:\n%s\nafter:\n%s", wl.name, c, before[i], after)
				}
			}
		})
	}
}

// treeState lists the tree at root, each entry with its mode, size and
// modification time, or says it does not exist.
func treeState(t *testing.T, root string) string {
	t.Helper()
	var b strings.Builder
	err := filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		fi, err := d.Info()
		if err != nil {
			return err
		}
		fmt.Fprintf(&b, "%s %v %d %d\n", p, fi.Mode(), fi.Size(), fi.ModTime().UnixNano())
		return nil
	})
	if errors.Is(err, fs.ErrNotExist) {
		return "(absent)"
	}
	if err != nil {
		t.Fatal(err)
	}
	return b.String()
}

// runWorkload runs script through the built binary in the workspace ws.
func runWorkload(t *testing.T, ws string, env []string, script string, flags ...string) (stdout, stderr string, err error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()
	args := append(append([]string{"run", "--policy", "workspace-write", "--cwd", ws}, flags...), "--", "sh", "-c", script)
	cmd := exec.CommandContext(ctx, cordonBin, args...)
	cmd.Env = env
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	err = cmd.Run()
	return out.String(), errb.String(), err
}

// workloadEnv is a plain user's environment with HOME at home and cordon's
// state in state.
func workloadEnv(home, state string) []string {
	env := []string{"HOME=" + home, "CORDON_STATE_DIR=" + state, "LC_ALL=C", "PATH=" + os.Getenv("PATH")}
	for _, k := range []string{"RUSTUP_HOME", "GOROOT"} {
		if v := os.Getenv(k); v != "" {
			env = append(env, k+"="+v)
		}
	}
	return env
}

// hostRun runs a command on the host, unsandboxed, as the row's setup.
func hostRun(t *testing.T, dir string, env []string, name string, args ...string) string {
	t.Helper()
	cmd := exec.Command(name, args...)
	cmd.Dir, cmd.Env = dir, env
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("setup: %s %v: %v\n%s", name, args, err, out)
	}
	return string(out)
}

func writeFiles(t *testing.T, dir string, files map[string]string) {
	t.Helper()
	for name, content := range files {
		p := filepath.Join(dir, name)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

// goWorkload: a module whose test passes; the build, an edit, and the build
// and test again. GOFLAGS is left to the machine except VCS stamping, which
// a workspace that is no repository must survive.
func goWorkload(t *testing.T, ws, home string) (string, []string) {
	writeFiles(t, ws, map[string]string{
		"go.mod":       "module example.com/wl\n\ngo 1.22\n",
		"main.go":      "package main\n\nimport \"fmt\"\n\nfunc main() { fmt.Println(greeting()) }\n\nfunc greeting() string { return \"hello\" }\n",
		"main_test.go": "package main\n\nimport \"testing\"\n\nfunc TestGreeting(t *testing.T) {\n\tif greeting() == \"\" {\n\t\tt.Fatal(\"empty\")\n\t}\n}\n",
	})
	return `set -e
go build -o wl . && ./wl
sed -i 's/hello/hello, edited/' main.go
go build -o wl . && ./wl | grep -q edited
go test ./...`, []string{"GOFLAGS=-buildvcs=auto", "GOTOOLCHAIN=local"}
}

// npmWorkload: a dependency packed to a tarball on the host, installed in
// the sandbox from that file, then the project's test uses it.
func npmWorkload(t *testing.T, ws, home string) (string, []string) {
	dep := filepath.Join(filepath.Dir(ws), "dep")
	writeFiles(t, dep, map[string]string{
		"package.json": `{"name":"wl-dep","version":"1.0.0","main":"index.js"}`,
		"index.js":     "module.exports = () => 'from dep';\n",
	})
	env := append(workloadEnv(home, ""), "npm_config_update_notifier=false", "npm_config_audit=false", "npm_config_fund=false")
	hostRun(t, dep, env, "npm", "pack", "--pack-destination", ws)
	writeFiles(t, ws, map[string]string{
		"package.json": `{"name":"wl","version":"1.0.0","scripts":{"test":"node -e \"if (require('wl-dep')() !== 'from dep') process.exit(1)\""}}`,
	})
	return `set -e
npm install --offline --no-audit --no-fund ./wl-dep-1.0.0.tgz
npm test`, []string{"npm_config_update_notifier=false"}
}

// pipWorkload: a pure-Python wheel, written here, installed into a fresh
// venv with no index.
func pipWorkload(t *testing.T, ws, home string) (string, []string) {
	out, err := exec.Command("python3", "-c", "import sys, venv, ensurepip; print(sys.executable)").Output()
	if err != nil {
		fmt.Fprintf(os.Stderr, "WARNING: workload pip skipped: python3 has no venv or ensurepip: %v\n", err)
		t.Skipf("python3 has no venv or ensurepip: %v", err)
	}
	python := strings.TrimSpace(string(out))
	writeWheel(t, filepath.Join(ws, "wlpkg-0.1-py3-none-any.whl"))
	return `set -e
` + python + ` -m venv .venv
.venv/bin/pip install --no-index --disable-pip-version-check wlpkg-0.1-py3-none-any.whl
.venv/bin/python -c 'import wlpkg; assert wlpkg.VALUE == 42'`, nil
}

// writeWheel writes a minimal pure-Python wheel of the package wlpkg.
func writeWheel(t *testing.T, path string) {
	t.Helper()
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	z := zip.NewWriter(f)
	files := []struct{ name, content string }{
		{"wlpkg/__init__.py", "VALUE = 42\n"},
		{"wlpkg-0.1.dist-info/METADATA", "Metadata-Version: 2.1\nName: wlpkg\nVersion: 0.1\n"},
		{"wlpkg-0.1.dist-info/WHEEL", "Wheel-Version: 1.0\nGenerator: cordon-test\nRoot-Is-Purelib: true\nTag: py3-none-any\n"},
	}
	var record strings.Builder
	for _, fl := range files {
		w, err := z.Create(fl.name)
		if err != nil {
			t.Fatal(err)
		}
		w.Write([]byte(fl.content))
		fmt.Fprintf(&record, "%s,,\n", fl.name)
	}
	record.WriteString("wlpkg-0.1.dist-info/RECORD,,\n")
	w, err := z.Create("wlpkg-0.1.dist-info/RECORD")
	if err != nil {
		t.Fatal(err)
	}
	w.Write([]byte(record.String()))
	if err := z.Close(); err != nil {
		t.Fatal(err)
	}
}

// cargoWorkload: a crate with no dependencies, built offline.
func cargoWorkload(t *testing.T, ws, home string) (string, []string) {
	writeFiles(t, ws, map[string]string{
		"Cargo.toml":  "[package]\nname = \"wl\"\nversion = \"0.1.0\"\nedition = \"2021\"\n",
		"src/main.rs": "fn main() { println!(\"hello\"); }\n",
	})
	var env []string
	if os.Getenv("RUSTUP_HOME") == "" {
		if h, err := os.UserHomeDir(); err == nil {
			env = append(env, "RUSTUP_HOME="+filepath.Join(h, ".rustup"))
		}
	}
	return "set -e\ncargo build --offline\n./target/debug/wl | grep -q hello", env
}

// makeWorkload: a C program built by make with gcc.
func makeWorkload(t *testing.T, ws, home string) (string, []string) {
	writeFiles(t, ws, map[string]string{
		"hello.c":  "#include <stdio.h>\nint main(void) { puts(\"hello\"); return 0; }\n",
		"Makefile": "hello: hello.c\n\tgcc -o hello hello.c\n",
	})
	return "set -e\nmake\n./hello | grep -q hello", nil
}

// gitWorkload: a repository with a commit and an uncommitted edit; git's
// everyday reading commands.
func gitWorkload(t *testing.T, ws, home string) (string, []string) {
	env := append(workloadEnv(home, ""), "GIT_CONFIG_NOSYSTEM=1")
	hostRun(t, ws, env, "git", "init", "-q", "-b", "main")
	writeFiles(t, ws, map[string]string{"a.txt": "one\n"})
	hostRun(t, ws, env, "git", "add", "a.txt")
	hostRun(t, ws, env, "git", "-c", "user.name=t", "-c", "user.email=t@t", "commit", "-q", "-m", "first")
	writeFiles(t, ws, map[string]string{"a.txt": "two\n"})
	return `set -e
git status --short | grep -q 'a.txt'
git diff | grep -q '+two'
git log --oneline | grep -q first
git stash list`, []string{"GIT_CONFIG_NOSYSTEM=1"}
}

// debianMavenRepo is Debian's Maven repository: what its Maven packages
// install, laid out like ~/.m2/repository (files link into /usr/share/java).
const debianMavenRepo = "/usr/share/maven-repo"

// mavenPlugins are the plugins `mvn package` runs for a jar with a test, at
// the versions Debian 12 ships (libmaven-resources-plugin-java,
// libmaven-compiler-plugin-java, libsurefire-java,
// libmaven-jar-plugin-java; scripts/test installs them). The pom pins them:
// Maven 3.8's own defaults (resources 2.6, jar 2.4, …) are in Debian's
// repository only as relocation POMs, which Maven does not follow for
// plugins.
var mavenPlugins = []struct{ artifact, version string }{
	{"maven-resources-plugin", "3.3.0"},
	{"maven-compiler-plugin", "3.10.1"},
	{"maven-surefire-plugin", "2.22.3"},
	{"maven-jar-plugin", "3.3.0"},
}

// mvnWorkload: a one-class project with a JUnit 4 test, packaged offline:
// compiled, tested in surefire's forked JVM, jarred. ~/.m2/repository holds
// what an online build would have downloaded, copied from Debian's
// repository (links resolved, so it is the user's own tree of files, as a
// download makes it); the build reads it and writes nothing there, so the
// row needs no cache layer. The forked test JVM costs up to 10 s: surefire
// 2.22 ends a fork only at its next ping (ForkStarter.PING_IN_SECONDS),
// in or out of the sandbox.
func mvnWorkload(t *testing.T, ws, home string) (string, []string) {
	need := []string{
		"junit/junit/4.13.2/junit-4.13.2.jar",
		"org/apache/maven/surefire/surefire-junit4/2.22.3/surefire-junit4-2.22.3.jar",
	}
	var plugins strings.Builder
	for _, p := range mavenPlugins {
		need = append(need, fmt.Sprintf("org/apache/maven/plugins/%[1]s/%[2]s/%[1]s-%[2]s.jar", p.artifact, p.version))
		fmt.Fprintf(&plugins, "<plugin><groupId>org.apache.maven.plugins</groupId><artifactId>%s</artifactId><version>%s</version></plugin>\n", p.artifact, p.version)
	}
	for _, n := range need {
		if _, err := os.Stat(filepath.Join(debianMavenRepo, n)); err != nil {
			fmt.Fprintf(os.Stderr, "WARNING: workload mvn skipped: %v (scripts/test installs Debian's Maven plugins as root)\n", err)
			t.Skipf("Maven's plugins are missing: %v", err)
		}
	}
	if err := os.MkdirAll(filepath.Join(home, ".m2"), 0o755); err != nil {
		t.Fatal(err)
	}
	hostRun(t, home, workloadEnv(home, ""), "cp", "-RL", debianMavenRepo, filepath.Join(home, ".m2", "repository"))
	writeFiles(t, ws, map[string]string{
		"pom.xml": `<project xmlns="http://maven.apache.org/POM/4.0.0"><modelVersion>4.0.0</modelVersion>
<groupId>wl</groupId><artifactId>wl</artifactId><version>1</version>
<properties><maven.compiler.release>17</maven.compiler.release><project.build.sourceEncoding>UTF-8</project.build.sourceEncoding></properties>
<dependencies><dependency><groupId>junit</groupId><artifactId>junit</artifactId><version>4.13.2</version><scope>test</scope></dependency></dependencies>
<build><plugins>
` + plugins.String() + `</plugins></build></project>
`,
		"src/main/java/wl/Hello.java":     "package wl;\n\npublic class Hello {\n\tstatic String greeting() { return \"hello\"; }\n\n\tpublic static void main(String[] a) { System.out.println(greeting()); }\n}\n",
		"src/test/java/wl/HelloTest.java": "package wl;\n\nimport static org.junit.Assert.assertEquals;\n\nimport org.junit.Test;\n\npublic class HelloTest {\n\t@Test\n\tpublic void greets() { assertEquals(\"hello\", Hello.greeting()); }\n}\n",
	})
	// Java takes user.home from the password database, not from HOME, and
	// Maven finds ~/.m2 below user.home: without this it would use the
	// real user's ~/.m2, not the fresh HOME's (which is what cordon layers).
	return `set -e
mvn -o -q -B package
grep -q 'tests="1"' target/surefire-reports/TEST-wl.HelloTest.xml
java -cp target/wl-1.jar wl.Hello | grep -qx hello`, []string{"MAVEN_OPTS=-Duser.home=" + home}
}
