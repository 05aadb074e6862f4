package main

import (
	"flag"
	"io"
	"strings"
	"testing"

	"github.com/cordon-sandbox/cordon/ntsec"
	"github.com/cordon-sandbox/cordon/plan"
)

// TestColdPlanOpenEscapeUnderH2 proves the cold plan of machine.json under
// every open reading of the kernel (ntsec.OpenReadings). Under the H1 mask
// it holds. Under the H2 mask (FILE_DELETE_CHILD outside the
// write-restricted pass) it fails, and every violation is of one class:
// the user's own full control on a directory gives the sandbox
// FILE_DELETE_CHILD there, so it may delete or rename any child, a
// protected .git included (windows-access-check.md section 1, issue 10
// finding 1). FILE_DELETE_CHILD is the only write right in each.
//
// This documents the open escape. When the planner closes it (issue 10
// part 3), flip the H2 expectation to "no violations" and make
// ntsec.OpenReadings() the planner's default.
func TestColdPlanOpenEscapeUnderH2(t *testing.T) {
	fs := flag.NewFlagSet("plan", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	var a planArgs
	a.register(fs)
	if err := fs.Parse(planFlags); err != nil {
		t.Fatal(err)
	}
	in, mem, pl, err := a.makePlan()
	if err != nil {
		t.Fatal(err)
	}
	if !pl.Proof.OK || len(pl.Proof.Readings) != 1 || pl.Proof.Readings[0] != ntsec.DefaultReading.Name() {
		t.Fatalf("default proof: %s under %v", pl.Proof.Summary(), pl.Proof.Readings)
	}
	in.Readings = ntsec.OpenReadings()
	pr, err := plan.Prove(mem, in, pl.Edits)
	if err != nil {
		t.Fatal(err)
	}
	if len(pr.PerReading) != len(in.Readings) {
		t.Fatalf("per-reading tallies %+v", pr.PerReading)
	}
	var h2 int
	for i, rd := range in.Readings {
		tally := pr.PerReading[i]
		if tally.Gaps != pl.Proof.GapCount {
			t.Errorf("%s: %d gaps, %d under the default reading", rd, tally.Gaps, pl.Proof.GapCount)
		}
		switch rd.Mask {
		case ntsec.MaskH1:
			if tally.Violations != 0 {
				t.Errorf("%s: %d violations, want none", rd, tally.Violations)
			}
		case ntsec.MaskH2:
			if tally.Violations == 0 || tally.Violations != tally.DeleteChild {
				t.Errorf("%s: %d violations, %d of them by FILE_DELETE_CHILD alone; want some, all by FILE_DELETE_CHILD", rd, tally.Violations, tally.DeleteChild)
			}
			h2 += tally.Violations
		}
	}
	if pr.ViolationCount != h2 {
		t.Errorf("%d violations in all, %d under H2", pr.ViolationCount, h2)
	}
	for _, v := range pr.Violations {
		if r := v.Rights; !strings.HasPrefix(v.Reading, "H2/") || r != "DELETE" && r != "DELETE_CHILD" && r != "DELETE|DELETE_CHILD" {
			t.Errorf("violation outside the class: %+v", v)
		}
	}
	// The protected .git among them: TestExplainDependsOnReading.
	t.Logf("under H2: %s", pr.Summary())
}
