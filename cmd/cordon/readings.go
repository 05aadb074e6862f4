package main

import (
	"fmt"
	"strings"

	"github.com/cordon-sandbox/cordon/ntsec"
)

// exitDepends is cordon access's answer when the readings of the kernel
// still open disagree: the answer depends on unsettled Windows behaviour.
const exitDepends = 3

// readingsFor returns the readings a command answers under: every open one,
// or the one --hypothesis names.
func readingsFor(name string) ([]ntsec.Reading, error) {
	if name == "" {
		return ntsec.OpenReadings(), nil
	}
	r, err := ntsec.ParseReading(name)
	if err != nil {
		return nil, fmt.Errorf("--hypothesis: %w", err)
	}
	return []ntsec.Reading{r}, nil
}

// verdictsByReading maps each reading's name to its verdict, as --json
// shows it.
func verdictsByReading(rs []ntsec.Reading, allowed []bool) map[string]bool {
	out := make(map[string]bool, len(rs))
	for i, r := range rs {
		out[r.Name()] = allowed[i]
	}
	return out
}

// agreed returns the verdict all readings share, or nil when they differ.
func agreed(allowed []bool) *bool {
	for _, a := range allowed[1:] {
		if a != allowed[0] {
			return nil
		}
	}
	v := allowed[0]
	return &v
}

// dimensions of a reading, for naming the one a disagreement turns on.
var dimensions = []func(ntsec.Reading) string{
	func(r ntsec.Reading) string { return r.Mask.String() },
	func(r ntsec.Reading) string { return r.Trigger.String() },
	func(r ntsec.Reading) string { return r.MaxAllowed.String() },
}

// describeSplit says how verdicts (one per reading, "yes" or "no") split:
// by the one dimension that decides them when there is one ("H1: no, H2:
// yes"), by reading name otherwise.
func describeSplit(rs []ntsec.Reading, verdicts []string) string {
	for _, dim := range dimensions {
		by := map[string]string{}
		var order []string
		ok := true
		for i, r := range rs {
			k := dim(r)
			if v, seen := by[k]; seen && v != verdicts[i] {
				ok = false
				break
			} else if !seen {
				by[k] = verdicts[i]
				order = append(order, k)
			}
		}
		if ok {
			parts := make([]string, len(order))
			for i, k := range order {
				parts[i] = k + ": " + by[k]
			}
			return strings.Join(parts, ", ")
		}
	}
	parts := make([]string, len(rs))
	for i, r := range rs {
		parts[i] = r.Name() + ": " + verdicts[i]
	}
	return strings.Join(parts, ", ")
}
