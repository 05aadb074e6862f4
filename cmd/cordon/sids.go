package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"

	"github.com/cordon-sandbox/cordon/internal/aclplan"
	"github.com/cordon-sandbox/cordon/internal/capsid"
	"github.com/cordon-sandbox/cordon/internal/fsview"
	"github.com/cordon-sandbox/cordon/internal/statedir"
	"github.com/cordon-sandbox/cordon/internal/winpath"
	"github.com/cordon-sandbox/cordon/ntsec"
	"github.com/cordon-sandbox/cordon/policy"
)

const sidsUsage = `usage: cordon sids list [--json]
       cordon sids gc [--dry-run] [--tree SNAPSHOT] [--json]

list  prints the capability SIDs in cordon's store (the generic, read-only
      and per-workspace SIDs; CORDON_STATE_DIR overrides where it lives).
gc    drops the SIDs of workspaces that no longer exist and prints the edits
      that remove their ACEs. With --tree, existence and ACEs are read from
      a Windows snapshot; --dry-run changes nothing.

Exit status: 0 done, 2 bad input or an unreadable store.
`

func runSIDs(args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 {
		fail(stderr, codeUsage, fmt.Errorf("sids needs list or gc"))
		fmt.Fprint(stderr, sidsUsage)
		return exitBadInput
	}
	fs := flag.NewFlagSet("sids", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	asJSON := fs.Bool("json", false, "")
	dry := fs.Bool("dry-run", false, "")
	tree := fs.String("tree", "", "")
	sub := args[0]
	if sub == "-h" || sub == "--help" {
		fmt.Fprint(stdout, sidsUsage)
		return exitOK
	}
	if code, done := parseFlags(fs, args[1:], sidsUsage, stdout, stderr); done {
		return code
	}
	dir, err := statedir.Dir()
	if err != nil {
		return report(stderr, coded(codeStateDir, err))
	}
	ctx := context.Background()
	switch sub {
	case "list":
		st, err := capsid.Load(ctx, dir)
		if err != nil {
			return report(stderr, coded(codeBadStore, err))
		}
		return printStore(stdout, st, *asJSON)
	case "gc":
		return runGC(ctx, dir, *tree, *dry, *asJSON, stdout, stderr)
	}
	fail(stderr, codeUsage, fmt.Errorf("unknown sids command %q", sub))
	return exitBadInput
}

func printStore(w io.Writer, st *capsid.Store, asJSON bool) int {
	if asJSON {
		writeJSON(w, struct {
			Generic    ntsec.SID          `json:"generic"`
			ReadOnly   ntsec.SID          `json:"read_only"`
			Workspaces []capsid.Workspace `json:"workspaces"`
		}{st.Generic, st.ReadOnly, st.List()})
		return exitOK
	}
	fmt.Fprintf(w, "generic    %s\nread-only  %s\n", orNone(st.Generic), orNone(st.ReadOnly))
	for _, ws := range st.List() {
		fmt.Fprintf(w, "workspace  %s  %s\n", ws.SID, ws.Path)
	}
	return exitOK
}

func orNone(s ntsec.SID) string {
	if s.IsZero() {
		return "(none yet)"
	}
	return s.String()
}

func runGC(ctx context.Context, dir, tree string, dry, asJSON bool, stdout, stderr io.Writer) int {
	exists := capsid.PathExists
	var view *fsview.Memory
	if tree != "" {
		f, err := os.Open(tree)
		if err != nil {
			return report(stderr, coded(codeBadTree, fmt.Errorf("--tree: %w", err)))
		}
		view, err = fsview.LoadSnapshot(f)
		f.Close()
		if err != nil {
			return report(stderr, coded(codeBadTree, fmt.Errorf("--tree %s: %w", tree, err)))
		}
		exists = func(p string) bool {
			_, err := view.Stat(p)
			return !errors.Is(err, fsview.ErrNotExist)
		}
	}
	var gone []capsid.Workspace
	collect := func(st *capsid.Store) error {
		gone = st.GC(exists)
		return nil
	}
	var err error
	if dry {
		var st *capsid.Store
		if st, err = capsid.Load(ctx, dir); err == nil {
			err = collect(st)
		}
	} else {
		_, err = capsid.Update(ctx, dir, collect)
	}
	if err != nil {
		return report(stderr, coded(codeBadStore, err))
	}
	var edits []aclplan.Edit
	if view != nil {
		for _, ws := range gone {
			paths := []string{ws.Path}
			if p, err := winpath.Parse(ws.Path); err == nil {
				for _, name := range policy.DefaultProtectedNames {
					if c, err := p.Join(name); err == nil {
						paths = append(paths, c.String())
					}
				}
			}
			e, err := aclplan.RemoveSIDs(view, paths, []ntsec.SID{ws.SID})
			if err != nil {
				return report(stderr, coded(codeBadTree, err))
			}
			edits = append(edits, e...)
		}
	}
	if asJSON {
		if edits == nil {
			edits = []aclplan.Edit{}
		}
		writeJSON(stdout, struct {
			Removed []capsid.Workspace `json:"removed"`
			DryRun  bool               `json:"dry_run"`
			Edits   []aclplan.Edit     `json:"edits"`
		}{append([]capsid.Workspace{}, gone...), dry, edits})
		return exitOK
	}
	verb := "dropped"
	if dry {
		verb = "would drop"
	}
	fmt.Fprintf(stdout, "%s %d workspace SIDs\n", verb, len(gone))
	for _, ws := range gone {
		fmt.Fprintf(stdout, "  %s  %s\n", ws.SID, ws.Path)
	}
	if view != nil {
		fmt.Fprintf(stdout, "%d edits remove their ACEs:\n", len(edits))
		for _, e := range edits {
			fmt.Fprintf(stdout, "  %s %s %s\n", e.Op, e.Path, e.ACE.SDDL())
		}
	}
	return exitOK
}
