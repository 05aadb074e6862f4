package ntsec

import (
	"fmt"
	"math/bits"
	"runtime"
	"sort"
	"strings"
	"testing"

	"golang.org/x/sys/windows"

	"github.com/cordon-sandbox/cordon/internal/winapi"
)

// readingTally keeps, across the cases of one real-Windows test, the
// readings of the kernel (OpenReadings) the machine has matched on every
// case so far, and the first disagreement of each reading it has not.
type readingTally struct {
	alive map[string]bool
	first map[string]string
	cases int
}

func newReadingTally() *readingTally {
	r := &readingTally{alive: map[string]bool{}, first: map[string]string{}}
	for _, rd := range OpenReadings() {
		r.alive[rd.Name()] = true
	}
	return r
}

// report fails the test when the machine matched no reading on every case,
// and says which it matched otherwise: one run on Windows retires the
// readings it contradicts.
func (r *readingTally) report(t *testing.T, what string) {
	t.Helper()
	var alive, dead []string
	for name, ok := range r.alive {
		if ok {
			alive = append(alive, name)
		} else {
			dead = append(dead, name+": "+r.first[name])
		}
	}
	sort.Strings(alive)
	sort.Strings(dead)
	if len(alive) == 0 {
		t.Errorf("%s: over %d cases Windows matched none of the readings the model carries:\n  %s", what, r.cases, strings.Join(dead, "\n  "))
		return
	}
	t.Logf("%s: over %d cases this machine matched %s", what, r.cases, strings.Join(alive, ", "))
	for _, d := range dead {
		t.Logf("%s: ruled out %s", what, d)
	}
}

// compareRealToken runs the kernel's AccessCheck for imp, one file right at
// a time and with MAXIMUM_ALLOWED, on the model's binary for sddl, and
// compares each answer with the model's for tok, the description of imp,
// under every open reading, recording in tally which readings agree. It
// returns the rights Windows grants one at a time.
func compareRealToken(t *testing.T, imp windows.Token, tok *Token, name, sddl string, tally *readingTally) AccessMask {
	t.Helper()
	sd := mustParseSDDL(t, sddl)
	wsd := marshalWin(t, sd)
	defer runtime.KeepAlive(wsd)
	var winSet AccessMask
	for _, bit := range rwFileRights {
		_, ok, err := winapi.AccessCheck(wsd, imp, uint32(bit), &winapi.FileGenericMapping)
		if err != nil {
			t.Fatalf("AccessCheck(%s, %s): %v", sddl, RightName(bit, false), err)
		}
		if ok {
			winSet |= bit
		}
	}
	granted, maOK, err := winapi.AccessCheck(wsd, imp, uint32(MaximumAllowed), &winapi.FileGenericMapping)
	if err != nil {
		t.Fatalf("AccessCheck(%s, MAXIMUM_ALLOWED): %v", sddl, err)
	}
	tally.cases++
	for _, rd := range OpenReadings() {
		var modelSet AccessMask
		for _, bit := range rwFileRights {
			if AccessCheckUnder(rd, sd, tok, bit, File).Allowed {
				modelSet |= bit
			}
		}
		res := AccessCheckUnder(rd, sd, tok, MaximumAllowed, File)
		if winSet == modelSet && AccessMask(granted) == res.Granted && maOK == res.Allowed {
			continue
		}
		if tally.alive[rd.Name()] {
			tally.alive[rd.Name()] = false
			var diffs []string
			eachBit(winSet^modelSet, func(b AccessMask) {
				who := "Windows grants it, the model denies it"
				if modelSet&b != 0 {
					who = "the model grants it, Windows denies it"
				}
				diffs = append(diffs, fmt.Sprintf("%s: %s", RightName(b, false), who))
			})
			tally.first[rd.Name()] = fmt.Sprintf("case %q: %d rights differ (%s); MAXIMUM_ALLOWED Windows %s (%v), model %s (%v); SDDL %s",
				name, bits.OnesCount32(uint32(winSet^modelSet)), strings.Join(diffs, "; "), AccessMask(granted), maOK, res.Granted, res.Allowed, sddl)
		}
	}
	return winSet
}
