package aclplan

import (
	"errors"
	"fmt"

	"github.com/cordon-sandbox/cordon/internal/fsview"
	"github.com/cordon-sandbox/cordon/policy"
)

// ProveApplied proves a plan after its edits were applied to a view that
// is not in memory, which Make could not prove beforehand (Input.Unproven).
// It takes the objects the planner read (read, the fsview.Recorder the plan
// was made through) and their ancestors, and runs Prove's checks on them
// with nothing left to apply: every root, every protected name and
// placeholder, every audited directory, and every directory above them, for
// every sandbox token.
//
// Objects at or below an edited path are read again from in.View, as they
// now are, since applying the edits changed them (and ntfs.Apply's
// propagation the objects below them). Every other object is taken as the planner saw
// it: nothing cordon did touched it, and reading the audited directories a
// second time would double the cost of every run.
//
// Objects below a root that the planner never read are not checked: they
// are assumed to carry what the root's inheritable ACEs give them, which is
// what ntfs.Apply's propagation writes when a root's DACL is set, and what
// keeps a warm run O(roots). A subtree whose inheritance is blocked (a
// protected DACL) is therefore not covered; it can only be narrower than
// its root, which is a gap, not a violation.
//
// A proof that fails is an error wrapping ErrProof, returned with the
// proof for diagnosis.
func ProveApplied(in Input, read *fsview.Recorder, edits []Edit) (Proof, error) {
	if in.Policy == nil || in.View == nil || read == nil {
		return Proof{}, fmt.Errorf("plan: ProveApplied needs a policy, a view and the planner's recorder")
	}
	edited := make([]string, 0, len(edits))
	for _, e := range edits {
		edited = append(edited, e.Path)
	}
	v := &afterEdits{live: in.View, read: read, edited: edited}
	mem, err := fsview.Capture(v, read.Paths())
	if errors.Is(err, fsview.ErrUnreadable) {
		// Inside a root, a sandbox may have created it so (an OWNER
		// RIGHTS ACE granting nothing takes the owner's READ_CONTROL): the
		// proof cannot vouch for it, so the run stops, and says how out.
		return Proof{}, fmt.Errorf("proof: %w; if a sandboxed command made it, run `cordon cleanup` (which gives the user back the right to delete it) and delete it", err)
	}
	if err != nil {
		return Proof{}, fmt.Errorf("proof: %w", err)
	}
	pr, err := Prove(mem, in, nil)
	if err != nil {
		return pr, err
	}
	if !pr.OK {
		return pr, fmt.Errorf("%w: %s", ErrProof, pr.Summary())
	}
	return pr, nil
}

// afterEdits is the view after the edits: objects at or below an edited
// path come from the live view, the others from what the planner read
// (falling back to the live view for objects it did not read, such as the
// ancestors of the roots).
type afterEdits struct {
	live   fsview.View
	read   *fsview.Recorder
	edited []string
}

func (a *afterEdits) Stat(path string) (fsview.Node, error) {
	for _, e := range a.edited {
		if policy.Windows.Within(path, e) {
			return a.live.Stat(path)
		}
	}
	if n, err, ok := a.read.Recorded(path); ok {
		return n, err
	}
	return a.live.Stat(path)
}

func (a *afterEdits) List(dir string) ([]string, error) { return a.live.List(dir) }
