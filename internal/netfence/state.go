package netfence

import (
	"errors"
	"slices"
)

// ErrUnsupported is returned by Install, Remove and Present on systems
// other than Windows.
var ErrUnsupported = errors.New("netfence: the network fence needs Windows")

// Installed is one filter found under the fence's provider or in its
// sublayer.
type Installed struct {
	Key  GUID
	Name string
}

// Status is how the installed fence compares with the one a Config
// specifies, for `cordon doctor`.
type Status struct {
	// Provider and Sublayer say whether the fence's WFP provider and
	// sublayer exist; SublayerWeight is the weight found (0 when absent).
	Provider       bool   `json:"provider"`
	Sublayer       bool   `json:"sublayer"`
	SublayerWeight uint16 `json:"sublayer_weight"`
	// Missing names the spec's rules with no filter of that name.
	Missing []string `json:"missing,omitempty"`
	// Differ names the spec's rules whose filter exists under the name but
	// with other content (an earlier config, or a changed filter).
	Differ []string `json:"differ,omitempty"`
	// Unexpected names filters of the fence that the spec does not have.
	Unexpected []string `json:"unexpected,omitempty"`
	// Filters is the number of filters found.
	Filters int `json:"filters"`
}

// Complete reports whether the fence is installed exactly as specified.
func (s Status) Complete() bool {
	return s.Provider && s.Sublayer && s.SublayerWeight == SublayerWeight &&
		len(s.Missing) == 0 && len(s.Differ) == 0 && len(s.Unexpected) == 0
}

// Absent reports whether nothing of the fence is left.
func (s Status) Absent() bool { return !s.Provider && !s.Sublayer && s.Filters == 0 }

// compare computes the filter part of Status: want against what is
// installed.
func (f Fence) compare(want []Rule, have []Installed) Status {
	st := Status{Filters: len(have)}
	haveKey := map[GUID]bool{}
	haveName := map[string]bool{}
	for _, h := range have {
		haveKey[h.Key] = true
		haveName[h.Name] = true
	}
	wantKey := map[GUID]bool{}
	wantName := map[string]bool{}
	for _, r := range want {
		k := f.Key(r)
		wantKey[k] = true
		wantName[r.Name] = true
		switch {
		case haveKey[k]:
		case haveName[r.Name]:
			st.Differ = append(st.Differ, r.Name)
		default:
			st.Missing = append(st.Missing, r.Name)
		}
	}
	for _, h := range have {
		if !wantKey[h.Key] && !wantName[h.Name] {
			st.Unexpected = append(st.Unexpected, h.Name)
		}
	}
	slices.Sort(st.Unexpected)
	return st
}

// plan is what Install does to go from have to want: add the rules whose
// key is absent, then delete the filters whose key is not wanted. Adding
// first means a rule whose content changed is never missing: for a moment
// both the old and the new filter exist, and both belong to the fence.
func (f Fence) plan(want []Rule, have []Installed) (add []Rule, del []GUID) {
	haveKey := map[GUID]bool{}
	for _, h := range have {
		haveKey[h.Key] = true
	}
	wantKey := map[GUID]bool{}
	for _, r := range want {
		k := f.Key(r)
		wantKey[k] = true
		if !haveKey[k] {
			add = append(add, r)
		}
	}
	for _, h := range have {
		if !wantKey[h.Key] {
			del = append(del, h.Key)
		}
	}
	return add, del
}
