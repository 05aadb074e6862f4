package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"math/rand/v2"
	"runtime"
	"slices"
	"strings"
	"testing"

	"github.com/cordon-sandbox/cordon/internal/aclhelper"
	"github.com/cordon-sandbox/cordon/internal/capsid"
	"github.com/cordon-sandbox/cordon/internal/netfence"
	"github.com/cordon-sandbox/cordon/internal/sandboxusers"
	"github.com/cordon-sandbox/cordon/internal/testutil"
)

// A machine as setup left it passes every check, changes nothing, and
// asks the fence about the offline user's SID.
func TestDoctorHealthy(t *testing.T) {
	m := healthyMachine(t)
	r := diagnose(context.Background(), m.env())
	if !r.OK || len(failingChecks(r)) > 0 || len(r.Fixes) != 0 || len(r.SetupWould) != 0 {
		t.Fatalf("healthy machine: ok %v, failing %v, fixes %v, setup would %v", r.OK, failingChecks(r), r.Fixes, r.SetupWould)
	}
	want := []string{"setup_marker", "group", "user_offline", "secret_offline", "logon_offline",
		"user_online", "secret_online", "logon_online", "network_fence", "sid_store", "read_acl"}
	var got []string
	for _, c := range r.Checks {
		got = append(got, c.Name)
		if c.Fix != "" {
			t.Errorf("%s passes but names a fix %q", c.Name, c.Fix)
		}
	}
	if !slices.Equal(got, want) {
		t.Errorf("checks %v, want %v", got, want)
	}
	if m.fenceFor != m.sids[sandboxusers.OfflineUser] {
		t.Errorf("fence checked for %v, want the offline user %v", m.fenceFor, m.sids[sandboxusers.OfflineUser])
	}
	if m.logons != 2 {
		t.Errorf("%d logons, want one per sandbox user", m.logons)
	}
}

// Every failure is reported by the check it concerns, and only by the
// checks it concerns, with its fix.
func TestDoctorFailures(t *testing.T) {
	off, on := sandboxusers.OfflineUser, sandboxusers.OnlineUser
	cases := []struct {
		name    string
		break_  func(m *fakeMachine)
		failing map[string]string // check → fix
		detail  map[string]string // check → a substring of its detail
	}{
		{"marker missing", func(m *fakeMachine) { m.marker = nil },
			map[string]string{"setup_marker": fixSetup}, map[string]string{"setup_marker": "no setup marker"}},
		{"marker stale", func(m *fakeMachine) { m.marker.Version = sandboxusers.Version + 1 },
			map[string]string{"setup_marker": fixSetup}, map[string]string{"setup_marker": fmt.Sprintf("version %d", sandboxusers.Version+1)}},
		{"marker unreadable", func(m *fakeMachine) { m.markErr = errors.New("setup.json: invalid character") },
			map[string]string{"setup_marker": fixSetup}, map[string]string{"setup_marker": "invalid character"}},
		{"marker for other users", func(m *fakeMachine) { m.marker.Users = []string{off} },
			map[string]string{"setup_marker": fixSetup}, map[string]string{"setup_marker": "records group"}},
		{"group deleted", func(m *fakeMachine) {
			m.group = false
			for _, u := range m.users {
				delete(u.member, sandboxusers.Group{Name: sandboxusers.GroupName})
			}
		}, map[string]string{"group": fixSetup, "user_offline": fixSetup, "user_online": fixSetup},
			map[string]string{"group": "missing", "user_offline": "not a member of CordonSandboxUsers"}},
		{"offline user deleted", func(m *fakeMachine) { delete(m.users, off) },
			map[string]string{"user_offline": fixSetup, "logon_offline": fixSetup, "network_fence": fixSetup},
			map[string]string{"user_offline": "does not exist", "logon_offline": "not tried", "network_fence": "not checked"}},
		{"online user disabled", func(m *fakeMachine) { m.users[on].flags |= sandboxusers.UF_ACCOUNTDISABLE },
			map[string]string{"user_online": fixSetup}, map[string]string{"user_online": "UF_ACCOUNTDISABLE"}},
		{"password may expire", func(m *fakeMachine) { m.users[on].flags &^= sandboxusers.UF_DONT_EXPIRE_PASSWD },
			map[string]string{"user_online": fixSetup}, map[string]string{"user_online": "want"}},
		{"made an administrator", func(m *fakeMachine) { m.users[off].member[sandboxusers.BuiltinAdministrators] = true },
			map[string]string{"user_offline": fixSetup}, map[string]string{"user_offline": "must never be"}},
		{"not in Users", func(m *fakeMachine) { delete(m.users[off].member, sandboxusers.BuiltinUsers) },
			map[string]string{"user_offline": fixSetup}, map[string]string{"user_offline": "S-1-5-32-545"}},
		{"on the logon screen", func(m *fakeMachine) { m.users[on].hidden = false },
			map[string]string{"user_online": fixSetup}, map[string]string{"user_online": "logon screen"}},
		{"secret tampered with", func(m *fakeMachine) {
			m.badSec[off] = &sandboxusers.SecretError{User: off, Reason: "does not decrypt (tampered with, or protected by another user)"}
		}, map[string]string{"secret_offline": fixSetup, "logon_offline": fixSetup},
			map[string]string{"secret_offline": "tampered", "logon_offline": "not tried"}},
		{"secret missing", func(m *fakeMachine) { delete(m.secrets, on) },
			map[string]string{"secret_online": fixSetup, "logon_online": fixSetup}, map[string]string{"secret_online": "missing"}},
		{"secret pending", func(m *fakeMachine) { m.secrets[on] = sandboxusers.Secret{Password: "x", Pending: true} },
			map[string]string{"secret_online": fixSetup, "logon_online": fixSetup}, map[string]string{"secret_online": "pending"}},
		{"password changed behind cordon's back", func(m *fakeMachine) { m.users[off].password = "someone else's" },
			map[string]string{"logon_offline": fixSetup}, map[string]string{"logon_offline": "wrong password"}},
		{"locked out", func(m *fakeMachine) { m.users[on].flags |= sandboxusers.UF_LOCKOUT },
			map[string]string{"user_online": fixSetup, "logon_online": fixSetup}, map[string]string{"logon_online": "locked out"}},
		{"password expired", func(m *fakeMachine) { m.users[off].expired = true },
			map[string]string{"user_offline": fixSetup, "logon_offline": fixSetup}, map[string]string{"user_offline": "password expired"}},
		{"logon right denied by policy", func(m *fakeMachine) { m.users[off].logon = sandboxusers.LogonNotGranted },
			map[string]string{"logon_offline": fixSetup}, map[string]string{"logon_offline": "Allow log on locally"}},
		{"accounts unreadable", func(m *fakeMachine) { m.groupErr = fs.ErrPermission },
			map[string]string{"users": fixDoctorAdmin, "network_fence": fixSetup},
			map[string]string{"users": "could not read"}},
		{"accounts lookup broken", func(m *fakeMachine) { m.groupErr = errors.New("RPC server unavailable") },
			map[string]string{"users": fixSetup, "network_fence": fixSetup}, map[string]string{"users": "RPC server"}},
		{"fence absent", func(m *fakeMachine) { m.fence = netfence.Status{} },
			map[string]string{"network_fence": fixSetup}, map[string]string{"network_fence": "not installed"}},
		{"fence missing a filter", func(m *fakeMachine) { m.fence.Missing = []string{"block connect v6"} },
			map[string]string{"network_fence": fixSetup}, map[string]string{"network_fence": "missing filters: block connect v6"}},
		{"fence outweighed", func(m *fakeMachine) { m.fence.SublayerWeight = 1 },
			map[string]string{"network_fence": fixSetup}, map[string]string{"network_fence": "sublayer weight"}},
		{"fence unreadable", func(m *fakeMachine) { m.fenceErr = fmt.Errorf("wf: %w", fs.ErrPermission) },
			map[string]string{"network_fence": fixDoctorAdmin}, map[string]string{"network_fence": "refused"}},
		{"SID store corrupt", func(m *fakeMachine) {
			m.storeErr = &capsid.CorruptError{Path: `C:\s\capsids.json`, Err: errors.New("unknown field")}
		}, map[string]string{"sid_store": `cordon cleanup; Move-Item -LiteralPath 'C:\s\capsids.json' -Destination 'C:\s\capsids.json.broken'`},
			map[string]string{"sid_store": "unknown field"}},
		{"SID store locked", func(m *fakeMachine) { m.storeErr = context.DeadlineExceeded },
			map[string]string{"sid_store": `cordon sids list (it names the file and the error; check that you can read C:\Users\me\AppData\Local\cordon\capsids.json)`},
			map[string]string{"sid_store": "deadline"}},
		{"read grants pending, helper dead", func(m *fakeMachine) {
			m.acl = aclhelper.State{Done: 3, Pending: 5, Current: &aclhelper.Item{Path: `C:\Users\me\src`, Started: true}}
		}, map[string]string{"read_acl": fixHelper}, map[string]string{"read_acl": `stopped while applying C:\Users\me\src`}},
		{"read grants failed", func(m *fakeMachine) {
			m.acl = aclhelper.State{Done: 4, Failed: 1}
			m.failed = []aclhelper.Item{{Path: `C:\Users\me\odd`, Done: true, Failed: "access denied"}}
		}, map[string]string{"read_acl": fixRetryFailed}, map[string]string{"read_acl": `last: C:\Users\me\odd: access denied`}},
		{"journal corrupt", func(m *fakeMachine) { m.acl = aclhelper.State{Corrupt: true} },
			map[string]string{"read_acl": fixHelper}, map[string]string{"read_acl": "corrupt"}},
		{"journal unreadable", func(m *fakeMachine) { m.aclErr = fs.ErrPermission },
			map[string]string{"read_acl": fixHelper}, map[string]string{"read_acl": "could not read"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			m := healthyMachine(t)
			c.break_(m)
			r := diagnose(context.Background(), m.env())
			if r.OK {
				t.Fatal("reported healthy")
			}
			got := failingChecks(r)
			want := make([]string, 0, len(c.failing))
			for n := range c.failing {
				want = append(want, n)
			}
			slices.Sort(got)
			slices.Sort(want)
			if !slices.Equal(got, want) {
				t.Errorf("failing %v, want %v", got, want)
			}
			for name, fix := range c.failing {
				if f := r.byName[name]; f != fix {
					t.Errorf("%s: fix %q, want %q", name, f, fix)
				}
				if !slices.Contains(r.Fixes, fix) {
					t.Errorf("fixes %v lack %q", r.Fixes, fix)
				}
			}
			for name, sub := range c.detail {
				if d := docCheck(t, r, name).Detail; !strings.Contains(d, sub) {
					t.Errorf("%s: detail %q lacks %q", name, d, sub)
				}
			}
		})
	}
}

// Pending grants with a helper at work are progress, not a problem.
func TestDoctorReadACLInProgress(t *testing.T) {
	m := healthyMachine(t)
	m.acl = aclhelper.State{Done: 2, Pending: 7, Running: true, Current: &aclhelper.Item{Path: `C:\w`, Started: true}}
	r := diagnose(context.Background(), m.env())
	c := docCheck(t, r, checkReadACL)
	if !r.OK || !c.OK || !strings.Contains(c.Detail, "2 of 9") || !strings.Contains(c.Detail, `now C:\w`) {
		t.Errorf("ok %v, read_acl %+v", r.OK, c)
	}
}

// The account checks agree with setup's own planner: they all pass
// exactly when `cordon setup` would do nothing, over random damage.
func TestDoctorAgreesWithSetupPlan(t *testing.T) {
	off, on := sandboxusers.OfflineUser, sandboxusers.OnlineUser
	// Each damage says whether it applied: damage to a deleted account
	// is moot.
	user := func(name string, f func(u *fakeUser)) func(m *fakeMachine) bool {
		return func(m *fakeMachine) bool {
			if m.users[name] == nil {
				return false
			}
			f(m.users[name])
			return true
		}
	}
	damage := []func(m *fakeMachine) bool{
		func(m *fakeMachine) bool { m.marker = nil; return true },
		func(m *fakeMachine) bool { m.markErr = errors.New("torn"); return true },
		func(m *fakeMachine) bool { m.group = false; return true },
		func(m *fakeMachine) bool { delete(m.users, off); return true },
		user(on, func(u *fakeUser) { u.flags |= sandboxusers.UF_ACCOUNTDISABLE }),
		user(on, func(u *fakeUser) { u.flags &^= sandboxusers.UF_PASSWD_CANT_CHANGE }),
		user(off, func(u *fakeUser) { u.member[sandboxusers.BuiltinAdministrators] = true }),
		user(on, func(u *fakeUser) { delete(u.member, sandboxusers.BuiltinUsers) }),
		user(off, func(u *fakeUser) { u.hidden = false }),
		func(m *fakeMachine) bool { delete(m.secrets, off); return true },
		func(m *fakeMachine) bool {
			m.secrets[on] = sandboxusers.Secret{Password: "p", Pending: true}
			return true
		},
		user(off, func(u *fakeUser) { u.password = "changed" }),
		user(on, func(u *fakeUser) { u.flags |= sandboxusers.UF_LOCKOUT }),
		user(on, func(u *fakeUser) { u.expired = true }),
		func(m *fakeMachine) bool {
			m.badSec[off] = &sandboxusers.SecretError{User: off, Reason: "tampered"}
			return true
		},
	}
	accountChecks := map[string]bool{"setup_marker": true, "group": true}
	for _, u := range []string{"offline", "online"} {
		for _, k := range []string{"user_", "secret_", "logon_"} {
			accountChecks[k+u] = true
		}
	}
	rng := rand.New(rand.NewPCG(11, 12))
	for i := range 300 {
		m := healthyMachine(t)
		var applied []int
		for j, f := range damage {
			if rng.IntN(6) == 0 && f(m) {
				applied = append(applied, j)
			}
		}
		r := diagnose(context.Background(), m.env())
		allOK := true
		for _, c := range r.Checks {
			if accountChecks[c.Name] && !c.OK {
				allOK = false
				if c.Fix != fixSetup && !strings.HasPrefix(c.Fix, fixSetup) {
					t.Errorf("case %d (damage %v): %s fails with fix %q, want cordon setup", i, applied, c.Name, c.Fix)
				}
			}
		}
		if allOK != (len(r.SetupWould) == 0) {
			t.Errorf("case %d (damage %v): account checks pass %v, but setup would do %v", i, applied, allOK, r.SetupWould)
		}
		if allOK != (len(applied) == 0) {
			t.Errorf("case %d (damage %v): account checks pass %v", i, applied, allOK)
		}
	}
}

// The rendering: a failing check prints FAIL, its detail and its fix;
// the JSON keeps its stable field names; the exit status is 1 with a
// coded line and "what to do" per distinct fix.
func TestDoctorRender(t *testing.T) {
	m := healthyMachine(t)
	delete(m.users, sandboxusers.OfflineUser)
	m.acl = aclhelper.State{Done: 1, Pending: 2}
	r := diagnose(context.Background(), m.env())
	var out, errb bytes.Buffer
	if code := printDoctor(r, false, &out, &errb); code != exitNo {
		t.Errorf("exit %d, want %d", code, exitNo)
	}
	for _, want := range []string{"FAIL  user_offline", "fix: cordon setup", "FAIL  read_acl", "fix: cordon acl-helper", "ok    user_online", "cordon setup would:"} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("stdout lacks %q:\n%s", want, out.String())
		}
	}
	if !strings.HasPrefix(errb.String(), "cordon: doctor_failed: ") ||
		strings.Count(errb.String(), "what to do: cordon setup\n") != 1 || !strings.Contains(errb.String(), "what to do: cordon acl-helper\n") {
		t.Errorf("stderr %q", errb.String())
	}
	out.Reset()
	errb.Reset()
	if code := printDoctor(r, true, &out, &errb); code != exitNo {
		t.Errorf("--json exit %d", code)
	}
	var js struct {
		OK        bool `json:"ok"`
		Supported bool `json:"supported"`
		Checks    []struct {
			Name   string `json:"name"`
			OK     bool   `json:"ok"`
			Detail string `json:"detail"`
			Fix    string `json:"fix"`
		} `json:"checks"`
		SetupWould []string `json:"setup_would"`
		Fixes      []string `json:"fixes"`
		ReadACL    struct {
			Pending int `json:"pending"`
		} `json:"read_acl"`
	}
	if err := json.Unmarshal(out.Bytes(), &js); err != nil {
		t.Fatalf("%v: %s", err, out.String())
	}
	if js.OK || !js.Supported || len(js.Checks) != len(r.Checks) || js.ReadACL.Pending != 2 ||
		!slices.Equal(js.Fixes, []string{fixSetup, fixHelper}) || len(js.SetupWould) == 0 {
		t.Errorf("json %+v", js)
	}
	for _, c := range js.Checks {
		if c.OK == (c.Fix != "") || c.Detail == "" {
			t.Errorf("json check %+v: a fix exactly when failing, always a detail", c)
		}
	}
	out.Reset()
	errb.Reset()
	if code := printDoctor(diagnose(context.Background(), healthyMachine(t).env()), false, &out, &errb); code != exitOK || errb.Len() != 0 ||
		!strings.Contains(out.String(), "healthy") {
		t.Errorf("healthy: exit %d, stdout %q, stderr %q", code, out.String(), errb.String())
	}
}

// The read-grant state doctor reads is the journal's, with the helper's
// mutex: queued work without a holder is "pending, no helper"; with the
// mutex held it is progress; failed items come back with their error.
func TestDoctorReadACLState(t *testing.T) {
	dir := testutil.TempDir(t)
	ctx := context.Background()
	if err := aclhelper.Enqueue(ctx, dir, []aclhelper.Item{
		{Path: `C:\a`, SID: "S-1-5-21-1-2-3-1000", Mask: 0x1200a9},
		{Path: `C:\b`, SID: "S-1-5-21-1-2-3-1000", Mask: 0x1200a9},
	}, nil); err != nil {
		t.Fatal(err)
	}
	st, failed, err := readACLState(dir)
	if err != nil || st.Pending != 2 || st.Running || len(failed) != 0 {
		t.Fatalf("queued: %+v %v %v", st, failed, err)
	}
	if runtime.GOOS == "windows" {
		return // the named mutex is per session: holding it here is the next test's business
	}
	mu, err := aclhelper.NewMutex(aclhelper.MutexName, dir)
	if err != nil {
		t.Fatal(err)
	}
	defer mu.Close()
	if ok, _, err := mu.TryLock(); !ok || err != nil {
		t.Fatal(ok, err)
	}
	st, _, err = readACLState(dir)
	if err != nil || !st.Running {
		t.Fatalf("held: %+v %v", st, err)
	}
	mu.Unlock()
	err = aclhelper.Run(ctx, aclhelper.Config{Dir: dir, Mutex: mu, Applier: failOn{`C:\b`}})
	if err == nil {
		t.Fatal("a failing item should make Run report it")
	}
	st, failed, err = readACLState(dir)
	if err != nil || st.Pending != 0 || st.Failed != 1 || len(failed) != 1 || failed[0].Path != `C:\b` || failed[0].Failed != "access denied" {
		t.Fatalf("after run: %+v %+v %v", st, failed, err)
	}
}

// failOn is an applier that fails on one path and applies the rest.
type failOn struct{ path string }

func (f failOn) Apply(_ context.Context, it aclhelper.Item, _ bool) (bool, error) {
	if it.Path == f.path {
		return false, errors.New("access denied")
	}
	return true, nil
}

// Off Windows doctor says the elevated mode does not exist here: exit 3,
// a stable code, and JSON that says so.
func TestDoctorUnsupportedOffWindows(t *testing.T) {
	if runtime.GOOS == "windows" {
		t.Skip("Windows has the elevated mode")
	}
	t.Setenv("CORDON_STATE_DIR", testutil.TempDir(t))
	var out, errb bytes.Buffer
	if code := run([]string{"doctor"}, nil, &out, &errb); code != exitUnsupported || !strings.HasPrefix(errb.String(), "cordon: elevated_unsupported: ") {
		t.Errorf("exit %d, stderr %q", code, errb.String())
	}
	out.Reset()
	errb.Reset()
	run([]string{"doctor", "--json"}, nil, &out, &errb)
	var js struct {
		Supported *bool `json:"supported"`
	}
	if err := json.Unmarshal(out.Bytes(), &js); err != nil || js.Supported == nil || *js.Supported {
		t.Errorf("json %q: %v", out.String(), err)
	}
}

func TestDoctorBadInput(t *testing.T) {
	for _, args := range [][]string{{"doctor", "extra"}, {"doctor", "--nope"}} {
		var out, errb bytes.Buffer
		if code := run(args, nil, &out, &errb); code != exitBadInput || !strings.HasPrefix(errb.String(), "cordon: usage: ") {
			t.Errorf("%q: exit %d, stderr %q", args, code, errb.String())
		}
	}
}
