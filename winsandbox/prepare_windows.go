package winsandbox

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	"golang.org/x/sys/windows"

	"github.com/cordon-sandbox/cordon/internal/acelog"
	"github.com/cordon-sandbox/cordon/internal/aclplan"
	"github.com/cordon-sandbox/cordon/internal/capsid"
	"github.com/cordon-sandbox/cordon/internal/fsview"
	"github.com/cordon-sandbox/cordon/internal/jobobject"
	"github.com/cordon-sandbox/cordon/internal/ntfs"
	"github.com/cordon-sandbox/cordon/internal/restrictedtoken"
	"github.com/cordon-sandbox/cordon/internal/statedir"
	"github.com/cordon-sandbox/cordon/internal/tokenlaunch"
	"github.com/cordon-sandbox/cordon/internal/windesktop"
	"github.com/cordon-sandbox/cordon/ntsec"
	"github.com/cordon-sandbox/cordon/policy"
	"github.com/cordon-sandbox/cordon/sandbox"
)

// prepare does steps 1 to 7 of the package documentation but the launch,
// in that order. Under Wine (plumbingOnly) readCaller returns a token that
// proves nothing and makes none; nothing else differs. On error prepare
// returns no setup: what it had taken is released first.
func (b *Backend) prepare(ctx context.Context, spec sandbox.Spec, plumbingOnly bool) (*setup, error) {
	return b.prepareWith(ctx, spec, func() (runToken, error) { return readCaller(plumbingOnly) }, nil, true)
}

// prepareWith is prepare for the token open returns (step 1), with hook,
// when not nil, given the planner's input before the plan (step 3). With
// launch false it stops after the proof (step 5): another process makes
// the token and starts the command (PrepareFor), and setup.tokenSpec says
// which token.
func (b *Backend) prepareWith(ctx context.Context, spec sandbox.Spec, open func() (runToken, error), hook func(*aclplan.Input), launch bool) (_ *setup, err error) {
	r := spec.Policy
	if r == nil || r.PathRules() != policy.Windows {
		return nil, fmt.Errorf("restricted-token: the policy must be resolved with Windows path rules")
	}
	dir, state, err := b.stateDir(r)
	if err != nil {
		return nil, err
	}
	s := &setup{dir: dir}
	defer func() {
		if err != nil {
			err = errors.Join(err, s.release())
		}
	}()
	// Before the setup lock, so that a wait for `cordon cache clear` holds
	// up no other run; before the plan, since the layers' directories lie
	// in the workspace's own temp root and a cold plan propagates its ACEs
	// over them too.
	if err = s.takeCaches(ctx, spec, state); err != nil {
		return nil, err
	}
	unlockSetup, unlockRun, err := lock(ctx, dir)
	if err != nil {
		return nil, err
	}
	s.unlock = unlockRun
	defer unlockSetup()

	tok, err := open()
	if err != nil {
		return nil, err
	}
	defer tok.Close()
	run, err := restrictedtoken.NewRunSID()
	if err != nil {
		return nil, fmt.Errorf("restricted-token: %w", err)
	}
	sids, caps, err := capabilitySIDs(ctx, dir, r)
	if err != nil {
		return nil, err
	}
	// The command runs at Low integrity unless asked otherwise: the
	// roots get a Low label, and nothing outside them unlabelled is
	// writable to it by any right, FILE_DELETE_CHILD included, whatever
	// the write-restricted pass covers. The state directory's contents
	// are guarded besides (aclplan.Input.Guards), for Medium runs.
	medium := b.MediumIntegrity || spec.MediumIntegrity
	user := tok.Model().User
	in, err := s.planInput(spec, state, sids, aclplan.User{SID: user, MediumIntegrity: medium})
	if err != nil {
		return nil, err
	}
	s.tokenSpec = restrictedtoken.Spec{Caps: caps, Run: run, LowIntegrity: !medium}
	if err = tok.forPlan(&in, s.tokenSpec); err != nil {
		return nil, err
	}
	if hook != nil {
		hook(&in)
	}
	rec, pl, err := s.plan(ctx, &in, spec.BestEffort)
	if err != nil {
		return nil, err
	}
	added, changed, err := s.recordAndApply(ctx, pl.Edits)
	if err != nil {
		return nil, err
	}
	if err = tok.prove(in, rec, pl.Edits); err != nil {
		return nil, errors.Join(fmt.Errorf("restricted-token: the applied plan fails its proof against this token, so the command was not run: %w", err), s.undo(ctx, added, changed))
	}
	if !launch {
		return s, nil
	}
	var degraded []string
	if s.token, degraded, err = tok.create(); err != nil {
		return nil, err
	}
	s.degraded = append(s.degraded, degraded...)
	if s.procSD, s.threadSD, err = launchSDs(user, run); err != nil {
		return nil, err
	}
	if s.job, err = jobobject.Create(b.jobOptions(spec.Limits)); err != nil {
		return nil, fmt.Errorf("restricted-token: %w", err)
	}
	if s.desktop, err = privateDesktop(user, run); err != nil {
		return nil, err
	}
	return s, nil
}

// stateDir is the run's state directory (Options.StateDir, else
// statedir.Dir) and its final path. It holds the capability SIDs and the
// record that cleanup trusts: a sandbox that could write it could take
// another workspace's SID, or have cleanup remove ACEs it never added, so
// it must not overlap a writable root. The roots are final paths
// (policy.Env.Canonical), so the state directory is compared as one too.
func (b *Backend) stateDir(r *policy.Resolved) (dir, state string, err error) {
	dir = b.StateDir
	if dir == "" {
		if dir, err = statedir.Dir(); err != nil {
			return "", "", fmt.Errorf("restricted-token: %w", err)
		}
	}
	state = finalPath(dir)
	for _, root := range r.Roots {
		if inTempBase(root.Path, state) {
			continue // a workspace temp directory (WorkspaceTemp) holds none of cordon's state
		}
		if policy.Windows.Within(state, root.Path) || policy.Windows.Within(root.Path, state) {
			return "", "", fmt.Errorf("restricted-token: cordon's state directory %s and the writable root %s overlap, so the sandbox could rewrite cordon's state: set CORDON_STATE_DIR to a directory outside every writable root", dir, root.Path)
		}
	}
	return dir, state, nil
}

// lock takes the setup lock, then the run lock shared. One run at a time
// plans, records, applies and proves, so that no run plans on a state
// another is changing, and a run undoing its own changes after a failed
// proof cannot take away what another run was just proven with. The setup
// lock comes first, and a run waiting for it holds nothing else: a cold
// run takes the run lock exclusive while it holds the setup lock
// (applyAlone), which would deadlock with a run holding the run lock
// shared while it waited for setup.
func lock(ctx context.Context, dir string) (unlockSetup, unlockRun func(), err error) {
	if unlockSetup, err = hold(ctx, acelog.HoldSetup, dir); err != nil {
		return nil, nil, err
	}
	defer func() {
		if err != nil {
			unlockSetup()
		}
	}()
	if unlockRun, err = hold(ctx, acelog.HoldRun, dir); err != nil {
		return nil, nil, err
	}
	return unlockSetup, unlockRun, nil
}

// capabilitySIDs gets the run's capability SIDs from the store in dir
// (step 2; runSIDs says which).
func capabilitySIDs(ctx context.Context, dir string, r *policy.Resolved) (aclplan.SIDs, []ntsec.SID, error) {
	var sids aclplan.SIDs
	var caps []ntsec.SID
	if _, err := capsid.Update(ctx, dir, func(st *capsid.Store) error {
		var err error
		sids, caps, err = runSIDs(st, r, time.Now())
		return err
	}); err != nil {
		return aclplan.SIDs{}, nil, fmt.Errorf("restricted-token: capability SIDs: %w", err)
	}
	return sids, caps, nil
}

// planInput is what the planner is given (step 3) but the token's part
// (runToken.forPlan) and the view (plan). It adds to Degraded what a
// Medium run leaves unenforced, and to Notes what the git-directory
// resolver found.
func (s *setup) planInput(spec sandbox.Spec, state string, sids aclplan.SIDs, user aclplan.User) (aclplan.Input, error) {
	r := spec.Policy
	in := aclplan.Input{
		Policy: r, SIDs: sids, User: user,
		Audit:    aclplan.AuditConfig{Roots: AuditRoots(spec.Env, r.Cwd), Depth: 1},
		Unproven: true,
		Guards:   []string{state},
	}
	if user.MediumIntegrity {
		in.Readings = []ntsec.Reading{ntsec.DefaultReading}
		s.degraded = append(s.degraded, mediumUnproven)
		// A write-restricted token restricts no read: only a no-read-up
		// label does, and it holds back only a lower integrity level.
		if len(r.DenyRead) > 0 {
			if !spec.BestEffort {
				return aclplan.Input{}, sandbox.Unavailable("restricted-token: deny-read needs Low integrity; at Medium the command could read %s (--best-effort runs anyway)", strings.Join(r.DenyRead, ", "))
			}
			in.DenyReadUnenforced = true
			s.degraded = append(s.degraded, "deny-read: not enforced at Medium integrity; readable: "+strings.Join(r.DenyRead, ", "))
		}
	}
	// The git directories git would use in the roots, by the rule both
	// backends share: a gitfile's target, a worktree's commondir, a bare
	// repository at a root, and the HEAD guard of a root that is none.
	in.Git, s.notes = gitDirs(r)
	return in, nil
}

// plan computes the plan (step 3) on the real file system, through a
// recorder that keeps what the planner read for the proof (step 5).
// Deny-read paths the plan cannot hide stop the run unless it is best
// effort; then they are exempted from that proof too (in.DenyReadExempt),
// and Degraded names them.
func (s *setup) plan(ctx context.Context, in *aclplan.Input, bestEffort bool) (*fsview.Recorder, *aclplan.Plan, error) {
	rec := fsview.Record(ntfs.NewView())
	in.View = rec
	pl, err := aclplan.Make(ctx, *in)
	if err != nil {
		return nil, nil, fmt.Errorf("restricted-token: plan: %w", err)
	}
	if len(pl.DenyReadSkipped) > 0 {
		var left []string
		for _, k := range pl.DenyReadSkipped {
			left = append(left, k.Path+" ("+k.Why+")")
			in.DenyReadExempt = append(in.DenyReadExempt, k.Path)
		}
		if !bestEffort {
			return nil, nil, sandbox.Unavailable("restricted-token: deny-read paths that cannot be hidden: %s (--best-effort runs with them readable)", strings.Join(left, "; "))
		}
		s.degraded = append(s.degraded, "deny-read: readable: "+strings.Join(left, "; "))
	}
	return rec, pl, nil
}

// recordAndApply records the edits (acelog) and then applies them, all or
// nothing (step 4). It returns the edits it added to the record and those
// it changed on disk, for undo.
func (s *setup) recordAndApply(ctx context.Context, edits []aclplan.Edit) (added, changed []aclplan.Edit, err error) {
	if added, err = acelog.Record(ctx, s.dir, edits); err != nil {
		return nil, nil, fmt.Errorf("restricted-token: recording the plan before applying it: %w", err)
	}
	if changed, err = s.applyAlone(ctx, edits); err != nil {
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
		return nil, nil, errors.Join(fmt.Errorf("restricted-token: applying the plan: %w", err), acelog.Forget(context.WithoutCancel(ctx), s.dir, placeholders))
	}
	return added, changed, nil
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

// undo takes back, after a failed proof, what this run changed (step 5),
// and nothing a concurrent run applied and may be running with: the edits
// it changed are inverted, and then forgotten from the record if this run
// added them there.
func (s *setup) undo(ctx context.Context, added, changed []aclplan.Edit) error {
	bg := context.WithoutCancel(ctx)
	if err := ntfs.ApplyAll(bg, aclplan.Inverse(changed)); err != nil {
		return err
	}
	return acelog.Forget(bg, s.dir, intersect(added, changed))
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

// launchSDs are the descriptors of the command's process and first thread
// (step 7), granting the user, SYSTEM and the run SID, so that no other
// sandbox can open the command's processes for writing.
func launchSDs(user, run ntsec.SID) (proc, thread *windows.SECURITY_DESCRIPTOR, err error) {
	if proc, thread, err = tokenlaunch.SDs(user, run); err != nil {
		return nil, nil, fmt.Errorf("restricted-token: %w", err)
	}
	return proc, thread, nil
}

// jobOptions are the job's (step 7): every UI restriction, and the run's
// limits where it sets them, else the backend's.
func (b *Backend) jobOptions(l sandbox.Limits) jobobject.Options {
	o := jobobject.Options{MemoryLimit: b.MemoryLimit, ProcessLimit: b.ProcessLimit, RestrictUI: true}
	if l.Memory != 0 {
		o.MemoryLimit = l.Memory
	}
	if l.Processes != 0 {
		o.ProcessLimit = l.Processes
	}
	return o
}

// privateDesktop creates the run's desktop (step 7) in the caller's window
// station, granted to the user, SYSTEM and the run SID only.
func privateDesktop(user, run ntsec.SID) (*windesktop.Desktop, error) {
	d, err := tokenlaunch.PrivateDesktop(user, run)
	if err != nil {
		return nil, fmt.Errorf("restricted-token: %w", err)
	}
	return d, nil
}
