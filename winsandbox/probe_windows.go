package winsandbox

import (
	"context"
	"fmt"

	"github.com/cordon-sandbox/cordon/internal/jobobject"
	"github.com/cordon-sandbox/cordon/internal/restrictedtoken"
	"github.com/cordon-sandbox/cordon/internal/windesktop"
	"github.com/cordon-sandbox/cordon/internal/wine"
	"github.com/cordon-sandbox/cordon/ntsec"
	"github.com/cordon-sandbox/cordon/sandbox"
)

// Probe implements sandbox.Backend. It reads the caller's token and builds
// the model of the sandbox token from it, and creates and closes a job; it
// changes no file. The ACL layer is reported from the token layer: whether
// Windows enforces the model's answers is what the real-Windows tests
// check, not something a probe can show without writing ACEs.
func (b *Backend) Probe(ctx context.Context) sandbox.Probe {
	p := sandbox.Probe{Backend: Name, Available: true}
	add := func(name string, ok bool, detail string) {
		p.Layers = append(p.Layers, sandbox.Layer{Name: name, Available: ok, Detail: detail, Enforces: enforces[name]})
	}
	tokOK, tokDetail := true, "write-restricted, privileges removed"
	if wine.Detected() {
		tokOK, tokDetail = false, "Wine restricts no token and stores no DACL: nothing is enforced here; "+WinePlumbingEnv+"=1 runs the plumbing unenforced"
	} else if base, err := liveToken(); err != nil {
		tokOK, tokDetail = false, err.Error()
	} else {
		probeCap, _ := ntsec.NewSID(5, 21, 0xC0D0, 1, 2, 3)
		probeRun, _ := ntsec.NewSID(5, 21, 0xC0D0, 4, 5, 6)
		if _, err := restrictedtoken.Model(base, restrictedtoken.Spec{Caps: []ntsec.SID{probeCap}, Run: probeRun}); err != nil {
			tokOK, tokDetail = false, err.Error()
		}
	}
	add(LayerToken, tokOK, tokDetail)
	add(LayerACL, tokOK, map[bool]string{true: "proven in the model after every change; enforcement awaits a real-Windows run of the tests", false: "needs the token layer"}[tokOK])
	if j, err := jobobject.Create(jobobject.Options{RestrictUI: true}); err != nil {
		add(LayerJob, false, err.Error())
	} else {
		j.Close()
		add(LayerJob, true, "")
	}
	if d, err := windesktop.Create(nil); err != nil {
		add(LayerDesktop, false, err.Error())
	} else {
		d.Close()
		add(LayerDesktop, true, "")
	}
	add(LayerNetwork, true, "a deterrent, not a wall: no firewall without the elevated mode")
	add(LayerCaches, tokOK, map[bool]string{true: "variables: no overlay on Windows; the tool starts from an empty cache of the workspace's own", false: "needs the token layer"}[tokOK])
	if !tokOK {
		p.Available = false
		p.Reason = fmt.Sprintf("%s layer: %s", LayerToken, tokDetail)
	}
	return p
}
