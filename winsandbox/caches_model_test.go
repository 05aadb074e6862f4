package winsandbox

import (
	"context"
	"fmt"
	"testing"

	"github.com/cordon-sandbox/cordon/internal/aclplan"
	"github.com/cordon-sandbox/cordon/internal/fsview"
	"github.com/cordon-sandbox/cordon/internal/winpath"
	"github.com/cordon-sandbox/cordon/ntsec"
	"github.com/cordon-sandbox/cordon/policy"
)

// The model's account of the Windows cache layers: two workspaces, a and
// b, each run with the plan the backend makes and applies, and the layer
// directories redirectCaches chose created below their own temp roots as
// cordon creates them. Then, under every open reading of the kernel's
// access check and at both integrity levels:
//
//   - a's sandbox token may create and change entries in a's layer;
//   - b's may not write a's layer at all, nor delete its entries, and
//     neither sandbox may write the user's own go-build;
//   - the planner's own proof of each plan holds: every node of the view,
//     the layers included, for the workspace's token and the other
//     workspace's. (That proof knows one workspace's roots: each plan is
//     made and proven on the machine before either is applied, then both
//     are applied for the checks above.)
//
// Reads are not restricted by a write-restricted token: b's sandbox reads
// a's layer as it reads a's workspace, and the test says so.

const (
	modelState = `C:\Users\me\AppData\Local\cordon`
	modelUser  = `C:\Users\me\AppData\Local\go-build`
)

var (
	modelMe  = mustSID("S-1-5-21-1-2-3-1001")
	modelGen = mustSID("S-1-5-21-22-22-22-22")
	modelRO  = mustSID("S-1-5-21-33-33-33-33")
	modelA   = mustSID("S-1-5-21-11-11-11-11")
	modelB   = mustSID("S-1-5-21-44-44-44-44")
)

func mustSID(s string) ntsec.SID {
	v, err := ntsec.ParseSID(s)
	if err != nil {
		panic(err)
	}
	return v
}

// modelMachine is a user profile holding the user's go-build cache and
// cordon's state directory, with the two workspaces' own temp roots.
func modelMachine(t *testing.T) *fsview.Memory {
	t.Helper()
	m := fsview.NewMemory()
	add := func(path string, typ fsview.Type, sddl string) {
		t.Helper()
		var parent *ntsec.SecurityDescriptor
		if p, err := winpath.Parse(path); err != nil {
			t.Fatal(err)
		} else if pp, ok := p.Parent(); ok {
			pn, err := m.Stat(pp.String())
			if err != nil {
				t.Fatal(err)
			}
			parent = pn.SD
		}
		obj := ntsec.File
		if typ == fsview.Directory {
			obj = ntsec.Directory
		}
		sd := ntsec.NewObject(parent, obj, modelMe, ntsec.SID{}, nil)
		if sddl != "" {
			explicit, err := ntsec.ParseSDDL(sddl)
			if err != nil {
				t.Fatal(err)
			}
			if explicit.Owner.IsZero() {
				explicit.Owner = modelMe
			}
			sd = explicit
			if parent != nil {
				sd = ntsec.SetDACL(parent, explicit, obj, explicit.DACL, explicit.Control&ntsec.DACLProtected != 0)
			}
		}
		if err := m.Add(fsview.Node{Path: path, Type: typ, SD: sd}); err != nil {
			t.Fatal(err)
		}
	}
	D, F := fsview.Directory, fsview.File
	add(`C:\`, D, "O:SYD:PAI(A;OICI;FA;;;BA)(A;OICI;FA;;;SY)(A;OICIIO;SDGXGWGR;;;AU)(A;;0x1301bf;;;AU)(A;OICI;0x1200a9;;;BU)")
	add(`C:\Users`, D, "O:SYD:PAI(A;OICI;FA;;;SY)(A;OICI;FA;;;BA)(A;OICI;0x1200a9;;;BU)")
	add(`C:\Users\me`, D, "D:P(A;OICI;FA;;;SY)(A;OICI;FA;;;BA)(A;OICI;FA;;;"+modelMe.String()+")")
	for _, d := range []string{`C:\Users\me\a`, `C:\Users\me\b`, `C:\Users\me\AppData`, `C:\Users\me\AppData\Local`, modelUser, modelUser + `\00`, modelState, modelState + `\tmp`} {
		add(d, D, "")
	}
	add(modelUser+`\00\entry-d`, F, "")
	return m
}

// addNew adds path to m as a new object created in its parent (which must
// exist): what Windows gives it by inheritance.
func addNew(t *testing.T, m *fsview.Memory, path string, typ fsview.Type) {
	t.Helper()
	p, err := winpath.Parse(path)
	if err != nil {
		t.Fatal(err)
	}
	pp, _ := p.Parent()
	parent, err := m.Stat(pp.String())
	if err != nil {
		t.Fatal(err)
	}
	obj := ntsec.File
	if typ == fsview.Directory {
		obj = ntsec.Directory
	}
	if err := m.Add(fsview.Node{Path: path, Type: typ, SD: ntsec.NewObject(parent.SD, obj, modelMe, ntsec.SID{}, nil)}); err != nil {
		t.Fatal(err)
	}
}

// modelRun resolves a workspace-write run of ws as the backend does (its
// own temp root; the user's LOCALAPPDATA in the command's environment),
// creates the temp root and the layer directories in m, and plans and
// proves (aclplan.Make) on a copy of m without the other plans the plan
// for the workspace's SID, others being the other workspaces' SIDs. It
// returns the edits, for the caller to apply.
func modelRun(t *testing.T, m *fsview.Memory, ws string, sid ntsec.SID, others []ntsec.SID, medium bool) (cacheRedirect, []aclplan.Edit) {
	t.Helper()
	own, err := WorkspaceTemp(modelState, ws)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := m.Stat(own); err != nil {
		addNew(t, m, own, fsview.Directory)
	}
	env := []string{`USERPROFILE=C:\Users\me`, `LOCALAPPDATA=C:\Users\me\AppData\Local`}
	r, err := policy.Policy{Mode: policy.WorkspaceWrite, Cwd: ws, DefaultDenyRead: new(bool)}.Resolve(policy.Env{
		Rules: policy.Windows, TempDirs: []string{own}, TempOwned: true, CommandEnv: env,
	})
	if err != nil {
		t.Fatal(err)
	}
	red := redirectCaches(r, env)
	if len(red.Dirs) == 0 {
		t.Fatalf("%s: nothing redirected: %q", ws, red.Notes)
	}
	for _, d := range append([]string{red.Base}, red.Dirs...) {
		if _, err := m.Stat(d); err != nil {
			addNew(t, m, d, fsview.Directory)
		}
	}
	in := aclplan.Input{
		Policy: r, View: m.Clone(), Guards: []string{modelState},
		SIDs: aclplan.SIDs{Workspace: sid, Generic: modelGen, ReadOnly: modelRO, Others: others},
		User: aclplan.User{SID: modelMe, MediumIntegrity: medium},
	}
	if medium {
		in.Readings = []ntsec.Reading{ntsec.DefaultReading}
	}
	pl, err := aclplan.Make(context.Background(), in)
	if err != nil {
		t.Fatalf("%s: plan: %v", ws, err)
	}
	if !pl.Proof.OK || pl.Proof.Nodes < in.View.(*fsview.Memory).Len() {
		t.Fatalf("%s: proof %s, over %d nodes of %d", ws, pl.Proof.Summary(), pl.Proof.Nodes, in.View.(*fsview.Memory).Len())
	}
	return red, pl.Edits
}

func TestCacheLayersInTheModel(t *testing.T) {
	for _, medium := range []bool{false, true} {
		t.Run(fmt.Sprintf("medium=%v", medium), func(t *testing.T) {
			m := modelMachine(t)
			// What a's earlier run left in its layer, there before the
			// plans (a cold root's propagation reaches it).
			own, _ := WorkspaceTemp(modelState, `C:\Users\me\a`)
			for _, d := range []string{own, own + `\cache`, own + `\cache\GOCACHE`, own + `\cache\GOCACHE\00`} {
				addNew(t, m, d, fsview.Directory)
			}
			entryA := own + `\cache\GOCACHE\00\entry-a`
			addNew(t, m, entryA, fsview.File)
			redA, editsA := modelRun(t, m, `C:\Users\me\a`, modelA, []ntsec.SID{modelB}, medium)
			redB, editsB := modelRun(t, m, `C:\Users\me\b`, modelB, []ntsec.SID{modelA}, medium)
			if _, err := aclplan.Apply(m, append(editsA, editsB...)); err != nil {
				t.Fatal(err)
			}
			gocache := func(red cacheRedirect) string { return red.Base + `\GOCACHE` }
			if gocache(redA)+`\00\entry-a` != entryA {
				t.Fatalf("a's GOCACHE is %s", gocache(redA))
			}

			user := aclplan.User{SID: modelMe, MediumIntegrity: medium}
			tokA := aclplan.SandboxToken(user, modelA, modelGen)
			tokB := aclplan.SandboxToken(user, modelB, modelGen)
			readings := ntsec.OpenReadings()
			if medium {
				readings = []ntsec.Reading{ntsec.DefaultReading}
			}
			const addEntry = ntsec.FileWriteData | ntsec.FileAppendData // ADD_FILE | ADD_SUBDIRECTORY
			check := func(who string, tok *ntsec.Token, path string, want ntsec.AccessMask, allowed bool) {
				t.Helper()
				n, err := m.Stat(path)
				if err != nil {
					t.Fatal(err)
				}
				obj := ntsec.File
				if n.IsDir() {
					obj = ntsec.Directory
				}
				for _, r := range readings {
					// Each right asked for alone: the most any request gets.
					all, none := true, true
					for bit := ntsec.AccessMask(1); bit != 0 && bit <= want; bit <<= 1 {
						if want&bit == 0 {
							continue
						}
						if ntsec.AccessCheckUnder(r.Alone(), n.SD, tok, bit, obj).Allowed {
							none = false
						} else {
							all = false
						}
					}
					if allowed && !all || !allowed && !none {
						t.Errorf("%s, %s on %s under %s: want allowed=%v, got all=%v none=%v", who, want, path, r, allowed, all, none)
					}
				}
			}
			parentOf := func(p string) string { q, _ := winpath.Parse(p); pp, _ := q.Parent(); return pp.String() }

			// a writes its layer: new entries, and the ones it made.
			check("a", tokA, gocache(redA), addEntry, true)
			check("a", tokA, entryA, ntsec.FileWriteData|ntsec.Delete, true)
			// b writes its own, and nothing of a's.
			check("b", tokB, gocache(redB), addEntry, true)
			check("b", tokB, gocache(redA), addEntry|ntsec.FileDeleteChild|ntsec.WriteDAC, false)
			check("b", tokB, entryA, ntsec.FileWriteData|ntsec.FileAppendData|ntsec.Delete|ntsec.WriteDAC, false)
			check("b", tokB, parentOf(entryA), ntsec.FileDeleteChild, false)
			check("a", tokA, gocache(redB), addEntry, false)
			// Nobody writes the user's own cache.
			for _, tok := range []*ntsec.Token{tokA, tokB} {
				check("sandbox", tok, modelUser, addEntry|ntsec.FileDeleteChild, false)
				check("sandbox", tok, modelUser+`\00\entry-d`, ntsec.FileWriteData|ntsec.Delete, false)
			}
			// Reads are not restricted: b reads a's layer, as it reads a's
			// workspace and the user's cache (README: what stays open).
			check("b", tokB, entryA, ntsec.FileReadData, true)
		})
	}
}
