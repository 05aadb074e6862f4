package ntsec

import (
	"fmt"
	"strings"
)

// A Reading is one answer to the questions about the kernel's access check
// that no public source settles (windows-access-check.md, section 1). The
// model takes them as data, so that a claim can be checked under every
// reading still open and a real-Windows run can retire the ones the kernel
// contradicts. All three concern only WRITE_RESTRICTED tokens: for a plain
// or fully restricted token every reading gives the same answer.
type Reading struct {
	// Mask says which rights are "write" rights for the restricting-SID
	// pass.
	Mask WriteMask
	// Trigger says how the write mask selects the rights that must pass
	// the restricting-SID pass.
	Trigger Trigger
	// MaxAllowed says how a MAXIMUM_ALLOWED request combines the two
	// passes.
	MaxAllowed MaxAllowedRule
}

// WriteMask names a reading of "write access" in the restricting-SID pass
// of a WRITE_RESTRICTED token.
type WriteMask uint8

const (
	// MaskH1 is every right of the type that neither GENERIC_READ nor
	// GENERIC_EXECUTE grants (GenericMapping.WriteRights; 0xD0156 for
	// files, FILE_DELETE_CHILD included). No source gives it; it is the
	// integrity no-write-up set, and the model's choice before readings.
	MaskH1 WriteMask = iota
	// MaskH2 is (GENERIC_WRITE &^ (GENERIC_READ | GENERIC_EXECUTE)) |
	// DELETE | WRITE_DAC | WRITE_OWNER | ACCESS_SYSTEM_SECURITY (0x10D0116
	// for files, without FILE_DELETE_CHILD), as in James Forshaw's
	// re-implementation (NtObjectManager, TestNtAccessMaskCmdlet.cs) and
	// one third-party Windows 11 test report.
	MaskH2
)

// Rights returns the write rights of mapping m under the reading.
func (w WriteMask) Rights(m GenericMapping) AccessMask {
	if w == MaskH2 {
		return m.Write&^(m.Read|m.Execute) | Delete | WriteDAC | WriteOwner | AccessSystemSecurity
	}
	return m.WriteRights()
}

func (w WriteMask) String() string {
	if w == MaskH2 {
		return "H2"
	}
	return "H1"
}

// Trigger names a reading of how the write mask is applied to a plain
// (not MAXIMUM_ALLOWED) request.
type Trigger uint8

const (
	// PerRight: each requested right in the write mask must also pass
	// the restricting-SID pass; the other rights need only the normal
	// pass. The model's choice before readings.
	PerRight Trigger = iota
	// WholeRequest: the write mask is only a trigger. When the request
	// holds any right of it, every requested right, reads included, must
	// also pass the restricting-SID pass; otherwise none must (Forshaw,
	// Windows Security Internals ch. 7, chapter_7_access_check_impl.psm1).
	WholeRequest
)

func (t Trigger) String() string {
	if t == WholeRequest {
		return "whole"
	}
	return "per-right"
}

// MaxAllowedRule names a reading of MAXIMUM_ALLOWED for a
// write-restricted token. No public source is authoritative.
type MaxAllowedRule uint8

const (
	// MaxSplit grants normal & (restricted | ^mask): the restricting SIDs
	// decide the write rights only, the reading closest to Microsoft's
	// "considered only when evaluating write access". It is also what a
	// caller gets by asking for each right alone, under either trigger.
	MaxSplit MaxAllowedRule = iota
	// MaxWhole grants normal & restricted: MAXIMUM_ALLOWED asks for every
	// right, write rights included, so under the whole-request trigger the
	// whole of it must pass the restricting SIDs.
	MaxWhole
)

func (m MaxAllowedRule) String() string {
	if m == MaxWhole {
		return "MA-whole"
	}
	return "MA-split"
}

// Name is the reading's name, "H1/per-right/MA-split": mask, trigger,
// MAXIMUM_ALLOWED rule.
func (r Reading) Name() string {
	return r.Mask.String() + "/" + r.Trigger.String() + "/" + r.MaxAllowed.String()
}

func (r Reading) String() string { return r.Name() }

// DefaultReading is the reading AccessCheck uses, and the one the model
// used before it carried readings: the H1 mask, per right, MAXIMUM_ALLOWED
// split. It is not known to be the kernel's; it stays the default until
// the planner is proven under every open reading (issue 10, part 3).
var DefaultReading = Reading{Mask: MaskH1, Trigger: PerRight, MaxAllowed: MaxSplit}

// OpenReadings returns every reading no public source or real-Windows run
// has ruled out yet, DefaultReading first. The per-right trigger comes only
// with MaxSplit: under it MAXIMUM_ALLOWED has no reason to restrict reads
// that no plain request would.
func OpenReadings() []Reading {
	var out []Reading
	for _, m := range []WriteMask{MaskH1, MaskH2} {
		out = append(out,
			Reading{m, PerRight, MaxSplit},
			Reading{m, WholeRequest, MaxSplit},
			Reading{m, WholeRequest, MaxWhole})
	}
	return out
}

// ParseReading returns the open reading named name (case-insensitive), or
// an error listing the names.
func ParseReading(name string) (Reading, error) {
	var names []string
	for _, r := range OpenReadings() {
		if strings.EqualFold(r.Name(), name) {
			return r, nil
		}
		names = append(names, r.Name())
	}
	return Reading{}, fmt.Errorf("unknown reading %q (want one of %s)", name, strings.Join(names, ", "))
}

// Alone is the reading under which a request for one right gives the
// same answer as under r: a request of one right triggers the restricted
// pass exactly when that right is in the mask, whatever the trigger, so
// MAXIMUM_ALLOWED under Alone(r) returns the rights a caller can get by
// asking for them one at a time. Safety claims ("the sandbox cannot get
// any write right here") are checked with it.
func (r Reading) Alone() Reading {
	return Reading{Mask: r.Mask, Trigger: PerRight, MaxAllowed: MaxSplit}
}

// restrictedRights returns the rights of a request that must also pass the
// restricting-SID pass of a write-restricted token under r.
func (r Reading) restrictedRights(m GenericMapping, want AccessMask, maxAllowed bool) AccessMask {
	mask := r.Mask.Rights(m)
	whole := r.Trigger == WholeRequest && want&mask != 0
	if maxAllowed {
		whole = r.MaxAllowed == MaxWhole
	}
	if whole {
		return ^AccessMask(0)
	}
	return mask
}
