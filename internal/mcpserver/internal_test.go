package mcpserver

import (
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"testing"

	"github.com/cordon-sandbox/cordon/internal/testutil"
	"github.com/cordon-sandbox/cordon/policy"
)

func TestHeadTail(t *testing.T) {
	h := newHeadTail(10)
	h.Write([]byte("0123"))
	h.Write([]byte("456789"))
	if s, tr := h.result(); s != "0123456789" || tr {
		t.Errorf("at the limit: %q %v", s, tr)
	}
	h = newHeadTail(10)
	for _, c := range []string{"abc", "defgh", "ijklmnop", "qr", "stuvwxyz"} {
		h.Write([]byte(c))
	}
	if s, tr := h.result(); s != "abcde\n[... 16 bytes omitted ...]\nvwxyz" || !tr {
		t.Errorf("over the limit: %q %v", s, tr)
	}
	h = newHeadTail(10)
	h.Write([]byte(strings.Repeat("x", 1000)))
	h.Write([]byte("END"))
	if s, tr := h.result(); s != "xxxxx\n[... 993 bytes omitted ...]\nxxEND" || !tr {
		t.Errorf("one big write: %q %v", s, tr)
	}
	// A character cut by the limits is left out whole.
	h = newHeadTail(8)
	h.Write([]byte("abc€" + strings.Repeat("-", 20) + "€yz"))
	if s, _ := h.result(); s != "abc\n[... 26 bytes omitted ...]\nyz" {
		t.Errorf("cut characters: %q", s)
	}
}

func TestProgressBatches(t *testing.T) {
	var mu sync.Mutex
	var msgs []string
	var totals []int64
	p := newProgress(func(msg string, total int64) {
		mu.Lock()
		defer mu.Unlock()
		msgs = append(msgs, msg)
		totals = append(totals, total)
	})
	euro := []byte("€")
	p.Write([]byte("abc"))
	p.Write(euro[:2]) // a character in two writes
	p.Write(euro[2:])
	p.Write([]byte(strings.Repeat("z", maxProgressBatch+10)))
	p.close()
	all := strings.Join(msgs, "")
	if !strings.HasPrefix(all, "abc€") || strings.ContainsRune(all, '\uFFFD') {
		t.Errorf("streamed %q", all[:min(len(all), 40)])
	}
	if totals[len(totals)-1] != int64(6+maxProgressBatch+10) {
		t.Errorf("final progress %v", totals)
	}
	for i := 1; i < len(totals); i++ {
		if totals[i] <= totals[i-1] {
			t.Errorf("progress does not grow: %v", totals)
		}
	}
	if !strings.Contains(all, "bytes not streamed") && len(all) < maxProgressBatch+16 {
		t.Errorf("a batch over the bound was neither sent whole nor marked: %d bytes", len(all))
	}
}

// The explain tool's verdicts, by Windows rules (it is registered on
// Windows only; the logic is tested everywhere).
func TestExplainVerdicts(t *testing.T) {
	res, err := policy.Policy{Mode: policy.WorkspaceWrite, WritableRoots: []string{`D:\shared`}, ProtectedNames: []string{".env"},
		DenyRead: []string{`C:\ws\secrets`}, DefaultDenyRead: new(bool)}.Resolve(policy.Env{Rules: policy.Windows, Cwd: `C:\ws`})
	if err != nil {
		t.Fatal(err)
	}
	w := &workspace{rules: policy.Windows, resolved: res, root: `C:\ws`, extra: []string{`D:\shared`}, dir: `C:\ws`}
	for _, c := range []struct {
		path                string
		read, write, delete bool
		why                 string
	}{
		{`C:\ws\src\main.go`, true, true, true, `writable root C:\ws`},
		{`c:\WS\src`, true, true, true, `writable root C:\ws`},
		{`C:\ws`, true, true, false, "itself"},
		{`C:\ws\.GIT\config`, true, false, false, ".git is a protected name"},
		{`C:\ws\.env`, true, false, false, ".env is a protected name"},
		{`C:\ws\sub\.git\config`, true, true, true, "writable root"}, // only the top of a root is protected
		{`C:\ws\secrets\key`, false, false, false, "deny-read"},
		{`D:\shared\out.txt`, true, true, true, `D:\shared`},
		{`C:\Windows\system.ini`, true, false, false, "outside every writable root"},
	} {
		out := w.verdicts(c.path)
		if out.Read.Allowed != c.read || out.Write.Allowed != c.write || out.Delete.Allowed != c.delete {
			t.Errorf("%s: read %v write %v delete %v, want %v %v %v (%+v)", c.path, out.Read.Allowed, out.Write.Allowed, out.Delete.Allowed, c.read, c.write, c.delete, out)
		}
		if !strings.Contains(out.Write.Why+out.Delete.Why+out.Read.Why, c.why) {
			t.Errorf("%s: the reasons do not say %q: %+v", c.path, c.why, out)
		}
	}
	ro, err := policy.Policy{Mode: policy.ReadOnly}.Resolve(policy.Env{Rules: policy.Windows, Cwd: `C:\ws`})
	if err != nil {
		t.Fatal(err)
	}
	w = &workspace{rules: policy.Windows, resolved: ro, root: `C:\ws`, dir: `C:\ws`}
	if out := w.verdicts(`C:\ws\a`); !out.Read.Allowed || out.Write.Allowed || out.Delete.Allowed || !strings.Contains(out.Write.Why, "read-only") {
		t.Errorf("read-only: %+v", out)
	}
}

// explain resolves links before judging: a link in the workspace to a
// directory outside is outside.
func TestExplainResolvesLinks(t *testing.T) {
	if runtime.GOOS == "windows" {
		t.Skip("symbolic links by POSIX rules")
	}
	ws, outside := testutil.TempDir(t), testutil.TempDir(t)
	ws, _ = filepath.EvalSymlinks(ws)
	outside, _ = filepath.EvalSymlinks(outside)
	if err := os.Symlink(outside, filepath.Join(ws, "link")); err != nil {
		t.Fatal(err)
	}
	res, err := policy.Policy{Mode: policy.WorkspaceWrite, DefaultDenyRead: new(bool)}.Resolve(policy.Env{Rules: policy.POSIX, Cwd: ws})
	if err != nil {
		t.Fatal(err)
	}
	w := &workspace{rules: policy.POSIX, resolved: res, root: ws, dir: ws}
	out, err := w.explain("link/new-file")
	if err != nil {
		t.Fatal(err)
	}
	if out.Path != filepath.Join(outside, "new-file") || out.Write.Allowed {
		t.Errorf("through the link: %+v", out)
	}
	out, err = w.explain("missing/dir/file")
	if err != nil {
		t.Fatal(err)
	}
	if out.Path != filepath.Join(ws, "missing/dir/file") || !out.Write.Allowed {
		t.Errorf("a missing path: %+v", out)
	}
	if _, err := w.explain(""); err == nil {
		t.Errorf("an empty path was explained")
	}
}
