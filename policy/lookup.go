package policy

// Lookup returns the value of name in env (NAME=VALUE entries), names
// compared by the platform's rules; the last entry wins, as os/exec and
// the kernel's loaders do. An absent name is "".
func (r EnvRules) Lookup(env []string, name string) string {
	k := r.key(name)
	for i := len(env) - 1; i >= 0; i-- {
		if n, ok := r.name(env[i]); ok && r.key(n) == k {
			return env[i][len(n)+1:]
		}
	}
	return ""
}

// Set returns env with name set to value: every entry of that name, by
// the platform's rules, is removed and NAME=VALUE appended. env itself is
// not modified.
func (r EnvRules) Set(env []string, name, value string) []string {
	k := r.key(name)
	out := make([]string, 0, len(env)+1)
	for _, e := range env {
		if n, ok := r.name(e); ok && r.key(n) == k {
			continue
		}
		out = append(out, e)
	}
	return append(out, name+"="+value)
}
