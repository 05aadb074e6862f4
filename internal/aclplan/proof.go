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

// maxListed is how many violations, and how many gaps, a proof lists.
const maxListed = 20

// Prove applies edits to a copy of m and checks, for every sandbox token
// under every reading of the kernel, that the result holds the policy. Each
// property is one check, run in this order, which is the order the
// violations are listed in:
//
//  1. Deny-read held (checkDenyRead): no token may read a node at or below
//     a deny-read path, inside a root too.
//  2. Writable exactly the roots (checkWrites): a token may write a node
//     exactly when the policy says so: in workspace-write, inside a root
//     whose capability SID the token holds and not at or below a protected
//     name or git directory; in read-only, nowhere; a file with more than
//     one name or a deny-read node, nowhere either. Writing includes
//     deleting or renaming the node through its parent's FILE_DELETE_CHILD
//     (deleteViaParent).
//  3. Pins held (checkPins): a token that may write inside a git pin may
//     not rename or remove the pin itself.
//  4. Missing protected names stay missing (checkMissingProtectedNames): no
//     token may create one in its root.
//  5. Missing git guards stay missing (checkMissingGitGuards): no token may
//     create one in its parent.
//  6. In the elevated mode (Input.Sandbox), the roots keep their owner
//     (checkRootOwners): no sandbox token may change a root's owner or
//     DACL.
//  7. In the elevated mode, what the sandbox creates stays the user's
//     (checkCreated).
//
// Checks 1 and 2 run on each node in one walk of the tree (walk).
//
// The checks run under each of in.Readings (default: every open reading,
// ntsec.OpenReadings). A token may write a node under a reading when it can
// get a write right by asking for it alone (Reading.Alone): that is the
// most any request gets under either trigger, so a proof without
// violations says nothing is writable outside the roots under that
// reading. A gap is a node inside a root where no write right can be had
// alone; a request that combines reads and writes can still fail under the
// whole-request trigger where the restricting SIDs lack the reads, which
// the proof does not check (the planner grants the capability SIDs read
// and execute too).
func Prove(m *fsview.Memory, in Input, edits []Edit) (Proof, error) {
	work := m.Clone()
	writes, err := Apply(work, edits)
	if err != nil {
		return Proof{}, fmt.Errorf("proof: apply: %w", err)
	}
	p, err := newProver(work, in)
	if err != nil {
		return Proof{}, err
	}
	p.walk()
	p.checkPins()
	p.checkMissingProtectedNames()
	p.checkMissingGitGuards()
	if in.Sandbox.enabled() {
		p.checkRootOwners()
		p.checkCreated()
	}
	p.proof.Writes = writes
	p.proof.OK = p.proof.ViolationCount == 0
	return p.proof, nil
}

// prover is what the checks of one proof share: the view with the plan
// applied, the policy's roots and sandbox tokens, the readings, what the
// walk learns about each node, and the proof as it is tallied.
type prover struct {
	work     *fsview.Memory
	in       Input
	roots    []rootInfo
	tokens   []proofToken
	readings []ntsec.Reading

	// Comparison keys (winpath.Path.Key) of the roots (to their index in
	// roots), the deny-read paths, the git entries held as protected names
	// are, and the git pins.
	rootKeys     map[string]int
	denyRead     map[string]bool
	gitProtected map[string]bool
	gitPins      map[string]bool

	stand  map[*fsview.Node]standing // each directory's, for its children
	pins   []pinCheck                // the git pins the walk met
	grants map[grantKey]ntsec.AccessMask
	proof  Proof
}

// newProver gathers what the checks need from in, over work. The user is
// the owner of the cwd when in names none.
func newProver(work *fsview.Memory, in Input) (*prover, error) {
	if in.User.SID.IsZero() {
		cwd, err := work.Stat(in.Policy.Cwd)
		if err != nil {
			return nil, fmt.Errorf("proof: cwd: %w", err)
		}
		in.User.SID = cwd.SD.Owner
	}
	// A sandbox without users would leave the proof no token to check,
	// and pass it vacuously.
	if err := in.Sandbox.check(in.User.SID); err != nil {
		return nil, fmt.Errorf("proof: %w", err)
	}
	tokens, err := proofTokens(in)
	if err != nil {
		return nil, err
	}
	roots, err := proofRoots(in)
	if err != nil {
		return nil, err
	}
	readings := in.Readings
	if len(readings) == 0 {
		readings = ntsec.OpenReadings()
	}
	p := &prover{
		work:     work,
		in:       in,
		roots:    roots,
		tokens:   tokens,
		readings: readings,
		rootKeys: map[string]int{},
		denyRead: denyReadKeys(in),
		stand:    map[*fsview.Node]standing{},
		grants:   map[grantKey]ntsec.AccessMask{},
	}
	p.gitProtected, p.gitPins = gitKeys(in.Git)
	for i, root := range roots {
		p.rootKeys[root.path.Key()] = i
	}
	for _, t := range tokens {
		p.proof.Tokens = append(p.proof.Tokens, t.name)
	}
	for _, rd := range readings {
		p.proof.Readings = append(p.proof.Readings, rd.Name())
		p.proof.PerReading = append(p.proof.PerReading, ReadingTally{Reading: rd.Name()})
	}
	return p, nil
}

// proofToken is a sandbox token and the capability SIDs it holds, which
// decide the roots it is meant to write.
type proofToken struct {
	name string
	sids []ntsec.SID        // the capability SIDs, in the order the token is built with
	caps map[ntsec.SID]bool // the same, as a set
	tok  *ntsec.Token
}

func newProofToken(name string, sids ...ntsec.SID) proofToken {
	caps := map[ntsec.SID]bool{}
	for _, s := range sids {
		caps[s] = true
	}
	return proofToken{name: name, sids: sids, caps: caps}
}

// proofTokens builds the sandbox tokens the policy runs commands under: in
// workspace-write, the workspace's and each other workspace's, each with
// the generic SID; the read-only one whenever its SID is set. in.Token
// builds them when set (the token that will really run), SandboxToken
// otherwise; every token that cannot be built is reported.
func proofTokens(in Input) ([]proofToken, error) {
	var tokens []proofToken
	if in.Policy.Mode == policy.WorkspaceWrite {
		tokens = append(tokens, newProofToken("workspace", in.SIDs.Workspace, in.SIDs.Generic))
		for _, o := range in.SIDs.Others {
			tokens = append(tokens, newProofToken("other-workspace "+o.String(), o, in.SIDs.Generic))
		}
	}
	if !in.SIDs.ReadOnly.IsZero() {
		tokens = append(tokens, newProofToken("read-only", in.SIDs.ReadOnly))
	}
	if in.Sandbox.enabled() {
		return elevatedProofTokens(&in, tokens)
	}
	var errs error
	for i := range tokens {
		t := &tokens[i]
		if in.Token == nil {
			t.tok = SandboxToken(in.User, t.sids...)
			continue
		}
		var err error
		if t.tok, err = in.Token(t.sids...); err != nil {
			errs = errors.Join(errs, fmt.Errorf("proof: %s token: %w", t.name, err))
		}
	}
	if errs != nil {
		return nil, errs
	}
	return tokens, nil
}

// rootInfo is a writable root and the capability SID that writes it.
type rootInfo struct {
	path winpath.Path
	sid  ntsec.SID
}

// proofRoots parses the policy's writable roots. A node's roots are kept
// as the bits of a uint64 (standing), hence at most 64.
func proofRoots(in Input) ([]rootInfo, error) {
	roots := make([]rootInfo, 0, len(in.Policy.Roots))
	for _, root := range in.Policy.Roots {
		p, err := winpath.Parse(root.Path)
		if err != nil {
			return nil, fmt.Errorf("proof: root %s: %w", root.Path, err)
		}
		roots = append(roots, rootInfo{p, in.SIDs.forRoot(root.Kind)})
	}
	if len(roots) > 64 {
		return nil, fmt.Errorf("proof: %d writable roots, at most 64", len(roots))
	}
	return roots, nil
}

// denyReadKeys are the comparison keys of the deny-read paths the proof
// holds: none when the sandbox keeps Medium integrity or runs without the
// deny-read labels, since nothing would enforce them; never the exempt
// ones.
func denyReadKeys(in Input) map[string]bool {
	keys := map[string]bool{}
	if in.User.MediumIntegrity || in.DenyReadUnenforced {
		return keys
	}
	for _, d := range in.Policy.DenyRead {
		if p, err := winpath.Parse(d); err == nil {
			keys[p.Key()] = true
		}
	}
	for _, d := range in.DenyReadExempt {
		if p, err := winpath.Parse(d); err == nil {
			delete(keys, p.Key())
		}
	}
	return keys
}

// standing is where a node stands relative to the roots. Roots may nest (a
// workspace in the temp directory): a node belongs to every root above it,
// and is protected if it is at or below a protected name of any of them.
type standing struct {
	in        uint64 // bit i: inside roots[i]
	isRoot    uint64 // bit i: the node is roots[i]
	protected bool
	denyRead  bool // at or below a deny-read path: readable by no token
}

// pinCheck is a git pin met by the walk, with its parent and its roots.
type pinCheck struct {
	n, parent *fsview.Node
	in        uint64
}

// walk visits every node once, top down, and runs the per-node checks on
// it for every token.
func (p *prover) walk() {
	for _, vol := range p.work.Roots() {
		p.work.Walk(vol, p.visit)
	}
}

func (p *prover) visit(n, parent *fsview.Node) bool {
	p.proof.Nodes++
	st, key, keyed := p.standingOf(n, parent)
	if keyed && p.gitPins[key] && parent != nil {
		p.pins = append(p.pins, pinCheck{n, parent, st.in})
	}
	for ti := range p.tokens {
		p.checkDenyRead(n, st, ti)
		p.checkWrites(n, parent, st, ti)
	}
	return true
}

// standingOf works out n's standing from its parent's, so that no path is
// parsed twice, and keeps it for n's children. It also returns n's
// comparison key, when its path parses.
func (p *prover) standingOf(n, parent *fsview.Node) (st standing, key string, keyed bool) {
	if parent != nil {
		ps := p.stand[parent]
		st.in, st.protected, st.denyRead = ps.in, ps.protected, ps.denyRead
		if ps.isRoot != 0 && !st.protected {
			st.protected = p.isProtectedName(n)
		}
	}
	if path, err := winpath.Parse(n.Path); err == nil {
		key, keyed = path.Key(), true
	}
	if keyed {
		if p.gitProtected[key] {
			st.protected = true
		}
		if p.denyRead[key] {
			st.denyRead = true
		}
		if i, ok := p.rootKeys[key]; ok && n.IsDir() {
			st.in |= 1 << i
			st.isRoot |= 1 << i
		}
	}
	if n.IsDir() {
		p.stand[n] = st
	}
	return st, key, keyed
}

// isProtectedName says whether n, a child of a root, bears one of the
// policy's protected names.
func (p *prover) isProtectedName(n *fsview.Node) bool {
	name := n.Path[strings.LastIndexByte(n.Path, '\\')+1:]
	for _, pn := range p.in.Policy.Protected {
		if winpath.EqualName(name, pn) {
			return true
		}
	}
	return false
}

// grantKey identifies one access check: a descriptor, a token, a reading
// and an object type. Nodes that inherit the same ACEs share descriptors,
// so most checks repeat.
type grantKey struct {
	sd      *ntsec.SecurityDescriptor
	tok, rd int
	typ     ntsec.ObjectType
}

// granted is what token ti can get on sd under readings[ri], asking for
// one right at a time.
func (p *prover) granted(sd *ntsec.SecurityDescriptor, ti, ri int, typ ntsec.ObjectType) ntsec.AccessMask {
	k := grantKey{sd, ti, ri, typ}
	g, ok := p.grants[k]
	if !ok {
		g = ntsec.AccessCheckUnder(p.readings[ri].Alone(), sd, p.tokens[ti].tok, ntsec.MaximumAllowed, typ).Granted
		p.grants[k] = g
	}
	return g
}

// violation counts a violation under readings[ri] and lists it while fewer
// than maxListed are; v builds it, only then.
func (p *prover) violation(ri int, v func() Violation) {
	p.proof.ViolationCount++
	p.proof.PerReading[ri].Violations++
	p.list(&p.proof.Violations, ri, v)
}

// gap counts a gap under readings[ri] and lists it as violation does.
func (p *prover) gap(ri int, v func() Violation) {
	p.proof.GapCount++
	p.proof.PerReading[ri].Gaps++
	p.list(&p.proof.Gaps, ri, v)
}

func (p *prover) list(to *[]Violation, ri int, v func() Violation) {
	if len(*to) < maxListed {
		l := v()
		l.Reading = p.readings[ri].Name()
		*to = append(*to, l)
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
