package readacl

import (
	"errors"
	"fmt"
	"strings"

	"github.com/cordon-sandbox/cordon/internal/aclplan"
	"github.com/cordon-sandbox/cordon/internal/fsview"
	"github.com/cordon-sandbox/cordon/internal/winpath"
	"github.com/cordon-sandbox/cordon/ntsec"
)

// Proof is the model's verdict on read isolation.
type Proof struct {
	OK       bool                `json:"ok"`
	Nodes    int                 `json:"nodes"`
	Tokens   []string            `json:"tokens"`
	Readings []string            `json:"readings"`
	Count    int                 `json:"violation_count"`
	Listed   []aclplan.Violation `json:"violations,omitempty"` // the first maxListed
}

const maxListed = 20

// Summary is a one-line account of the proof.
func (p Proof) Summary() string {
	s := fmt.Sprintf("%d nodes × %d tokens × %d readings: %d violations", p.Nodes, len(p.Tokens), len(p.Readings), p.Count)
	if len(p.Listed) > 0 {
		v := p.Listed[0]
		s += fmt.Sprintf("; first: %s %s %s (%s, under %s)", v.Token, v.Rights, v.Path, v.Why, v.Reading)
	}
	return s
}

// Prove applies edits (the read plan's, and the write plan's when the
// caller has one) to a copy of m with aclplan.Apply, then checks, for the
// token of every sandbox user (Input.Users; a stand-in when none) under
// every open reading of the write-restricted pass (ntsec.OpenReadings,
// each asked one right at a time), on every node of the view:
//
//  1. no read of a secret path or anything below it (FILE_READ_DATA),
//     aliases through reparse points included (Secrets);
//  2. a secret path that does not exist yet stays unreadable once
//     created: the directories inheritance would give it, from its
//     nearest existing ancestor, grant no read;
//  3. no write outside the writable roots (aclplan.WriteProbe on the
//     node, or FILE_DELETE_CHILD on its parent);
//  4. no edit lands on a reparse point: what it would grant depends on
//     whether the writer follows it, which the plan must not leave open.
//
// Inside the roots the write planner's own proof (aclplan.Prove) holds.
func Prove(m *fsview.Memory, in Input, edits []aclplan.Edit) (Proof, error) {
	pl := planner{in: in}
	pr := &prover{readings: ntsec.OpenReadings()}
	for _, u := range pl.users() {
		pr.tokens = append(pr.tokens, pl.token(u))
		pr.proof.Tokens = append(pr.proof.Tokens, u.String())
	}
	for _, r := range pr.readings {
		pr.proof.Readings = append(pr.proof.Readings, r.Name())
	}
	work := m.Clone()
	for _, e := range edits {
		if n, err := work.Stat(e.Path); err == nil && n.IsReparse() {
			pr.violate(aclplan.Violation{Path: e.Path, Token: "plan", Rights: string(e.Op) + " " + e.ACE.SDDL(), Why: "an edit on a " + string(n.Type), Reading: "any"})
		}
	}
	if _, err := aclplan.Apply(work, edits); err != nil {
		return Proof{}, fmt.Errorf("read proof: apply: %w", err)
	}
	secrets, err := Secrets(work, in.Policy.DenyRead)
	if err != nil {
		return Proof{}, fmt.Errorf("read proof: %w", err)
	}
	var roots []winpath.Path
	for _, r := range in.Policy.Roots {
		p, err := winpath.Parse(r.Path)
		if err != nil {
			return Proof{}, fmt.Errorf("read proof: root %s: %w", r.Path, err)
		}
		roots = append(roots, p)
	}
	for _, vol := range work.Roots() {
		err := work.Walk(vol, func(n, parent *fsview.Node) bool {
			pr.proof.Nodes++
			p, err := winpath.Parse(n.Path)
			if err != nil {
				return true
			}
			_, secret := secrets.Covering(p)
			inRoot := false
			for _, r := range roots {
				inRoot = inRoot || p.Within(r)
			}
			pr.node(n, parent, secret, inRoot)
			return true
		})
		if err != nil {
			return Proof{}, fmt.Errorf("read proof: walk %s: %w", vol, err)
		}
	}
	for _, s := range secrets.paths {
		if err := pr.missing(work, s); err != nil {
			return Proof{}, err
		}
	}
	return pr.finish(), nil
}

type prover struct {
	tokens   []*ntsec.Token
	readings []ntsec.Reading
	proof    Proof
}

func (pr *prover) finish() Proof {
	pr.proof.OK = pr.proof.Count == 0
	return pr.proof
}

func (pr *prover) violate(v aclplan.Violation) {
	pr.proof.Count++
	if len(pr.proof.Listed) < maxListed {
		pr.proof.Listed = append(pr.proof.Listed, v)
	}
}

func (pr *prover) granted(sd *ntsec.SecurityDescriptor, ti, ri int, typ ntsec.ObjectType) ntsec.AccessMask {
	return ntsec.AccessCheckUnder(pr.readings[ri].Alone(), sd, pr.tokens[ti], ntsec.MaximumAllowed, typ).Granted
}

func (pr *prover) node(n, parent *fsview.Node, secret, inRoot bool) {
	for ti, tok := range pr.tokens {
		for ri, rd := range pr.readings {
			g := pr.granted(n.SD, ti, ri, n.ObjectType())
			if secret && g&ntsec.FileReadData != 0 {
				pr.violate(aclplan.Violation{Path: n.Path, Token: tok.User.String(), Rights: "read", Why: "at or below a secret path", Reading: rd.Name()})
			}
			if inRoot {
				continue
			}
			probe := aclplan.WriteProbe
			if !n.IsDir() {
				probe &^= ntsec.FileDeleteChild
			}
			w := g & probe
			if parent != nil && pr.granted(parent.SD, ti, ri, ntsec.Directory)&ntsec.FileDeleteChild != 0 {
				w |= ntsec.Delete
			}
			if w != 0 {
				pr.violate(aclplan.Violation{Path: n.Path, Token: tok.User.String(), Rights: "write " + w.String(), Why: "outside every writable root", Reading: rd.Name()})
			}
		}
	}
}

// missing checks a secret path that does not exist: the objects
// inheritance would create on the way to it, from its nearest existing
// ancestor, must not be readable.
func (pr *prover) missing(work *fsview.Memory, s winpath.Path) error {
	cur := s
	var depth int
	for {
		n, err := work.Stat(cur.String())
		if err == nil {
			if depth == 0 || !n.IsDir() {
				return nil // it exists (the walk checked it), or cannot be created below a file
			}
			sd := n.SD
			for i := 0; i < depth; i++ {
				last := i == depth-1
				for _, typ := range []ntsec.ObjectType{ntsec.Directory, ntsec.File} {
					if typ == ntsec.File && !last {
						continue
					}
					obj := newChild(sd, typ)
					for ti, tok := range pr.tokens {
						for ri, rd := range pr.readings {
							if pr.granted(obj, ti, ri, typ)&ntsec.FileReadData != 0 {
								pr.violate(aclplan.Violation{Path: s.String(), Token: tok.User.String(), Rights: "read once created", Why: "missing secret path: " + n.Path + " would pass a read grant on to it (" + strings.ToLower(typ.String()) + ")", Reading: rd.Name()})
							}
						}
					}
				}
				sd = newChild(sd, ntsec.Directory)
			}
			return nil
		}
		if !errors.Is(err, fsview.ErrNotExist) {
			return fmt.Errorf("read proof: secret path %s: %w", cur, err)
		}
		parent, ok := cur.Parent()
		if !ok {
			return nil
		}
		cur, depth = parent, depth+1
	}
}
