package policy

import (
	"strings"
	"testing"
)

func getenvOf(m map[string]string) func(string) string {
	return func(k string) string { return m[k] }
}

func TestDenyReadDefaultsAndPolicy(t *testing.T) {
	env := Env{Rules: POSIX, Cwd: "/home/u/ws", Getenv: getenvOf(map[string]string{"HOME": "/home/u"})}
	r, err := Policy{Mode: WorkspaceWrite, DenyRead: []string{"~/secret.txt", "../notes", "/etc/shadow"}}.Resolve(env)
	if err != nil {
		t.Fatal(err)
	}
	has := func(p string) bool {
		for _, d := range r.DenyRead {
			if d == p {
				return true
			}
		}
		return false
	}
	for _, p := range []string{"/home/u/.ssh", "/home/u/.aws", "/home/u/.docker/config.json", "/home/u/secret.txt", "/home/u/notes", "/etc/shadow"} {
		if !has(p) {
			t.Errorf("%s not denied: %v", p, r.DenyRead)
		}
	}
	if len(r.DenyRead) != len(DefaultDenyReadPOSIX)+3 {
		t.Errorf("%d paths, want %d", len(r.DenyRead), len(DefaultDenyReadPOSIX)+3)
	}
	// The default off: only the policy's own.
	off := false
	r, err = Policy{Mode: ReadOnly, DenyRead: []string{"~/.ssh"}, DefaultDenyRead: &off}.Resolve(env)
	if err != nil || len(r.DenyRead) != 1 || r.DenyRead[0] != "/home/u/.ssh" {
		t.Errorf("default off: %v, %v", r.DenyRead, err)
	}
	// No HOME: the defaults that need it are left out; a path of the
	// policy's that needs it is an error naming it.
	bare := Env{Rules: POSIX, Cwd: "/ws"}
	if r, err := (Policy{Mode: ReadOnly}).Resolve(bare); err != nil || len(r.DenyRead) != 0 {
		t.Errorf("no HOME: %v, %v", r, err)
	}
	if _, err := (Policy{Mode: ReadOnly, DenyRead: []string{"~/.x"}}).Resolve(bare); err == nil || !strings.Contains(err.Error(), `"deny_read"[0] "~/.x"`) {
		t.Errorf("unset HOME: %v", err)
	}
	// A deny-read path may lie inside a root, not cover one.
	for _, c := range []struct {
		deny, want string
	}{
		{"/home/u/ws/.env", ""},
		{"/home/u", "covers the working directory"},
		{"/data", "covers the extra root /data/out"},
	} {
		_, err := Policy{Mode: WorkspaceWrite, WritableRoots: []string{"/data/out"}, DenyRead: []string{c.deny}}.Resolve(env)
		if c.want == "" && err != nil || c.want != "" && (err == nil || !strings.Contains(err.Error(), c.want)) {
			t.Errorf("deny %s: %v, want %q", c.deny, err, c.want)
		}
	}
	if err := (Policy{Mode: ReadOnly, DenyRead: []string{" "}}).Validate(); err == nil {
		t.Error("an empty deny-read path was accepted")
	}
}

func TestDenyReadWindows(t *testing.T) {
	env := Env{Rules: Windows, Cwd: `C:\src\ws`, Getenv: getenvOf(map[string]string{
		"USERPROFILE": `C:\Users\me`, "APPDATA": `C:\Users\me\AppData\Roaming`, "LOCALAPPDATA": `C:\Users\me\AppData\Local`,
	})}
	r, err := Policy{Mode: WorkspaceWrite, DenyRead: []string{`~\keys`, `%APPDATA%\Tool\token.json`, `C:\USERS\ME\.SSH`}}.Resolve(env)
	if err != nil {
		t.Fatal(err)
	}
	joined := strings.Join(r.DenyRead, "|")
	for _, p := range []string{`C:\Users\me\.ssh`, `C:\Users\me\AppData\Roaming\Microsoft\Credentials`, `C:\Users\me\AppData\Local\Microsoft\Vault`, `C:\Users\me\keys`, `C:\Users\me\AppData\Roaming\Tool\token.json`} {
		if !strings.Contains(joined, p) {
			t.Errorf("%s not denied: %v", p, r.DenyRead)
		}
	}
	if strings.Contains(joined, `C:\USERS\ME\.SSH`) {
		t.Errorf("a second spelling of .ssh was kept: %v", r.DenyRead)
	}
}

func TestDenyReadJSON(t *testing.T) {
	p, err := Parse(`{"mode":"read-only","deny_read":["~/.x"],"default_deny_read":false}`)
	if err != nil || p.DefaultDenyRead == nil || *p.DefaultDenyRead || len(p.DenyRead) != 1 {
		t.Errorf("Parse = %+v, %v", p, err)
	}
}
