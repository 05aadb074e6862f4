package linuxsandbox

// gitProtection is what the roots' git directories ask of a run.
type gitProtection struct {
	protect []string // git directories inside a root, bound read-only
	pins    []string // directories between a root and such a git directory
	guards  []string // HEAD placeholders of roots that are not repositories
	notes   []string // what was found and not protected, for the log
}

// gitDirs works out, with the platform-independent resolver, which git
// directories the roots hold.
func gitDirs(roots []string) gitProtection {
	return gitProtection{}
}
