package netfence

import (
	"slices"
	"testing"
)

func installedOf(f Fence, rules []Rule) []Installed {
	var out []Installed
	for _, r := range rules {
		out = append(out, Installed{Key: f.Key(r), Name: r.Name})
	}
	return out
}

func TestCompareAndPlan(t *testing.T) {
	cs := configs(t)
	want, err := Spec(cs["proxy"])
	if err != nil {
		t.Fatal(err)
	}
	old, err := Spec(cs["proxy, local binding"])
	if err != nil {
		t.Fatal(err)
	}

	// Installed exactly: nothing to do.
	have := installedOf(Default, want)
	st := Default.compare(want, have)
	st.Provider, st.Sublayer, st.SublayerWeight = true, true, SublayerWeight
	if !st.Complete() {
		t.Errorf("exact install: %+v", st)
	}
	if add, del := Default.plan(want, have); len(add) != 0 || len(del) != 0 {
		t.Errorf("exact install: plan adds %d, deletes %d", len(add), len(del))
	}

	// Nothing installed: all missing, all added.
	st = Default.compare(want, nil)
	if len(st.Missing) != len(want) || st.Complete() || !st.Absent() {
		t.Errorf("empty: %+v", st)
	}
	if add, _ := Default.plan(want, nil); len(add) != len(want) {
		t.Errorf("empty: plan adds %d of %d", len(add), len(want))
	}

	// An earlier config installed: the permit-loopback rules are
	// unexpected, nothing differs by name (the user condition is the
	// same) except rules absent before.
	have = installedOf(Default, old)
	st = Default.compare(want, have)
	if st.Complete() || len(st.Unexpected) == 0 {
		t.Errorf("old config: %+v", st)
	}
	if !slices.Contains(st.Unexpected, "permit-loopback-out-v4") || !slices.Contains(st.Missing, "block-listen-v4") {
		t.Errorf("old config: unexpected %v, missing %v", st.Unexpected, st.Missing)
	}
	add, del := Default.plan(want, have)
	after := slices.DeleteFunc(slices.Clone(have), func(h Installed) bool { return slices.Contains(del, h.Key) })
	after = append(after, installedOf(Default, add)...)
	st = Default.compare(want, after)
	st.Provider, st.Sublayer, st.SublayerWeight = true, true, SublayerWeight
	if !st.Complete() {
		t.Errorf("after applying the plan: %+v", st)
	}

	// A filter with the right name and other content differs.
	changed := slices.Clone(want)
	changed[0].RemotePorts = []uint16{1}
	st = Default.compare(want, installedOf(Default, changed))
	if !slices.Equal(st.Differ, []string{want[0].Name}) {
		t.Errorf("changed filter: differ %v", st.Differ)
	}
	if _, del := Default.plan(want, installedOf(Default, changed)); len(del) != 1 {
		t.Errorf("changed filter: plan deletes %d, want 1", len(del))
	}

	// A wrong sublayer weight is not complete.
	st = Default.compare(want, installedOf(Default, want))
	st.Provider, st.Sublayer, st.SublayerWeight = true, true, 1
	if st.Complete() {
		t.Error("sublayer weight 1 counted as complete")
	}
}
