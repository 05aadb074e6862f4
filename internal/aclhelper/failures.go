package aclhelper

import (
	"context"
	"errors"
)

// Failures returns the journal's items whose application failed, in
// journal order (the last is the most recent failure), for `cordon
// doctor`. A missing or corrupt journal has none.
func Failures(dir string) ([]Item, error) {
	j, err := ReadJournal(journalPath(dir))
	if errors.Is(err, ErrCorrupt) || j == nil {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	var out []Item
	for _, it := range j.Items {
		if it.Done && it.Failed != "" {
			out = append(out, it)
		}
	}
	return out, nil
}

// RequeueFailed marks the journal's failed items not done again, so that
// the next Run applies them once more (`cordon acl-helper
// --retry-failed`, after the cause, say a denied path, was dealt with).
// It returns how many it requeued. A corrupt journal is left for Run to
// rebuild.
func RequeueFailed(ctx context.Context, dir string) (int, error) {
	c := Config{Dir: dir}
	n := 0
	err := c.update(ctx, func(j *Journal) bool {
		for i := range j.Items {
			if it := &j.Items[i]; it.Done && it.Failed != "" {
				it.Started, it.Done, it.Failed = false, false, ""
				n++
			}
		}
		return n > 0
	})
	return n, err
}
