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
)

// PendingName is the file in the state directory that marks an
// application of edits whose propagation may not have finished.
const PendingName = "propagating.json"

// pending is the file form of the mark.
type pending struct {
	Version int      `json:"version"`
	Tops    []string `json:"tops"`
}

// Propagating runs apply, which applies edits and then propagates
// inheritance below the objects they changed, with a mark in dir naming
// those objects. Edits write their own objects first and the walk comes
// after: a process that dies in between leaves the objects below without
// what they should now inherit — a new grant that has not reached them,
// or, in a cleanup, a grant and Low label they should have lost — and a
// later plan sees the edits in place and plans nothing. The mark stays
// when apply fails or never returns, and Repair finishes the walk.
//
// The caller holds the run lock exclusive (HoldAlone, or Cleanup's), as
// Repair's caller must.
func Propagating(ctx context.Context, dir string, edits []aclplan.Edit, apply func() error) error {
	var tops []string
	for _, e := range edits {
		if e.Op != aclplan.RemoveDir {
			tops = append(tops, e.Path)
		}
	}
	if len(tops) == 0 {
		return apply()
	}
	b, err := json.Marshal(pending{Version: 1, Tops: tops})
	if err != nil {
		return fmt.Errorf("acelog: %w", err)
	}
	path := filepath.Join(dir, PendingName)
	if err := statedir.WriteFile(path, b); err != nil {
		return fmt.Errorf("acelog: marking the propagation: %w", err)
	}
	if err := apply(); err != nil {
		return err
	}
	if err := os.Remove(path); err != nil {
		return fmt.Errorf("acelog: clearing the propagation mark: %w", err)
	}
	return nil
}

// Repair finishes the propagation a mark in dir names, if there is one,
// with propagate, and then removes the mark. It reports whether there was
// one. A mark that cannot be read is an error naming the file, never
// ignored: the tree it names may be half propagated.
func Repair(ctx context.Context, dir string, propagate func(ctx context.Context, tops []string) error) (bool, error) {
	path := filepath.Join(dir, PendingName)
	data, err := os.ReadFile(path)
	if errors.Is(err, os.ErrNotExist) {
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("acelog: %w", err)
	}
	var p pending
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&p); err != nil || p.Version != 1 {
		return false, fmt.Errorf("acelog: %w: %s is not a propagation mark this cordon reads (%v): remove it after checking the trees below cordon's roots", ErrDamaged, path, err)
	}
	for _, t := range p.Tops {
		if _, err := fsview.Key(t); err != nil {
			return false, fmt.Errorf("acelog: %w: %s: path %q: %v", ErrDamaged, path, t, err)
		}
	}
	if err := propagate(ctx, p.Tops); err != nil {
		return true, fmt.Errorf("acelog: finishing an interrupted propagation: %w", err)
	}
	if err := os.Remove(path); err != nil {
		return true, fmt.Errorf("acelog: clearing the propagation mark: %w", err)
	}
	return true, nil
}
