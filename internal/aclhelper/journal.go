// Package aclhelper is the engine of `cordon acl-helper`: the detached,
// long-lived process that applies the elevated mode's read grants
// (internal/readacl) off the command's path. One runs at a time on the
// machine, under the named mutex Local\CordonReadAcl (Mutex); its work is
// a journal in the state directory, each item marked done once applied,
// so that a helper killed midway is resumed by the next one from the
// first item not done; items are applied check-before-write (Applier), so
// applying one twice writes once. Status reports the journal and whether
// a helper holds the mutex, for `cordon doctor`.
package aclhelper

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"time"

	"github.com/cordon-sandbox/cordon/internal/aclplan"
	"github.com/cordon-sandbox/cordon/internal/readacl"
	"github.com/cordon-sandbox/cordon/internal/statedir"
	"github.com/cordon-sandbox/cordon/ntsec"
)

// JournalName is the journal's file name in the state directory.
const JournalName = "read-acl-journal.json"

// journalVersion is written in every journal; another version is
// rebuilt from the plan.
const journalVersion = 1

// Item is one ACE to put on one object: an AddACE edit of the read plan.
type Item struct {
	Path  string         `json:"path"`
	SID   string         `json:"sid"`
	Deny  bool           `json:"deny,omitempty"`
	Mask  uint32         `json:"mask"`
	Flags ntsec.ACEFlags `json:"flags"`
	// Started says the item was being applied when the journal was last
	// saved: a helper resuming it may find the ACE in place but its
	// propagation below cut short (Applier.Apply's resumed).
	Started bool `json:"started,omitempty"`
	Done    bool `json:"done,omitempty"`
	// Failed is the error applying the item gave, when it failed: it is
	// done all the same, so that it holds up nothing.
	Failed string `json:"failed,omitempty"`
}

// ItemOf returns the journal item of an AddACE edit.
func ItemOf(e aclplan.Edit) (Item, error) {
	if e.Op != aclplan.AddACE || (e.ACE.Type != ntsec.AccessAllowed && e.ACE.Type != ntsec.AccessDenied) {
		return Item{}, fmt.Errorf("journal: %s: only allow or deny ACEs to add", e)
	}
	return Item{Path: e.Path, SID: e.ACE.SID.String(), Deny: e.ACE.Type == ntsec.AccessDenied, Mask: uint32(e.ACE.Mask), Flags: e.ACE.Flags}, nil
}

// Edit returns the edit the item stands for.
func (it Item) Edit() (aclplan.Edit, error) {
	sid, err := ntsec.ParseSID(it.SID)
	if err != nil {
		return aclplan.Edit{}, fmt.Errorf("journal item %s: %w", it.Path, err)
	}
	typ := ntsec.AccessAllowed
	if it.Deny {
		typ = ntsec.AccessDenied
	}
	return aclplan.Edit{Op: aclplan.AddACE, Path: it.Path, ACE: ntsec.ACE{Type: typ, Flags: it.Flags, Mask: ntsec.AccessMask(it.Mask), SID: sid}, Reason: "read ACL helper"}, nil
}

// ErrRefused is wrapped in the failure of an item the helper will not
// apply: not one the read planner makes.
var ErrRefused = errors.New("read-ACL journal item refused")

// Check says whether the item is one readacl.Make could have planned: an
// allow of readacl.ReadMask or a deny of readacl.DenyMask, inheritable by
// files and folders (OI|CI) or not at all (a file's), and, when group is
// not zero, naming group. The helper runs as you and applies what the
// journal says; the journal's sum detects a torn write, not a forged one.
// So whoever could write the journal could otherwise have the helper grant
// any SID any right on any object: with Check, the worst a forged item
// asks for is that the sandbox group read something, which is still why
// the state directory must stay writable by you alone.
func (it Item) Check(group ntsec.SID) error {
	want := readacl.ReadMask
	if it.Deny {
		want = readacl.DenyMask
	}
	inherit := ntsec.ObjectInherit | ntsec.ContainerInherit
	switch {
	case ntsec.AccessMask(it.Mask) != want:
		return fmt.Errorf("%w: %s: mask %#x is not the read plan's %#x", ErrRefused, it.Path, it.Mask, uint32(want))
	case it.Flags != 0 && it.Flags != inherit:
		return fmt.Errorf("%w: %s: ACE flags %#x are not the read plan's", ErrRefused, it.Path, uint8(it.Flags))
	}
	sid, err := ntsec.ParseSID(it.SID)
	if err != nil {
		return fmt.Errorf("%w: %s: %v", ErrRefused, it.Path, err)
	}
	if !group.IsZero() && sid != group {
		return fmt.Errorf("%w: %s: names %s, not the sandbox group %s", ErrRefused, it.Path, sid, group)
	}
	return nil
}

// same says whether two items put the same ACE on the same object.
func (it Item) same(o Item) bool {
	return it.Path == o.Path && it.SID == o.SID && it.Deny == o.Deny && it.Mask == o.Mask && it.Flags == o.Flags
}

// Journal is the helper's batch and how far it got.
type Journal struct {
	Version int       `json:"version"`
	Updated time.Time `json:"updated"`
	Items   []Item    `json:"items"`
	// Sum is the SHA-256 of the journal with Sum empty: a journal whose
	// sum does not match was torn or edited, and is rebuilt.
	Sum string `json:"sum"`
}

// ErrCorrupt is returned, wrapped, by ReadJournal for a journal that does
// not parse, has another version or fails its sum.
var ErrCorrupt = errors.New("read-ACL journal is corrupt")

func (j *Journal) sum() (string, error) {
	c := *j
	c.Sum = ""
	b, err := json.Marshal(c)
	if err != nil {
		return "", err
	}
	h := sha256.Sum256(b)
	return hex.EncodeToString(h[:]), nil
}

// Pending returns the index of the first item not done, or len(Items).
func (j *Journal) Pending() int {
	for i, it := range j.Items {
		if !it.Done {
			return i
		}
	}
	return len(j.Items)
}

// ReadJournal reads the journal at path. A missing journal is (nil, nil).
func ReadJournal(path string) (*Journal, error) {
	b, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("read-ACL journal %s: %w", path, err)
	}
	var j Journal
	if err := json.Unmarshal(b, &j); err != nil {
		return nil, fmt.Errorf("%w: %s: %v", ErrCorrupt, path, err)
	}
	if j.Version != journalVersion {
		return nil, fmt.Errorf("%w: %s: version %d, want %d", ErrCorrupt, path, j.Version, journalVersion)
	}
	if s, err := j.sum(); err != nil || s != j.Sum {
		return nil, fmt.Errorf("%w: %s: its sum does not match", ErrCorrupt, path)
	}
	return &j, nil
}

// Save writes the journal to path atomically (statedir.WriteFile): after
// a crash the file holds this journal or the one before, never a mix.
func (j *Journal) Save(path string, now time.Time) error {
	j.Version, j.Updated = journalVersion, now.UTC()
	s, err := j.sum()
	if err != nil {
		return fmt.Errorf("read-ACL journal: %w", err)
	}
	j.Sum = s
	b, err := json.MarshalIndent(j, "", "  ")
	if err != nil {
		return fmt.Errorf("read-ACL journal: %w", err)
	}
	return statedir.WriteFile(path, b)
}

// Add returns the journal with plan's items queued: old's items stay as
// they are, unless every one is done (a finished batch, dropped), and
// each item of plan not already pending is appended, not done. An item
// old has done that a fresh plan asks for again is queued again: the
// planner plans only what is missing, so its ACE is gone since.
func Add(old *Journal, plan []Item) *Journal {
	j := &Journal{}
	if old != nil && old.Pending() < len(old.Items) {
		j.Items = append(j.Items, old.Items...)
	}
next:
	for _, it := range plan {
		it.Started, it.Done, it.Failed = false, false, ""
		for _, k := range j.Items {
			if k.same(it) && !k.Done {
				continue next
			}
		}
		j.Items = append(j.Items, it)
	}
	return j
}
