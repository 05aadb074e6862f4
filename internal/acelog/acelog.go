// Package acelog is cordon's record of every change it made to anyone's
// files: each ACE it added, each mandatory label it set (with the label it
// replaced) and each placeholder directory it created, kept
// in the state directory next to the capability SID store. `cordon cleanup`
// undoes exactly what the record lists, and nothing else: an ACE the user
// or another tool added, even one naming a capability SID, is not cordon's
// to remove. Without such a record, users find ACEs and ownership changes
// left on their repositories with no way to take them back.
//
// The record is written before the edits are applied (a write-ahead log):
// a cordon that dies half-way leaves behind at most entries for ACEs that
// were never written, which cleanup finds already absent and skips. Entries
// of edits that were rolled back, or of read-only guards revoked when their
// command ended, are forgotten.
package acelog

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"

	"github.com/cordon-sandbox/cordon/internal/aclplan"
	"github.com/cordon-sandbox/cordon/internal/fsview"
	"github.com/cordon-sandbox/cordon/internal/statedir"
	"github.com/cordon-sandbox/cordon/ntsec"
)

const (
	// FileName is the record's file in the state directory.
	FileName = "applied.json"
	// LockName is its lock file, never deleted (see capsid.LockName).
	LockName = "applied.lock"
	// RunLockName is the lock every running sandbox holds shared, from
	// before it records its edits until its command has ended; Cleanup
	// takes it exclusive, so it never removes ACEs a running command was
	// proven with, nor empties the record between a run's Record and its
	// application.
	RunLockName = "runs.lock"
	// SetupLockName is the lock a run holds exclusive while it plans,
	// records, applies and proves its edits: one run at a time.
	SetupLockName = "setup.lock"
	// Version is the record's format version. Label entries (op "label",
	// field "prev") came later without a new version: every version 1
	// record written before them still reads the same. A cordon older than
	// them calls a record holding one damaged (an unknown op or field) and
	// refuses to run or clean up until it is upgraded. That is the safe
	// failure: read on, the labels would fall out of the record, and no
	// cleanup would ever take them back.
	Version = 1
)

// ErrDamaged is returned, wrapped, for a record that exists but cannot be
// read: it is never replaced, since it is the only list of what cordon
// changed.
var ErrDamaged = errors.New("the record of applied ACEs is damaged")

// entry is one line of the record in file form.
type entry struct {
	Op    aclplan.Op `json:"op"` // "add", "create-dir" or "label"
	Path  string     `json:"path"`
	ACE   string     `json:"ace"`             // SDDL of the ACE
	Owner string     `json:"owner,omitempty"` // create-dir only
	// Prev is the SDDL of the explicit label a "label" entry replaced;
	// empty when the object had none.
	Prev string `json:"prev,omitempty"`
}

type file struct {
	Version int     `json:"version"`
	Entries []entry `json:"entries"`
}

// HoldRun takes the run lock in dir shared, for a sandbox about to record,
// apply and run; it returns the function that releases it.
func HoldRun(ctx context.Context, dir string) (release func(), err error) {
	return lock(ctx, dir, RunLockName, false)
}

// HoldAlone takes the run lock in dir exclusive: no sandboxed command runs
// while it is held. A cold run holds it while it applies, so that nothing
// runs in the trees its propagation rewrites. It returns the function that
// releases it.
func HoldAlone(ctx context.Context, dir string) (release func(), err error) {
	return lock(ctx, dir, RunLockName, true)
}

// HoldSetup takes the setup lock in dir exclusive; it returns the function
// that releases it.
func HoldSetup(ctx context.Context, dir string) (release func(), err error) {
	return lock(ctx, dir, SetupLockName, true)
}

// lock creates the state directory dir if needed and takes the lock file
// name in it.
func lock(ctx context.Context, dir, name string, exclusive bool) (func(), error) {
	if dir == "" {
		return nil, errors.New("acelog: empty state directory")
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("acelog: creating the state directory: %w", err)
	}
	return statedir.Lock(ctx, filepath.Join(dir, name), exclusive)
}

// ErrBusy is returned, wrapped, by Cleanup when ctx ended while sandboxed
// commands still held the run lock.
var ErrBusy = errors.New("sandboxed commands are still running")

// Record adds edits to the record in dir, skipping those already in it,
// and returns the ones it added. Only AddACE, SetLabel and CreateDir edits
// are recorded: they are what cordon adds; removals have nothing to undo.
func Record(ctx context.Context, dir string, edits []aclplan.Edit) ([]aclplan.Edit, error) {
	var added []aclplan.Edit
	err := change(ctx, dir, func(have []aclplan.Edit) ([]aclplan.Edit, error) {
		added = nil
		for _, e := range edits {
			if !recorded(e.Op) {
				continue
			}
			if index(have, e) < 0 {
				have = append(have, e)
				added = append(added, e)
			}
		}
		return have, nil
	})
	if err != nil {
		return nil, err
	}
	return added, nil
}

// Forget removes edits from the record in dir: edits that were rolled back,
// or undone by the caller.
func Forget(ctx context.Context, dir string, edits []aclplan.Edit) error {
	return change(ctx, dir, func(have []aclplan.Edit) ([]aclplan.Edit, error) {
		for _, e := range edits {
			if i := index(have, e); i >= 0 {
				have = append(have[:i], have[i+1:]...)
			}
		}
		return have, nil
	})
}

// Load returns the recorded edits in dir, oldest first. A missing record is
// empty; a damaged one is an error naming the file, never an empty record,
// since that would make cleanup forget what cordon changed.
func Load(ctx context.Context, dir string) ([]aclplan.Edit, error) {
	var out []aclplan.Edit
	err := statedir.WithLock(ctx, filepath.Join(dir, LockName), func() error {
		var err error
		out, err = read(filepath.Join(dir, FileName))
		return err
	})
	if errors.Is(err, os.ErrNotExist) {
		return nil, nil
	}
	return out, err
}

// Cleanup undoes everything recorded in dir with apply, which gets the
// inverse edits (aclplan.Inverse: grants removed before the denies guarding
// what they opened, placeholders removed if still empty), and then empties
// the record. It first takes the run lock exclusive, waiting for running
// sandboxes until ctx ends (an error wrapping ErrBusy); from then on ctx
// no longer stops it, since a cleanup cut short would leave a tree half
// cleaned. It holds the record's lock throughout. If
// apply fails, the record is kept whole, and a second cleanup tries again:
// removals already made stay made (cleanup's own removals are not rolled
// back), and removing an ACE that is gone does nothing.
func Cleanup(ctx context.Context, dir string, apply func(context.Context, []aclplan.Edit) error) ([]aclplan.Edit, error) {
	return CleanupRepairing(ctx, dir, apply, nil)
}

// CleanupRepairing is Cleanup that first, holding the run lock, finishes
// with propagate a propagation a killed run or cleanup left unfinished
// (Repair); nil propagate skips that.
func CleanupRepairing(ctx context.Context, dir string, apply func(context.Context, []aclplan.Edit) error, propagate func(context.Context, []string) error) ([]aclplan.Edit, error) {
	release, err := lock(ctx, dir, RunLockName, true)
	if err != nil {
		if ctx.Err() != nil {
			return nil, fmt.Errorf("acelog: %w: %w", ErrBusy, err)
		}
		return nil, fmt.Errorf("acelog: %w", err)
	}
	defer release()
	ctx = context.WithoutCancel(ctx)
	var undone []aclplan.Edit
	err = change(ctx, dir, func(have []aclplan.Edit) ([]aclplan.Edit, error) {
		// The record read, the walk a killed application left unfinished
		// comes first: it may be this record's own.
		if propagate != nil {
			if _, err := Repair(ctx, dir, propagate); err != nil {
				return nil, err
			}
		}
		if len(have) == 0 {
			return have, nil
		}
		inv := aclplan.Inverse(have)
		if err := Propagating(ctx, dir, inv, func() error { return apply(ctx, inv) }); err != nil {
			return nil, fmt.Errorf("cleanup: %w", err)
		}
		undone = inv
		return nil, nil
	})
	return undone, err
}

// change runs f on the record under its lock and saves what f returns.
func change(ctx context.Context, dir string, f func([]aclplan.Edit) ([]aclplan.Edit, error)) error {
	release, err := lock(ctx, dir, LockName, true)
	if err != nil {
		return err
	}
	defer release()
	path := filepath.Join(dir, FileName)
	have, err := read(path)
	if err != nil && !errors.Is(err, os.ErrNotExist) {
		return err
	}
	before, _ := encode(have)
	have, err = f(have)
	if err != nil {
		return err
	}
	after, err := encode(have)
	if err != nil {
		return err
	}
	if bytes.Equal(before, after) {
		return nil
	}
	return statedir.WriteFile(path, after)
}

// recorded reports whether edits of op are kept in the record.
func recorded(op aclplan.Op) bool {
	return op == aclplan.AddACE || op == aclplan.SetLabel || op == aclplan.CreateDir
}

func index(list []aclplan.Edit, e aclplan.Edit) int {
	k := key(e)
	for i, x := range list {
		if key(x) == k {
			return i
		}
	}
	return -1
}

// key identifies an edit: its object (by winpath's comparison key), ACE
// and, for a label that replaced another, that label. Two runs that set
// Low over different labels (someone relabelled the object in between)
// are two entries, so that cleanup, undoing the newer first, leaves the
// label as that someone set it rather than restoring the older one.
func key(e aclplan.Edit) string {
	p, err := fsview.Key(e.Path)
	if err != nil {
		p = e.Path
	}
	k := string(e.Op) + "\x00" + p + "\x00" + e.ACE.SDDL()
	if e.Prev != nil {
		k += "\x00" + e.Prev.SDDL()
	}
	return k
}

func read(path string) ([]aclplan.Edit, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	var f file
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&f); err != nil {
		return nil, fmt.Errorf("acelog: %w: %s: %v; it lists the ACEs cordon added, so it is not replaced: repair or remove it by hand", ErrDamaged, path, err)
	}
	if f.Version != Version {
		return nil, fmt.Errorf("acelog: %w: %s has version %d, this cordon understands %d", ErrDamaged, path, f.Version, Version)
	}
	out := make([]aclplan.Edit, 0, len(f.Entries))
	for i, e := range f.Entries {
		ed, err := e.edit()
		if err != nil {
			return nil, fmt.Errorf("acelog: %w: %s: entry %d: %w", ErrDamaged, path, i, err)
		}
		out = append(out, ed)
	}
	return out, nil
}

func (e entry) edit() (aclplan.Edit, error) {
	if !recorded(e.Op) {
		return aclplan.Edit{}, fmt.Errorf("op %q (want add, create-dir or label)", e.Op)
	}
	if _, err := fsview.Key(e.Path); err != nil {
		return aclplan.Edit{}, fmt.Errorf("path %q: %w", e.Path, err)
	}
	ed := aclplan.Edit{Op: e.Op, Path: e.Path, Reason: "recorded by cordon"}
	if e.Op == aclplan.SetLabel {
		ace, err := parseLabel(e.ACE)
		if err != nil {
			return aclplan.Edit{}, fmt.Errorf("ace: %w", err)
		}
		ed.ACE = ace
		if e.Prev != "" {
			prev, err := parseLabel(e.Prev)
			if err != nil {
				return aclplan.Edit{}, fmt.Errorf("prev: %w", err)
			}
			ed.Prev = &prev
		}
		return ed, nil
	}
	if e.Prev != "" {
		// Only a label replaces something; a prev elsewhere means the
		// entry is not what cordon wrote.
		return aclplan.Edit{}, fmt.Errorf("prev %q on op %q (only label entries have one)", e.Prev, e.Op)
	}
	sd, err := ntsec.ParseSDDL("D:" + e.ACE)
	if err != nil || sd.DACL == nil || len(sd.DACL.Entries) != 1 {
		return aclplan.Edit{}, fmt.Errorf("ace %q is not one ACE in SDDL", e.ACE)
	}
	ed.ACE = sd.DACL.Entries[0]
	if e.Owner != "" {
		if ed.Owner, err = ntsec.ParseSID(e.Owner); err != nil {
			return aclplan.Edit{}, fmt.Errorf("owner %q: %w", e.Owner, err)
		}
	}
	return ed, nil
}

// parseLabel parses s as one explicit mandatory label ACE. ParseSDDL
// already refuses anything but ML ACEs in a SACL; the type is checked
// again so that this does not rest on that. Anything beside the ACE (ACL
// flags, another section such as "D:…" after it) is refused, and so is an
// inherited label: cordon sets explicit labels only, and LabelEdit
// compares explicit ones.
func parseLabel(s string) (ntsec.ACE, error) {
	sd, err := ntsec.ParseSDDL("S:" + s)
	if err != nil {
		return ntsec.ACE{}, fmt.Errorf("%q is not a mandatory label ACE in SDDL: %w", s, err)
	}
	if sd.SACL == nil || len(sd.SACL.Entries) != 1 || sd.DACL != nil || !sd.Owner.IsZero() || !sd.Group.IsZero() || sd.Control != ntsec.SACLPresent {
		return ntsec.ACE{}, fmt.Errorf("%q is not one mandatory label ACE in SDDL", s)
	}
	ace := sd.SACL.Entries[0]
	if ace.Type != ntsec.MandatoryLabel || ace.Flags&ntsec.Inherited != 0 {
		return ntsec.ACE{}, fmt.Errorf("%q is not an explicit mandatory label ACE", s)
	}
	return ace, nil
}

func encode(edits []aclplan.Edit) ([]byte, error) {
	f := file{Version: Version, Entries: []entry{}}
	for _, e := range edits {
		en := entry{Op: e.Op, Path: e.Path, ACE: e.ACE.SDDL()}
		if !e.Owner.IsZero() {
			en.Owner = e.Owner.String()
		}
		if e.Prev != nil {
			en.Prev = e.Prev.SDDL()
		}
		f.Entries = append(f.Entries, en)
	}
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	enc.SetIndent("", "  ")
	if err := enc.Encode(f); err != nil {
		return nil, fmt.Errorf("acelog: encoding: %w", err)
	}
	return b.Bytes(), nil
}
