package linuxsandbox

import "github.com/cordon-sandbox/cordon/internal/gitdir"

// gitProtection is what the roots' git directories ask of a run.
type gitProtection struct {
	protect []string // entries inside a root to bind read-only as they are
	pins    []string // directories between a root and such an entry: bound over themselves
	guards  []string // missing paths to hold with a read-only placeholder (HEAD of a root that is no repository, ...)
	notes   []string // what was found and not protected, for the log
}

// gitDirs works out, with the resolver both backends share, which git
// directories git would use in the roots: .git as a directory, a symbolic
// link or a gitfile, worktrees' commondir, a bare repository at a root, and
// the HEAD guard of a root that is not a repository. Roots are canonical.
func gitDirs(roots []string) gitProtection {
	r := gitdir.Resolve(gitdir.OS(), gitdir.POSIX, roots)
	g := gitProtection{pins: r.Pins, guards: r.Guards, notes: r.Notes}
	for _, f := range r.Protect {
		g.protect = append(g.protect, f.Path)
	}
	return g
}
