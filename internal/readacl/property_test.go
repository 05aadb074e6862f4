package readacl

import (
	"errors"
	"fmt"
	"math/rand"
	"strings"
	"testing"

	"github.com/cordon-sandbox/cordon/internal/aclplan"
	"github.com/cordon-sandbox/cordon/internal/fsview"
	"github.com/cordon-sandbox/cordon/policy"
)

// On random profiles, with secrets spelled in other cases, with trailing
// dots, behind junctions, opened to Everyone at random depths, and
// directories protected or opened at random, every plan Make returns
// passes its proof (Make fails with ErrProof otherwise) and, applied,
// plans nothing more.
func TestRandomProfiles(t *testing.T) {
	rng := rand.New(rand.NewSource(11))
	names := []string{".ssh", ".aws", ".config", "gh", "git", "Documents", "proj", "src", "AppData", "Roaming", "Local",
		"Microsoft", "Credentials", "Windows", "npm", "x", ".SSH", ".ssh.", ".kube", "keys"}
	sddls := []string{"", "", "", "", "D:(A;OICI;0x1200a9;;;WD)", "D:(A;;0x1200a9;;;BU)", "D:P(A;OICI;FA;;;S-1-5-21-1-2-3-1001)", "D:(A;OICIIO;0x1200a9;;;AU)"}
	planned := 0
	for i := 0; i < 200; i++ {
		m := machine(t)
		b := &builder{t, m}
		dirs := []string{`C:\Users\me`, `C:\Users\me\.ssh`, `C:\Users\me\.config`, `C:\Users\me\proj`, `C:\Users\me\AppData\Roaming`}
		seen := map[string]bool{}
		for j := 0; j < 12; j++ {
			parent := dirs[rng.Intn(len(dirs))]
			name := names[rng.Intn(len(names))]
			path := parent + `\` + name
			if name == ".ssh." && !strings.HasPrefix(path, `\\?\`) {
				path = `\\?\` + path
			}
			k, _ := fsview.Key(path)
			if _, err := m.Stat(path); err == nil || seen[k] {
				continue
			}
			seen[k] = true
			switch r := rng.Intn(10); {
			case r == 0:
				b.link(path, fsview.Junction, dirs[rng.Intn(len(dirs))])
			case r < 4:
				b.add(path, fsview.File, sddls[rng.Intn(len(sddls))])
			default:
				b.add(path, fsview.Directory, sddls[rng.Intn(len(sddls))])
				dirs = append(dirs, path)
			}
		}
		cwd := dirs[rng.Intn(len(dirs))]
		if n, err := m.Stat(cwd); err != nil || !n.IsDir() {
			continue
		}
		pol := policy.Policy{Mode: policy.WorkspaceWrite, Cwd: cwd, ExcludeTmp: true, DenyRead: []string{`C:\Users\me\.config\git`}}
		res, err := pol.Resolve(policy.Env{Rules: policy.Windows, Getenv: env})
		if err != nil {
			continue // a cwd inside a secret: refused before any plan
		}
		in := input(t, m, res)
		pl, err := Make(in)
		if errors.Is(err, ErrProof) {
			t.Fatalf("tree %d, cwd %s: %v\nedits: %v", i, cwd, err, paths(pl.Edits))
		}
		if err != nil {
			t.Fatalf("tree %d: %v", i, err)
		}
		work := m.Clone()
		if _, err := aclplan.Apply(work, pl.Edits); err != nil {
			t.Fatal(err)
		}
		in.View = work
		planned++
		warm, err := Make(in)
		if err != nil || len(warm.Edits) != 0 {
			t.Fatalf("tree %d: warm plan %v, %v", i, err, fmt.Sprint(paths(warm.Edits)))
		}
	}
	if planned < 100 {
		t.Errorf("only %d of 200 trees planned", planned)
	}
}
