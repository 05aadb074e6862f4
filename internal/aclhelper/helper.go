package aclhelper

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"time"

	"github.com/cordon-sandbox/cordon/internal/statedir"
	"github.com/cordon-sandbox/cordon/ntsec"
)

// Applier puts one item's ACE on its object. It must check before it
// writes (an ACE already in place writes nothing) and, when resumed, make
// sure the inheritance below the object is complete even if the ACE was
// already there: the helper that started the item may have died in
// between. Windows: NTFS (apply_windows.go).
type Applier interface {
	Apply(ctx context.Context, it Item, resumed bool) (changed bool, err error)
}

// Config is what Run needs.
type Config struct {
	// Dir is the state directory: the journal and its lock live there.
	Dir string
	// Mutex is the one-helper lock (NewMutex).
	Mutex Mutex
	// Plan, when set, computes the items of this helper's own request
	// (readacl.Make for its cwd and roots, as items); Run queues them
	// before it tries the mutex, so that a helper that finds another
	// running leaves its work to that one.
	Plan    func(ctx context.Context) ([]Item, error)
	Applier Applier
	// Group is the SID of CordonSandboxUsers: an item naming another SID
	// is refused (Item.Check). Zero checks the items' shape only.
	Group ntsec.SID
	// Logf logs progress; nil logs nothing.
	Logf func(format string, args ...any)
	// Now is the clock for the journal's timestamp; nil is time.Now.
	Now func() time.Time
}

func (c *Config) logf(format string, args ...any) {
	if c.Logf != nil {
		c.Logf(format, args...)
	}
}

func (c *Config) now() time.Time {
	if c.Now != nil {
		return c.Now()
	}
	return time.Now()
}

func journalPath(dir string) string { return filepath.Join(dir, JournalName) }
func journalLock(dir string) string { return filepath.Join(dir, "read-acl-journal.lock") }

// Enqueue adds items to the journal in dir (Add), under the journal's
// lock. A corrupt journal is replaced by one of items alone: what it held
// that is still missing, the next plan finds again.
func Enqueue(ctx context.Context, dir string, items []Item, logf func(string, ...any)) error {
	return statedir.WithLock(ctx, journalLock(dir), func() error {
		old, err := ReadJournal(journalPath(dir))
		if errors.Is(err, ErrCorrupt) {
			if logf != nil {
				logf("read ACL: %v; rebuilding it from the plan", err)
			}
			old, err = nil, nil
		}
		if err != nil {
			return err
		}
		return Add(old, items).Save(journalPath(dir), time.Now())
	})
}

// update runs f on the journal under its lock and saves it when f says
// so. A corrupt or missing journal is an empty one.
func (c *Config) update(ctx context.Context, f func(j *Journal) bool) error {
	return statedir.WithLock(ctx, journalLock(c.Dir), func() error {
		j, err := ReadJournal(journalPath(c.Dir))
		if errors.Is(err, ErrCorrupt) {
			c.logf("read ACL: %v; starting it afresh", err)
			j, err = nil, nil
		}
		if err != nil {
			return err
		}
		if j == nil {
			j = &Journal{}
		}
		if !f(j) {
			return nil
		}
		return j.Save(journalPath(c.Dir), c.now())
	})
}

// Run is the helper: it queues its own plan (Config.Plan), takes the
// mutex or returns ErrHeld, and applies the journal's items in order from
// the first not done, marking each started before and done after it is
// applied, until none is left; it then releases the mutex and, if items
// were queued meanwhile by a helper that found it held, takes it again.
// A cancelled ctx stops it between items, the journal saying where.
func Run(ctx context.Context, c Config) error {
	if c.Dir == "" || c.Mutex == nil || c.Applier == nil {
		return fmt.Errorf("read ACL helper: Dir, Mutex and Applier are required")
	}
	if c.Plan != nil {
		items, err := c.Plan(ctx)
		if err != nil {
			return fmt.Errorf("read ACL helper: plan: %w", err)
		}
		if err := Enqueue(ctx, c.Dir, items, c.Logf); err != nil {
			return err
		}
	}
	for again := false; ; again = true {
		ok, abandoned, err := c.Mutex.TryLock()
		if err != nil {
			return err
		}
		if !ok && again {
			return nil // another helper took over the queue
		}
		if !ok {
			return ErrHeld
		}
		if abandoned {
			c.logf("read ACL: the previous helper died holding the mutex; resuming from its journal")
		}
		err = c.drain(ctx)
		if uerr := c.Mutex.Unlock(); err == nil {
			err = uerr
		}
		if err != nil {
			return err
		}
		// Queued after drain's last look, by a helper that then saw the
		// mutex held: this one must take it again, or nobody would.
		st, err := Status(c.Dir, nil)
		if err != nil || st.Pending == 0 {
			return err
		}
	}
}

// drain applies items until none is pending. An item whose application
// fails is marked done with the error (Item.Failed) and the rest go on;
// drain returns the failures joined.
func (c *Config) drain(ctx context.Context) (failed error) {
	for {
		if err := ctx.Err(); err != nil {
			return err
		}
		var it Item
		var idx, total int
		var resumed, found bool
		err := c.update(ctx, func(j *Journal) bool {
			idx, total = j.Pending(), len(j.Items)
			if idx == total {
				return false
			}
			found = true
			resumed = j.Items[idx].Started
			j.Items[idx].Started = true
			it = j.Items[idx]
			return !resumed
		})
		if err != nil {
			return err
		}
		if !found {
			return failed
		}
		// The journal is a file: it is checked, not obeyed.
		var changed bool
		aerr := it.Check(c.Group)
		if aerr == nil {
			changed, aerr = c.Applier.Apply(ctx, it, resumed)
		}
		if aerr != nil && ctx.Err() != nil {
			return ctx.Err() // stopped, not failed: the item stays started
		}
		err = c.update(ctx, func(j *Journal) bool {
			for i := range j.Items {
				if j.Items[i].same(it) && !j.Items[i].Done {
					j.Items[i].Done = true
					if aerr != nil {
						j.Items[i].Failed = aerr.Error()
					}
					return true
				}
			}
			return false
		})
		if err != nil {
			return err
		}
		if aerr != nil {
			// One object that refuses (access denied, a path gone) must not
			// hold up the rest; the next plan asks for it again.
			c.logf("read ACL %d/%d: %s: failed: %v", idx+1, total, it.Path, aerr)
			failed = errors.Join(failed, fmt.Errorf("%s: %w", it.Path, aerr))
			continue
		}
		what := "already in place"
		if changed {
			what = "applied"
		}
		if resumed {
			what += ", resumed"
		}
		c.logf("read ACL %d/%d: %s %s (%s)", idx+1, total, it.Path, it.SID, what)
	}
}

// State is what Status reports, for `cordon doctor`.
type State struct {
	Done    int  `json:"done"`
	Failed  int  `json:"failed"` // of Done, those whose application failed
	Pending int  `json:"pending"`
	Running bool `json:"running"` // a helper holds the mutex
	// Current is the item a helper started and has not finished: the one
	// it is applying, or the one a dead helper left.
	Current *Item     `json:"current,omitempty"`
	Updated time.Time `json:"updated,omitzero"`
	// Corrupt says the journal failed its checks; the next helper
	// rebuilds it from its plan.
	Corrupt bool `json:"corrupt,omitempty"`
}

// Status reads the journal in dir (without its lock: it is replaced
// atomically) and, when m is not nil, whether a helper holds the mutex.
func Status(dir string, m Mutex) (State, error) {
	var st State
	j, err := ReadJournal(journalPath(dir))
	switch {
	case errors.Is(err, ErrCorrupt):
		st.Corrupt = true
	case err != nil:
		return st, err
	case j != nil:
		st.Updated = j.Updated
		for i, it := range j.Items {
			if it.Done {
				st.Done++
				if it.Failed != "" {
					st.Failed++
				}
				continue
			}
			st.Pending++
			if it.Started && st.Current == nil {
				st.Current = &j.Items[i]
			}
		}
	}
	if m != nil {
		if st.Running, err = m.Held(); err != nil {
			return st, err
		}
	}
	return st, nil
}
