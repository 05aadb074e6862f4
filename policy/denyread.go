package policy

import (
	"fmt"
	"strings"
)

// DefaultDenyReadPOSIX are the paths, relative to HOME, that hold
// credentials on Linux and macOS: keys, cloud and registry tokens, git and
// package-manager credentials, password stores, browser profiles.
var DefaultDenyReadPOSIX = []string{
	".ssh", ".gnupg", ".aws", ".azure", ".config/gcloud", ".config/gh", ".kube",
	".docker/config.json", ".netrc", ".git-credentials", ".npmrc", ".pypirc",
	".cargo/credentials.toml", ".vault-token", ".terraform.d/credentials.tfrc.json",
	".password-store", ".local/share/keyrings", ".config/op",
	".mozilla", ".config/google-chrome", ".config/chromium", ".config/BraveSoftware", ".config/microsoft-edge",
}

// DefaultDenyReadWindows are the same for Windows, each relative to the
// variable it starts with.
var DefaultDenyReadWindows = []string{
	`%USERPROFILE%\.ssh`, `%USERPROFILE%\.gnupg`, `%USERPROFILE%\.aws`, `%USERPROFILE%\.azure`, `%USERPROFILE%\.kube`,
	`%USERPROFILE%\.docker\config.json`, `%USERPROFILE%\_netrc`, `%USERPROFILE%\.netrc`, `%USERPROFILE%\.git-credentials`,
	`%USERPROFILE%\.npmrc`, `%USERPROFILE%\.pypirc`, `%USERPROFILE%\.cargo\credentials.toml`,
	`%USERPROFILE%\.config\gh`, // gh under Git Bash or with XDG_CONFIG_HOME set
	`%APPDATA%\gcloud`, `%APPDATA%\GitHub CLI`, `%APPDATA%\gnupg`,
	`%APPDATA%\Microsoft\Credentials`, `%LOCALAPPDATA%\Microsoft\Credentials`, `%LOCALAPPDATA%\Microsoft\Vault`,
	`%APPDATA%\Bitwarden`, `%LOCALAPPDATA%\1Password`,
	`%APPDATA%\Mozilla\Firefox\Profiles`, `%LOCALAPPDATA%\Google\Chrome\User Data`,
	`%LOCALAPPDATA%\Microsoft\Edge\User Data`, `%LOCALAPPDATA%\BraveSoftware\Brave-Browser\User Data`,
	// Every command line typed in PowerShell; the DPAPI master keys (your
	// password can be brute-forced from them) and certificate keys.
	`%APPDATA%\Microsoft\Windows\PowerShell\PSReadLine`, `%APPDATA%\Microsoft\Protect`, `%APPDATA%\Microsoft\Crypto`,
	// Package feeds' and repositories' credentials.
	`%APPDATA%\NuGet\NuGet.Config`, `%APPDATA%\pip\pip.ini`, `%USERPROFILE%\.m2\settings.xml`, `%USERPROFILE%\.gradle\gradle.properties`,
	`%USERPROFILE%\.terraform.d`, `%APPDATA%\terraform.rc`,
}

// resolveDenyRead makes the policy's deny-read paths and, unless turned
// off, the default list absolute: "~/" and a leading %VAR% from
// env.Getenv, a relative path against the cwd as given, then canonical.
// A default whose variable is unset is left out; a path of the policy's
// that names an unset variable is an error.
func (p Policy) resolveDenyRead(env Env, cwd string, canon func(string) string) ([]string, error) {
	getenv := env.Getenv
	if getenv == nil {
		getenv = func(string) string { return "" }
	}
	_, windows := env.Rules.(windowsRules)
	var out []string
	seen := map[string]bool{}
	add := func(field, raw string, optional bool) error {
		p, ok := expandHome(raw, getenv, windows)
		if !ok {
			if optional {
				return nil
			}
			return fmt.Errorf("policy: field %s %q: its variable is not set", field, raw)
		}
		abs, err := env.Rules.Abs(cwd, p)
		if err != nil {
			return fmt.Errorf("policy: field %s %q: %w", field, raw, err)
		}
		abs = canon(abs)
		k := abs
		if windows {
			k = strings.ToLower(abs)
		}
		if !seen[k] {
			seen[k] = true
			out = append(out, abs)
		}
		return nil
	}
	if p.DefaultDenyRead == nil || *p.DefaultDenyRead {
		defaults := DefaultDenyReadPOSIX
		if windows {
			defaults = DefaultDenyReadWindows
		}
		for _, d := range defaults {
			if !windows {
				d = "~/" + d
			}
			if err := add("default_deny_read", d, true); err != nil {
				return nil, err
			}
		}
	}
	for i, d := range p.DenyRead {
		if err := add(fmt.Sprintf("\"deny_read\"[%d]", i), d, false); err != nil {
			return nil, err
		}
	}
	return out, nil
}

// expandHome expands a leading "~/" (HOME, or USERPROFILE on Windows) or,
// on Windows, a leading %VAR%. ok is false when the variable is unset.
func expandHome(p string, getenv func(string) string, windows bool) (string, bool) {
	home := "HOME"
	if windows {
		home = "USERPROFILE"
	}
	switch {
	case p == "~" || strings.HasPrefix(p, "~/") || windows && strings.HasPrefix(p, `~\`):
		h := getenv(home)
		if h == "" {
			return "", false
		}
		return h + p[1:], true
	case windows && strings.HasPrefix(p, "%"):
		end := strings.Index(p[1:], "%")
		if end < 0 {
			return p, true
		}
		v := getenv(p[1 : end+1])
		if v == "" {
			return "", false
		}
		return v + p[end+2:], true
	}
	return p, true
}

// checkDenyRead refuses a deny-read path that covers a writable root or
// the cwd entirely: the command could not work there. One inside a root
// is fine, and wins.
func (r *Resolved) checkDenyRead() error {
	for _, d := range r.DenyRead {
		if r.rules.Within(r.Cwd, d) {
			return fmt.Errorf("policy: deny-read path %s covers the working directory %s: the command could not read its own workspace", d, r.Cwd)
		}
		for _, root := range r.Roots {
			if r.rules.Within(root.Path, d) {
				return fmt.Errorf("policy: deny-read path %s covers the %s root %s: the command could not work there", d, root.Kind, root.Path)
			}
		}
	}
	return nil
}
