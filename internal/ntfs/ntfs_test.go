package ntfs

// Portable tests: path spelling, the decoders, the ACL edits and the
// apply/rollback loop run on every OS.

import (
	"context"
	"encoding/binary"
	"errors"
	"reflect"
	"runtime"
	"strings"
	"testing"
	"unicode/utf16"

	"github.com/cordon-sandbox/cordon/internal/aclplan"
	"github.com/cordon-sandbox/cordon/internal/fsview"
	"github.com/cordon-sandbox/cordon/internal/winpath"
	"github.com/cordon-sandbox/cordon/ntsec"
)

func TestResolve(t *testing.T) {
	for _, c := range []struct{ in, path, open string }{
		{`C:\Users\me\ws`, `C:\Users\me\ws`, `\\?\C:\Users\me\ws`},
		{`c:/users//me/./ws/`, `C:\users\me\ws`, `\\?\C:\users\me\ws`},
		{`C:\`, `C:\`, `\\?\C:\`},
		{`C:\ws\.git::$INDEX_ALLOCATION`, `C:\ws\.git`, `\\?\C:\ws\.git`},
		{`\\srv\share\x`, `\\srv\share\x`, `\\?\UNC\srv\share\x`},
		{`\\?\C:\ws\.git.`, `\\?\C:\ws\.git.`, `\\?\C:\ws\.git.`},
	} {
		p, open, err := resolve(c.in)
		if err != nil || p.String() != c.path || open != c.open {
			t.Errorf("resolve(%q) = %q, %q, %v; want %q, %q", c.in, p.String(), open, err, c.path, c.open)
		}
	}
	for _, bad := range []string{`\\.\pipe\x`, `C:\ws\nul`, `relative\path`, ``} {
		if _, _, err := resolve(bad); err == nil {
			t.Errorf("resolve(%q) succeeded", bad)
		}
	}
}

// reparseBuf builds a REPARSE_DATA_BUFFER with a substitute and a print
// name.
func reparseBuf(tag uint32, sub, print string, flags uint32) []byte {
	enc := func(s string) []byte {
		u := utf16.Encode([]rune(s))
		b := make([]byte, 2*len(u))
		for i, c := range u {
			binary.LittleEndian.PutUint16(b[2*i:], c)
		}
		return b
	}
	s, p := enc(sub), enc(print)
	var hdr []byte
	hdr = binary.LittleEndian.AppendUint16(hdr, 0)
	hdr = binary.LittleEndian.AppendUint16(hdr, uint16(len(s)))
	hdr = binary.LittleEndian.AppendUint16(hdr, uint16(len(s)))
	hdr = binary.LittleEndian.AppendUint16(hdr, uint16(len(p)))
	if tag == tagSymlink {
		hdr = binary.LittleEndian.AppendUint32(hdr, flags)
	}
	data := append(append(hdr, s...), p...)
	b := binary.LittleEndian.AppendUint32(nil, tag)
	b = binary.LittleEndian.AppendUint16(b, uint16(len(data)))
	b = binary.LittleEndian.AppendUint16(b, 0)
	return append(b, data...)
}

func TestReparseTarget(t *testing.T) {
	link, _ := winpath.Parse(`C:\ws\sub\link`)
	for _, c := range []struct {
		name  string
		buf   []byte
		tag   uint32
		want  string
		fails bool
	}{
		{"junction", reparseBuf(tagMountPoint, `\??\C:\Windows`, `C:\Windows`, 0), tagMountPoint, `C:\Windows`, false},
		{"junction to a volume", reparseBuf(tagMountPoint, `\??\Volume{0b1e}\`, ``, 0), tagMountPoint, `\\.\VOLUME{0B1E}`, false},
		{"symlink", reparseBuf(tagSymlink, `\??\D:\data\x`, `D:\data\x`, 0), tagSymlink, `D:\data\x`, false},
		{"symlink to a share", reparseBuf(tagSymlink, `\??\UNC\srv\share\x`, `\\srv\share\x`, 0), tagSymlink, `\\srv\share\x`, false},
		{"relative symlink", reparseBuf(tagSymlink, `..\..\other\f.txt`, `..\..\other\f.txt`, symlinkRelative), tagSymlink, `C:\other\f.txt`, false},
		{"cloud file", append(binary.LittleEndian.AppendUint32(nil, 0x9000001A), 0, 0, 0, 0), 0x9000001A, ``, false},
		{"short", []byte{3, 0, 0, 0xA0}, 0, ``, true},
		{"data overruns", reparseBuf(tagMountPoint, `\??\C:\x`, ``, 0)[:20], tagMountPoint, ``, true},
		{"empty name", reparseBuf(tagMountPoint, ``, ``, 0), tagMountPoint, ``, true},
	} {
		tag, got, err := reparseTarget(c.buf, link)
		if (err != nil) != c.fails || tag != c.tag || got != c.want {
			t.Errorf("%s: got 0x%08x %q %v; want 0x%08x %q, error %v", c.name, tag, got, err, c.tag, c.want, c.fails)
		}
	}
	// Volume GUID targets keep their verbatim spelling, which winpath
	// reads as a device: never inside a root.
	if got := win32Path(`\??\Volume{0b1e}\x`); got != `\\?\Volume{0b1e}\x` {
		t.Errorf("win32Path = %q", got)
	}
}

// dirBuf builds FILE_FULL_DIR_INFO entries, 8-byte aligned as Windows
// returns them.
func dirBuf(names ...string) []byte {
	var b []byte
	for i, n := range names {
		u := utf16.Encode([]rune(n))
		e := make([]byte, fullDirName+2*len(u))
		binary.LittleEndian.PutUint32(e[fullDirNameLen:], uint32(2*len(u)))
		for j, c := range u {
			binary.LittleEndian.PutUint16(e[fullDirName+2*j:], c)
		}
		for len(e)%8 != 0 {
			e = append(e, 0)
		}
		if i < len(names)-1 {
			binary.LittleEndian.PutUint32(e, uint32(len(e)))
		}
		b = append(b, e...)
	}
	return b
}

func TestDirNames(t *testing.T) {
	got, err := dirNames(dirBuf(".", "..", "b", "Ä.txt", ".git"), []string{"z"})
	if want := []string{"z", "b", "Ä.txt", ".git"}; err != nil || !reflect.DeepEqual(got, want) {
		t.Errorf("dirNames = %q, %v; want %q", got, err, want)
	}
	if got := sortNames(got); !reflect.DeepEqual(got, []string{".git", "b", "z", "Ä.txt"}) {
		t.Errorf("sorted: %q", got)
	}
	bad := dirBuf("a", "b")
	binary.LittleEndian.PutUint32(bad[fullDirNameLen:], 4000)
	if _, err := dirNames(bad, nil); err == nil {
		t.Error("a name overrunning the buffer was accepted")
	}
	if _, err := dirNames(bad[:10], nil); err == nil {
		t.Error("a truncated entry was accepted")
	}
}

var (
	capA, _ = ntsec.NewSID(5, 21, 7, 7, 7, 1)
	capB, _ = ntsec.NewSID(5, 21, 7, 7, 7, 2)
	denyA   = ntsec.ACE{Type: ntsec.AccessDenied, Flags: ntsec.ObjectInherit | ntsec.ContainerInherit, Mask: aclplan.DenyWriteMask, SID: capA}
	allowB  = ntsec.ACE{Type: ntsec.AccessAllowed, Flags: ntsec.ObjectInherit | ntsec.ContainerInherit, Mask: aclplan.AllowMask, SID: capB}
)

func mustSD(t *testing.T, sddl string) *ntsec.SecurityDescriptor {
	t.Helper()
	sd, err := ntsec.ParseSDDL(sddl)
	if err != nil {
		t.Fatalf("ParseSDDL(%q): %v", sddl, err)
	}
	return sd
}

// aclplan.WithACE and aclplan.WithoutACE, as ntfs uses them, must compute what aclplan.Apply
// does to an edited object.
func TestACLEditsMatchPlan(t *testing.T) {
	for _, sddl := range []string{
		"O:SYD:PAI(A;OICI;FA;;;SY)(A;OICI;FA;;;BA)",
		"O:SYD:AI(D;;WD;;;S-1-5-21-7-7-7-1)(A;;FA;;;SY)(A;OICIID;FA;;;BA)(A;OICIID;0x1200a9;;;BU)",
		"O:SYD:(A;OICIID;FA;;;SY)",
		"O:SYD:",
		"O:SYD:NO_ACCESS_CONTROL",
	} {
		for _, op := range []aclplan.Op{aclplan.AddACE, aclplan.RemoveACE} {
			for _, ace := range []ntsec.ACE{denyA, allowB} {
				sd := mustSD(t, sddl)
				if op == aclplan.RemoveACE && sd.DACL != nil {
					sd.DACL = aclplan.WithACE(sd.DACL, ace) // something to remove
				}
				m := fsview.NewMemory()
				if err := m.Add(fsview.Node{Path: `C:\`, Type: fsview.Directory, SD: sd}); err != nil {
					t.Fatal(err)
				}
				e := aclplan.Edit{Op: op, Path: `C:\`, ACE: ace}
				if _, err := aclplan.Apply(m, []aclplan.Edit{e}); err != nil {
					t.Fatal(err)
				}
				n, _ := m.Stat(`C:\`)
				next, changed := nextDACL(sd, e)
				if !changed {
					if op == aclplan.AddACE || sd.DACL != nil {
						t.Errorf("%s %s on %s: reported as already in effect", op, ace.SDDL(), sddl)
					}
					continue
				}
				if !next.Equal(n.SD.DACL) {
					t.Errorf("%s %s on %s:\n ntfs %s\n plan %s", op, ace.SDDL(), sddl, next.SDDL(), n.SD.DACL.SDDL())
				}
			}
		}
	}
}

func TestNextDACLWarm(t *testing.T) {
	sd := mustSD(t, "O:SYD:(D;OICI;0x1f0156;;;S-1-5-21-7-7-7-1)(A;OICIID;FA;;;SY)")
	if _, ok := nextDACL(sd, aclplan.Edit{Op: aclplan.AddACE, ACE: denyA}); ok {
		t.Error("AddACE of a present ACE would write")
	}
	if _, ok := nextDACL(sd, aclplan.Edit{Op: aclplan.RemoveACE, ACE: allowB}); ok {
		t.Error("RemoveACE of an absent ACE would write")
	}
	inherited := denyA
	inherited.Flags |= ntsec.Inherited
	sd.DACL.Entries[0] = inherited
	if _, ok := nextDACL(sd, aclplan.Edit{Op: aclplan.AddACE, ACE: denyA}); !ok {
		t.Error("an inherited copy counted as the explicit ACE")
	}
}

// What Windows makes of placeholderDACL (it plus the parent's inheritable
// ACEs) is what aclplan.Apply models for a CreateDir.
func TestPlaceholderDACLMatchesModel(t *testing.T) {
	owner, _ := ntsec.NewSID(5, 21, 1, 2, 3, 1001)
	for _, parent := range []string{
		"O:SYD:PAI(A;OICI;FA;;;SY)(A;OICI;FA;;;BA)(A;OICI;FA;;;S-1-5-21-1-2-3-1001)",
		"O:SYD:AI(A;OICIID;FA;;;SY)(A;OICIIO;GA;;;CO)(A;CI;0x1200a9;;;BU)",
		"O:SYD:(A;;FA;;;SY)(A;OI;FA;;;BU)", // nothing a directory inherits
	} {
		psd := mustSD(t, parent)
		e := aclplan.Edit{Op: aclplan.CreateDir, Path: `C:\ws\.git`, ACE: denyA, Owner: owner}
		m := fsview.NewMemory()
		for _, n := range []fsview.Node{{Path: `C:\`, Type: fsview.Directory, SD: mustSD(t, "O:SYD:(A;;FA;;;SY)")}, {Path: `C:\ws`, Type: fsview.Directory, SD: psd}} {
			if err := m.Add(n); err != nil {
				t.Fatal(err)
			}
		}
		if _, err := aclplan.Apply(m, []aclplan.Edit{e}); err != nil {
			t.Fatal(err)
		}
		model, _ := m.Stat(e.Path)
		got := placeholderDACL(psd, e, owner)
		got.Entries = append(got.Entries, ntsec.InheritACEs(psd.DACL, ntsec.Directory, owner, ntsec.SID{})...)
		if !got.Equal(model.SD.DACL) {
			t.Errorf("parent %s:\n windows %s\n model   %s", parent, got.SDDL(), model.SD.DACL.SDDL())
		}
	}
}

// noPropagation is ops that apply edits with apply and propagate nothing.
func noPropagation(apply applyFunc) ops {
	return ops{apply: apply, propagate: func(context.Context, []string, map[string]bool) (propResult, error) {
		return propResult{}, nil
	}}
}

func TestApplyAllRollsBack(t *testing.T) {
	ws := `C:\ws`
	edits := []aclplan.Edit{
		{Op: aclplan.CreateDir, Path: ws + `\.codex`, ACE: denyA},
		{Op: aclplan.AddACE, Path: ws + `\.git`, ACE: denyA}, // already in place
		{Op: aclplan.AddACE, Path: ws, ACE: allowB},
		{Op: aclplan.AddACE, Path: `C:\gone`, ACE: allowB},
		{Op: aclplan.AddACE, Path: `C:\never`, ACE: allowB},
	}
	var calls []string
	fake := func(failUndo bool) applyFunc {
		return func(e aclplan.Edit) (bool, error) {
			calls = append(calls, string(e.Op)+" "+e.Path)
			switch {
			case e.Path == `C:\gone`:
				return false, errors.New("add to C:\\gone: " + fsview.ErrNotExist.Error())
			case failUndo && e.Op == aclplan.RemoveDir:
				return false, errors.New("remove placeholder: access denied")
			}
			return e.Path != ws+`\.git`, nil
		}
	}
	done, err := run(context.Background(), edits, fake(false), false)
	if len(done) != 2 || err == nil || !strings.Contains(err.Error(), "edit 4 of 5") {
		t.Errorf("run: %d done, %v", len(done), err)
	}
	calls = nil
	_, err = applyAll(context.Background(), edits, noPropagation(fake(false)))
	want := []string{
		`create-dir C:\ws\.codex`, `add C:\ws\.git`, `add C:\ws`, `add C:\gone`,
		`remove C:\ws`, `remove C:\ws\.codex`, `remove-dir C:\ws\.codex`,
	}
	if !reflect.DeepEqual(calls, want) {
		t.Errorf("calls:\n%s\nwant:\n%s", strings.Join(calls, "\n"), strings.Join(want, "\n"))
	}
	if err == nil || !strings.Contains(err.Error(), `C:\gone`) || !strings.Contains(err.Error(), "2 additions before it rolled back") {
		t.Errorf("ApplyAll: %v", err)
	}
	calls = nil
	_, err = applyAll(context.Background(), edits, noPropagation(fake(true)))
	if err == nil || !strings.Contains(err.Error(), `C:\gone`) || !strings.Contains(err.Error(), "access denied") || len(calls) != 7 {
		t.Errorf("ApplyAll with a failing rollback: %v after %q", err, calls)
	}
	// A cancelled context stops the run, and the rollback still runs.
	ctx, cancel := context.WithCancel(context.Background())
	calls = nil
	_, err = applyAll(ctx, edits[:3], noPropagation(func(e aclplan.Edit) (bool, error) {
		calls = append(calls, string(e.Op)+" "+e.Path)
		if e.Op == aclplan.CreateDir {
			cancel()
		}
		return true, nil
	}))
	if !errors.Is(err, context.Canceled) || len(calls) != 3 {
		t.Errorf("cancelled: %v after %q", err, calls)
	}
	if _, err := applyAll(context.Background(), edits[:1], noPropagation(func(aclplan.Edit) (bool, error) { return false, errors.New("boom") })); err == nil || !strings.Contains(err.Error(), "nothing had been changed") {
		t.Errorf("first edit failing: %v", err)
	}
	// Success returns what changed: the edit already in place is not
	// this call's to undo.
	r, err := applyAll(context.Background(), edits[:3], noPropagation(fake(false)))
	changed := r.Changed
	if err != nil || len(changed) != 2 || changed[0].Path != ws+`\.codex` || changed[1].Path != ws {
		t.Errorf("changed %v, %v", changed, err)
	}
}

// A cleanup that fails half-way says its removals stay made: they have no
// inverse, and it does not pretend to have rolled them back.
func TestApplyAllRemovalsStay(t *testing.T) {
	edits := []aclplan.Edit{
		{Op: aclplan.RemoveACE, Path: `C:\ws`, ACE: allowB},
		{Op: aclplan.RemoveACE, Path: `C:\ws\.git`, ACE: denyA},
		{Op: aclplan.RemoveDir, Path: `C:\ws\.codex`},
	}
	var calls int
	_, err := applyAll(context.Background(), edits, noPropagation(func(e aclplan.Edit) (bool, error) {
		calls++
		if e.Op == aclplan.RemoveDir {
			return false, errors.New("access denied")
		}
		return true, nil
	}))
	if err == nil || !strings.Contains(err.Error(), "2 removals before it stay made") || strings.Contains(err.Error(), "rolled back") || calls != 3 {
		t.Errorf("ApplyAll of removals: %v after %d calls", err, calls)
	}
}

var (
	lowLabel    = aclplan.LowLabel
	mediumLabel = ntsec.ACE{Type: ntsec.MandatoryLabel, Mask: ntsec.LabelNoWriteUp, SID: ntsec.MediumLabel}
)

// nextLabel is aclplan.LabelEdit's compare-and-swap, and what it gives
// Windows is the explicit label alone (the inherited one Windows re-adds),
// an empty SACL when there is none left, never nil.
func TestNextLabel(t *testing.T) {
	prevMedium := mediumLabel
	for _, c := range []struct {
		name, sddl string
		e          aclplan.Edit
		want       string // the explicit part; "-" for no write
	}{
		{"set over none", "O:SYD:(A;;FA;;;SY)", aclplan.Edit{Op: aclplan.SetLabel, ACE: lowLabel}, "(ML;OICI;NW;;;LW)"},
		{"set over an inherited label", "O:SYD:(A;;FA;;;SY)S:AI(ML;OICIID;NW;;;ME)", aclplan.Edit{Op: aclplan.SetLabel, ACE: lowLabel}, "(ML;OICI;NW;;;LW)"},
		{"set over the expected label", "O:SYD:(A;;FA;;;SY)S:(ML;;NW;;;ME)", aclplan.Edit{Op: aclplan.SetLabel, ACE: lowLabel, Prev: &prevMedium}, "(ML;OICI;NW;;;LW)"},
		{"set, someone changed it", "O:SYD:(A;;FA;;;SY)S:(ML;;NW;;;ME)", aclplan.Edit{Op: aclplan.SetLabel, ACE: lowLabel}, "-"},
		{"set, already set", "O:SYD:(A;;FA;;;SY)S:(ML;OICI;NW;;;LW)", aclplan.Edit{Op: aclplan.SetLabel, ACE: lowLabel, Prev: &prevMedium}, "-"},
		{"remove", "O:SYD:(A;;FA;;;SY)S:(ML;OICI;NW;;;LW)", aclplan.Edit{Op: aclplan.RemoveLabel, ACE: lowLabel}, ""},
		{"remove, inherited stays", "O:SYD:(A;;FA;;;SY)S:AI(ML;OICI;NW;;;LW)(ML;OICIID;NW;;;ME)", aclplan.Edit{Op: aclplan.RemoveLabel, ACE: lowLabel}, ""},
		{"remove, someone changed it", "O:SYD:(A;;FA;;;SY)S:(ML;;NW;;;ME)", aclplan.Edit{Op: aclplan.RemoveLabel, ACE: lowLabel}, "-"},
		{"remove, none", "O:SYD:(A;;FA;;;SY)", aclplan.Edit{Op: aclplan.RemoveLabel, ACE: lowLabel}, "-"},
	} {
		sd := mustSD(t, c.sddl)
		next, ok := nextLabel(sd, c.e)
		if !ok {
			if c.want != "-" {
				t.Errorf("%s: no write", c.name)
			}
			continue
		}
		if next == nil {
			t.Fatalf("%s: a nil SACL", c.name)
		}
		if got := explicitPart(next).SDDL(); got != c.want {
			t.Errorf("%s: writes %q, want %q", c.name, got, c.want)
		}
		// What Windows holds after the write is what aclplan.Apply models.
		model, _ := aclplan.LabelEdit(sd, c.e)
		if model.SACL != nil && !next.Equal(model.SACL) || model.SACL == nil && len(next.Entries) != 0 {
			t.Errorf("%s: ntfs %s, plan %v", c.name, next.SDDL(), model.SACL)
		}
	}
}

// A failed run rolls back the labels it set, to the label each replaced;
// a failed cleanup keeps its label removals and undoes its restores.
func TestApplyAllRollsBackLabels(t *testing.T) {
	prev := mediumLabel
	var calls []string
	fake := func(e aclplan.Edit) (bool, error) {
		s := string(e.Op) + " " + e.Path
		if e.Op != aclplan.RemoveDir {
			s += " " + e.ACE.SDDL()
		}
		if e.Prev != nil {
			s += " over " + e.Prev.SDDL()
		}
		calls = append(calls, s)
		if e.Path == `C:\gone` {
			return false, errors.New("boom")
		}
		return true, nil
	}
	edits := []aclplan.Edit{
		{Op: aclplan.SetLabel, Path: `C:\ws`, ACE: lowLabel},
		{Op: aclplan.SetLabel, Path: `C:\tmp`, ACE: lowLabel, Prev: &prev},
		{Op: aclplan.AddACE, Path: `C:\gone`, ACE: allowB},
	}
	_, err := applyAll(context.Background(), edits, noPropagation(fake))
	want := []string{
		`label C:\ws (ML;OICI;NW;;;LW)`, `label C:\tmp (ML;OICI;NW;;;LW) over (ML;;NW;;;ME)`, `add C:\gone ` + allowB.SDDL(),
		`label C:\tmp (ML;;NW;;;ME) over (ML;OICI;NW;;;LW)`, `remove-label C:\ws (ML;OICI;NW;;;LW)`,
	}
	if !reflect.DeepEqual(calls, want) {
		t.Errorf("calls:\n%s\nwant:\n%s", strings.Join(calls, "\n"), strings.Join(want, "\n"))
	}
	if err == nil || !strings.Contains(err.Error(), "2 additions before it rolled back") {
		t.Errorf("ApplyAll: %v", err)
	}
	calls = nil
	cleanup := append(aclplan.Inverse(edits[:2]), aclplan.Edit{Op: aclplan.RemoveDir, Path: `C:\gone`})
	_, err = applyAll(context.Background(), cleanup, noPropagation(fake))
	want = []string{
		`label C:\tmp (ML;;NW;;;ME) over (ML;OICI;NW;;;LW)`, `remove-label C:\ws (ML;OICI;NW;;;LW)`, `remove-dir C:\gone`,
		`label C:\tmp (ML;OICI;NW;;;LW) over (ML;;NW;;;ME)`,
	}
	if !reflect.DeepEqual(calls, want) {
		t.Errorf("cleanup calls:\n%s\nwant:\n%s", strings.Join(calls, "\n"), strings.Join(want, "\n"))
	}
	if err == nil || !strings.Contains(err.Error(), "1 removals before it stay made") || !strings.Contains(err.Error(), "1 additions before it rolled back") {
		t.Errorf("ApplyAll of a cleanup: %v", err)
	}
}

func TestNotWindows(t *testing.T) {
	if runtime.GOOS == "windows" {
		t.Skip("Windows has NTFS views")
	}
	v := NewView()
	if _, err := v.Stat(`C:\`); !errors.Is(err, ErrNotWindows) {
		t.Errorf("Stat: %v", err)
	}
	if _, err := v.List(`C:\`); !errors.Is(err, ErrNotWindows) {
		t.Errorf("List: %v", err)
	}
	if v.Reads() != 2 {
		t.Errorf("Reads = %d", v.Reads())
	}
	if _, err := Apply(context.Background(), nil); !errors.Is(err, ErrNotWindows) {
		t.Errorf("Apply: %v", err)
	}
	if err := ApplyAll(context.Background(), nil); !errors.Is(err, ErrNotWindows) {
		t.Errorf("ApplyAll: %v", err)
	}
}

func TestTrimVerbatim(t *testing.T) {
	for in, want := range map[string]string{
		`\\?\C:\Users\me\ws`:         `C:\Users\me\ws`,
		`\\?\UNC\server\share\ws`:    `\\server\share\ws`,
		`C:\plain`:                   `C:\plain`,
		`\\?\Volume{0-1}\dir`:        `\\?\Volume{0-1}\dir`,
		`\\server\share\already-dos`: `\\server\share\already-dos`,
	} {
		if got := trimVerbatim(in); got != want {
			t.Errorf("trimVerbatim(%q) = %q, want %q", in, got, want)
		}
	}
}
