package aclplan

import (
	"github.com/cordon-sandbox/cordon/internal/fsview"
	"github.com/cordon-sandbox/cordon/internal/winpath"
	"github.com/cordon-sandbox/cordon/ntsec"
)

// The properties Prove checks, one function each, in the order it runs
// them.

// checkDenyRead holds deny-read: token ti may not read n when n is at or
// below a deny-read path, even inside a root.
func (p *prover) checkDenyRead(n *fsview.Node, st standing, ti int) {
	if !st.denyRead {
		return
	}
	for ri := range p.readings {
		if g := p.granted(n.SD, ti, ri, n.ObjectType()) & ntsec.FileReadData; g != 0 {
			p.violation(ri, func() Violation {
				return Violation{Path: n.Path, Token: p.tokens[ti].name, Rights: "read (" + rights(g) + ")", Why: "at or below a deny-read path"}
			})
		}
	}
}

// checkWrites holds the roots: token ti may write n exactly when the
// policy says so (expect). A node written that should not be is a
// violation; a node that should be written and cannot be is a gap.
func (p *prover) checkWrites(n, parent *fsview.Node, st standing, ti int) {
	t := p.tokens[ti]
	want, why := p.expect(n, st, t)
	for ri := range p.readings {
		g, deleteChildOnly := p.writeRights(n, parent, ti, ri)
		switch {
		case g != 0 && !want:
			p.violation(ri, func() Violation {
				return Violation{Path: n.Path, Token: t.name, Rights: rights(g), Why: why()}
			})
			if deleteChildOnly {
				p.proof.PerReading[ri].DeleteChild++
			}
		case g == 0 && want:
			p.gap(ri, func() Violation {
				return Violation{Path: n.Path, Token: t.name, Rights: "none", Why: why()}
			})
		}
	}
}

// expect says whether the policy lets token t write n, and why (built
// only for the nodes reported). Deny-read wins over a root: no access at
// all. A file with more than one name is held to what an object outside
// the roots is held to, since another of its names may lie outside every
// root. Otherwise the roots and protected names decide (expectWritable).
func (p *prover) expect(n *fsview.Node, st standing, t proofToken) (want bool, why func() string) {
	switch {
	case st.denyRead:
		return false, func() string { return "at or below a deny-read path" }
	case n.MultiLinked():
		return false, func() string { return "a file with more than one name, left as it is" }
	}
	return expectWritable(st.in, st.protected, p.roots, t.caps)
}

// writeRights is what token ti may write on n under readings[ri]: the
// rights of writeProbe it gets on n itself, and DELETE when it may delete
// n through its parent (deleteViaParent). deleteChildOnly says
// FILE_DELETE_CHILD, on n or on its parent, is its only way to write.
func (p *prover) writeRights(n, parent *fsview.Node, ti, ri int) (g ntsec.AccessMask, deleteChildOnly bool) {
	// FILE_DELETE_CHILD means nothing on a file: NTFS asks for it only on
	// the directory a name is deleted from.
	probe := writeProbe
	if !n.IsDir() {
		probe &^= ntsec.FileDeleteChild
	}
	own := p.granted(n.SD, ti, ri, n.ObjectType()) & probe
	viaParent := parent != nil && p.deleteViaParent(parent, ti, ri)
	g = own
	if viaParent {
		g |= ntsec.Delete
	}
	deleteChildOnly = own&^ntsec.FileDeleteChild == 0 && (viaParent || own&ntsec.FileDeleteChild != 0)
	return g, deleteChildOnly
}

// deleteViaParent says whether token ti may, under readings[ri], delete or
// rename any child of dir whatever the child's own DACL says:
// FILE_DELETE_CHILD on dir.
func (p *prover) deleteViaParent(dir *fsview.Node, ti, ri int) bool {
	return p.granted(dir.SD, ti, ri, ntsec.Directory)&ntsec.FileDeleteChild != 0
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

// checkPins holds the git pins: a token that may write inside a pin must
// not rename or remove it, through neither DELETE on it nor
// FILE_DELETE_CHILD on its parent, or it could build a fresh copy of the
// git directory below. A token that may not write inside the pin is
// already held to no write at all by checkWrites.
func (p *prover) checkPins() {
	for _, pc := range p.pins {
		for ti, t := range p.tokens {
			if want, _ := expectWritable(pc.in, false, p.roots, t.caps); !want {
				continue
			}
			for ri := range p.readings {
				g := p.granted(pc.n.SD, ti, ri, ntsec.Directory) & ntsec.Delete
				if p.deleteViaParent(pc.parent, ti, ri) {
					g |= ntsec.FileDeleteChild
				}
				if g != 0 {
					p.violation(ri, func() Violation {
						return Violation{Path: pc.n.Path, Token: t.name, Rights: rights(g), Why: "git pin: the sandbox could rename it and build a fresh copy of the git directory below"}
					})
				}
			}
		}
	}
}

// checkMissingProtectedNames holds the protected names that do not exist:
// no token may create one in its root.
func (p *prover) checkMissingProtectedNames() {
	for _, root := range p.roots {
		for _, name := range p.in.Policy.Protected {
			if path, err := root.path.Join(name); err == nil {
				p.checkNotCreatable(path, root.path, "protected name "+name+" is missing and its root lets the token create it")
			}
		}
	}
}

// checkMissingGitGuards holds the git guards that do not exist: no token
// may create one in its parent.
func (p *prover) checkMissingGitGuards() {
	for _, g := range p.in.Git.Guards {
		path, err := winpath.Parse(g)
		if err != nil {
			continue
		}
		if parent, ok := path.Parent(); ok {
			p.checkNotCreatable(path, parent, "git guard is missing and its parent lets the token create it")
		}
	}
}

// checkNotCreatable holds path, when it does not exist, to stay missing: no
// token may have ADD_FILE or ADD_SUBDIRECTORY on parent.
func (p *prover) checkNotCreatable(path, parent winpath.Path, why string) {
	if _, err := p.work.Stat(path.String()); err == nil {
		return
	}
	pn, err := p.work.Stat(parent.String())
	if err != nil {
		return // a missing root fails planning, not the proof
	}
	for ti, t := range p.tokens {
		for ri := range p.readings {
			g := p.granted(pn.SD, ti, ri, ntsec.Directory) & (ntsec.FileWriteData | ntsec.FileAppendData)
			if g != 0 {
				p.violation(ri, func() Violation {
					return Violation{Path: path.String(), Token: t.name, Rights: "create (" + rights(g) + " on " + parent.String() + ")", Why: why}
				})
			}
		}
	}
}
