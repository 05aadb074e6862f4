package ntfs

// The propagation walk and the apply loop around it, run against an
// in-memory tree and held to aclplan.Apply's model: same descriptors node by
// node, same number of objects written, multi-linked files left alone, and
// an interrupted propagation rolled back to the tree as it was.

import (
	"context"
	"errors"
	"fmt"
	"math/rand"
	"reflect"
	"sort"
	"strings"
	"testing"

	"github.com/cordon-sandbox/cordon/internal/aclplan"
	"github.com/cordon-sandbox/cordon/internal/fsview"
	"github.com/cordon-sandbox/cordon/ntsec"
)

// memObj is an objHandle on a node of a fsview.Memory, doing to it what
// winObj does to NTFS.
type memObj struct {
	t    *testing.T
	m    *fsview.Memory
	path string
}

func (o memObj) examine() (object, error) {
	n, err := o.m.Stat(o.path)
	if err != nil {
		return object{}, err
	}
	// fsview.Node.ObjectType: a reparse point inherits as a directory.
	return object{dir: n.Type != fsview.File, link: n.IsReparse(), links: n.Links, sd: n.SD}, nil
}

func (o memObj) names() ([]string, error) {
	if n, _ := o.m.Stat(o.path); n.IsReparse() {
		o.t.Errorf("the walk listed the reparse point %s", o.path)
	}
	return o.m.List(o.path)
}

func (o memObj) open(name string) (objHandle, error) {
	p := join(o.path, name)
	if _, err := o.m.Stat(p); err != nil {
		return nil, err
	}
	return memObj{o.t, o.m, p}, nil
}

// write sets the parts ps of sd, as writeSD does: the rest stays.
func (o memObj) write(sd *ntsec.SecurityDescriptor, ps parts) error {
	n, err := o.m.Stat(o.path)
	if err != nil {
		return err
	}
	if n.MultiLinked() {
		o.t.Errorf("the walk wrote the multi-linked file %s", o.path)
	}
	return o.m.SetSD(o.path, withParts(n.SD, sd, ps))
}

func (o memObj) close() error { return nil }

// withParts is cur with the parts ps taken from sd.
func withParts(cur, sd *ntsec.SecurityDescriptor, ps parts) *ntsec.SecurityDescriptor {
	const daclBits = ntsec.DACLPresent | ntsec.DACLAutoInherited | ntsec.DACLProtected
	const saclBits = ntsec.SACLPresent | ntsec.SACLAutoInherited | ntsec.SACLProtected
	out := cur.Clone()
	if ps&daclPart != 0 {
		out.DACL = sd.DACL.Clone()
		out.Control = out.Control&^daclBits | sd.Control&daclBits
	}
	if ps&labelPart != 0 {
		out.SACL = sd.SACL.Clone()
		out.Control = out.Control&^saclBits | sd.Control&saclBits
	}
	return out
}

// memOps applies edits to m as applyEdit does to NTFS (the same nextDACL
// and nextLabel, the object's own descriptor written alone) and propagates
// with the walk.
func memOps(t *testing.T, m *fsview.Memory) ops {
	apply := func(e aclplan.Edit) (bool, error) {
		n, err := m.Stat(e.Path)
		if err != nil {
			return false, err
		}
		sd := &ntsec.SecurityDescriptor{Control: n.SD.Control}
		var ps parts
		switch e.Op {
		case aclplan.AddACE, aclplan.RemoveACE:
			next, ok := nextDACL(n.SD, e)
			if !ok {
				return false, nil
			}
			sd.DACL, ps = next, daclPart
		case aclplan.SetLabel, aclplan.RemoveLabel:
			next, ok := nextLabel(n.SD, e)
			if !ok {
				return false, nil
			}
			sd.SACL, ps = next, labelPart
			sd.Control |= ntsec.SACLPresent
		default:
			return false, fmt.Errorf("memOps: %s not supported", e.Op)
		}
		return true, m.SetSD(e.Path, withParts(n.SD, sd, ps))
	}
	prop := func(ctx context.Context, tops []string, written map[string]bool) (propResult, error) {
		return propagateTops(ctx, tops, written, func(top string) (objHandle, string, error) {
			n, err := m.Stat(top)
			if err != nil {
				return nil, "", err
			}
			return memObj{t, m, n.Path}, n.Path, nil
		})
	}
	return ops{apply: apply, propagate: prop}
}

var testOwner, _ = ntsec.ParseSID("S-1-5-21-1-2-3-1001")

// randomTree builds C:\ws and C:\outside with random objects below: files
// (some with two names), directories (some with explicit ACEs, a protected
// DACL, an explicit or protected label), junctions and symlinks. With
// stale, some objects hold inherited ACEs their parent no longer passes
// on, which propagation must rewrite as the model does.
func randomTree(t *testing.T, r *rand.Rand, stale bool) (*fsview.Memory, []string) {
	t.Helper()
	m := fsview.NewMemory()
	root := mustSD(t, "O:SYD:PAI(A;OICI;FA;;;SY)(A;OICI;FA;;;BA)(A;OICI;0x1200a9;;;BU)(A;OICIIO;GA;;;CO)")
	add := func(path string, typ fsview.Type, sd *ntsec.SecurityDescriptor, links uint32) {
		n := fsview.Node{Path: path, Type: typ, SD: sd, Links: links}
		if typ == fsview.Junction || typ == fsview.Symlink {
			n.Target = `C:\outside`
		}
		if err := m.Add(n); err != nil {
			t.Fatal(err)
		}
	}
	add(`C:\`, fsview.Directory, root, 0)
	var paths []string
	var grow func(dir string, parent *ntsec.SecurityDescriptor, depth int)
	grow = func(dir string, parent *ntsec.SecurityDescriptor, depth int) {
		for i := range r.Intn(5) {
			typ := []fsview.Type{fsview.File, fsview.File, fsview.Directory, fsview.Directory, fsview.Junction, fsview.Symlink}[r.Intn(6)]
			nt := ntsec.File
			if typ != fsview.File {
				nt = ntsec.Directory
			}
			sd := ntsec.NewObject(parent, nt, testOwner, ntsec.SID{}, nil)
			switch r.Intn(8) {
			case 0:
				sd = ntsec.SetDACL(parent, sd, nt, &ntsec.ACL{Entries: []ntsec.ACE{randomACE(r, 100+len(paths))}}, false)
			case 1:
				sd = ntsec.SetDACL(parent, sd, nt, &ntsec.ACL{Entries: []ntsec.ACE{{Type: ntsec.AccessAllowed, Flags: ntsec.ObjectInherit | ntsec.ContainerInherit, Mask: ntsec.FileAllAccess, SID: testOwner}}}, true)
			case 2, 3:
				sd = sd.Clone()
				entries := []ntsec.ACE{randomLabel(r)}
				if sd.SACL != nil {
					entries = append(entries, sd.SACL.Entries...)
				}
				sd.SACL = &ntsec.ACL{Revision: ntsec.ACLRevision, Entries: entries}
				sd.Control |= ntsec.SACLPresent
				if r.Intn(2) == 0 {
					sd.Control |= ntsec.SACLProtected
				}
			case 4:
				if stale {
					sd = sd.Clone()
					bogus := randomACE(r, 200+len(paths))
					bogus.Flags = ntsec.Inherited
					sd.DACL.Entries = append(sd.DACL.Entries, bogus)
				}
			}
			var links uint32
			if typ == fsview.File {
				links = 1
				if r.Intn(4) == 0 {
					links = 2
				}
			}
			p := fmt.Sprintf(`%s\%c%d`, dir, 'a'+rune(r.Intn(26)), i)
			add(p, typ, sd, links)
			paths = append(paths, p)
			if typ == fsview.Directory && depth < 4 {
				grow(p, sd, depth+1)
			}
		}
	}
	for _, top := range []string{`C:\ws`, `C:\outside`} {
		sd := ntsec.NewObject(root, ntsec.Directory, testOwner, ntsec.SID{}, nil)
		add(top, fsview.Directory, sd, 0)
		if top == `C:\ws` {
			paths = append(paths, top)
		}
		n := len(paths)
		grow(top, sd, 0)
		if top == `C:\outside` {
			paths = paths[:n] // edits stay inside C:\ws
		}
	}
	return m, paths
}

func randomACE(r *rand.Rand, id int) ntsec.ACE {
	sid, _ := ntsec.NewSID(5, 21, 9, 9, 9, uint32(id))
	flags := []ntsec.ACEFlags{ntsec.ObjectInherit | ntsec.ContainerInherit, ntsec.ContainerInherit, ntsec.ObjectInherit, 0,
		ntsec.ObjectInherit | ntsec.ContainerInherit | ntsec.NoPropagateInherit, ntsec.ObjectInherit | ntsec.ContainerInherit | ntsec.InheritOnly}[r.Intn(6)]
	if r.Intn(2) == 0 {
		return ntsec.ACE{Type: ntsec.AccessDenied, Flags: flags, Mask: aclplan.DenyWriteMask, SID: sid}
	}
	return ntsec.ACE{Type: ntsec.AccessAllowed, Flags: flags, Mask: aclplan.AllowMask, SID: sid}
}

func randomLabel(r *rand.Rand) ntsec.ACE {
	sid := []ntsec.SID{ntsec.LowLabel, ntsec.MediumLabel}[r.Intn(2)]
	flags := []ntsec.ACEFlags{ntsec.ObjectInherit | ntsec.ContainerInherit, ntsec.ContainerInherit, ntsec.ObjectInherit, 0}[r.Intn(4)]
	return ntsec.ACE{Type: ntsec.MandatoryLabel, Flags: flags, Mask: ntsec.LabelNoWriteUp, SID: sid}
}

// ownLabel is the explicit label of sd, nil for none.
func ownLabel(sd *ntsec.SecurityDescriptor) *ntsec.ACE {
	if sd.SACL == nil {
		return nil
	}
	for _, e := range sd.SACL.Entries {
		if e.Type == ntsec.MandatoryLabel && e.Flags&ntsec.Inherited == 0 {
			return &e
		}
	}
	return nil
}

// randomEdits picks one to four edits of objects in paths, each valid on
// the tree as the edits before it leave it, and only additions when
// additions.
func randomEdits(t *testing.T, r *rand.Rand, m *fsview.Memory, paths []string, additions bool) []aclplan.Edit {
	t.Helper()
	scratch := m.Clone()
	var edits []aclplan.Edit
	for i := range 1 + r.Intn(4) {
		p := paths[r.Intn(len(paths))]
		n, _ := scratch.Stat(p)
		var e aclplan.Edit
		switch op := r.Intn(4); {
		case op == 0 || op == 1 && additions:
			e = aclplan.Edit{Op: aclplan.AddACE, Path: p, ACE: randomACE(r, 300+i)}
		case op == 1:
			var explicit []ntsec.ACE
			for _, x := range n.SD.DACL.Entries {
				if x.Flags&ntsec.Inherited == 0 {
					explicit = append(explicit, x)
				}
			}
			if len(explicit) == 0 {
				continue
			}
			e = aclplan.Edit{Op: aclplan.RemoveACE, Path: p, ACE: explicit[r.Intn(len(explicit))]}
		case op == 2 || additions:
			e = aclplan.Edit{Op: aclplan.SetLabel, Path: p, ACE: randomLabel(r), Prev: ownLabel(n.SD)}
		default:
			l := ownLabel(n.SD)
			if l == nil {
				continue
			}
			e = aclplan.Edit{Op: aclplan.RemoveLabel, Path: p, ACE: *l}
		}
		if _, err := aclplan.Apply(scratch, []aclplan.Edit{e}); err != nil {
			t.Fatal(err)
		}
		edits = append(edits, e)
	}
	return edits
}

// sameTree reports, as test errors, the nodes whose descriptors differ
// between got and want: owner, DACL and its inheritance bits, labels.
func sameTree(t *testing.T, got, want *fsview.Memory, what string) {
	t.Helper()
	const bits = ntsec.DACLPresent | ntsec.DACLAutoInherited | ntsec.DACLProtected | ntsec.SACLProtected
	for _, root := range want.Roots() {
		want.Walk(root, func(w, _ *fsview.Node) bool {
			g, err := got.Stat(w.Path)
			switch {
			case err != nil:
				t.Errorf("%s: %s: %v", what, w.Path, err)
			case g.SD.Owner != w.SD.Owner || g.SD.Control&bits != w.SD.Control&bits || !g.SD.DACL.Equal(w.SD.DACL) || !sameLabels(g.SD.SACL, w.SD.SACL):
				t.Errorf("%s: %s:\n got  %s\n want %s", what, w.Path, g.SD.SDDL(), w.SD.SDDL())
			}
			return true
		})
	}
}

// below returns the nodes strictly below the outermost of tops, and the
// multi-linked files among them.
func below(m *fsview.Memory, tops []string) (all, linked []string) {
	for _, top := range aclplan.Outermost(tops) {
		m.Walk(top, func(n, _ *fsview.Node) bool {
			if n.Path != top {
				all = append(all, n.Path)
				if n.MultiLinked() {
					linked = append(linked, n.Path)
				}
			}
			return true
		})
	}
	sort.Strings(all)
	sort.Strings(linked)
	return all, linked
}

// The walk does what aclplan.Apply models, on random trees and edits: the
// same descriptors everywhere, the same count of objects written (one
// write per object), every object below the edited ones visited once,
// the multi-linked files reported and left alone.
func TestPropagateMatchesModel(t *testing.T) {
	var cases, linkedCases, rewrittenCases int
	defer func() {
		// The random trees must exercise what the test is about.
		if cases < 200 || linkedCases < 20 || rewrittenCases < 10 {
			t.Errorf("%d cases, %d with multi-linked files, %d with rewritten edited objects: too few", cases, linkedCases, rewrittenCases)
		}
	}()
	for seed := int64(0); seed < 300; seed++ {
		r := rand.New(rand.NewSource(seed))
		tree, paths := randomTree(t, r, seed%2 == 1)
		edits := randomEdits(t, r, tree, paths, false)
		if len(edits) == 0 {
			continue
		}
		model := tree.Clone()
		modelWrites, err := aclplan.Apply(model, edits)
		if err != nil {
			t.Fatal(err)
		}
		got := tree.Clone()
		var visited []string
		ctx := withTrace(context.Background(), func(p string, _ bool) { visited = append(visited, p) })
		rep, err := applyAll(ctx, edits, memOps(t, got))
		if err != nil {
			t.Fatalf("seed %d: %v", seed, err)
		}
		what := fmt.Sprintf("seed %d", seed)
		cases++
		if len(rep.Linked) > 0 {
			linkedCases++
		}
		if rep.Rewritten > 0 {
			rewrittenCases++
		}
		sameTree(t, got, model, what)
		if rep.Writes != modelWrites {
			t.Errorf("%s: %d objects written, the model %d (edits %v)", what, rep.Writes, modelWrites, edits)
		}
		var tops []string
		for _, e := range rep.Changed {
			tops = append(tops, e.Path)
		}
		all, linked := below(tree, tops)
		sort.Strings(visited)
		if !reflect.DeepEqual(visited, all) {
			t.Errorf("%s: visited %q, want %q", what, visited, all)
		}
		sort.Strings(rep.Linked)
		if !reflect.DeepEqual(rep.Linked, linked) && len(rep.Linked)+len(linked) > 0 {
			t.Errorf("%s: linked %q, want %q", what, rep.Linked, linked)
		}
		if rep.Propagated+len(distinctPaths(rep.Changed)) != rep.Writes {
			t.Errorf("%s: %d propagated + %d edited objects != %d writes", what, rep.Propagated, len(distinctPaths(rep.Changed)), rep.Writes)
		}
	}
}

func distinctPaths(edits []aclplan.Edit) map[string]bool {
	out := map[string]bool{}
	for _, e := range edits {
		out[objectKey(e.Path)] = true
	}
	return out
}

// A propagation interrupted anywhere is an error, and ApplyAll's rollback
// (the inverse edits, then propagation again) leaves the tree as it was.
func TestInterruptedPropagationRollsBack(t *testing.T) {
	cases := 0
	defer func() {
		if cases < 50 {
			t.Errorf("only %d interrupted propagations", cases)
		}
	}()
	for seed := int64(0); seed < 200; seed++ {
		r := rand.New(rand.NewSource(seed))
		tree, paths := randomTree(t, r, false)
		// Settle the tree first: a tree propagation would change is not
		// what a rollback can be held to.
		if _, err := memOps(t, tree).propagate(context.Background(), []string{`C:\ws`}, map[string]bool{}); err != nil {
			t.Fatal(err)
		}
		edits := randomEdits(t, r, tree, paths, true)
		if len(edits) == 0 {
			continue
		}
		var visits int
		probe := tree.Clone()
		ctx := withTrace(context.Background(), func(string, bool) { visits++ })
		if _, err := applyAll(ctx, edits, memOps(t, probe)); err != nil {
			t.Fatal(err)
		}
		if visits < 2 {
			continue // nothing, or only the last object, to stop before
		}
		// Cancelled while visiting object stop, it stops before the next.
		stop := 1 + r.Intn(visits-1)
		cases++
		cctx, cancel := context.WithCancel(context.Background())
		n := 0
		cctx = withTrace(cctx, func(string, bool) {
			if n++; n == stop {
				cancel()
			}
		})
		got := tree.Clone()
		_, err := applyAll(cctx, edits, memOps(t, got))
		cancel()
		if testing.Verbose() && seed < 3 {
			t.Log(err)
		}
		if !errors.Is(err, context.Canceled) || !strings.Contains(err.Error(), "interrupted") || !strings.Contains(err.Error(), "propagated again") {
			t.Fatalf("seed %d: stopped after %d of %d objects: %v", seed, stop, visits, err)
		}
		sameTree(t, got, tree, fmt.Sprintf("seed %d, rolled back after %d of %d objects", seed, stop, visits))
	}
}

// Apply, which does not roll back, still propagates from the edits made
// before one failed: they stay applied, all the way down.
func TestApplyPropagatesWhatWasDone(t *testing.T) {
	r := rand.New(rand.NewSource(1))
	tree, _ := randomTree(t, r, false)
	grant := aclplan.Edit{Op: aclplan.AddACE, Path: `C:\ws`, ACE: allowB}
	edits := []aclplan.Edit{grant, {Op: aclplan.AddACE, Path: `C:\gone`, ACE: allowB}}
	model := tree.Clone()
	modelWrites, err := aclplan.Apply(model, edits[:1])
	if err != nil {
		t.Fatal(err)
	}
	got := tree.Clone()
	rep, err := applyOnce(context.Background(), edits, memOps(t, got))
	if !errors.Is(err, fsview.ErrNotExist) || !strings.Contains(err.Error(), "edit 2 of 2") {
		t.Errorf("Apply: %v", err)
	}
	if rep.Writes != modelWrites {
		t.Errorf("%d writes, the model %d", rep.Writes, modelWrites)
	}
	sameTree(t, got, model, "after a failed edit")
}

// A failed propagation is rolled back like a failed edit, and propagated
// again from the same objects, removals included.
func TestApplyAllRollsBackPropagation(t *testing.T) {
	edits := []aclplan.Edit{
		{Op: aclplan.RemoveACE, Path: `C:\ws\.git`, ACE: allowB},
		{Op: aclplan.AddACE, Path: `C:\ws`, ACE: denyA},
		{Op: aclplan.AddACE, Path: `C:\tmp`, ACE: denyA}, // already in place
	}
	var calls []string
	o := ops{
		apply: func(e aclplan.Edit) (bool, error) {
			calls = append(calls, string(e.Op)+" "+e.Path)
			return e.Path != `C:\tmp`, nil
		},
		propagate: func(_ context.Context, tops []string, written map[string]bool) (propResult, error) {
			calls = append(calls, "propagate "+strings.Join(tops, " "))
			if len(calls) == 4 {
				return propResult{}, errors.New("propagate to C:\\ws\\x: access denied")
			}
			return propResult{}, nil
		},
	}
	_, err := applyAll(context.Background(), edits, o)
	want := []string{
		`remove C:\ws\.git`, `add C:\ws`, `add C:\tmp`, `propagate C:\ws\.git C:\ws`,
		`remove C:\ws`, `propagate C:\ws\.git C:\ws`,
	}
	if !reflect.DeepEqual(calls, want) {
		t.Errorf("calls:\n%s\nwant:\n%s", strings.Join(calls, "\n"), strings.Join(want, "\n"))
	}
	for _, s := range []string{`C:\ws\x: access denied`, "1 removals before it stay made", "1 additions before it rolled back", "propagated again"} {
		if err == nil || !strings.Contains(err.Error(), s) {
			t.Errorf("ApplyAll: %v; want it to say %q", err, s)
		}
	}
}

func TestChangedParts(t *testing.T) {
	for _, c := range []struct {
		cur, next string
		want      parts
	}{
		{"O:SYD:AI(A;ID;FA;;;SY)", "O:SYD:AI(A;ID;FA;;;SY)", 0},
		{"O:SYD:(A;ID;FA;;;SY)", "O:SYD:AI(A;ID;FA;;;SY)", daclPart},
		{"O:SYD:AI(A;ID;FA;;;SY)", "O:SYD:AI(A;ID;FA;;;SY)(A;ID;FA;;;BA)", daclPart},
		{"O:SYD:AI(A;ID;FA;;;SY)S:(ML;;NW;;;LW)", "O:SYD:AI(A;ID;FA;;;SY)S:AI(ML;;NW;;;LW)(ML;ID;NW;;;ME)", labelPart},
		{"O:SYD:(A;ID;FA;;;SY)", "O:SYD:AI(A;ID;FA;;;SY)S:AI(ML;ID;NW;;;LW)", daclPart | labelPart},
		{"O:SYD:AI(A;ID;FA;;;SY)S:", "O:SYD:AI(A;ID;FA;;;SY)S:", 0},
	} {
		if got := changedParts(mustSD(t, c.cur), mustSD(t, c.next)); got != c.want {
			t.Errorf("changedParts(%s, %s) = %b, want %b", c.cur, c.next, got, c.want)
		}
	}
	if got := join(`C:\`, "x"); got != `C:\x` {
		t.Errorf("join = %q", got)
	}
	if objectKey(`C:\WS\a`) != objectKey(`c:\ws\A`) {
		t.Error("objectKey: the same object, two keys")
	}
	if a, b := objectKey(`C:\ws\nul`), objectKey(`C:\other\nul`); a == b {
		t.Errorf("objectKey: two files named nul, one key %q", a)
	}
}
