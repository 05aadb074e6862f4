package aclplan

import (
	"errors"
	"fmt"
	"sort"
	"strings"

	"github.com/cordon-sandbox/cordon/internal/fsview"
	"github.com/cordon-sandbox/cordon/internal/winpath"
	"github.com/cordon-sandbox/cordon/ntsec"
	"github.com/cordon-sandbox/cordon/policy"
)

// Proof is the verdict of the access-check model on a plan: the plan applied
// to a copy of the view, then every node checked for every sandbox token.
type Proof struct {
	OK bool `json:"ok"`
	// Skipped says why no proof was made (a view that is not in memory).
	Skipped string   `json:"skipped,omitempty"`
	Nodes   int      `json:"nodes"`
	Tokens  []string `json:"tokens"`
	// Readings name the readings of the kernel the proof ran under
	// (ntsec.Reading.Name).
	Readings []string `json:"readings"`
	// Writes is how many objects' descriptors applying the plan rewrites,
	// inheritance included.
	Writes int `json:"writes"`
	// Violations are nodes a token may write although the policy says it
	// must not: any one fails the proof. At most 20 are listed; Count has
	// them all.
	Violations     []Violation `json:"violations,omitempty"`
	ViolationCount int         `json:"violation_count"`
	// Gaps are nodes inside a writable root that the token still cannot
	// write (a DACL that refuses the user, a protected DACL): less access
	// than the policy allows, reported but not a failure, since fixing them
	// would mean rewriting files one by one.
	Gaps     []Violation `json:"gaps,omitempty"`
	GapCount int         `json:"gap_count"`
	// PerReading counts the violations and gaps under each reading, in
	// the order of Readings.
	PerReading []ReadingTally `json:"per_reading"`
}

// ReadingTally is the proof's count under one reading of the kernel.
type ReadingTally struct {
	Reading    string `json:"reading"`
	Violations int    `json:"violations"`
	// DeleteChild counts the violations where FILE_DELETE_CHILD is the
	// token's only write right: on the node's parent (deleting or renaming
	// the node whatever its own DACL says) or on the node itself (its
	// children).
	DeleteChild int `json:"delete_child"`
	Gaps        int `json:"gaps"`
}

// Violation is one node where the model disagrees with the policy.
type Violation struct {
	Path   string `json:"path"`
	Token  string `json:"token"`
	Rights string `json:"rights"` // the write rights granted (violations) or "none"
	Why    string `json:"why"`
	// Reading is the reading of the kernel under which the token gets
	// the rights (violations) or lacks them (gaps).
	Reading string `json:"reading"`
}

// Summary is a one-line account of the proof.
func (p Proof) Summary() string {
	if p.Skipped != "" {
		return "not proven: " + p.Skipped
	}
	s := fmt.Sprintf("%d nodes × %d tokens (%s): %d violations, %d gaps", p.Nodes, len(p.Tokens), strings.Join(p.Tokens, ", "), p.ViolationCount, p.GapCount)
	if len(p.Violations) > 0 {
		v := p.Violations[0]
		s += fmt.Sprintf("; first: %s token may write %s (%s): %s", v.Token, v.Path, v.Rights, v.Why)
		if len(p.Readings) > 1 {
			s += " (under " + v.Reading + ")"
		}
	}
	return s
}

const maxListed = 20

// proofToken is a sandbox token and the roots it is meant to write.
type proofToken struct {
	name string
	tok  *ntsec.Token
	caps map[ntsec.SID]bool
}

// Prove applies edits to a copy of m and checks, for every node and every
// sandbox token, that the token may write the node exactly when the policy
// says so: in workspace-write, inside a root whose capability SID the token
// holds and not at or below a protected name; in read-only, nowhere. Writing
// includes deleting or renaming through the parent's FILE_DELETE_CHILD.
//
// The checks run under each of in.Readings (default: every open reading,
// ntsec.OpenReadings). A token may write a node under a reading when it can get a write
// right by asking for it alone (Reading.Alone): that is the most any
// request gets under either trigger, so a proof without violations says
// nothing is writable outside the roots under that reading. A gap is a
// node inside a root where no write right can be had alone; a request that
// combines reads and writes can still fail under the whole-request trigger
// where the restricting SIDs lack the reads, which the proof does not
// check (the planner grants the capability SIDs read and execute too).
func Prove(m *fsview.Memory, in Input, edits []Edit) (Proof, error) {
	work := m.Clone()
	writes, err := Apply(work, edits)
	if err != nil {
		return Proof{}, fmt.Errorf("proof: apply: %w", err)
	}
	r := in.Policy
	if in.User.SID.IsZero() {
		cwd, err := work.Stat(r.Cwd)
		if err != nil {
			return Proof{}, fmt.Errorf("proof: cwd: %w", err)
		}
		in.User.SID = cwd.SD.Owner
	}
	var tokens []proofToken
	var tokErr error
	add := func(name string, caps ...ntsec.SID) {
		set := map[ntsec.SID]bool{}
		for _, c := range caps {
			set[c] = true
		}
		tok := SandboxToken(in.User, caps...)
		if in.Token != nil {
			var err error
			if tok, err = in.Token(caps...); err != nil {
				tokErr = errors.Join(tokErr, fmt.Errorf("proof: %s token: %w", name, err))
				return
			}
		}
		tokens = append(tokens, proofToken{name, tok, set})
	}
	if r.Mode == policy.WorkspaceWrite {
		add("workspace", in.SIDs.Workspace, in.SIDs.Generic)
		for _, o := range in.SIDs.Others {
			add("other-workspace "+o.String(), o, in.SIDs.Generic)
		}
	}
	if !in.SIDs.ReadOnly.IsZero() {
		add("read-only", in.SIDs.ReadOnly)
	}
	if tokErr != nil {
		return Proof{}, tokErr
	}
	pr := Proof{Writes: writes}
	for _, t := range tokens {
		pr.Tokens = append(pr.Tokens, t.name)
	}
	readings := in.Readings
	if len(readings) == 0 {
		readings = ntsec.OpenReadings()
	}
	for _, rd := range readings {
		pr.Readings = append(pr.Readings, rd.Name())
		pr.PerReading = append(pr.PerReading, ReadingTally{Reading: rd.Name()})
	}
	roots := make([]rootInfo, 0, len(r.Roots))
	for _, root := range r.Roots {
		p, err := winpath.Parse(root.Path)
		if err != nil {
			return Proof{}, fmt.Errorf("proof: root %s: %w", root.Path, err)
		}
		roots = append(roots, rootInfo{p, in.SIDs.forRoot(root.Kind)})
	}
	type memoKey struct {
		sd      *ntsec.SecurityDescriptor
		tok, rd int
		typ     ntsec.ObjectType
	}
	memo := map[memoKey]ntsec.AccessMask{}
	// granted is what token ti can get on sd under readings[ri], one
	// right at a time.
	granted := func(sd *ntsec.SecurityDescriptor, ti, ri int, typ ntsec.ObjectType) ntsec.AccessMask {
		k := memoKey{sd, ti, ri, typ}
		g, ok := memo[k]
		if !ok {
			g = ntsec.AccessCheckUnder(readings[ri].Alone(), sd, tokens[ti].tok, ntsec.MaximumAllowed, typ).Granted
			memo[k] = g
		}
		return g
	}
	// Where each node stands relative to the roots is worked out from its
	// parent's standing as the walk goes down, so no path is parsed twice.
	// Roots may nest (a workspace in the temp directory): a node belongs to
	// every root above it, and is protected if it is at or below a
	// protected name of any of them.
	type standing struct {
		in        uint64 // bit i: inside roots[i]
		isRoot    uint64 // bit i: the node is roots[i]
		protected bool
		denyRead  bool // at or below a deny-read path: readable by no token
	}
	denyKeys := map[string]bool{}
	if !in.User.MediumIntegrity && !in.DenyReadUnenforced {
		for _, d := range r.DenyRead {
			if p, err := winpath.Parse(d); err == nil {
				denyKeys[p.Key()] = true
			}
		}
		for _, d := range in.DenyReadExempt {
			if p, err := winpath.Parse(d); err == nil {
				delete(denyKeys, p.Key())
			}
		}
	}
	if len(roots) > 64 {
		return Proof{}, fmt.Errorf("proof: %d writable roots, at most 64", len(roots))
	}
	gitProtected, gitPins := gitKeys(in.Git)
	type pinCheck struct {
		n, parent *fsview.Node
		in        uint64
	}
	var pins []pinCheck
	stand := map[*fsview.Node]standing{}
	rootKeys := map[string]int{}
	for i, ri := range roots {
		rootKeys[ri.path.Key()] = i
	}
	for _, vol := range work.Roots() {
		work.Walk(vol, func(n, parent *fsview.Node) bool {
			pr.Nodes++
			var st standing
			if parent != nil {
				ps := stand[parent]
				st.in, st.protected, st.denyRead = ps.in, ps.protected, ps.denyRead
				if ps.isRoot != 0 && !st.protected {
					name := n.Path[strings.LastIndexByte(n.Path, '\\')+1:]
					for _, pn := range r.Protected {
						if winpath.EqualName(name, pn) {
							st.protected = true
						}
					}
				}
			}
			p, perr := winpath.Parse(n.Path)
			if perr == nil && gitProtected[p.Key()] {
				st.protected = true
			}
			if perr == nil && denyKeys[p.Key()] {
				st.denyRead = true
			}
			if n.IsDir() {
				if perr == nil {
					if i, ok := rootKeys[p.Key()]; ok {
						st.in |= 1 << i
						st.isRoot |= 1 << i
					}
				}
				stand[n] = st
			}
			if perr == nil && gitPins[p.Key()] && parent != nil {
				pins = append(pins, pinCheck{n, parent, st.in})
			}
			// FILE_DELETE_CHILD means nothing on a file: NTFS asks for it
			// only on the directory a name is deleted from.
			probe := writeProbe
			if !n.IsDir() {
				probe &^= ntsec.FileDeleteChild
			}
			for ti, t := range tokens {
				want, why := expectWritable(st.in, st.protected, roots, t.caps)
				if n.MultiLinked() {
					// Another name may lie outside every root: held to
					// what an object outside them is held to.
					want, why = false, func() string { return "a file with more than one name, left as it is" }
				}
				if st.denyRead {
					// Deny-read wins over a root: no access at all.
					want, why = false, func() string { return "at or below a deny-read path" }
					for ri, rd := range readings {
						if g := granted(n.SD, ti, ri, n.ObjectType()) & ntsec.FileReadData; g != 0 {
							pr.ViolationCount++
							pr.PerReading[ri].Violations++
							if len(pr.Violations) < maxListed {
								pr.Violations = append(pr.Violations, Violation{n.Path, t.name, "read (" + rights(g) + ")", "at or below a deny-read path", rd.Name()})
							}
						}
					}
				}
				for ri, rd := range readings {
					g := granted(n.SD, ti, ri, n.ObjectType()) & probe
					deleteChild := g&^ntsec.FileDeleteChild == 0
					if parent != nil && granted(parent.SD, ti, ri, ntsec.Directory)&ntsec.FileDeleteChild != 0 {
						g |= ntsec.Delete
					} else if g&ntsec.FileDeleteChild == 0 {
						deleteChild = false
					}
					switch {
					case g != 0 && !want:
						pr.ViolationCount++
						pr.PerReading[ri].Violations++
						if deleteChild {
							pr.PerReading[ri].DeleteChild++
						}
						if len(pr.Violations) < maxListed {
							pr.Violations = append(pr.Violations, Violation{n.Path, t.name, rights(g), why(), rd.Name()})
						}
					case g == 0 && want:
						pr.GapCount++
						pr.PerReading[ri].Gaps++
						if len(pr.Gaps) < maxListed {
							pr.Gaps = append(pr.Gaps, Violation{n.Path, t.name, "none", why(), rd.Name()})
						}
					}
				}
			}
			return true
		})
	}
	// A pin must not be renamed or removed by a token that may write inside
	// it: neither DELETE on it nor FILE_DELETE_CHILD on its parent.
	for _, pc := range pins {
		for ti, t := range tokens {
			if want, _ := expectWritable(pc.in, false, roots, t.caps); !want {
				continue // the walk already holds it to no write at all
			}
			for ri, rd := range readings {
				g := granted(pc.n.SD, ti, ri, ntsec.Directory) & ntsec.Delete
				if granted(pc.parent.SD, ti, ri, ntsec.Directory)&ntsec.FileDeleteChild != 0 {
					g |= ntsec.FileDeleteChild
				}
				if g != 0 {
					pr.ViolationCount++
					pr.PerReading[ri].Violations++
					if len(pr.Violations) < maxListed {
						pr.Violations = append(pr.Violations, Violation{pc.n.Path, t.name, rights(g), "git pin: the sandbox could rename it and build a fresh copy of the git directory below", rd.Name()})
					}
				}
			}
		}
	}
	// A protected name that does not exist must not be creatable either:
	// the token must lack ADD_FILE and ADD_SUBDIRECTORY on its root. Nor
	// must a missing git guard, on its parent.
	type missing struct {
		path, parent winpath.Path
		why          string
	}
	var absent []missing
	for _, root := range roots {
		for _, name := range r.Protected {
			if p, err := root.path.Join(name); err == nil {
				absent = append(absent, missing{p, root.path, "protected name " + name + " is missing and its root lets the token create it"})
			}
		}
	}
	for _, g := range in.Git.Guards {
		if gp, err := winpath.Parse(g); err == nil {
			if parent, ok := gp.Parent(); ok {
				absent = append(absent, missing{gp, parent, "git guard is missing and its parent lets the token create it"})
			}
		}
	}
	for _, a := range absent {
		if _, err := work.Stat(a.path.String()); err == nil {
			continue
		}
		pn, err := work.Stat(a.parent.String())
		if err != nil {
			continue // a missing root fails planning, not the proof
		}
		for ti, t := range tokens {
			for ri, rd := range readings {
				g := granted(pn.SD, ti, ri, ntsec.Directory) & (ntsec.FileWriteData | ntsec.FileAppendData)
				if g != 0 {
					pr.ViolationCount++
					pr.PerReading[ri].Violations++
					if len(pr.Violations) < maxListed {
						pr.Violations = append(pr.Violations, Violation{a.path.String(), t.name, "create (" + rights(g) + " on " + a.parent.String() + ")", a.why, rd.Name()})
					}
				}
			}
		}
	}
	pr.OK = pr.ViolationCount == 0
	return pr, nil
}

type rootInfo struct {
	path winpath.Path
	sid  ntsec.SID
}

// expectWritable says whether the policy lets a token holding caps write a
// node inside the roots of the bit set in (none: outside every root),
// under a protected name or not. why builds the explanation, only for the
// nodes reported.
func expectWritable(in uint64, protected bool, roots []rootInfo, caps map[ntsec.SID]bool) (want bool, why func() string) {
	if in == 0 {
		return false, func() string { return "outside every writable root" }
	}
	inner := 0
	for i := range roots {
		if in&(1<<i) != 0 {
			inner = i
		}
	}
	if protected {
		return false, func() string { return "at or below a protected name of root " + roots[inner].path.String() }
	}
	for i, r := range roots {
		if in&(1<<i) != 0 && caps[r.sid] {
			return true, func() string { return "inside root " + r.path.String() }
		}
	}
	return false, func() string {
		return "inside a root the token holds no capability for: " + roots[inner].path.String()
	}
}

func rights(m ntsec.AccessMask) string {
	var names []string
	for b := ntsec.AccessMask(1); b != 0; b <<= 1 {
		if m&b != 0 {
			names = append(names, ntsec.RightName(b, false))
		}
	}
	sort.Strings(names)
	return strings.Join(names, "|")
}
