package aclplan

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/cordon-sandbox/cordon/internal/fsview"
	"github.com/cordon-sandbox/cordon/ntsec"
	"github.com/cordon-sandbox/cordon/policy"
)

// planUnproven plans m through a Recorder, as the Windows backend plans
// NTFS: Make cannot prove it and returns what the planner read.
func planUnproven(t *testing.T, m *fsview.Memory, medium bool) (Input, *Plan, *fsview.Recorder) {
	t.Helper()
	in := wsInput(t, m, policy.WorkspaceWrite)
	if medium {
		in.User.MediumIntegrity = true
		in.Readings = []ntsec.Reading{ntsec.DefaultReading}
	}
	rec := fsview.Record(m)
	in.View, in.Unproven = rec, true
	pl, err := Make(context.Background(), in)
	if err != nil {
		t.Fatal(err)
	}
	if pl.Proof.Skipped == "" || pl.Proof.OK {
		t.Fatalf("a plan over a Recorder was proven in advance: %+v", pl.Proof)
	}
	in.View, in.Unproven = m, false
	return in, pl, rec
}

func TestProveAppliedAcceptsTheAppliedPlan(t *testing.T) {
	m := machine(t)
	in, pl, read := planUnproven(t, m, false)
	if _, err := Apply(m, pl.Edits); err != nil {
		t.Fatal(err)
	}
	m.ResetReads()
	pr, err := ProveApplied(in, read, pl.Edits)
	if err != nil {
		t.Fatalf("ProveApplied: %v", err)
	}
	// Only what the planner read at or below an edited object is read
	// again; a cold root's tree was read (cutOffDirs), so it is among them.
	if r := m.Reads(); r == 0 || r > int64(len(read.Paths()))+3 {
		t.Errorf("ProveApplied read %d objects again; the planner read %d", r, len(read.Paths()))
	}
	// It checked the objects the planner read and their ancestors, not
	// the audited trees' unread children.
	if pr.Nodes == 0 || pr.Nodes >= m.Len() {
		t.Errorf("proof covered %d of %d nodes; want some, not all", pr.Nodes, m.Len())
	}
	// A warm plan reads no file below a root: O(roots).
	rec := fsview.Record(m)
	in.View, in.Unproven = rec, true
	again, err := Make(context.Background(), in)
	if err != nil || len(again.Edits) != 0 {
		t.Fatalf("warm plan: %v, %v", err, again)
	}
	for _, p := range rec.Paths() {
		if strings.HasSuffix(p, `main.go`) {
			t.Errorf("the warm planner read below a root: %s", p)
		}
	}
}

func TestProveAppliedCatchesWhatWasNotApplied(t *testing.T) {
	for _, c := range []struct {
		drop   string
		medium bool
		user   bool // only the user's FILE_DELETE_CHILD denial
	}{{`C:\Users\me\ws\.git`, false, false}, {`C:\Users\Public\Shared`, true, false}, {`C:\Users\me\ws`, false, true}} {
		drop := c.drop
		t.Run(drop, func(t *testing.T) {
			m := machine(t)
			in, pl, read := planUnproven(t, m, c.medium)
			var kept []Edit
			for _, e := range pl.Edits {
				if e.Path != drop || c.user && e.ACE.Mask != ntsec.FileDeleteChild {
					kept = append(kept, e)
				}
			}
			if len(kept) == len(pl.Edits) {
				t.Fatalf("the plan has no edit on %s", drop)
			}
			if _, err := Apply(m, kept); err != nil {
				t.Fatal(err)
			}
			pr, err := ProveApplied(in, read, pl.Edits)
			if !errors.Is(err, ErrProof) {
				t.Fatalf("ProveApplied = %v, want ErrProof", err)
			}
			if len(pr.Violations) == 0 || !strings.HasPrefix(pr.Violations[0].Path, drop) {
				t.Errorf("violations %+v, want one at %s", pr.Violations, drop)
			}
		})
	}
}

// The Token hook replaces the assumed token: a token that is not
// write-restricted may write the user's own files, and the proof says so.
func TestProveUsesTheTokenHook(t *testing.T) {
	m := machine(t)
	in, pl, read := planUnproven(t, m, false)
	if _, err := Apply(m, pl.Edits); err != nil {
		t.Fatal(err)
	}
	var asked [][]ntsec.SID
	in.Token = func(caps ...ntsec.SID) (*ntsec.Token, error) {
		asked = append(asked, caps)
		tok := SandboxToken(pl.User, caps...)
		tok.WriteRestricted, tok.RestrictedSIDs = false, nil
		return tok, nil
	}
	if _, err := ProveApplied(in, read, pl.Edits); !errors.Is(err, ErrProof) {
		t.Errorf("an unrestricted token passed the proof: %v", err)
	}
	if len(asked) == 0 || asked[0][0] != testSID.Workspace {
		t.Errorf("hook asked for %v", asked)
	}
	in.Token = func(caps ...ntsec.SID) (*ntsec.Token, error) { return nil, errors.New("no token here") }
	if _, err := ProveApplied(in, read, pl.Edits); err == nil || !strings.Contains(err.Error(), "no token here") {
		t.Errorf("hook error not returned: %v", err)
	}
}

func TestCaptureSkipsMissingAndAddsAncestors(t *testing.T) {
	m := machine(t)
	c, err := fsview.Capture(m, []string{`C:\Users\me\ws\.git\hooks`, `C:\Users\me\ws\.codex`})
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range []string{`C:\`, `C:\Users`, `C:\Users\me`, `C:\Users\me\ws`, `C:\Users\me\ws\.git`, `C:\Users\me\ws\.git\hooks`} {
		if _, err := c.Stat(p); err != nil {
			t.Errorf("%s: %v", p, err)
		}
	}
	if c.Len() != 6 {
		t.Errorf("captured %d nodes, want 6", c.Len())
	}
	if _, err := fsview.Capture(m, []string{`not a path`}); err == nil {
		t.Error("Capture accepted a relative path")
	}
}

// hiding is a view in which one object's descriptor cannot be read, as
// ntfs.View reports an object that refuses READ_CONTROL.
type hiding struct {
	*fsview.Memory
	path string
}

func (h hiding) Stat(p string) (fsview.Node, error) {
	n, err := h.Memory.Stat(p)
	if err == nil && n.Path == h.path {
		n.SD = nil
	}
	return n, err
}

// A sandbox can create, inside its root, an object whose descriptor the
// user cannot read (an OWNER RIGHTS ACE granting nothing); the proof
// cannot vouch for it, so the run stops — and says how to get out, since
// the root's denial of the user's FILE_DELETE_CHILD also keeps the user
// from deleting it until cleanup (review finding).
func TestUnreadableObjectInRootStopsWithAWayOut(t *testing.T) {
	m := machine(t)
	in := wsInput(t, m, policy.WorkspaceWrite)
	pl := mustMake(t, in)
	if _, err := Apply(m, pl.Edits); err != nil {
		t.Fatal(err)
	}
	sd, err := ntsec.ParseSDDL("O:S-1-5-21-1-2-3-1001D:P(A;OICI;FA;;;S-1-5-21-11-11-11-11)(A;;0x0;;;OW)S:(ML;OICI;NW;;;LW)")
	if err != nil {
		t.Fatal(err)
	}
	if err := m.Add(fsview.Node{Path: `C:\Users\me\ws\x`, Type: fsview.Directory, SD: sd}); err != nil {
		t.Fatal(err)
	}
	v := hiding{m, `C:\Users\me\ws\x`}
	rec := fsview.Record(v)
	in.View, in.Unproven = rec, true
	warm, err := Make(context.Background(), in)
	if err != nil {
		t.Fatalf("warm plan: %v", err)
	}
	in.View, in.Unproven = v, false
	_, err = ProveApplied(in, rec, warm.Edits)
	if !errors.Is(err, fsview.ErrUnreadable) || !strings.Contains(err.Error(), `C:\Users\me\ws\x`) || !strings.Contains(err.Error(), "cordon cleanup") {
		t.Errorf("ProveApplied = %v", err)
	}
}
