package aclplan

import (
	"testing"

	"github.com/cordon-sandbox/cordon/internal/fsview"
	"github.com/cordon-sandbox/cordon/ntsec"
)

// appliedElevated returns the elevated machine with the elevated plan
// applied, and the plan's input.
func appliedElevated(t *testing.T, medium bool) (*fsview.Memory, Input) {
	t.Helper()
	m := elevatedMachine(t)
	in := elevatedInput(t, m)
	in.User.MediumIntegrity = medium
	pl := mustMake(t, in)
	if _, err := Apply(m, pl.Edits); err != nil {
		t.Fatal(err)
	}
	in.User.SID = me
	return m, in
}

func mustStat(t *testing.T, m *fsview.Memory, p string) fsview.Node {
	t.Helper()
	n, err := m.Stat(p)
	if err != nil {
		t.Fatal(err)
	}
	return n
}

// What a sandbox user creates anywhere below a root, two levels deep, is
// owned by that sandbox user and yet fully the real user's: modify,
// delete, rewrite the DACL, take ownership. The sandbox cannot rewrite
// its DACL or owner to open it to others, under every reading, and under
// either answer to whether the owner's implicit rights pass the
// restricting SIDs: the reading where they do is emulated by making the
// owner a restricting SID (only where no ACE names the sandbox user, so
// the emulation adds nothing else).
func TestElevatedCreatedStaysTheUsers(t *testing.T) {
	for _, medium := range []bool{false, true} {
		m, in := appliedElevated(t, medium)
		real := baseToken(in.User)
		for _, root := range []string{`C:\Users\me\ws`, `C:\Users\me\AppData\Local\Temp`, `C:\src\proj`, `C:\ProgramData\app\proj`, `C:\ProgramData\app2\proj`} {
			rn := mustStat(t, m, root)
			for _, u := range in.Sandbox.Users {
				tok := ElevatedToken(in.User, u, sbGroup, wsSID, genSID)
				for _, c := range simulateCreated(root, rn.SD, tok, sbGroup) {
					if c.sd.Owner != u {
						t.Fatalf("%s: owner %s, want the creating sandbox user %s", c.path, c.sd.Owner, u)
					}
					g := ntsec.AccessCheck(c.sd, real, ntsec.MaximumAllowed, c.typ).Granted
					for _, r := range []ntsec.AccessMask{ntsec.Delete, ntsec.WriteDAC, ntsec.WriteOwner, ntsec.FileAllAccess} {
						if g&r != r {
							t.Errorf("medium=%v %s (created by %s): real user lacks %s, has %s", medium, c.path, u, ntsec.RightName(r, false), g)
						}
					}
					namesOwner := false
					for _, e := range c.sd.DACL.Entries {
						namesOwner = namesOwner || e.SID == u
					}
					alt := *tok
					alt.RestrictedSIDs = append(append([]ntsec.SID{}, tok.RestrictedSIDs...), u)
					for _, rd := range ntsec.OpenReadings() {
						if g := ntsec.AccessCheckUnder(rd.Alone(), c.sd, tok, ntsec.MaximumAllowed, c.typ).Granted; g&ownerChange != 0 {
							t.Errorf("medium=%v %s: the sandbox may change its DACL or owner under %s: %s", medium, c.path, rd, g)
						}
						if g := ntsec.AccessCheckUnder(rd.Alone(), c.sd, tok, ntsec.FileWriteData, c.typ).Granted; g == 0 {
							t.Errorf("medium=%v %s: the sandbox cannot write what it created under %s", medium, c.path, rd)
						}
						if !namesOwner {
							if g := ntsec.AccessCheckUnder(rd.Alone(), c.sd, &alt, ntsec.MaximumAllowed, c.typ).Granted; g&ownerChange != 0 {
								t.Errorf("medium=%v %s: with owner rights past the restricting SIDs the sandbox gets %s under %s", medium, c.path, g&ownerChange, rd)
							}
						}
					}
				}
			}
		}
	}
}

// The OWNER RIGHTS ACE is what settles the owner-rights question: without
// it, a file the sandbox creates in the workspace leaves the sandbox
// WRITE_DAC under the reading where the owner's implicit rights pass the
// restricting SIDs (emulated as above), while the model's own reading
// refuses it; with it, neither grants it.
func TestElevatedOwnerRightsDecides(t *testing.T) {
	m := elevatedMachine(t)
	in := elevatedInput(t, m)
	pl := mustMake(t, in)
	var without []Edit
	for _, e := range pl.Edits {
		if e.ACE != OwnerRightsACE {
			without = append(without, e)
		}
	}
	for _, withOW := range []bool{true, false} {
		work := m.Clone()
		es := pl.Edits
		if !withOW {
			es = without
		}
		if _, err := Apply(work, es); err != nil {
			t.Fatal(err)
		}
		rn := mustStat(t, work, `C:\Users\me\ws`)
		tok := ElevatedToken(in.User, sbOffline, sbGroup, wsSID, genSID)
		alt := *tok
		alt.RestrictedSIDs = append(append([]ntsec.SID{}, tok.RestrictedSIDs...), sbOffline)
		f := simulateCreated(rn.Path, rn.SD, tok, sbGroup)[0]
		model := ntsec.AccessCheck(f.sd, tok, ntsec.WriteDAC, ntsec.File).Allowed
		other := ntsec.AccessCheck(f.sd, &alt, ntsec.WriteDAC, ntsec.File).Allowed
		if model {
			t.Errorf("withOW=%v: WRITE_DAC under the model's owner reading", withOW)
		}
		if other == withOW {
			t.Errorf("withOW=%v: WRITE_DAC under the other owner reading: %v", withOW, other)
		}
	}
}

// gitTrusts mirrors git for Windows' is_path_owned_by_current_sid
// (compat/mingw.c): a path is trusted when its owner is the token's user,
// or is BUILTIN\Administrators and the token is a member (the HOME
// exception aside).
func gitTrusts(sd *ntsec.SecurityDescriptor, tok *ntsec.Token) bool {
	if sd.Owner == tok.User {
		return true
	}
	if sd.Owner != ntsec.BuiltinAdministrators {
		return false
	}
	for _, g := range tok.Groups {
		if g.SID == ntsec.BuiltinAdministrators && g.Attributes&ntsec.GroupEnabled != 0 && g.Attributes&ntsec.GroupDenyOnly == 0 {
			return true
		}
	}
	return false
}

// git checks the owner of the worktree's top directory and of the git
// directory. In an existing repository the sandbox can change neither
// owner, nor the DACLs that guard them, nor delete, rename or re-create
// .git, under every reading: the user's git never sees a sandbox owner
// there. A repository the sandbox makes in a subdirectory is owned by a
// sandbox user, which the user's git refuses as dubious, and the sandbox
// cannot hand it to the user (no WRITE_OWNER would let it name another
// account without SeRestorePrivilege, which its token lacks): so its
// hooks and core.fsmonitor never run as the user.
func TestElevatedGitOwnership(t *testing.T) {
	for _, medium := range []bool{false, true} {
		m, in := appliedElevated(t, medium)
		real := baseToken(in.User)
		for _, repo := range []string{`C:\Users\me\ws`, `C:\src\proj`, `C:\ProgramData\app\proj`, `C:\ProgramData\app2\proj`} {
			top, git := mustStat(t, m, repo), mustStat(t, m, repo+`\.git`)
			if !gitTrusts(top.SD, real) || !gitTrusts(git.SD, real) {
				t.Fatalf("%s: the user's git does not trust the repository to begin with", repo)
			}
			for _, u := range in.Sandbox.Users {
				tok := ElevatedToken(in.User, u, sbGroup, wsSID, genSID)
				if tok.HasPrivilege("SeRestorePrivilege") || tok.HasPrivilege("SeTakeOwnershipPrivilege") {
					t.Fatal("the sandbox token holds an ownership privilege")
				}
				for _, rd := range ntsec.OpenReadings() {
					a := rd.Alone()
					if g := ntsec.AccessCheckUnder(a, top.SD, tok, ntsec.MaximumAllowed, ntsec.Directory).Granted; g&(ownerChange|ntsec.FileDeleteChild) != 0 {
						t.Errorf("medium=%v %s: the sandbox gets %s on the worktree under %s", medium, repo, g&(ownerChange|ntsec.FileDeleteChild), rd)
					}
					if g := ntsec.AccessCheckUnder(a, git.SD, tok, ntsec.MaximumAllowed, ntsec.Directory).Granted; g&writeProbe != 0 {
						t.Errorf("medium=%v %s: the sandbox gets %s on .git under %s", medium, repo, g&writeProbe, rd)
					}
				}
				// A repository the sandbox creates: .git owned by the
				// sandbox user.
				sub := simulateCreated(repo, top.SD, tok, sbGroup)[1]
				nested := ntsec.NewObject(sub.sd, ntsec.Directory, tok.User, sbGroup, nil)
				if gitTrusts(nested, real) {
					t.Errorf("%s: the user's git would trust a repository the sandbox created", repo)
				}
				if !ntsec.AccessCheck(nested, real, ntsec.WriteOwner, ntsec.Directory).Allowed {
					t.Errorf("%s: the user cannot take ownership of a repository the sandbox created", repo)
				}
			}
		}
		// A root that is no repository keeps its placeholder: the sandbox
		// cannot create .git there.
		tmpGit := mustStat(t, m, `C:\Users\me\AppData\Local\Temp\.git`)
		if tmpGit.SD.Owner != me {
			t.Errorf("placeholder owned by %s", tmpGit.SD.Owner)
		}
	}
}

// A creator may give a new object any DACL it likes (CreateFile's
// security attributes need no right on the object), so a hostile command
// can make a file or directory that shuts the real user out, and
// OWNER RIGHTS cannot stop that. What the plan keeps is the way out: the
// real user holds FILE_DELETE_CHILD on every root and on every directory
// the sandbox creates the ordinary way, so the topmost such object can be
// deleted (a file) or renamed out of the tree (a directory) through its
// parent, whatever its own DACL says; deleting a hostile directory's
// contents needs an administrator (takeown, icacls /reset). The sandbox
// itself gets no FILE_DELETE_CHILD there.
func TestElevatedHostileCreationCanBeMovedOut(t *testing.T) {
	m, in := appliedElevated(t, false)
	real := baseToken(in.User)
	for _, root := range []string{`C:\Users\me\ws`, `C:\src\proj`, `C:\ProgramData\app2\proj`} {
		rn := mustStat(t, m, root)
		tok := ElevatedToken(in.User, sbOffline, sbGroup, wsSID, genSID)
		hostile, err := ntsec.ParseSDDL("O:" + sbOffline.String() + "D:P(A;OICI;FA;;;" + sbOffline.String() + ")")
		if err != nil {
			t.Fatal(err)
		}
		if ntsec.AccessCheck(hostile, real, ntsec.FileReadData, ntsec.File).Allowed {
			t.Fatal("the hostile descriptor lets the user in: the test shows nothing")
		}
		sub := simulateCreated(root, rn.SD, tok, sbGroup)[1]
		for _, parent := range []created{{root, ntsec.Directory, rn.SD}, sub} {
			if !ntsec.AccessCheck(parent.sd, real, ntsec.FileDeleteChild, ntsec.Directory).Allowed {
				t.Errorf("%s: the user cannot delete or move out a hostile child", parent.path)
			}
			for _, rd := range ntsec.OpenReadings() {
				if ntsec.AccessCheckUnder(rd.Alone(), parent.sd, tok, ntsec.FileDeleteChild, ntsec.Directory).Allowed {
					t.Errorf("%s: the sandbox has FILE_DELETE_CHILD under %s", parent.path, rd)
				}
			}
		}
	}
}
