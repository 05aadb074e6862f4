package aclplan

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/cordon-sandbox/cordon/internal/fsview"
	"github.com/cordon-sandbox/cordon/internal/winpath"
	"github.com/cordon-sandbox/cordon/ntsec"
	"github.com/cordon-sandbox/cordon/policy"
)

// AuditConfig says where the world-writable audit looks and how much it may
// spend. The sandbox token keeps Everyone and the logon SID among its
// restricting SIDs, so a directory that Everyone (or Authenticated Users,
// Users, the logon SID) may write is writable from inside the sandbox unless
// a deny ACE for the capability SID stops it.
type AuditConfig struct {
	// Roots are the directories to audit. The Windows backend passes the
	// cwd, TEMP and TMP, USERPROFILE, PUBLIC, every PATH entry, the system
	// drive root, the Windows directory and ProgramData: where a command
	// most likely writes, and where it finds the programs it runs. Missing
	// ones are reported and skipped.
	Roots []string
	// Depth is how many levels below each root are audited: 0 the roots
	// only, 1 their children (what the Windows backend audits); negative
	// is unlimited.
	Depth int
	// MaxChecks bounds the objects examined (default 50,000).
	MaxChecks int
	// MaxChildren bounds the entries read from one directory (default
	// 1,000).
	MaxChildren int
	// MaxTime bounds the audit's duration (default 2 s).
	MaxTime time.Duration
}

// AuditReport says what the audit did, including everything it left out.
type AuditReport struct {
	Checked int      `json:"checked"`
	Flagged []string `json:"flagged"`
	// LowLabelled are the directories outside the roots whose own label
	// lets a Low sandbox in, where the user's FILE_DELETE_CHILD is denied.
	LowLabelled []string `json:"low_labelled,omitempty"`
	Skipped     []Skip   `json:"skipped,omitempty"`
	Complete    bool     `json:"complete"` // no budget was reached
	Elapsed     string   `json:"elapsed"`
}

// Skip is something the audit did not examine, and why.
type Skip struct {
	Path string `json:"path"`
	Why  string `json:"why"`
}

type auditResult struct {
	report AuditReport
	edits  []Edit
}

func (c AuditConfig) withDefaults() AuditConfig {
	if c.MaxChecks == 0 {
		c.MaxChecks = 50000
	}
	if c.MaxChildren == 0 {
		c.MaxChildren = 1000
	}
	if c.MaxTime == 0 {
		c.MaxTime = 2 * time.Second
	}
	return c
}

// runAudit walks the audit roots breadth first and plans deny-write ACEs on
// every world-writable directory that integrity does not already hold
// (heldByIntegrity): for the read-only SID always, for the
// workspace SID when the directory is outside the cwd, for the generic SID
// when it is outside every temp and extra root.
func runAudit(ctx context.Context, in *Input) (auditResult, error) {
	cfg := in.Audit.withDefaults()
	start := time.Now()
	deadline := start.Add(cfg.MaxTime)
	var res auditResult
	rep := &res.report
	rep.Flagged = []string{}
	world := worldToken(in.User)
	lowSandbox := !in.User.MediumIntegrity
	user := userToken(in)
	seen := map[string]bool{}
	type item struct {
		path  string
		depth int
	}
	var queue []item
	for _, r := range cfg.Roots {
		queue = append(queue, item{r, 0})
	}
	stopped := ""
	for len(queue) > 0 {
		it := queue[0]
		queue = queue[1:]
		if stopped == "" {
			switch {
			case ctx.Err() != nil:
				return res, fmt.Errorf("audit: %w", ctx.Err())
			case rep.Checked >= cfg.MaxChecks:
				stopped = fmt.Sprintf("check budget of %d objects reached", cfg.MaxChecks)
			case time.Now().After(deadline):
				stopped = fmt.Sprintf("time budget of %s reached", cfg.MaxTime)
			}
		}
		if stopped != "" {
			rep.Skipped = append(rep.Skipped, Skip{it.path, stopped})
			continue
		}
		p, err := winpath.Parse(it.path)
		if err != nil {
			rep.Skipped = append(rep.Skipped, Skip{it.path, "not a valid path: " + err.Error()})
			continue
		}
		if seen[p.Key()] {
			continue
		}
		seen[p.Key()] = true
		n, err := in.View.Stat(p.String())
		rep.Checked++
		if err != nil {
			why := err.Error()
			if errors.Is(err, fsview.ErrNotExist) {
				why = "does not exist"
			}
			rep.Skipped = append(rep.Skipped, Skip{p.String(), why})
			continue
		}
		if n.SD == nil {
			rep.Skipped = append(rep.Skipped, Skip{n.Path, "security descriptor unreadable"})
			continue
		}
		// Files and reparse points are checked too, not only directories:
		// a world-writable script outside the roots is as much a way out
		// as a world-writable folder. Only directories are
		// descended into; reparse points are never followed.
		// Inside a root the plan's Low label will reach the object, so
		// only outside them can integrity hold it.
		_, inRoot := in.Policy.RootOf(n.Path)
		if (worldWritable(n.SD, world, n.ObjectType()) || elevatedWritable(in, n.SD, n.ObjectType())) && !(lowSandbox && !inRoot && heldByIntegrity(n.SD)) {
			rep.Flagged = append(rep.Flagged, n.Path)
			res.edits = append(res.edits, auditEdits(in, n)...)
		}
		// A directory outside the roots that is Low already (LocalLow,
		// Temp\Low, an app container's folder) does not hold a Low
		// sandbox back by its label: under H2 the user's own
		// FILE_DELETE_CHILD there would be the sandbox's.
		// The elevated mode's sandbox is not the user: elevatedWritable
		// has already asked whether its own groups' FILE_DELETE_CHILD
		// lets it in.
		if lowSandbox && !in.Sandbox.enabled() && !inRoot && n.IsDir() && !n.IsReparse() && !heldByIntegrity(n.SD) {
			deny := userDenyDeleteChild(in.User.SID, ntsec.ContainerInherit)
			if !hasACE(n.SD, deny) && ntsec.AccessCheck(n.SD, user, ntsec.FileDeleteChild, ntsec.Directory).Allowed {
				rep.LowLabelled = append(rep.LowLabelled, n.Path)
				res.edits = append(res.edits, Edit{Op: AddACE, Path: n.Path, ACE: deny, Reason: "Low-labelled directory outside the roots: no deleting its contents through the user's own FILE_DELETE_CHILD"})
			}
		}
		if !n.IsDir() || cfg.Depth >= 0 && it.depth >= cfg.Depth {
			continue
		}
		names, err := in.View.List(n.Path)
		if err != nil {
			rep.Skipped = append(rep.Skipped, Skip{n.Path, "cannot list: " + err.Error()})
			continue
		}
		if len(names) > cfg.MaxChildren {
			rep.Skipped = append(rep.Skipped, Skip{n.Path, fmt.Sprintf("%d of its %d entries not examined: children budget of %d", len(names)-cfg.MaxChildren, len(names), cfg.MaxChildren)})
			names = names[:cfg.MaxChildren]
		}
		for _, name := range names {
			c, err := p.Child(name)
			if err != nil {
				rep.Skipped = append(rep.Skipped, Skip{n.Path + `\` + name, err.Error()})
				continue
			}
			queue = append(queue, item{c.String(), it.depth + 1})
		}
	}
	rep.Complete = len(rep.Skipped) == 0 || onlyMissing(rep.Skipped)
	rep.Elapsed = time.Since(start).Round(time.Microsecond).String()
	return res, nil
}

func onlyMissing(s []Skip) bool {
	for _, x := range s {
		if x.Why != "does not exist" {
			return false
		}
	}
	return true
}

// worldWritable reports whether the broad SIDs may change an object, or
// create entries in a directory (after generic mapping; inherit-only ACEs
// do not count, the access check skips them).
func worldWritable(sd *ntsec.SecurityDescriptor, world *ntsec.Token, typ ntsec.ObjectType) bool {
	g := ntsec.AccessCheck(sd, world, ntsec.MaximumAllowed, typ).Granted
	return g&writeProbe != 0
}

// heldByIntegrity reports whether a Low token may write nothing on an
// object with descriptor sd, whatever its DACL: a label above Low with
// no-write-up, or none (Medium). A world-writable directory so labelled
// needs no deny ACEs for a Low sandbox, so the planner writes none on it:
// fewer of cordon's ACEs on system and shared folders. What lies below it
// with a Low label of its own is not covered by such a directory's deny
// either way; the audit checks it if it visits it.
func heldByIntegrity(sd *ntsec.SecurityDescriptor) bool {
	l, ok := sd.Label()
	if !ok {
		return true
	}
	rid, _ := l.SID.IntegrityLevel()
	return rid > 0x1000 && l.Mask&ntsec.LabelNoWriteUp != 0
}

func auditEdits(in *Input, n fsview.Node) []Edit {
	r := in.Policy
	var sids []ntsec.SID
	if !in.SIDs.ReadOnly.IsZero() {
		sids = append(sids, in.SIDs.ReadOnly)
	}
	if r.Mode == policy.WorkspaceWrite {
		// A SID keeps write access here only where its own root covers the
		// directory and no protected name of that root does.
		inCwd, inGeneric := false, false
		for _, root := range r.RootsOf(n.Path) {
			if underProtected(n.Path, root.Path, r.Protected) {
				inCwd, inGeneric = false, false
				break
			}
			if in.SIDs.forRoot(root.Kind) == in.SIDs.Workspace {
				inCwd = true
			} else {
				inGeneric = true
			}
		}
		if !inCwd {
			sids = append(sids, in.SIDs.Workspace)
		}
		if !inGeneric {
			sids = append(sids, in.SIDs.Generic)
		}
		// Other workspaces' sandboxes reach this directory through
		// Everyone too; deny the ones the store knows.
		sids = append(sids, in.SIDs.Others...)
		// The sandbox group may write where a root covers the directory;
		// elsewhere its deny closes the normal pass, FILE_DELETE_CHILD
		// under H2 included.
		if in.Sandbox.enabled() && !inCwd && !inGeneric {
			sids = append(sids, in.Sandbox.Group)
		}
	} else if in.Sandbox.enabled() {
		sids = append(sids, in.Sandbox.Group)
	}
	// The deny needs to be inheritable only where the world's grant is:
	// an OI|CI deny on C:\ would rewrite every descriptor on the volume.
	var flags ntsec.ACEFlags
	if n.IsDir() && (inheritableWorldGrant(n.SD) || in.Sandbox.enabled() && inheritableGrant(n.SD, sandboxNormalSID(in))) {
		flags = dirInherit
	}
	var out []Edit
	seen := map[ntsec.SID]bool{}
	for _, s := range sids {
		if seen[s] {
			continue
		}
		seen[s] = true
		deny := ntsec.ACE{Type: ntsec.AccessDenied, Flags: flags, Mask: DenyWriteMask, SID: s}
		if !hasACE(n.SD, deny) {
			out = append(out, Edit{Op: AddACE, Path: n.Path, ACE: deny, Reason: "world-writable directory"})
		}
	}
	return out
}

// broadSIDs are the SIDs whose write grants make a directory world-writable.
// They are the restricting SIDs every sandbox token holds (see worldToken).
func isBroad(s ntsec.SID) bool {
	return s == ntsec.Everyone || s.IsLogonSID()
}

// inheritableWorldGrant reports whether a broad SID's write grant on the
// directory is inherited by what is created inside it.
func inheritableWorldGrant(sd *ntsec.SecurityDescriptor) bool {
	return inheritableGrant(sd, isBroad)
}

// inheritableGrant reports whether a write grant to a SID who matches is
// inherited by what is created inside the directory.
func inheritableGrant(sd *ntsec.SecurityDescriptor, who func(ntsec.SID) bool) bool {
	if sd.DACL == nil {
		return true
	}
	for _, e := range sd.DACL.Entries {
		w := ntsec.FileMapping.Map(e.Mask) & writeProbe
		if e.Type == ntsec.AccessAllowed && who(e.SID) && w != 0 && e.Inheritable() {
			return true
		}
	}
	return false
}

// underProtected reports whether p is at or below a protected name of root.
func underProtected(p, root string, protected []string) bool {
	pp, err1 := winpath.Parse(p)
	rp, err2 := winpath.Parse(root)
	if err1 != nil || err2 != nil {
		return false
	}
	rel, ok := pp.Rel(rp)
	if !ok || len(rel) == 0 {
		return false
	}
	for _, name := range protected {
		if winpath.EqualName(rel[0], name) {
			return true
		}
	}
	return false
}
