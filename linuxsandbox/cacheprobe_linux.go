package linuxsandbox

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"golang.org/x/sys/unix"

	"github.com/cordon-sandbox/cordon/internal/cachelayer"
	"github.com/cordon-sandbox/cordon/internal/statedir"
	"github.com/cordon-sandbox/cordon/sandbox"
)

// What cordon probe says of the cache layers: whether an overlay mounts
// here as a run would mount one.

// probeOverlay mounts an overlay as a run would (userxattr, in the
// probe's namespaces), its lower layer in the probe's scratch directory
// dir and its upper layer in layer, a directory in cordon's state
// directory (where the runs' upper layers will be), and checks that a
// write and a removal through it land in the upper layer alone.
func probeOverlay(dir, layer string) string {
	if layer == "" {
		return "no state directory to try it in"
	}
	lower, target := dir+"/cache-lower", dir+"/cache-overlay"
	for _, d := range []string{lower, target, layer + "/upper", layer + "/work"} {
		if err := os.MkdirAll(d, 0o700); err != nil {
			return err.Error()
		}
	}
	if err := os.WriteFile(lower+"/old", []byte("old"), 0o600); err != nil {
		return err.Error()
	}
	if err := unix.Mount("cordon-cache", target, "overlay", unix.MS_NOSUID|unix.MS_NODEV, overlayOpts(lower, layer)); err != nil {
		return "mount overlay (userxattr): " + err.Error()
	}
	defer unix.Unmount(target, unix.MNT_DETACH)
	if err := os.WriteFile(target+"/old", []byte("new"), 0o600); err != nil {
		return "write through the overlay: " + err.Error()
	}
	if err := os.WriteFile(target+"/added", nil, 0o600); err != nil {
		return "create through the overlay: " + err.Error()
	}
	if b, err := os.ReadFile(lower + "/old"); err != nil || string(b) != "old" {
		return fmt.Sprintf("the lower layer changed (%q, %v)", b, err)
	}
	if b, err := os.ReadFile(layer + "/upper/old"); err != nil || string(b) != "new" {
		return fmt.Sprintf("the upper layer lacks the write (%q, %v)", b, err)
	}
	if err := os.Remove(target + "/old"); err != nil {
		return "remove through the overlay (whiteout): " + err.Error()
	}
	if _, err := os.Stat(lower + "/old"); err != nil {
		return "the lower layer lost a file: " + err.Error()
	}
	return ""
}

// cacheProbeScratch makes the probe's layer directory in the state
// directory; done removes it.
func cacheProbeScratch() (dir string, done func(), err error) {
	done = func() {}
	state, err := statedir.Dir()
	if err != nil {
		return "", done, err
	}
	base := filepath.Join(state, cachelayer.DirName)
	if err := os.MkdirAll(base, 0o700); err != nil {
		return "", done, err
	}
	dir, err = os.MkdirTemp(base, ".probe-")
	if err != nil {
		return "", done, err
	}
	return dir, func() { cachelayer.RemoveAll(dir) }, nil
}

// cacheLayerFrom is the probe's cache-layers layer: always available (the
// variables can always be pointed elsewhere), overlay when one mounted.
func cacheLayerFrom(rep *probeReport, ns bool) sandbox.Layer {
	l := sandbox.Layer{Name: LayerCaches, Available: true, Enforces: enforcesCaches}
	switch {
	case !ns:
		l.Detail = "variables: no mount namespace for overlays"
	case rep.CacheErr != "":
		l.Detail = "variables: " + rep.CacheErr
	default:
		l.Detail = "overlay (userxattr), upper layers in cordon's state directory"
	}
	return l
}

// cacheOverlayAvailable says whether the probe mounted an overlay.
func cacheOverlayAvailable(pr *probeResult) bool {
	return strings.HasPrefix(pr.layer(LayerCaches).Detail, "overlay")
}
