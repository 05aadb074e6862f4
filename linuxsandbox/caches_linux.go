package linuxsandbox

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"golang.org/x/sys/unix"

	"github.com/cordon-sandbox/cordon/internal/cachelayer"
	"github.com/cordon-sandbox/cordon/internal/envlist"
	"github.com/cordon-sandbox/cordon/internal/statedir"
	"github.com/cordon-sandbox/cordon/policy"
	"github.com/cordon-sandbox/cordon/sandbox"
)

// Tool caches (policy.Cache, internal/cachelayer). A workspace-write
// command gets each tool cache writable, and the user's cache stays
// exactly as it was:
//
//   - An existing cache becomes an overlay at its own (canonical) path in
//     the sandbox: the user's cache is the lower layer, read only; the
//     upper layer is the workspace's, in cordon's state directory, which
//     the sandbox never sees (it is always hidden). The init mounts it
//     right after the host's tree is cloned read-only (step 3 of the
//     layout in mounts_linux.go), so roots below a cache are bound over it
//     afterwards, from the host's tree, and protected names and deny-read
//     covers go on top as everywhere else. Landlock lets the command write
//     below each overlay's mount point.
//   - Only one run of a workspace may mount its upper layer at a time
//     (overlays must not share one); a run that finds it held gets a
//     layer of its own for the run, discarded afterwards.
//   - A cache that does not exist on the host is not created there: the
//     tool's variable (GOCACHE, npm_config_cache, …) is pointed at a
//     directory of the workspace's in the state directory instead, bound
//     writable at its own path. So is every cache when the kernel cannot
//     mount the overlay (the probe's cache-layers layer says which), and
//     without namespaces (only Landlock then grants the directory).
//   - A cache that is a symbolic link is layered at its target, where the
//     tool's accesses land.
//   - After the run, when the layers this run held exceed the cap, their
//     least recently used files are removed.

// LayerCaches is the probe layer that says how tool caches are layered:
// "overlay" or "variables".
const LayerCaches = "cache-layers"

const enforcesCaches = "A workspace-write command may write its tool caches (Go, npm, pip, cargo, Maven, Gradle, ~/.cache) while yours stay byte for byte unchanged: what it adds lives in a layer of its workspace's own, which no other workspace's sandbox sees."

// cacheMount is one overlay the init mounts: the cache's canonical path
// (mount point and lower layer, from the host's tree) and the layer's
// directory on the host, holding upper/ and work/.
type cacheMount struct {
	Path  string `json:"path"`
	Layer string `json:"layer"`
}

// cacheRun is the host side of a run's cache layers.
type cacheRun struct {
	mounts   []cacheMount
	binds    []string // variable directories, bound writable at their own paths
	env      []string // NAME=VALUE the command gets
	rw       []string // Landlock: writable below these
	own      []string // upper and variable directories this run may evict from
	cap      uint64
	releases []func()
	discard  []string // this run's own layers, removed afterwards
}

// forceCacheVariables makes runs redirect variables instead of mounting
// overlays (tests of the fallback).
var forceCacheVariables bool

// addCaches works out the run's cache layers and takes their locks. It
// fails the run only when ctx ends while waiting for `cordon cache clear`;
// anything else leaves the caches as they are without layers (read-only),
// and says why in the notes.
func (prep *prepared) addCaches(ctx context.Context, spec *sandbox.Spec, lp plan) error {
	caches := spec.Policy.Caches
	if len(caches) == 0 {
		return nil
	}
	skip := func(why string, args ...any) error {
		prep.notes = append(prep.notes, "tool caches stay read-only: "+fmt.Sprintf(why, args...))
		return nil
	}
	state, err := statedir.Dir()
	if err != nil || !filepath.IsAbs(state) {
		return skip("no state directory (%v)", err)
	}
	if err := os.MkdirAll(filepath.Join(state, cachelayer.DirName), 0o700); err != nil {
		return skip("%v", err)
	}
	if real, err := filepath.EvalSymlinks(state); err == nil {
		state = real
	}
	cwd, err := filepath.EvalSymlinks(spec.Policy.Cwd)
	if err != nil {
		return skip("workspace %s: %v", spec.Policy.Cwd, err)
	}
	ws := cachelayer.Open(state, cwd)
	release, err := statedir.Lock(ctx, ws.LockPath(), false)
	if err != nil {
		if ctx.Err() != nil {
			return fmt.Errorf("%w: waiting for the cache layers of %s (cordon cache clear holds them): %v", ErrBusy, cwd, err)
		}
		return skip("%v", err)
	}
	cr := &cacheRun{cap: spec.Policy.CacheCap, releases: []func(){release}}
	prep.caches = cr
	if err := os.MkdirAll(ws.Dir, 0o700); err != nil {
		return skip("%v", err)
	}
	_ = ws.Record(caches) // for cordon cache list; a full disk must not stop the run

	layers, notes := cachelayer.Plan(caches, filepath.EvalSymlinks, policy.POSIX.Within)
	prep.notes = append(prep.notes, notes...)
	overlay := lp.namespaces && lp.cacheOverlay && !forceCacheVariables
	if lp.cacheNote != "" {
		prep.notes = append(prep.notes, "tool caches go through their variables: "+lp.cacheNote)
	}
	var redirect []cachelayer.Layer
	for _, l := range layers {
		if why := prep.cacheConflict(l.Real, state); why != "" {
			prep.notes = append(prep.notes, fmt.Sprintf("tool cache %s (%s): %s: left as it is", l.Name, l.Real, why))
			continue
		}
		if !overlay || !l.Exists {
			redirect = append(redirect, l)
			continue
		}
		if err := cr.mountLayer(ws, l); err != nil {
			prep.notes = append(prep.notes, fmt.Sprintf("tool cache %s (%s): %v: stays read-only", l.Name, l.Real, err))
		}
	}
	if len(redirect) > 0 {
		env, dirs, skipped := cachelayer.Redirect(nil, envlist.POSIX, "/", redirect, ws.VarDir)
		for _, d := range dirs {
			if err := os.MkdirAll(d, 0o700); err != nil {
				return skip("%v", err)
			}
		}
		cr.env, cr.binds, cr.own = env, dirs, append(cr.own, dirs...)
		cr.rw = append(cr.rw, dirs...)
		for _, l := range redirect {
			if slices.Contains(skipped, l.Name) {
				prep.notes = append(prep.notes, fmt.Sprintf("tool cache %s (%s): no variable to point elsewhere: stays read-only", l.Name, l.Real))
			} else if !l.Exists {
				prep.notes = append(prep.notes, fmt.Sprintf("tool cache %s (%s) does not exist: %s points at the workspace's own directory instead", l.Name, l.Path, l.Var))
			}
		}
	}
	return nil
}

// cacheConflict says why the cache at real (canonical) cannot be layered,
// or "".
func (prep *prepared) cacheConflict(real, state string) string {
	within := func(p, root string) bool { return policy.POSIX.Within(p, root) }
	switch {
	case real == "/":
		return "the whole file system"
	case within(real, state) || within(state, real):
		return "it holds cordon's state directory, or lies in it"
	case anyUnder([]string{real}, prep.roots):
		return "inside a writable root, writable anyway"
	case anyUnder([]string{real}, privateTmpDirs) && !anyUnder([]string{real}, prep.hostTmp):
		return "in a private temp directory, which the sandbox does not see"
	}
	for _, d := range prep.denyRead {
		if within(real, d.Path) {
			return "hidden (deny-read)"
		}
	}
	return ""
}

// mountLayer readies the overlay of l: its upper layer if no other run
// holds it, else a layer of this run's own.
func (cr *cacheRun) mountLayer(ws cachelayer.Workspace, l cachelayer.Layer) error {
	dir := ws.LayerDir(l.Name)
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return err
	}
	sweepRunLayers(dir)
	release, ok, err := statedir.TryLock(filepath.Join(dir, "inuse.lock"), true)
	if err != nil {
		return err
	}
	if ok {
		// A run killed mid-write leaves the work directory dirty; the
		// overlay must start from an empty one.
		if err := cachelayer.RemoveAll(filepath.Join(dir, "work")); err != nil {
			release()
			return fmt.Errorf("empty the work directory: %w", err)
		}
		for _, d := range []string{"upper", "work"} {
			if err := os.MkdirAll(filepath.Join(dir, d), 0o700); err != nil {
				release()
				return err
			}
		}
		// The overlay's root has the upper layer's mode: the cache's own.
		if fi, err := os.Stat(l.Real); err == nil {
			os.Chmod(filepath.Join(dir, "upper"), fi.Mode().Perm())
		}
		cr.releases = append(cr.releases, release)
		cr.own = append(cr.own, filepath.Join(dir, "upper"))
	} else {
		// Another run of the workspace holds the upper layer.
		run, err := os.MkdirTemp(dir, "run-")
		if err != nil {
			return err
		}
		release, ok, err := statedir.TryLock(filepath.Join(run, "lock"), true)
		if err == nil && !ok {
			err = errors.New("a fresh layer's lock is held")
		}
		if err == nil {
			err = errors.Join(os.Mkdir(filepath.Join(run, "upper"), 0o700), os.Mkdir(filepath.Join(run, "work"), 0o700))
		}
		if err != nil {
			if release != nil {
				release()
			}
			cachelayer.RemoveAll(run)
			return err
		}
		cr.releases = append(cr.releases, release)
		cr.discard = append(cr.discard, run)
		dir = run
	}
	cr.mounts = append(cr.mounts, cacheMount{Path: l.Real, Layer: dir})
	cr.rw = append(cr.rw, l.Real)
	return nil
}

// sweepRunLayers removes the discarded layers of runs that are gone
// (cordon killed before it could remove its own): those whose lock
// nobody holds.
func sweepRunLayers(dir string) {
	runs, _ := filepath.Glob(filepath.Join(dir, "run-*"))
	for _, run := range runs {
		if _, err := os.Stat(filepath.Join(run, "lock")); err != nil {
			continue // being made, or not ours
		}
		release, ok, err := statedir.TryLock(filepath.Join(run, "lock"), true)
		if err != nil || !ok {
			continue
		}
		cachelayer.RemoveAll(run)
		release()
	}
}

// finish runs after the sandbox is gone: it evicts what exceeds the cap
// from the layers this run held, removes its own discarded layers and
// releases the locks.
func (cr *cacheRun) finish() {
	if cr == nil {
		return
	}
	_, _, _ = cachelayer.Evict(cr.own, cr.cap)
	for _, d := range cr.discard {
		cachelayer.RemoveAll(d)
	}
	for i := len(cr.releases) - 1; i >= 0; i-- {
		cr.releases[i]()
	}
	*cr = cacheRun{}
}

// commandEnv adds the variables that point tools at the workspace's
// directories to env.
func (cr *cacheRun) commandEnv(env []string) []string {
	if cr == nil {
		return env
	}
	for _, kv := range cr.env {
		k, v, _ := strings.Cut(kv, "=")
		if k == "MAVEN_OPTS" {
			// Redirect built it without the caller's own options.
			if old, ok := envlist.POSIX.Lookup(env, k); ok {
				v = strings.TrimSpace(old + " " + v)
			}
		}
		env = envlist.POSIX.Set(env, k, v)
	}
	return env
}

// writable is what Landlock must let the command write.
func (cr *cacheRun) writable() []string {
	if cr == nil {
		return nil
	}
	return cr.rw
}

// overlayFailed is in the setup error of an overlay that did not mount.
const overlayFailed = "mount the overlay"

// cacheOverlayFailed reports whether err is the failure of a cache's
// overlay to mount (the probe mounted one in the state directory, but
// this cache's file system, say, takes none) and if so, turns lp to the
// variables and keeps why, for the log: the run is started again that way.
func (lp *plan) cacheOverlayFailed(err error) bool {
	var se *SetupError
	if !lp.cacheOverlay || !errors.As(err, &se) || !strings.Contains(se.Msg, overlayFailed) {
		return false
	}
	lp.cacheOverlay, lp.cacheNote = false, se.Msg
	return true
}

// overlayOpts are the mount options of an overlay of lower under the
// layer directory layer (holding upper/ and work/). userxattr: the
// overlay's own attributes are user.overlay.*, which an unprivileged
// mount may set (Linux 5.11). Paths are escaped as overlayfs unescapes
// them.
func overlayOpts(lower, layer string) string {
	esc := strings.NewReplacer(`\`, `\\`, `:`, `\:`, `,`, `\,`).Replace
	return "lowerdir=" + esc(lower) + ",upperdir=" + esc(layer+"/upper") + ",workdir=" + esc(layer+"/work") + ",userxattr"
}

// mountCaches mounts each cache's overlay in the new root, its lower layer
// the host's cache and its layer directory the host's, both from the
// host's tree at oldRoot.
func mountCaches(ms []cacheMount) error {
	for _, m := range ms {
		if err := unix.Mount("cordon-cache", newRoot+m.Path, "overlay", unix.MS_NOSUID|unix.MS_NODEV, overlayOpts(oldRoot+m.Path, oldRoot+m.Layer)); err != nil {
			return fmt.Errorf("tool cache %s: %s: %w", m.Path, overlayFailed, err)
		}
	}
	return nil
}

// attachRoot binds the writable root r read-write. Below a cache's
// overlay it is cloned from the host's tree, not from the new root (where
// the overlay would stand in for it), made read-only all the way down as
// the rest of the host's tree is, and then writable at its top.
func attachRoot(s *initSpec, r string) error {
	under := false
	for _, m := range s.Caches {
		under = under || policy.POSIX.Within(r, m.Path)
	}
	if !under {
		return attachClone(newRoot+r, newRoot+r, writableTop)
	}
	return attachFromHost(r)
}

// attachFromHost binds the host's p at p in the new root as a writable
// root is bound: read-only all the way down, then writable (nosuid) at its
// top.
func attachFromHost(p string) error {
	if err := attachClone(oldRoot+p, newRoot+p, readOnlyTree); err != nil {
		return err
	}
	attr := unix.MountAttr{Attr_clr: unix.MOUNT_ATTR_RDONLY, Attr_set: unix.MOUNT_ATTR_NOSUID}
	if err := unix.MountSetattr(unix.AT_FDCWD, newRoot+p, 0, &attr); err != nil {
		return fmt.Errorf("mount_setattr %s: %w", p, err)
	}
	return nil
}

// exposeCacheBinds binds each variable directory writable at its own path.
// They lie in cordon's state directory, which is covered by then: its
// empty cover is made writable for as long as it takes to make their mount
// points, then read-only again, so the sandbox sees these directories of
// its workspace's and nothing else of the state directory.
func exposeCacheBinds(s *initSpec) error {
	for _, b := range s.CacheBinds {
		cover := ""
		for _, d := range s.DenyRead {
			if d.Dir && policy.POSIX.Within(b, d.Path) && len(d.Path) > len(cover) {
				cover = d.Path
			}
		}
		if cover == "" {
			// Not hidden: on the host's tree, where it exists, or in a
			// private temp directory (a state directory below /tmp),
			// which is writable.
			if err := os.MkdirAll(newRoot+b, 0o755); err != nil {
				return fmt.Errorf("tool cache directory %s: %w", b, err)
			}
		} else {
			opts := "mode=0755,size=4k"
			if err := unix.Mount("", newRoot+cover, "", unix.MS_REMOUNT|unix.MS_NOSUID|unix.MS_NODEV|unix.MS_NOEXEC, opts); err != nil {
				return fmt.Errorf("tool cache directory %s: %w", b, err)
			}
			err := os.MkdirAll(newRoot+b, 0o755)
			if rerr := unix.Mount("", newRoot+cover, "", unix.MS_REMOUNT|unix.MS_NOSUID|unix.MS_NODEV|unix.MS_NOEXEC|unix.MS_RDONLY, opts); err == nil {
				err = rerr
			}
			if err != nil {
				return fmt.Errorf("tool cache directory %s: %w", b, err)
			}
		}
		if err := attachFromHost(b); err != nil {
			return fmt.Errorf("tool cache directory %s: %w", b, err)
		}
	}
	return nil
}

// overlays are the init's overlays.
func (cr *cacheRun) overlays() []cacheMount {
	if cr == nil {
		return nil
	}
	return cr.mounts
}

// bindDirs are the init's variable directories.
func (cr *cacheRun) bindDirs() []string {
	if cr == nil {
		return nil
	}
	return cr.binds
}
