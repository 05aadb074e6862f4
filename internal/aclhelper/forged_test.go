package aclhelper

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/cordon-sandbox/cordon/internal/readacl"
	"github.com/cordon-sandbox/cordon/internal/testutil"
	"github.com/cordon-sandbox/cordon/ntsec"
)

// The helper runs as you and the journal is a file: a journal written by
// someone else (its SHA-256 sum is no MAC, any writer recomputes it) must
// not make the helper grant Everyone full control, or the group write, or
// a right for another SID. Only the read plan's own shapes are applied;
// every other item is marked failed with ErrRefused and applies nothing.
func TestForgedJournalItemsAreRefused(t *testing.T) {
	everyone := mustSID("S-1-1-0")
	inherit := ntsec.ObjectInherit | ntsec.ContainerInherit
	forged := []Item{
		{Path: `C:\d0`, SID: everyone.String(), Mask: uint32(ntsec.GenericAll), Flags: inherit},     // any SID, any right
		{Path: `C:\d1`, SID: group.String(), Mask: uint32(ntsec.FileAllAccess), Flags: inherit},     // the group, but write
		{Path: `C:\d2`, SID: everyone.String(), Mask: uint32(readacl.ReadMask), Flags: inherit},     // a read grant for another SID
		{Path: `C:\d3`, SID: group.String(), Mask: uint32(readacl.ReadMask), Flags: inherit | 0x08}, // inherit-only: not the plan's
	}
	valid := grant(`C:\d4`)
	dir := testutil.TempDir(t)
	j := &Journal{Items: append(append([]Item(nil), forged...), valid)}
	if err := j.Save(journalPath(dir), time.Now()); err != nil {
		t.Fatal(err)
	}
	before := sddls(t, tree(t, 5))
	m := tree(t, 5)
	a := &memApplier{m: m, crashAt: -1}
	err := Run(context.Background(), Config{Dir: dir, Mutex: newMutex(t, dir), Applier: a, Group: group})
	if !errors.Is(err, ErrRefused) {
		t.Errorf("Run: %v, want ErrRefused", err)
	}
	if len(a.calls) != 1 || a.calls[0].path != valid.Path {
		t.Errorf("applied %+v, want only %s", a.calls, valid.Path)
	}
	after := sddls(t, m)
	for _, it := range forged {
		if after[it.Path] != before[it.Path] {
			t.Errorf("%s changed by a forged item: %s", it.Path, after[it.Path])
		}
	}
	st, serr := Status(dir, nil)
	if serr != nil || st.Failed != len(forged) || st.Pending != 0 {
		t.Errorf("status %+v, %v: want %d failed, none pending", st, serr, len(forged))
	}
	// Without the group known, the shape alone is checked: the write and
	// the inherit-only items are still refused.
	for _, it := range forged[:2] {
		if it.Check(ntsec.SID{}) == nil {
			t.Errorf("%+v passes the shape check", it)
		}
	}
	if err := valid.Check(group); err != nil {
		t.Errorf("the read plan's own grant: %v", err)
	}
}
