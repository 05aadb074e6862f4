package elevsandbox

import (
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
)

func TestTrustRepositoriesEnv(t *testing.T) {
	got := trustRepositories([]string{"PATH=x", "git_config_count=1", "GIT_CONFIG_KEY_0=user.name", "GIT_CONFIG_VALUE_0=me"})
	want := map[string]bool{"GIT_CONFIG_KEY_1=safe.directory": true, "GIT_CONFIG_VALUE_1=*": true, "GIT_CONFIG_KEY_0=user.name": true}
	for _, kv := range got {
		delete(want, kv)
		if strings.EqualFold(kv[:min(len(kv), 17)], "GIT_CONFIG_COUNT=") && !strings.HasSuffix(kv, "=2") {
			t.Errorf("count %q, want 2", kv)
		}
	}
	if len(want) != 0 {
		t.Errorf("missing %v in %q", want, got)
	}
	if bad := []string{"GIT_CONFIG_COUNT=two"}; !equal(trustRepositories(bad), bad) {
		t.Errorf("an invalid count was changed: %q", trustRepositories(bad))
	}
}

func equal(a, b []string) bool { return strings.Join(a, "\x00") == strings.Join(b, "\x00") }

// Real git honours the entries: a repository owned by another user, which
// git refuses as "dubious ownership", is used once they are in the
// environment. (The rule is git's on every OS; on Windows the other owner
// is the sandbox account's view of your repository.)
func TestTrustRepositoriesWithGit(t *testing.T) {
	if runtime.GOOS != "linux" || os.Geteuid() != 0 {
		t.Skip("needs root on Linux, to give the repository another owner")
	}
	git, err := exec.LookPath("git")
	if err != nil {
		t.Skip("git is not installed")
	}
	repo := filepath.Join(t.TempDir(), "repo")
	if out, err := exec.Command(git, "init", "-q", repo).CombinedOutput(); err != nil {
		t.Fatalf("git init: %v %s", err, out)
	}
	if err := filepath.Walk(repo, func(p string, _ os.FileInfo, err error) error {
		if err != nil {
			return err
		}
		return os.Lchown(p, 65534, 65534)
	}); err != nil {
		t.Fatal(err)
	}
	status := func(env []string) (string, error) {
		cmd := exec.Command(git, "-C", repo, "status", "--short")
		cmd.Env = env
		out, err := cmd.CombinedOutput()
		return string(out), err
	}
	base := []string{"PATH=" + os.Getenv("PATH"), "HOME=" + t.TempDir(), "SUDO_UID="}
	if out, err := status(base); err == nil || !strings.Contains(out, "dubious ownership") {
		t.Fatalf("git status of another user's repository: %v %q; want dubious ownership (the test proves nothing otherwise)", err, out)
	}
	if out, err := status(trustRepositories(base)); err != nil {
		t.Fatalf("git status with the sandbox's git configuration: %v %q", err, out)
	}
}
