package winsandbox

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/cordon-sandbox/cordon/internal/acelog"
	"github.com/cordon-sandbox/cordon/internal/aclplan"
	"github.com/cordon-sandbox/cordon/internal/capsid"
	"github.com/cordon-sandbox/cordon/internal/fsview"
	"github.com/cordon-sandbox/cordon/internal/jobobject"
	"github.com/cordon-sandbox/cordon/internal/ntfs"
	"github.com/cordon-sandbox/cordon/internal/restrictedtoken"
	"github.com/cordon-sandbox/cordon/internal/statedir"
	"github.com/cordon-sandbox/cordon/internal/windesktop"
	"github.com/cordon-sandbox/cordon/ntsec"
	"github.com/cordon-sandbox/cordon/policy"
	"github.com/cordon-sandbox/cordon/sandbox"
)

// prepare does steps 1 to 7 of the package documentation but the launch.
func (b *Backend) prepare(ctx context.Context, spec sandbox.Spec, plumbingOnly bool) (*setup, error) {
	r := spec.Policy
	if r == nil || r.PathRules() != policy.Windows {
		return nil, fmt.Errorf("restricted-token: the policy must be resolved with Windows path rules")
	}
	s := &setup{dir: b.StateDir}
	if s.dir == "" {
		var err error
		if s.dir, err = statedir.Dir(); err != nil {
			return nil, fmt.Errorf("restricted-token: %w", err)
		}
	}
	// The state directory holds the capability SIDs and the record that
	// cleanup trusts: a sandbox that could write it could take another
	// workspace's SID, or have cleanup remove ACEs it never added. The
	// roots are final paths (policy.Env.Canonical), so the state directory
	// is compared as one too.
	state := finalPath(s.dir)
	for _, root := range r.Roots {
		if inTempBase(root.Path, state) {
			continue // a workspace temp directory (WorkspaceTemp) holds none of cordon's state
		}
		if policy.Windows.Within(state, root.Path) || policy.Windows.Within(root.Path, state) {
			return nil, fmt.Errorf("restricted-token: cordon's state directory %s and the writable root %s overlap, so the sandbox could rewrite cordon's state: set CORDON_STATE_DIR to a directory outside every writable root", s.dir, root.Path)
		}
	}
	// One run at a time plans, records, applies and proves, so that no run
	// plans on a state another is changing, and a run undoing its own
	// changes after a failed proof cannot take away what another run was
	// just proven with. The setup lock comes first, and a run waiting for
	// it holds nothing else: a cold run below takes the run lock
	// exclusive while it holds the setup lock, which would deadlock with a
	// run holding the run lock shared while it waited for setup.
	unlockSetup, err := hold(ctx, acelog.HoldSetup, s.dir)
	if err != nil {
		return nil, err
	}
	defer unlockSetup()
	unlock, err := hold(ctx, acelog.HoldRun, s.dir)
	if err != nil {
		return nil, err
	}
	s.unlock = unlock
	// The caller's token is read once: the proof's model and the token
	// Create makes come from this one read, and Create checks the token it
	// made against the model proven.
	caller, err := restrictedtoken.OpenCaller()
	if caller == nil || err != nil && !(plumbingOnly && errors.Is(err, restrictedtoken.ErrIncomplete)) {
		if caller != nil {
			caller.Close()
		}
		return s, fmt.Errorf("restricted-token: reading the caller's token: %w", err)
	}
	defer caller.Close()
	base := caller.Model()
	run, err := restrictedtoken.NewRunSID()
	if err != nil {
		return s, fmt.Errorf("restricted-token: %w", err)
	}
	var sids aclplan.SIDs
	var caps []ntsec.SID
	if _, err := capsid.Update(ctx, s.dir, func(st *capsid.Store) error {
		var err error
		sids, caps, err = runSIDs(st, r, time.Now())
		return err
	}); err != nil {
		return s, fmt.Errorf("restricted-token: capability SIDs: %w", err)
	}
	// The command runs at Low integrity unless asked otherwise: the
	// roots get a Low label, and nothing outside them unlabelled is
	// writable to it by any right, FILE_DELETE_CHILD included, whatever
	// the write-restricted pass covers. The state directory's contents
	// are guarded besides (aclplan.Input.Guards), for Medium runs.
	medium := b.MediumIntegrity || spec.MediumIntegrity
	in := aclplan.Input{
		Policy: r, SIDs: sids,
		Audit:    aclplan.AuditConfig{Roots: AuditRoots(spec.Env, r.Cwd), Depth: 1},
		Unproven: true,
		Guards:   []string{state},
	}
	if medium {
		in.Readings = []ntsec.Reading{ntsec.DefaultReading}
		s.degraded = append(s.degraded, mediumUnproven)
		// A write-restricted token restricts no read: only a no-read-up
		// label does, and it holds back only a lower integrity level.
		if len(r.DenyRead) > 0 {
			if !spec.BestEffort {
				return s, sandbox.Unavailable("restricted-token: deny-read needs Low integrity; at Medium the command could read %s (--best-effort runs anyway)", strings.Join(r.DenyRead, ", "))
			}
			in.DenyReadUnenforced = true
			s.degraded = append(s.degraded, "deny-read: not enforced at Medium integrity; readable: "+strings.Join(r.DenyRead, ", "))
		}
	}
	// The git directories git would use in the roots, by the rule both
	// backends share: a gitfile's target, a worktree's commondir, a bare
	// repository at a root, and the HEAD guard of a root that is none.
	in.Git, s.notes = gitDirs(r)
	var model func(caps ...ntsec.SID) (*ntsec.Token, error)
	if !plumbingOnly {
		logon, err := restrictedtoken.LogonSID(base)
		if err != nil {
			return s, fmt.Errorf("restricted-token: %w", err)
		}
		in.User = aclplan.User{SID: base.User, Logon: logon, MediumIntegrity: medium}
		model = func(c ...ntsec.SID) (*ntsec.Token, error) {
			return caller.Sandbox(restrictedtoken.Spec{Caps: c, Run: run, LowIntegrity: !medium})
		}
		// The token this run gets must be one the model can describe
		// before anything is written.
		if _, err := model(caps...); err != nil {
			return s, fmt.Errorf("restricted-token: %w", err)
		}
		in.Token = model
	} else {
		in.User = aclplan.User{SID: base.User, MediumIntegrity: medium}
	}
	rec := fsview.Record(ntfs.NewView())
	in.View = rec
	pl, err := aclplan.Make(ctx, in)
	if err != nil {
		return s, fmt.Errorf("restricted-token: plan: %w", err)
	}
	if len(pl.DenyReadSkipped) > 0 {
		var left []string
		for _, k := range pl.DenyReadSkipped {
			left = append(left, k.Path+" ("+k.Why+")")
			in.DenyReadExempt = append(in.DenyReadExempt, k.Path)
		}
		if !spec.BestEffort {
			return s, sandbox.Unavailable("restricted-token: deny-read paths that cannot be hidden: %s (--best-effort runs with them readable)", strings.Join(left, "; "))
		}
		s.degraded = append(s.degraded, "deny-read: readable: "+strings.Join(left, "; "))
	}
	added, err := acelog.Record(ctx, s.dir, pl.Edits)
	if err != nil {
		return s, fmt.Errorf("restricted-token: recording the plan before applying it: %w", err)
	}
	bg := context.WithoutCancel(ctx)
	changed, err := s.applyAlone(ctx, pl.Edits)
	if err != nil {
		// ApplyChanged undid what this run changed. Entries for ACEs stay
		// recorded (a concurrent run of the same workspace may have
		// applied them; removing an absent ACE does nothing), but a
		// placeholder this run added to the record and could not create
		// may be a directory someone else made: cleanup must not remove it.
		var placeholders []aclplan.Edit
		for _, e := range added {
			if e.Op == aclplan.CreateDir {
				placeholders = append(placeholders, e)
			}
		}
		return s, errors.Join(fmt.Errorf("restricted-token: applying the plan: %w", err), acelog.Forget(bg, s.dir, placeholders))
	}
	if plumbingOnly {
		s.degraded = append(s.degraded, wineUnenforced)
	} else {
		in.View = ntfs.NewView()
		if _, err := aclplan.ProveApplied(in, rec, pl.Edits); err != nil {
			// Undo what this run changed, and nothing a concurrent run
			// applied and may be running with.
			undo := ntfs.ApplyAll(bg, aclplan.Inverse(changed))
			if undo == nil {
				undo = acelog.Forget(bg, s.dir, intersect(added, changed))
			}
			return s, errors.Join(fmt.Errorf("restricted-token: the applied plan fails its proof against this token, so the command was not run: %w", err), undo)
		}
		tok, _ := model(caps...)
		if err := ensureNUL(tok, in.User.Logon); err != nil {
			s.degraded = append(s.degraded, "nul: "+err.Error())
		}
		if s.token, err = caller.Create(restrictedtoken.Spec{Caps: caps, Run: run, LowIntegrity: !medium}); err != nil {
			return s, fmt.Errorf("restricted-token: %w", err)
		}
	}
	if s.procSD, err = winSD(restrictedtoken.ProcessSD(base.User, run)); err != nil {
		return s, fmt.Errorf("restricted-token: the process descriptor: %w", err)
	}
	if s.threadSD, err = winSD(restrictedtoken.ThreadSD(base.User, run)); err != nil {
		return s, fmt.Errorf("restricted-token: the thread descriptor: %w", err)
	}
	lim := jobobject.Options{MemoryLimit: b.MemoryLimit, ProcessLimit: b.ProcessLimit, RestrictUI: true}
	if spec.Limits.Memory != 0 {
		lim.MemoryLimit = spec.Limits.Memory
	}
	if spec.Limits.Processes != 0 {
		lim.ProcessLimit = spec.Limits.Processes
	}
	if s.job, err = jobobject.Create(lim); err != nil {
		return s, fmt.Errorf("restricted-token: %w", err)
	}
	dsd, err := winSD(restrictedtoken.DesktopSD(base.User, run))
	if err != nil {
		return s, fmt.Errorf("restricted-token: the desktop descriptor: %w", err)
	}
	if s.desktop, err = windesktop.Create(dsd); err != nil {
		return s, fmt.Errorf("restricted-token: a private desktop: %w", err)
	}
	return s, nil
}

// applyAlone applies edits. When there are any — a cold run, whose
// propagation rewrites whole trees — it first trades its shared run lock
// for the exclusive one, so no sandboxed command runs while the trees
// change under it (issue 10 part 7), and takes the shared one back after.
// It waits for running commands at most lockWait, then fails "busy".
func (s *setup) applyAlone(ctx context.Context, edits []aclplan.Edit) ([]aclplan.Edit, error) {
	_, err := os.Stat(filepath.Join(s.dir, acelog.PendingName))
	if len(edits) == 0 && err != nil {
		return nil, nil
	}
	s.unlock()
	s.unlock = nil
	release, err := hold(ctx, acelog.HoldAlone, s.dir)
	if err != nil {
		return nil, fmt.Errorf("waiting for the running sandboxed commands to end before changing ACLs: %w", err)
	}
	var rep ntfs.Report
	if _, err = acelog.Repair(ctx, s.dir, propagate); err == nil {
		err = acelog.Propagating(ctx, s.dir, edits, func() error {
			var err error
			rep, err = ntfs.ApplyReport(ctx, edits)
			return err
		})
	}
	release()
	changed := rep.Changed
	for _, l := range rep.Linked {
		s.notes = append(s.notes, "left as it is (a file with more than one name): "+l)
	}
	unlock, lerr := hold(context.WithoutCancel(ctx), acelog.HoldRun, s.dir)
	if lerr != nil {
		return changed, errors.Join(err, lerr)
	}
	s.unlock = unlock
	return changed, err
}

// propagate finishes an interrupted propagation (acelog.Repair).
func propagate(ctx context.Context, tops []string) error {
	_, err := ntfs.Propagate(ctx, tops)
	return err
}

// intersect returns the edits of a that are also in b.
func intersect(a, b []aclplan.Edit) []aclplan.Edit {
	var out []aclplan.Edit
	for _, e := range a {
		for _, f := range b {
			if e.Op == f.Op && e.Path == f.Path && e.ACE == f.ACE {
				out = append(out, e)
				break
			}
		}
	}
	return out
}
