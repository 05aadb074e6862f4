package aclplan

// The proof's checks for the elevated mode (Input.Sandbox): the sandbox
// users' tokens, the roots' owners, and what the sandbox creates.

import (
	"fmt"

	"github.com/cordon-sandbox/cordon/ntsec"
)

// elevatedProofTokens builds, for each sandbox user, a token of each kind
// the policy runs commands under (proofTokens' list, named
// "<kind> as <user>"): either user may run in the workspace, offline or
// online.
func elevatedProofTokens(in *Input, kinds []proofToken) ([]proofToken, error) {
	var out []proofToken
	for _, u := range in.Sandbox.Users {
		for _, k := range kinds {
			t := newProofToken(k.name+" as "+u.String(), k.sids...)
			tok, err := in.sandboxToken(u, k.sids...)
			if err != nil {
				return nil, fmt.Errorf("proof: %s token: %w", t.name, err)
			}
			if tok == nil {
				return nil, fmt.Errorf("proof: %s token: none built", t.name)
			}
			t.tok = tok
			out = append(out, t)
		}
	}
	return out, nil
}

// ownerChange are the rights that let a token change who controls an
// object: its DACL or its owner.
const ownerChange = ntsec.WriteDAC | ntsec.WriteOwner

// checkRootOwners holds the roots to their owner and DACL: no sandbox
// token may get WRITE_DAC or WRITE_OWNER on a root, under any reading.
// git for Windows trusts a repository only if the worktree's top
// directory and the git directory are owned by the user running git
// (compat/mingw.c, is_path_owned_by_current_sid); the git directory is a
// protected name, held by checkWrites, and the root is held here.
func (p *prover) checkRootOwners() {
	for _, r := range p.roots {
		n, err := p.work.Stat(r.path.String())
		if err != nil || n.SD == nil {
			continue // a missing root fails planning, not the proof
		}
		for ti, t := range p.tokens {
			for ri := range p.readings {
				if g := p.granted(n.SD, ti, ri, ntsec.Directory) & ownerChange; g != 0 {
					p.violation(ri, func() Violation {
						return Violation{Path: n.Path, Token: t.name, Rights: rights(g), Why: "a writable root must keep its owner and DACL: the user's git checks the worktree's owner"}
					})
				}
			}
		}
	}
}

// created is an object a sandbox token would create below a root, with the
// descriptor Windows would give it.
type created struct {
	path string
	typ  ntsec.ObjectType
	sd   *ntsec.SecurityDescriptor
}

// simulateCreated returns what token tok would create in the directory
// with descriptor sd at path: a file and a directory directly in it, and
// a file and a directory in that directory, each owned by the token's
// user (the default owner of a plain user's token) with the DACL it
// inherits (ntsec.NewObject: [MS-DTYP] 2.4.4.1's inheritance, CREATOR
// OWNER becoming the sandbox user). Two levels show what inheritance
// passes on from a directory the sandbox itself made.
func simulateCreated(path string, sd *ntsec.SecurityDescriptor, tok *ntsec.Token, group ntsec.SID) []created {
	dir := ntsec.NewObject(sd, ntsec.Directory, tok.User, group, nil)
	sub := path + `\(new dir)`
	return []created{
		{path + `\(new file)`, ntsec.File, ntsec.NewObject(sd, ntsec.File, tok.User, group, nil)},
		{sub, ntsec.Directory, dir},
		{sub + `\(new file)`, ntsec.File, ntsec.NewObject(dir, ntsec.File, tok.User, group, nil)},
		{sub + `\(new dir)`, ntsec.Directory, ntsec.NewObject(dir, ntsec.Directory, tok.User, group, nil)},
	}
}

// checkCreated holds what each sandbox token would create in each root it
// may write (simulateCreated), under every reading:
//
//   - the real user gets full control of it (createdWant): it stays
//     modifiable, deletable and re-ownable by the user;
//   - the sandbox token gets neither WRITE_DAC nor WRITE_OWNER on it, so it
//     cannot open what it made to others (another sandbox, another
//     account);
//   - its DACL holds an effective OWNER RIGHTS ACE, which turns the
//     owner's implicit READ_CONTROL | WRITE_DAC off: the model grants them
//     only when the owner is also a restricting SID
//     (windows-access-check.md, section 2), which no public source settles
//     for every case, so the claim must not rest on it;
//   - the token can still write it (else a gap): a sandbox that cannot
//     change its own files is no use.
func (p *prover) checkCreated() {
	user := userToken(&p.in)
	for i, r := range p.roots {
		rn, err := p.work.Stat(r.path.String())
		if err != nil || rn.SD == nil {
			continue
		}
		for ti, t := range p.tokens {
			if want, _ := expectWritable(1<<i, false, p.roots, t.caps); !want {
				continue
			}
			for _, c := range simulateCreated(rn.Path, rn.SD, t.tok, p.in.Sandbox.Group) {
				p.checkOneCreated(c, rn.SD, user, ti)
			}
		}
	}
}

func (p *prover) checkOneCreated(c created, rootSD *ntsec.SecurityDescriptor, user *ntsec.Token, ti int) {
	t := p.tokens[ti]
	want := createdWant(&p.in, rootSD, c.typ)
	ownerRights := false
	for _, e := range c.sd.DACL.Entries {
		if e.Effective() && e.SID == ntsec.OwnerRights && ntsec.FileMapping.Map(e.Mask)&ownerChange == 0 {
			ownerRights = true
		}
	}
	for ri, rd := range p.readings {
		if g := ntsec.AccessCheckUnder(rd, c.sd, user, ntsec.MaximumAllowed, c.typ).Granted; g&want != want {
			p.violation(ri, func() Violation {
				return Violation{Path: c.path, Token: "real user " + user.User.String(), Rights: "lacks " + rights(want&^g), Why: "created by " + t.name + ": the real user must keep full control of it"}
			})
		}
		g := ntsec.AccessCheckUnder(rd.Alone(), c.sd, t.tok, ntsec.MaximumAllowed, c.typ).Granted
		if g&ownerChange != 0 {
			p.violation(ri, func() Violation {
				return Violation{Path: c.path, Token: t.name, Rights: rights(g & ownerChange), Why: "the sandbox could rewrite the DACL or owner of what it created"}
			})
		}
		if !ownerRights {
			p.violation(ri, func() Violation {
				return Violation{Path: c.path, Token: t.name, Rights: "WRITE_DAC (implicit)", Why: fmt.Sprintf("created by %s and owned by it with no OWNER RIGHTS ACE: its implicit WRITE_DAC hangs on an open question about restricting SIDs", t.tok.User)}
			})
		}
		if g&(ntsec.FileWriteData|ntsec.Delete) != ntsec.FileWriteData|ntsec.Delete {
			p.gap(ri, func() Violation {
				return Violation{Path: c.path, Token: t.name, Rights: rights(g & writeProbe), Why: "the sandbox cannot write or delete what it created"}
			})
		}
	}
}
