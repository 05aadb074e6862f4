// Package capsid keeps cordon's capability SIDs: the random SIDs that the
// Windows backend grants in file DACLs and puts in a restricted token as
// restricting SIDs, so that a sandboxed process may write exactly where one
// of its SIDs was granted.
//
// A capability SID only means something while the ACEs granting it and the
// store naming it agree, so the SIDs must survive from one run to the next:
// the store is a small versioned JSON file, capsids.json, in cordon's state
// directory ([StateDir]). It holds
//
//   - one generic SID, granted on temporary directories and extra writable
//     roots;
//   - one read-only SID;
//   - one SID per workspace, keyed by a normalised workspace key that the
//     caller computes (a case-folded path on Windows, a cleaned absolute path
//     elsewhere), with the workspace's original path and creation time.
//
// Rules that follow from the meaning of the SIDs, and from what went wrong in
// Codex's Windows sandbox, which this design learns from:
//
//   - SIDs come from crypto/rand. A SID is a key to every directory it was
//     granted on; Codex drew its SIDs from a non-cryptographic PRNG.
//   - A damaged, unreadable or newer-version store is an error naming the
//     file and the problem, never silently replaced by fresh SIDs:
//     regenerating would orphan every ACE already granted, so sandboxes would
//     lose write access to trees granted before, cordon would have to
//     re-stamp whole trees (the slow path Codex users hit) and the dead ACEs
//     would pile up. A human repairs or removes the file.
//   - Read-modify-write happens under an exclusive lock on capsids.lock and
//     the new file replaces the old one atomically, so concurrent cordon
//     processes never lose each other's SIDs and a crash never leaves half a
//     file.
//   - The store's size must never decide a token's size: callers put only
//     the SIDs a run needs into its token (generic, read-only, the current
//     workspace), keeping clear of the token limits behind Codex's error
//     1344, and [Store.GC] drops workspaces that no longer exist so the
//     file does not grow without bound (Codex's reached 189 entries).
//
// The state directory must never be granted to any capability SID: a
// sandboxed process able to rewrite the store could swap SIDs between
// workspaces.
package capsid

import (
	"crypto/rand"
	"encoding/binary"
	"errors"
	"fmt"
	"os"
	"sort"
	"time"

	"github.com/cordon-sandbox/cordon/ntsec"
)

// Version is the store format this package reads and writes. A file with
// any other version is refused: an older cordon must not rewrite (and so
// truncate) a store that a newer one extended.
const Version = 1

// ntAuthority and domainRID21 give capability SIDs the shape
// S-1-5-21-a-b-c-d, the shape of a domain or machine account SID, which
// Windows accepts anywhere a SID may appear in a DACL or token.
const (
	ntAuthority = 5
	domainRID21 = 21
)

// Workspace is one workspace's entry in the store.
type Workspace struct {
	// Key is the caller's normalised workspace key, the map key in
	// [Store.Workspaces].
	Key string
	// Path is the workspace path as first given, for display and for
	// [Store.GC]; it is not updated when the same key comes with a
	// differently spelt path.
	Path string
	// SID is the workspace's capability SID.
	SID ntsec.SID
	// Created is when the entry was made, in UTC, to the second.
	Created time.Time
}

// Store is the content of the capability SID store. Obtain one with [Load]
// or change the file with [Update]; [New] gives an empty one.
type Store struct {
	// Version is the format version, always [Version] in a valid store.
	Version int
	// Generic is granted on temporary directories and extra writable
	// roots; ReadOnly is the read-only SID. Both are zero until
	// [Store.EnsureBase] creates them.
	Generic, ReadOnly ntsec.SID
	// Workspaces maps workspace keys to entries.
	Workspaces map[string]Workspace
}

// New returns an empty store: no SIDs yet, the current version.
func New() *Store {
	return &Store{Version: Version, Workspaces: map[string]Workspace{}}
}

// NewSID returns a fresh capability SID S-1-5-21-a-b-c-d whose four
// sub-authorities (128 bits) come from crypto/rand, so that nobody can
// predict or reproduce another installation's SIDs.
func NewSID() (ntsec.SID, error) {
	var b [16]byte
	if _, err := rand.Read(b[:]); err != nil {
		return ntsec.SID{}, fmt.Errorf("capsid: reading random bytes for a SID: %w", err)
	}
	return ntsec.NewSID(ntAuthority, domainRID21,
		binary.LittleEndian.Uint32(b[0:]), binary.LittleEndian.Uint32(b[4:]),
		binary.LittleEndian.Uint32(b[8:]), binary.LittleEndian.Uint32(b[12:]))
}

// checkCapSID reports whether s has the shape NewSID produces. Anything else
// (a well-known SID such as Everyone, a real account) granted as a
// "capability" would hand the sandbox rights it was never meant to have.
func checkCapSID(s ntsec.SID) error {
	if s.IsZero() {
		return errors.New("is empty")
	}
	subs := s.SubAuthorities()
	if s.Authority() != ntAuthority || len(subs) != 5 || subs[0] != domainRID21 {
		return fmt.Errorf("%s is not a capability SID of the form S-1-5-21-a-b-c-d", s)
	}
	return nil
}

// sidSet returns every SID in s with a description of where it is.
func (s *Store) sidSet() map[ntsec.SID]string {
	m := make(map[ntsec.SID]string, len(s.Workspaces)+2)
	if !s.Generic.IsZero() {
		m[s.Generic] = `field "generic"`
	}
	if !s.ReadOnly.IsZero() {
		m[s.ReadOnly] = `field "read_only"`
	}
	for k, w := range s.Workspaces {
		if !w.SID.IsZero() {
			m[w.SID] = fmt.Sprintf("workspace %q", k)
		}
	}
	return m
}

// newUniqueSID returns a SID not yet in s. A collision among 128 random bits
// will not happen, but if the random source were broken, handing one SID to
// two scopes would silently merge them; failing is better.
func (s *Store) newUniqueSID() (ntsec.SID, error) {
	used := s.sidSet()
	for range 4 {
		sid, err := NewSID()
		if err != nil {
			return ntsec.SID{}, err
		}
		if _, dup := used[sid]; !dup {
			return sid, nil
		}
	}
	return ntsec.SID{}, errors.New("capsid: random SIDs keep colliding with existing ones; the random source is broken")
}

// EnsureBase creates the generic and read-only SIDs if they are missing and
// reports whether it changed s.
func (s *Store) EnsureBase() (changed bool, err error) {
	for _, p := range []*ntsec.SID{&s.Generic, &s.ReadOnly} {
		if !p.IsZero() {
			continue
		}
		sid, err := s.newUniqueSID()
		if err != nil {
			return changed, err
		}
		*p = sid
		changed = true
	}
	return changed, nil
}

// EnsureWorkspace returns the entry for key, creating it with a fresh SID,
// path and now as its creation time if there is none; the bool reports
// whether it was created. An existing entry is returned as is, even if path
// is spelt differently: the key, not the path, identifies the workspace.
func (s *Store) EnsureWorkspace(key, path string, now time.Time) (Workspace, bool, error) {
	if key == "" {
		return Workspace{}, false, errors.New("capsid: empty workspace key")
	}
	if w, ok := s.Workspaces[key]; ok {
		return w, false, nil
	}
	if path == "" {
		return Workspace{}, false, fmt.Errorf("capsid: workspace %q: empty path", key)
	}
	if now.IsZero() {
		return Workspace{}, false, fmt.Errorf("capsid: workspace %q: zero creation time", key)
	}
	sid, err := s.newUniqueSID()
	if err != nil {
		return Workspace{}, false, err
	}
	w := Workspace{Key: key, Path: path, SID: sid, Created: now.UTC().Truncate(time.Second)}
	if s.Workspaces == nil {
		s.Workspaces = map[string]Workspace{}
	}
	s.Workspaces[key] = w
	return w, true, nil
}

// List returns the workspaces sorted by key.
func (s *Store) List() []Workspace {
	out := make([]Workspace, 0, len(s.Workspaces))
	for _, w := range s.Workspaces {
		out = append(out, w)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Key < out[j].Key })
	return out
}

// GC removes the workspaces whose path no longer exists, according to
// exists, and returns them sorted by key. The ACEs granted to a removed SID
// are left behind on nothing or on files nobody's token holds; they grant
// nothing. exists should answer false only when the path is known to be
// gone: a workspace on an unplugged drive or unreachable share that is
// dropped gets a new SID when it comes back, and its tree must be granted
// again. [PathExists] answers that way.
func (s *Store) GC(exists func(path string) bool) []Workspace {
	var gone []Workspace
	for _, w := range s.List() {
		if !exists(w.Path) {
			gone = append(gone, w)
			delete(s.Workspaces, w.Key)
		}
	}
	return gone
}

// PathExists is the exists function for [Store.GC]: it reports false only
// when the path certainly does not exist, and true when it exists or cannot
// be checked (permission denied, I/O error).
func PathExists(path string) bool {
	_, err := os.Stat(path)
	return !errors.Is(err, os.ErrNotExist)
}

// Validate checks that s can be saved and used: the known version, SIDs of
// the capability form, complete workspace entries, and no SID used twice (two
// scopes sharing a SID would be one scope). It reports the first problem,
// naming the field as it appears in capsids.json.
func (s *Store) Validate() error {
	if s == nil {
		return errors.New("nil store")
	}
	if s.Version != Version {
		return fmt.Errorf("unknown version %d (this cordon understands version %d)", s.Version, Version)
	}
	seen := map[ntsec.SID]string{}
	use := func(sid ntsec.SID, where string) error {
		if prev, dup := seen[sid]; dup {
			return fmt.Errorf("duplicate SID %s: used by %s and by %s", sid, prev, where)
		}
		seen[sid] = where
		return nil
	}
	for _, f := range []struct {
		name string
		sid  ntsec.SID
	}{{"generic", s.Generic}, {"read_only", s.ReadOnly}} {
		if f.sid.IsZero() {
			continue
		}
		where := fmt.Sprintf("field %q", f.name)
		if err := checkCapSID(f.sid); err != nil {
			return fmt.Errorf("%s: %w", where, err)
		}
		if err := use(f.sid, where); err != nil {
			return err
		}
	}
	keys := make([]string, 0, len(s.Workspaces))
	for k := range s.Workspaces {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, key := range keys {
		w := s.Workspaces[key]
		where := fmt.Sprintf("workspace %q", key)
		switch {
		case key == "":
			return errors.New(`workspace with an empty key ""`)
		case w.Key != key:
			return fmt.Errorf("%s: entry has Key %q", where, w.Key)
		case w.Path == "":
			return fmt.Errorf("%s: empty path", where)
		case w.Created.IsZero():
			return fmt.Errorf("%s: zero creation time", where)
		}
		if err := checkCapSID(w.SID); err != nil {
			return fmt.Errorf(`%s: field "sid": %w`, where, err)
		}
		if err := use(w.SID, where); err != nil {
			return err
		}
	}
	return nil
}
