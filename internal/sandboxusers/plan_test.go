package sandboxusers

import (
	"context"
	"errors"
	"fmt"
	"os"
	"slices"
	"strings"
	"testing"
)

// step is an action without its explanation, for comparing plans.
type step struct {
	kind  Kind
	user  string
	group Group
}

func steps(acts []Action) []step {
	var s []step
	for _, a := range acts {
		s = append(s, step{a.Kind, a.User, a.Group})
	}
	return s
}

var cordonGroup = Group{Name: GroupName}

func TestFirstSetupCreatesEverythingAndSecondChangesNothing(t *testing.T) {
	w := newWorld(t)
	r := w.mustRun(t, Options{})
	want := []step{
		{CreateGroup, "", cordonGroup},
		{CreateUser, OfflineUser, Group{}}, {AddMember, OfflineUser, cordonGroup}, {AddMember, OfflineUser, BuiltinUsers}, {Hide, OfflineUser, Group{}},
		{CreateUser, OnlineUser, Group{}}, {AddMember, OnlineUser, cordonGroup}, {AddMember, OnlineUser, BuiltinUsers}, {Hide, OnlineUser, Group{}},
		{Verify, OfflineUser, Group{}}, {Verify, OnlineUser, Group{}},
		{WriteMarker, "", Group{}},
	}
	if got := steps(r.Planned); !slices.Equal(got, want) {
		t.Fatalf("first plan\n got %v\nwant %v", got, want)
	}
	w.checkSetUp(t)
	off, on := w.acc.users[OfflineUser].password, w.acc.users[OnlineUser].password
	if off == on {
		t.Error("both users got the same password")
	}
	marker, _ := w.markers.Read()

	calls := w.k.calls
	r, out, err := w.run(t, Options{})
	if err != nil || len(r.Planned) != 0 {
		t.Fatalf("second run: plan %v, err %v", r.Planned, err)
	}
	if w.k.calls != calls {
		t.Errorf("second run made %d changes", w.k.calls-calls)
	}
	if !strings.Contains(out, "nothing to do") {
		t.Errorf("second run said %q", out)
	}
	if w.acc.users[OfflineUser].password != off || w.acc.users[OnlineUser].password != on {
		t.Error("second run changed a password")
	}
	if m, _ := w.markers.Read(); !m.Updated.Equal(marker.Updated) {
		t.Error("second run rewrote the marker")
	}
}

func TestRepairs(t *testing.T) {
	tail := []step{{Verify, OfflineUser, Group{}}, {Verify, OnlineUser, Group{}}, {WriteMarker, "", Group{}}}
	reset := step{ResetPassword, OnlineUser, Group{}}
	cases := []struct {
		name   string
		break_ func(t *testing.T, w *world)
		want   []step
		// noLogon: the broken user's stored password must not be tried.
		noLogon bool
	}{
		{name: "user deleted", break_: func(t *testing.T, w *world) {
			w.acc.DeleteUser(context.Background(), OnlineUser)
		}, want: append([]step{{CreateUser, OnlineUser, Group{}}, {AddMember, OnlineUser, cordonGroup}, {AddMember, OnlineUser, BuiltinUsers}, {Hide, OnlineUser, Group{}}}, tail...)},
		{name: "password expired", break_: func(t *testing.T, w *world) {
			w.acc.users[OnlineUser].expired = true
		}, want: append([]step{reset}, tail...)},
		{name: "password changed outside", break_: func(t *testing.T, w *world) {
			w.acc.users[OnlineUser].password = "changed by someone"
		}, want: append([]step{reset}, tail...)},
		{name: "secret file missing", break_: func(t *testing.T, w *world) {
			os.Remove(w.secrets.path(OnlineUser))
		}, want: append([]step{reset}, tail...), noLogon: true},
		{name: "secret file corrupt", break_: func(t *testing.T, w *world) {
			os.WriteFile(w.secrets.path(OnlineUser), []byte("{not json"), 0o600)
		}, want: append([]step{reset}, tail...), noLogon: true},
		{name: "secret blob tampered", break_: func(t *testing.T, w *world) {
			b, _ := os.ReadFile(w.secrets.path(OnlineUser))
			i := strings.Index(string(b), `"blob": "`) + len(`"blob": "`)
			b[i] ^= 'A' ^ 'B'
			if b[i] == '"' {
				b[i] = 'C'
			}
			os.WriteFile(w.secrets.path(OnlineUser), b, 0o600)
		}, want: append([]step{reset}, tail...), noLogon: true},
		{name: "secret of the other user copied over", break_: func(t *testing.T, w *world) {
			b, _ := os.ReadFile(w.secrets.path(OfflineUser))
			b = []byte(strings.Replace(string(b), OfflineUser, OnlineUser, 1))
			os.WriteFile(w.secrets.path(OnlineUser), b, 0o600)
		}, want: append([]step{reset}, tail...), noLogon: true},
		{name: "secret left pending", break_: func(t *testing.T, w *world) {
			s, _ := w.secrets.Load(OnlineUser)
			w.secrets.Store(OnlineUser, Secret{Password: s.Password, Pending: true})
		}, want: append([]step{reset}, tail...), noLogon: true},
		{name: "account locked out", break_: func(t *testing.T, w *world) {
			w.acc.users[OnlineUser].flags |= UF_LOCKOUT
		}, want: append([]step{{SetFlags, OnlineUser, Group{}}, reset}, tail...), noLogon: true},
		{name: "account disabled", break_: func(t *testing.T, w *world) {
			w.acc.users[OnlineUser].flags |= UF_ACCOUNTDISABLE
		}, want: append([]step{{SetFlags, OnlineUser, Group{}}, reset}, tail...)},
		{name: "password set to expire", break_: func(t *testing.T, w *world) {
			w.acc.users[OnlineUser].flags &^= UF_DONT_EXPIRE_PASSWD
		}, want: append([]step{{SetFlags, OnlineUser, Group{}}}, tail...)},
		{name: "removed from the group", break_: func(t *testing.T, w *world) {
			delete(w.acc.members[cordonGroup], OnlineUser)
		}, want: append([]step{{AddMember, OnlineUser, cordonGroup}}, tail...)},
		{name: "removed from Users", break_: func(t *testing.T, w *world) {
			delete(w.acc.members[BuiltinUsers], OnlineUser)
		}, want: append([]step{reset, {AddMember, OnlineUser, BuiltinUsers}}, tail...)},
		{name: "added to Administrators", break_: func(t *testing.T, w *world) {
			w.acc.members[BuiltinAdministrators][OnlineUser] = true
		}, want: append([]step{{RemoveMember, OnlineUser, BuiltinAdministrators}}, tail...)},
		{name: "shown on the logon screen", break_: func(t *testing.T, w *world) {
			delete(w.acc.hidden, OnlineUser)
		}, want: append([]step{{Hide, OnlineUser, Group{}}}, tail...)},
		{name: "group deleted", break_: func(t *testing.T, w *world) {
			w.acc.DeleteGroup(context.Background(), GroupName)
		}, want: append([]step{{CreateGroup, "", cordonGroup}, {AddMember, OfflineUser, cordonGroup}, {AddMember, OnlineUser, cordonGroup}}, tail...)},
		{name: "marker missing", break_: func(t *testing.T, w *world) {
			os.Remove(w.markers.path())
		}, want: []step{{WriteMarker, "", Group{}}}},
		{name: "marker corrupt", break_: func(t *testing.T, w *world) {
			os.WriteFile(w.markers.path(), []byte("\x00\x01"), 0o600)
		}, want: []step{{WriteMarker, "", Group{}}}},
		{name: "marker stale version", break_: func(t *testing.T, w *world) {
			m, _ := w.markers.Read()
			m.Version = Version - 1
			w.markers.Write(m)
		}, want: []step{{WriteMarker, "", Group{}}}},
		{name: "marker lists a user of an older version", break_: func(t *testing.T, w *world) {
			w.acc.CreateUser(context.Background(), "CordonSandboxLegacy", "x", RequiredFlags)
			w.acc.hidden["CordonSandboxLegacy"] = true
			m, _ := w.markers.Read()
			m.Users = append(m.Users, "CordonSandboxLegacy")
			w.markers.Write(m)
		}, want: append([]step{{Unhide, "CordonSandboxLegacy", Group{}}, {DeleteUser, "CordonSandboxLegacy", Group{}}}, tail...)},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			w := newWorld(t)
			w.mustRun(t, Options{})
			c.break_(t, w)
			logons := w.acc.logons[OnlineUser]
			r := w.mustRun(t, Options{})
			if got := steps(r.Planned); !slices.Equal(got, c.want) {
				t.Errorf("repair plan\n got %v\nwant %v", got, c.want)
			}
			// Verify tries once; observing must add nothing when noLogon.
			if tries := w.acc.logons[OnlineUser] - logons; c.noLogon && tries != 1 {
				t.Errorf("%d logon attempts, want only the final verification", tries)
			}
			w.checkSetUp(t)
			if p := w.plan(t); len(p) != 0 {
				t.Errorf("plan after the repair: %v", p)
			}
		})
	}
}

// A marker is the real user's to write; it must not make an elevated
// setup delete an account cordon does not manage.
func TestMarkerCannotNameForeignAccounts(t *testing.T) {
	w := newWorld(t)
	w.mustRun(t, Options{})
	w.acc.CreateUser(context.Background(), "Administrator", "secret", UF_SCRIPT)
	m, _ := w.markers.Read()
	m.Users = append(m.Users, "Administrator")
	m.Group = "Administrators"
	w.markers.Write(m)
	w.mustRun(t, Options{})
	w.mustRun(t, Options{Remove: true})
	if _, ok := w.acc.users["Administrator"]; !ok {
		t.Fatal("setup deleted an account the marker named but cordon does not manage")
	}
}

// TestCrashAtEveryStepConverges runs setup from a state made by prepare,
// killed at every mutating call, before and after its effect; then runs
// setup again and checks it converges. Where the stored password was
// right (a fresh machine, a locked-out account), no run may
// ever try a wrong password: the pending secret tells the next run what a
// killed one left, so nothing counts towards a lockout.
func TestCrashAtEveryStepConverges(t *testing.T) {
	skipUnderWine(t)
	prepares := map[string]func(t *testing.T, w *world){
		"fresh machine": func(*testing.T, *world) {},
		"locked out": func(t *testing.T, w *world) {
			w.mustRun(t, Options{})
			w.acc.users[OfflineUser].flags |= UF_LOCKOUT
		},
		"password changed and user deleted": func(t *testing.T, w *world) {
			w.mustRun(t, Options{})
			w.acc.users[OfflineUser].password = "elsewhere"
			w.acc.DeleteUser(context.Background(), OnlineUser)
		},
	}
	for name, prepare := range prepares {
		// Count the mutating calls of an unkilled run.
		w := newWorld(t)
		prepare(t, w)
		before := w.k.calls
		w.mustRun(t, Options{})
		total := w.k.calls - before
		if total < 3 {
			t.Fatalf("%s: only %d mutating calls", name, total)
		}
		for at := 1; at <= total; at++ {
			for _, after := range []bool{false, true} {
				t.Run(fmt.Sprintf("%s/call%d/after=%v", name, at, after), func(t *testing.T) {
					w := newWorld(t)
					prepare(t, w)
					w.k.at, w.k.after = w.k.calls+at, after
					_, _, err := w.run(t, Options{})
					if !errors.Is(err, errKilled) {
						t.Fatalf("killed run: %v", err)
					}
					if ErrorCode(err) == "" {
						t.Errorf("killed run's error has no code: %v", err)
					}
					w.k.at = 0
					w.mustRun(t, Options{})
					w.checkSetUp(t)
					if name != "password changed and user deleted" && w.acc.badTries != 0 {
						t.Errorf("%d logons with a wrong password", w.acc.badTries)
					}
					if p := w.plan(t); len(p) != 0 {
						t.Errorf("plan after recovery: %v", p)
					}
				})
			}
		}
	}
}

func TestRemoveUndoesEverything(t *testing.T) {
	w := newWorld(t)
	w.mustRun(t, Options{})
	w.mustRun(t, Options{Remove: true})
	w.checkRemoved(t)
	calls := w.k.calls
	r, out, err := w.run(t, Options{Remove: true})
	if err != nil || len(r.Planned) != 0 || w.k.calls != calls {
		t.Fatalf("second remove: plan %v, %d changes, err %v", r.Planned, w.k.calls-calls, err)
	}
	if !strings.Contains(out, "Nothing to remove") {
		t.Errorf("second remove said %q", out)
	}
}

func TestRemoveKilledAtEveryStepConverges(t *testing.T) {
	skipUnderWine(t)
	w := newWorld(t)
	w.mustRun(t, Options{})
	before := w.k.calls
	w.mustRun(t, Options{Remove: true})
	total := w.k.calls - before
	for at := 1; at <= total; at++ {
		for _, after := range []bool{false, true} {
			t.Run(fmt.Sprintf("call%d/after=%v", at, after), func(t *testing.T) {
				w := newWorld(t)
				w.mustRun(t, Options{})
				w.k.at, w.k.after = w.k.calls+at, after
				if _, _, err := w.run(t, Options{Remove: true}); !errors.Is(err, errKilled) {
					t.Fatalf("killed remove: %v", err)
				}
				if _, err := w.markers.Read(); !errors.Is(err, ErrMarkerMissing) && !(at == 1 && !after) {
					t.Errorf("a killed remove left the marker: %v", err)
				}
				w.k.at = 0
				w.mustRun(t, Options{Remove: true})
				w.checkRemoved(t)
			})
		}
	}
}

func TestDryRunChangesNothing(t *testing.T) {
	for _, remove := range []bool{false, true} {
		w := newWorld(t)
		if remove {
			w.mustRun(t, Options{})
		}
		calls := w.k.calls
		r, out, err := w.run(t, Options{DryRun: true, Remove: remove})
		if err != nil || len(r.Planned) == 0 {
			t.Fatalf("dry run: plan %v, err %v", r.Planned, err)
		}
		if w.k.calls != calls {
			t.Errorf("dry run made %d changes", w.k.calls-calls)
		}
		for _, a := range r.Planned {
			if !strings.Contains(out, a.String()) {
				t.Errorf("dry run output lacks %q:\n%s", a, out)
			}
		}
	}
}

// A password the policy refuses must surface with its own code, and the
// run must not leave a user without a pending secret saying so.
type refusingAccounts struct{ *fakeAccounts }

type policyErr struct{}

func (policyErr) Error() string   { return "NERR_PasswordTooShort" }
func (policyErr) SetupCode() Code { return CodePasswordPolicy }

func (r refusingAccounts) CreateUser(context.Context, string, string, uint32) error {
	return policyErr{}
}

func TestCodedErrorsKeepTheirCode(t *testing.T) {
	w := newWorld(t)
	sys := w.sys()
	sys.Accounts = refusingAccounts{w.acc}
	_, err := Run(context.Background(), sys, Default(), Options{}, nil)
	if ErrorCode(err) != CodePasswordPolicy {
		t.Fatalf("got %v (code %q), want code %s", err, ErrorCode(err), CodePasswordPolicy)
	}
	var e *Error
	if !errors.As(err, &e) || e.Hint() == "" || !strings.Contains(e.Op, OfflineUser) {
		t.Errorf("error %#v lacks the step or a hint", e)
	}
}

// SAM user names are at most 20 characters (NetUserAdd fails with
// NERR_BadUsername beyond); group names at most 256.
func TestNamesFitSAMLimits(t *testing.T) {
	d := Default()
	for _, u := range d.Users {
		if len(u) > 20 || !Managed(u) {
			t.Errorf("user name %q: %d characters (max 20), managed %v", u, len(u), Managed(u))
		}
	}
	if len(d.Group) > 256 || !Managed(d.Group) {
		t.Errorf("group name %q", d.Group)
	}
	for _, n := range []string{"CordonSandbox", "Administrator", "cordonsandbo", ""} {
		if Managed(n) {
			t.Errorf("Managed(%q) = true", n)
		}
	}
	if !Managed("cordonsandboxOld") {
		t.Error("Managed is case-sensitive; account names are not")
	}
}

func TestCheckAndPassword(t *testing.T) {
	w := newWorld(t)
	if err := Check(w.markers, Default()); ErrorCode(err) != CodeNotSetUp {
		t.Fatalf("before setup: %v", err)
	}
	if _, err := Password(w.secrets, OfflineUser); ErrorCode(err) != CodeNotSetUp {
		t.Fatalf("password before setup: %v", err)
	}
	w.mustRun(t, Options{})
	if err := Check(w.markers, Default()); err != nil {
		t.Fatalf("after setup: %v", err)
	}
	pw, err := Password(w.secrets, OfflineUser)
	if err != nil || pw != w.acc.users[OfflineUser].password {
		t.Fatalf("Password = %q, %v", pw, err)
	}
	m, _ := w.markers.Read()
	m.Version++
	w.markers.Write(m)
	if err := Check(w.markers, Default()); ErrorCode(err) != CodeNotSetUp || !strings.Contains(err.Error(), "stale version") {
		t.Fatalf("stale marker: %v", err)
	}
	w.secrets.Store(OfflineUser, Secret{Password: pw, Pending: true})
	if _, err := Password(w.secrets, OfflineUser); ErrorCode(err) != CodeNotSetUp {
		t.Fatalf("pending password: %v", err)
	}
}
