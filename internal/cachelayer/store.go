package cachelayer

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"github.com/cordon-sandbox/cordon/internal/statedir"
)

// ErrBusy is wrapped by Clear's error when a run of the workspace holds
// its layers.
var ErrBusy = errors.New("a run of the workspace is using its cache layers")

// LayerUsage is one layer's directory and what it holds.
type LayerUsage struct {
	Name  string `json:"name"`           // "go-build", or "vars/GOCACHE" for a redirected variable
	Cache string `json:"cache,omitzero"` // the cache's path, when workspace.json names it
	Bytes int64  `json:"bytes"`          // the size of its regular files
	Files int    `json:"files"`
}

// Usage is one workspace's layers.
type Usage struct {
	Key       string       `json:"key"`
	Workspace string       `json:"workspace"` // "" when workspace.json is missing or unreadable
	InUse     bool         `json:"in_use"`    // a run holds the layers now
	Bytes     int64        `json:"bytes"`
	Layers    []LayerUsage `json:"layers"`
}

// List reports every workspace's layers in state, sorted by workspace.
func List(state string) ([]Usage, error) {
	root := filepath.Join(state, DirName)
	ents, err := os.ReadDir(root)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	var out []Usage
	for _, e := range ents {
		if !e.IsDir() || !isKey(e.Name()) {
			continue
		}
		out = append(out, usage(Workspace{Dir: filepath.Join(root, e.Name()), Key: e.Name()}))
	}
	sort.Slice(out, func(i, j int) bool {
		if out[i].Workspace != out[j].Workspace {
			return out[i].Workspace < out[j].Workspace
		}
		return out[i].Key < out[j].Key
	})
	return out, nil
}

func isKey(s string) bool {
	if len(s) != 16 {
		return false
	}
	for _, c := range s {
		if !strings.ContainsRune("0123456789abcdef", c) {
			return false
		}
	}
	return true
}

func usage(w Workspace) Usage {
	u := Usage{Key: w.Key, Layers: []LayerUsage{}}
	in := readInfo(w)
	u.Workspace = in.Workspace
	if release, ok, err := statedir.TryLock(w.LockPath(), true); err == nil && ok {
		release()
	} else if err == nil {
		u.InUse = true
	}
	add := func(name, dir string) {
		l := LayerUsage{Name: name, Cache: in.Caches[name]}
		for _, f := range files(dir) {
			l.Bytes += f.size
			l.Files++
		}
		u.Bytes += l.Bytes
		u.Layers = append(u.Layers, l)
	}
	vars := func(dir string) {
		ents, _ := os.ReadDir(dir)
		for _, v := range ents {
			if v.IsDir() {
				add("vars/"+v.Name(), filepath.Join(dir, v.Name()))
			}
		}
	}
	ents, _ := os.ReadDir(w.Dir)
	for _, e := range ents {
		switch {
		case !e.IsDir():
		case e.Name() == "vars":
			vars(filepath.Join(w.Dir, "vars"))
		default: // what the sandbox added is the upper layer; work/ is the overlay's scratch
			add(e.Name(), filepath.Join(w.Dir, e.Name(), "upper"))
		}
	}
	if d := in.varsIn(w.state()); d != "" {
		vars(d)
	}
	return u
}

// readInfo reads w's workspace.json; a missing or unreadable one is empty.
func readInfo(w Workspace) info {
	var in info
	if b, err := os.ReadFile(filepath.Join(w.Dir, "workspace.json")); err == nil {
		json.Unmarshal(b, &in)
	}
	return in
}

// file is a regular file of a layer, for sizes and eviction.
type file struct {
	path string
	size int64
	used time.Time // the later of its access and modification times
}

// files lists the regular files below dir. Whiteouts (character devices),
// directories and links are not counted: they hold no data, and removing a
// whiteout would bring back what the sandbox deleted from its view.
func files(dir string) []file {
	var out []file
	filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil || !d.Type().IsRegular() {
			return nil
		}
		fi, err := d.Info()
		if err != nil {
			return nil
		}
		out = append(out, file{path: p, size: fi.Size(), used: usedTime(fi)})
		return nil
	})
	return out
}

// Evict removes the least recently used regular files below dirs until
// what they hold is at most limit bytes (0: no limit). It reports what it
// removed. Removing a file of an overlay's upper layer brings back the
// user's own version, if any: the workspace loses only what it added.
func Evict(dirs []string, limit uint64) (removed int, freed int64, err error) {
	if limit == 0 {
		return 0, 0, nil
	}
	var all []file
	var total int64
	for _, d := range dirs {
		for _, f := range files(d) {
			all = append(all, f)
			total += f.size
		}
	}
	if total <= int64(min(limit, 1<<62)) {
		return 0, 0, nil
	}
	sort.Slice(all, func(i, j int) bool { return all[i].used.Before(all[j].used) })
	var errs []error
	for _, f := range all {
		if total <= int64(min(limit, 1<<62)) {
			break
		}
		if err := os.Remove(f.path); err != nil && !errors.Is(err, fs.ErrNotExist) {
			errs = append(errs, err)
			continue
		}
		removed++
		freed += f.size
		total -= f.size
	}
	return removed, freed, errors.Join(errs...)
}

// Clear removes the layers of the workspace with the given key, or of
// every workspace when key is "", and reports the keys it cleared. A
// workspace whose lock a run holds is left alone, and the error wraps
// ErrBusy naming it.
func Clear(state, key string) (cleared []string, err error) {
	var keys []string
	if key != "" {
		if !isKey(key) {
			return nil, fmt.Errorf("cachelayer: %q is not a workspace key", key)
		}
		keys = []string{key}
	} else {
		us, err := List(state)
		if err != nil {
			return nil, err
		}
		for _, u := range us {
			keys = append(keys, u.Key)
		}
	}
	var errs []error
	for _, k := range keys {
		w := Workspace{Dir: filepath.Join(state, DirName, k), Key: k}
		if _, err := os.Lstat(w.Dir); errors.Is(err, fs.ErrNotExist) {
			continue
		}
		release, ok, err := statedir.TryLock(w.LockPath(), true)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		if !ok {
			errs = append(errs, fmt.Errorf("%w: %s", ErrBusy, w.Dir))
			continue
		}
		// The variables' directories kept elsewhere go first: workspace.json,
		// which says where they are, goes with Dir.
		if d := readInfo(w).varsIn(state); d != "" {
			err = RemoveAll(d)
		}
		if err == nil {
			err = RemoveAll(w.Dir)
		}
		release()
		if err != nil {
			errs = append(errs, err)
			continue
		}
		cleared = append(cleared, k)
	}
	return cleared, errors.Join(errs...)
}

// RemoveAll removes dir and everything below it, as its owner: an
// overlay's work directory leaves directories of mode 0 behind, which
// os.RemoveAll alone cannot enter, so each directory is given back its
// owner's rights first. Whiteouts (0/0 character devices) and files with
// user.overlay.* attributes are ordinary directory entries to remove.
// Where os.RemoveAll still fails (Wine lacks the POSIX-semantics delete
// Go's Windows RemoveAll asks for), the entries are removed one by one,
// deepest first. Neither way follows a symbolic link or junction: the
// link is removed, never what it leads to.
func RemoveAll(dir string) error {
	err := os.RemoveAll(dir)
	if err == nil {
		return nil
	}
	// WalkDir calls back for a directory before it reads it.
	var paths []string
	filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err == nil && d.IsDir() {
			os.Chmod(p, 0o700)
		}
		paths = append(paths, p)
		return nil
	})
	if err = os.RemoveAll(dir); err == nil {
		return nil
	}
	var errs []error
	for i := len(paths) - 1; i >= 0; i-- {
		if err := os.Remove(paths[i]); err != nil && !errors.Is(err, fs.ErrNotExist) {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}
