package plan

import (
	"fmt"

	"github.com/cordon-sandbox/cordon/fsview"
)

// ProveApplied proves a plan after it was applied to a view that is not in
// memory, which Make could not prove beforehand (Input.Unproven). It reads
// from in.View, again and as they now are, the objects the planner read
// (paths, as a fsview.Recorder over the planning view reports them) and
// their ancestors, and runs Prove's checks on them with nothing left to
// apply: every root, every protected name and placeholder, every audited
// directory, and every directory above them, for every sandbox token.
//
// Objects below a root that the planner never read are not checked: they
// are assumed to carry what the root's inheritable ACEs give them, which is
// what Windows' propagation writes when a root's DACL is set, and what
// keeps a warm run O(roots). A subtree whose inheritance is blocked (a
// protected DACL) is therefore not covered; it can only be narrower than
// its root, which is a gap, not a violation.
//
// A proof that fails is an error wrapping ErrProof, returned with the
// proof for diagnosis.
func ProveApplied(in Input, paths []string) (Proof, error) {
	if in.Policy == nil || in.View == nil {
		return Proof{}, fmt.Errorf("plan: ProveApplied needs a policy and a view")
	}
	mem, err := fsview.Capture(in.View, paths)
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
