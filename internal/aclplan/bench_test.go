package aclplan

import (
	"context"
	"fmt"
	"sync"
	"testing"

	"github.com/cordon-sandbox/cordon/internal/fsview"
	"github.com/cordon-sandbox/cordon/ntsec"
	"github.com/cordon-sandbox/cordon/policy"
)

// bigTree is a workspace of about a million entries (1,000 directories of
// 1,000 files, with a .git of the same shape) inside the small machine.
// Descriptors are shared between nodes that inherit the same ACEs, as NTFS
// shares them through its security-descriptor stream.
var bigTree = sync.OnceValues(func() (*fsview.Memory, error) {
	t := &testing.T{}
	m := machine(t)
	ws, err := m.Stat(`C:\Users\me\ws`)
	if err != nil {
		return nil, err
	}
	dirSD := ntsec.NewObject(ws.SD, ntsec.Directory, me, ntsec.SID{}, nil)
	fileSD := ntsec.NewObject(dirSD, ntsec.File, me, ntsec.SID{}, nil)
	for d := 0; d < 1000; d++ {
		dir := fmt.Sprintf(`C:\Users\me\ws\src\pkg%04d`, d)
		if d >= 900 {
			dir = fmt.Sprintf(`C:\Users\me\ws\.git\objects%04d`, d)
		}
		if err := m.Add(fsview.Node{Path: dir, Type: fsview.Directory, SD: dirSD}); err != nil {
			return nil, err
		}
		for f := 0; f < 999; f++ {
			if err := m.Add(fsview.Node{Path: fmt.Sprintf(`%s\f%03d.go`, dir, f), Type: fsview.File, SD: fileSD}); err != nil {
				return nil, err
			}
		}
	}
	return m, nil
})

func benchInput(b *testing.B, m *fsview.Memory) Input {
	pol := policy.Policy{Mode: policy.WorkspaceWrite, Cwd: `C:\Users\me\ws`}
	res, err := pol.Resolve(policy.Env{Rules: policy.Windows, TempDirs: []string{`C:\Users\me\AppData\Local\Temp`}})
	if err != nil {
		b.Fatal(err)
	}
	return Input{Policy: res, SIDs: testSID, View: m, User: User{SID: me},
		Audit: AuditConfig{Roots: []string{`C:\Users\me\ws`, `C:\Users\me\AppData\Local\Temp`, `C:\Users\me`, `C:\Users\Public`, `C:\`, `C:\Windows`}, Depth: 1}}
}

// BenchmarkPlan1M times planning alone on the million-entry tree, cold (no
// ACE in place) and warm (the plan applied), and reports the edits, the
// descriptor writes applying them costs, and the view reads.
func BenchmarkPlan1M(b *testing.B) { planBench(b, benchInput) }

// BenchmarkPlan1MElevated is BenchmarkPlan1M for the elevated mode (the
// sandbox group's grants, its denies and the ownership ACEs), to read
// side by side with the restricted-token backend's figures: a warm plan
// must write nothing in either.
func BenchmarkPlan1MElevated(b *testing.B) {
	planBench(b, func(b *testing.B, m *fsview.Memory) Input {
		in := benchInput(b, m)
		in.Sandbox = sbUsers
		return in
	})
}

// planBench runs the cold and warm sub-benchmarks of one mode, whose
// input benchInput makes: cold on the bare tree, warm on a copy with the
// cold plan applied.
func planBench(b *testing.B, benchInput func(*testing.B, *fsview.Memory) Input) {
	m, err := bigTree()
	if err != nil {
		b.Fatal(err)
	}
	b.Logf("tree: %d nodes", m.Len())
	cold, warm := m, m.Clone()
	in := benchInput(b, warm)
	pl, err := compute(context.Background(), &in)
	if err != nil {
		b.Fatal(err)
	}
	coldWrites, err := Apply(warm, pl.Edits)
	if err != nil {
		b.Fatal(err)
	}
	for _, c := range []struct {
		name string
		view *fsview.Memory
	}{{"cold", cold}, {"warm", warm}} {
		b.Run(c.name, func(b *testing.B) {
			b.ReportAllocs()
			var edits int
			c.view.ResetReads()
			for b.Loop() {
				in := benchInput(b, c.view)
				p, err := compute(context.Background(), &in)
				if err != nil {
					b.Fatal(err)
				}
				edits = len(p.Edits)
			}
			b.ReportMetric(float64(edits), "edits")
			b.ReportMetric(float64(c.view.Reads())/float64(b.N), "reads/op")
			if c.name == "cold" {
				b.ReportMetric(float64(coldWrites), "sd-writes")
			} else {
				again := warm.Clone()
				in := benchInput(b, again)
				p, _ := compute(context.Background(), &in)
				w, _ := Apply(again, p.Edits)
				b.ReportMetric(float64(w), "sd-writes")
			}
		})
	}
}

// BenchmarkProve1M times the proof of the cold plan over every node of the
// million-entry tree, for three tokens.
func BenchmarkProve1M(b *testing.B) {
	m, err := bigTree()
	if err != nil {
		b.Fatal(err)
	}
	in := benchInput(b, m)
	pl, err := compute(context.Background(), &in)
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	var pr Proof
	for b.Loop() {
		if pr, err = Prove(m, in, pl.Edits); err != nil {
			b.Fatal(err)
		}
	}
	if !pr.OK {
		b.Fatalf("proof failed: %s", pr.Summary())
	}
	b.ReportMetric(float64(pr.Nodes), "nodes")
	b.ReportMetric(float64(pr.Writes), "sd-writes")
}

// BenchmarkProofAfterApply1M compares, side by side on the million-entry
// tree with the plan applied, the two ways to prove it: every node (Prove,
// what a snapshot allows) and the objects the planner read plus their
// ancestors (ProveApplied, what the Windows backend does on NTFS on every
// run, cold or warm).
func BenchmarkProofAfterApply1M(b *testing.B) {
	m, err := bigTree()
	if err != nil {
		b.Fatal(err)
	}
	applied := m.Clone()
	in := benchInput(b, applied)
	rec := fsview.Record(applied)
	in.View = rec
	pl, err := compute(context.Background(), &in)
	if err != nil {
		b.Fatal(err)
	}
	if _, err := Apply(applied, pl.Edits); err != nil {
		b.Fatal(err)
	}
	in.View = applied
	b.Run("every-node", func(b *testing.B) {
		b.ReportAllocs()
		var pr Proof
		for b.Loop() {
			if pr, err = Prove(applied, in, nil); err != nil || !pr.OK {
				b.Fatalf("%v %s", err, pr.Summary())
			}
		}
		b.ReportMetric(float64(pr.Nodes), "nodes")
	})
	b.Run("applied", func(b *testing.B) {
		b.ReportAllocs()
		var pr Proof
		applied.ResetReads()
		for b.Loop() {
			if pr, err = ProveApplied(in, rec, pl.Edits); err != nil {
				b.Fatal(err)
			}
		}
		b.ReportMetric(float64(pr.Nodes), "nodes")
		b.ReportMetric(float64(applied.Reads())/float64(b.N), "reads/op")
	})
}
