package linuxsandbox

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/cordon-sandbox/cordon/policy"
)

// plantSecrets makes a HOME in dir with credentials at default deny-read
// paths, files and directories, and returns the paths planted.
func plantSecrets(t *testing.T, home string) []string {
	t.Helper()
	files := map[string]string{
		".ssh/id_ed25519":      "SECRET-SSH-KEY",
		".ssh/config":          "SECRET-SSH-CONFIG",
		".aws/credentials":     "SECRET-AWS",
		".netrc":               "SECRET-NETRC",
		".docker/config.json":  "SECRET-DOCKER",
		".config/gh/hosts.yml": "SECRET-GH",
		"notes/secret.txt":     "SECRET-USER-ADDED",
	}
	var out []string
	for rel, content := range files {
		p := filepath.Join(home, rel)
		if err := os.MkdirAll(filepath.Dir(p), 0o700); err != nil {
			t.Fatal(err)
		}
		mustWrite(t, p, content)
		out = append(out, p)
	}
	return out
}

// Secrets at the default deny-read paths, and one the policy adds, are
// neither readable nor listable from the sandbox, by their own path, a
// symbolic link, /proc/self/root, "..", a hard link or a recursive grep —
// even inside the writable root, where deny-read wins — and stay as they
// were on the host. With the default off they are readable again.
func TestDenyRead(t *testing.T) {
	w := newWS(t)
	home := w.cwd
	secrets := plantSecrets(t, home)
	if err := os.Symlink(filepath.Join(home, ".ssh", "id_ed25519"), filepath.Join(home, "key-link")); err != nil {
		t.Fatal(err)
	}
	env := policy.Env{Rules: policy.POSIX, Cwd: w.cwd, TempDirs: []string{w.tmp}, Getenv: func(k string) string {
		if k == "HOME" {
			return home
		}
		return ""
	}}
	for _, mode := range []policy.Mode{policy.WorkspaceWrite, policy.ReadOnly} {
		pol, err := policy.Policy{Mode: mode, DenyRead: []string{"notes/secret.txt"}}.Resolve(env)
		if err != nil {
			t.Fatal(err)
		}
		r := sh(t, pol, `
cat .ssh/id_ed25519 .ssh/config .aws/credentials .netrc .docker/config.json .config/gh/hosts.yml notes/secret.txt 2>&1
ls -la .ssh .aws .config/gh 2>&1
cat key-link /proc/self/root`+home+`/.ssh/id_ed25519 .ssh/../.ssh/id_ed25519 2>&1
ln .aws/credentials stolen 2>&1 && cat stolen
grep -r SECRET . 2>/dev/null
echo x > .ssh/planted 2>&1 || echo write-refused
echo done`)
		if strings.Contains(r.stdout, "SECRET") || !strings.Contains(r.stdout, "done") {
			t.Errorf("%s: a secret reached the sandbox or the script failed:\n%s\n%s", mode, r.stdout, r.stderr)
		}
		if !strings.Contains(r.stdout, "write-refused") {
			t.Errorf("%s: the sandbox wrote into a covered .ssh:\n%s", mode, r.stdout)
		}
	}
	for _, p := range secrets {
		if b, err := os.ReadFile(p); err != nil || !strings.HasPrefix(string(b), "SECRET-") {
			t.Errorf("host %s after the runs: %q, %v", p, b, err)
		}
	}
	mustNotExist(t, filepath.Join(home, ".ssh", "planted"))
	// The default list off: the defaults are readable, the added one not.
	off := false
	pol, err := policy.Policy{Mode: policy.ReadOnly, DenyRead: []string{"notes/secret.txt"}, DefaultDenyRead: &off}.Resolve(env)
	if err != nil {
		t.Fatal(err)
	}
	r := sh(t, pol, "cat .ssh/id_ed25519; echo; cat notes/secret.txt")
	if !strings.Contains(r.stdout, "SECRET-SSH-KEY") || strings.Contains(r.stdout, "SECRET-USER-ADDED") {
		t.Errorf("default off:\n%s", r.stdout)
	}
}
