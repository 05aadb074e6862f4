package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"path/filepath"
	"runtime"

	"github.com/cordon-sandbox/cordon"
	"github.com/cordon-sandbox/cordon/internal/cachelayer"
	"github.com/cordon-sandbox/cordon/internal/ntfs"
	"github.com/cordon-sandbox/cordon/internal/statedir"
	"github.com/cordon-sandbox/cordon/policy"
)

// cacheFlags are the tool-cache flags of cordon run and cordon mcp, kept together so that they
// move as one.
type cacheFlags struct {
	extra multiFlag
	off   bool
	cap   string
}

// register adds --cache, --no-cache-layers and --cache-cap to fs.
func (c *cacheFlags) register(fs *flag.FlagSet) {
	fs.Var(&c.extra, "cache", "")
	fs.BoolVar(&c.off, "no-cache-layers", false, "")
	fs.StringVar(&c.cap, "cache-cap", "", "")
}

// apply adds the flags to the policy's "caches" settings.
func (c *cacheFlags) apply(p *policy.Policy) error {
	p.Caches.Extra = append(p.Caches.Extra, c.extra...)
	p.Caches.Off = p.Caches.Off || c.off
	if c.cap != "" {
		if _, err := policy.ParseSize(c.cap); err != nil {
			return fmt.Errorf("--cache-cap: %w", err)
		}
		p.Caches.Cap = c.cap
	}
	return p.Caches.Validate()
}

const cacheUsage = `usage: cordon cache [list] [--json]
       cordon cache clear [--workspace DIR] [--json]

In workspace-write mode a sandboxed command writes its tool caches (Go,
npm, pip, cargo, Maven, Gradle, ~/.cache) through layers of its workspace's
own, kept in cordon's state directory (on Windows, below the workspace's
own temp directory there); your caches are never written.

  list     each workspace's layers, their sizes and the workspace's path
  clear    remove the layers of every workspace, or of the workspace DIR
           (--workspace); a workspace whose run is in progress is left alone

Exit status: 0 done; 1 a workspace was busy or could not be cleared
("cordon: busy: ..."); 2 bad input.
`

func runCache(args []string, stdout, stderr io.Writer) int {
	sub := "list"
	if len(args) > 0 && (args[0] == "list" || args[0] == "clear") {
		sub, args = args[0], args[1:]
	}
	fs := flag.NewFlagSet("cache "+sub, flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	asJSON := fs.Bool("json", false, "")
	workspace := fs.String("workspace", "", "")
	if code, done := parseFlags(fs, args, cacheUsage, stdout, stderr); done {
		return code
	}
	if fs.NArg() > 0 {
		fail(stderr, codeUsage, fmt.Errorf("cache %s takes no arguments, got %q", sub, fs.Arg(0)))
		return exitBadInput
	}
	if sub == "list" && *workspace != "" {
		fail(stderr, codeUsage, errors.New("--workspace is a flag of cache clear"))
		return exitBadInput
	}
	state, err := statedir.Dir()
	if err != nil {
		return report(stderr, coded(codeStateDir, err))
	}
	if sub == "list" {
		return cacheList(state, *asJSON, stdout, stderr)
	}
	key := ""
	if *workspace != "" {
		abs, err := filepath.Abs(*workspace)
		if err != nil {
			fail(stderr, codeUsage, fmt.Errorf("--workspace: %w", err))
			return exitBadInput
		}
		key = cachelayer.Key(layerKeyPath(abs))
	}
	cleared, err := cachelayer.Clear(state, key)
	if *asJSON {
		out := struct {
			Cleared []string `json:"cleared"`
			Error   string   `json:"error,omitempty"`
		}{Cleared: append([]string{}, cleared...)}
		if err != nil {
			out.Error = err.Error()
		}
		writeJSON(stdout, out)
	} else {
		for _, k := range cleared {
			fmt.Fprintf(stdout, "cleared %s\n", k)
		}
		if len(cleared) == 0 && err == nil {
			fmt.Fprintln(stdout, "nothing to clear")
		}
	}
	if err != nil {
		code := codeCleanupFailed
		if errors.Is(err, cachelayer.ErrBusy) {
			code = cordon.CodeBusy
		}
		fail(stderr, code, err)
		return exitNo
	}
	return exitOK
}

func cacheList(state string, asJSON bool, stdout, stderr io.Writer) int {
	us, err := cachelayer.List(state)
	if err != nil {
		return report(stderr, coded(codeStateDir, err))
	}
	if asJSON {
		writeJSON(stdout, struct {
			Workspaces []cachelayer.Usage `json:"workspaces"`
		}{append([]cachelayer.Usage{}, us...)})
		return exitOK
	}
	if len(us) == 0 {
		fmt.Fprintln(stdout, "no cache layers")
		return exitOK
	}
	for _, u := range us {
		ws := u.Workspace
		if ws == "" {
			ws = "(unknown workspace)"
		}
		busy := ""
		if u.InUse {
			busy = ", in use"
		}
		fmt.Fprintf(stdout, "%s  %s  %s%s\n", u.Key, humanSize(u.Bytes), ws, busy)
		for _, l := range u.Layers {
			fmt.Fprintf(stdout, "  %-24s %10s  %d files", l.Name, humanSize(l.Bytes), l.Files)
			if l.Cache != "" {
				fmt.Fprintf(stdout, "  over %s", l.Cache)
			}
			fmt.Fprintln(stdout)
		}
	}
	return exitOK
}

// layerKeyPath is the workspace abs as the backends key its layers
// (cachelayer.Key): on Windows its final path, as the restricted-token
// backend resolves the cwd (ntfs.FinalPath through policy.Env.Canonical:
// junctions, which filepath.EvalSymlinks leaves alone, resolved); elsewhere
// its symbolic links resolved, as the Linux backend does.
func layerKeyPath(abs string) string {
	if runtime.GOOS == "windows" {
		if p, err := policy.Windows.Abs("", ntfs.FinalPath(abs)); err == nil {
			return p
		}
		return abs
	}
	if real, err := filepath.EvalSymlinks(abs); err == nil {
		return real
	}
	return abs
}

// humanSize prints n bytes in binary units.
func humanSize(n int64) string {
	const unit = 1024
	if n < unit {
		return fmt.Sprintf("%d B", n)
	}
	div, exp := int64(unit), 0
	for m := n / unit; m >= unit && exp < 4; m /= unit {
		div *= unit
		exp++
	}
	return fmt.Sprintf("%.1f %ciB", float64(n)/float64(div), "KMGTP"[exp])
}
