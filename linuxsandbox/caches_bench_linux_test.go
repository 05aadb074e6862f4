package linuxsandbox

import (
	"context"
	"os"
	"path/filepath"
	"testing"

	"github.com/cordon-sandbox/cordon/policy"
	"github.com/cordon-sandbox/cordon/sandbox"
)

// BenchmarkStartCaches is what the cache layers add to a run: the same
// command (true) in the same workspace, with HOME holding every built-in
// cache (so each is an overlay), layers on and off, run side by side.
func BenchmarkStartCaches(b *testing.B) {
	if err := cachedProbe(); err != nil {
		b.Skipf("no sandbox here: %v", err)
	}
	cw := newCacheWorld(b)
	for _, d := range []string{".cache/go-build", ".cache/pip", ".npm", "go/pkg/mod", ".cargo/registry", ".cargo/git", ".m2/repository", ".gradle/caches"} {
		if err := os.MkdirAll(filepath.Join(cw.home, d), 0o755); err != nil {
			b.Fatal(err)
		}
	}
	ws := cw.ws(b, "ws")
	env := cw.env()
	for _, c := range []struct {
		name string
		off  bool
	}{{"layers", false}, {"off", true}} {
		spec := sandbox.Spec{Policy: cw.policy(b, ws, policy.Policy{Caches: policy.CachePolicy{Off: c.off}}, env), Dir: ws, Env: env, Args: []string{"true"}}
		b.Run(c.name, func(b *testing.B) {
			for b.Loop() {
				p, err := New().Start(context.Background(), spec)
				if err != nil {
					b.Fatal(err)
				}
				if code, err := p.Wait(); err != nil || code != 0 {
					b.Fatalf("exit %d, %v", code, err)
				}
			}
		})
	}
}
