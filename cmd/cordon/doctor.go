package main

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"strings"

	"github.com/cordon-sandbox/cordon/internal/aclhelper"
	"github.com/cordon-sandbox/cordon/internal/capsid"
	"github.com/cordon-sandbox/cordon/internal/netfence"
	"github.com/cordon-sandbox/cordon/internal/sandboxusers"
	"github.com/cordon-sandbox/cordon/ntsec"
)

// The doctor's decisions are made here, on every OS, from what a
// doctorEnv observes; doctor_windows.go builds the env from the machine
// (the SAM, DPAPI, WFP, the state directory) and the tests from fakes.

// The names of doctor's checks, stable for scripts. The per-user checks
// end in the user's role: user_offline, secret_online, logon_offline, …
const (
	checkMarker  = "setup_marker"
	checkGroup   = "group"
	checkUsers   = "users"  // the accounts could not be read at all
	checkUser    = "user"   // + "_offline" / "_online"
	checkSecret  = "secret" // + "_offline" / "_online"
	checkLogon   = "logon"  // + "_offline" / "_online"
	checkFence   = "network_fence"
	checkSIDs    = "sid_store"
	checkReadACL = "read_acl"
)

// The fix commands doctor prints.
const (
	fixSetup       = "cordon setup"
	fixHelper      = "cordon acl-helper"
	fixRetryFailed = "cordon acl-helper --retry-failed"
	fixDoctorAdmin = "cordon doctor (from an administrator shell)"
)

// doctorEnv is what doctor looks at. Nothing in it is ever asked to
// change anything: doctor only reads (the one side effect is the logon
// that proves a stored password, see diagnose).
type doctorEnv struct {
	// Users observes the sandbox accounts, passwords and marker, through
	// sandboxusers.Observe; only its read methods are called.
	Users sandboxusers.System
	// UserSID looks up the SID of a local account, for the fence's
	// condition.
	UserSID func(ctx context.Context, name string) (ntsec.SID, error)
	// Fence compares the installed WFP fence with the one cfg specifies
	// (netfence.Present).
	Fence func(cfg netfence.Config) (netfence.Status, error)
	// SIDStore reads the capability SID store (capsid.Load).
	SIDStore func(ctx context.Context) error
	// StorePath is the SID store's file, for the fix of a damaged one.
	StorePath string
	// ReadACL reads the read-grant journal and whether a helper runs
	// (aclhelper.Status), and the items that failed (aclhelper.Failures).
	ReadACL func() (aclhelper.State, []aclhelper.Item, error)
}

// doctorCheck is one line of doctor's report. Fix is the one command
// that repairs the problem, set exactly when OK is false.
type doctorCheck struct {
	Name   string `json:"name"`
	OK     bool   `json:"ok"`
	Detail string `json:"detail"`
	Fix    string `json:"fix,omitempty"`
}

// doctorReport is what `cordon doctor --json` prints.
type doctorReport struct {
	OK bool `json:"ok"`
	// Supported is false off Windows, where nothing else is filled in.
	Supported bool          `json:"supported"`
	Checks    []doctorCheck `json:"checks"`
	// SetupWould is what `cordon setup` would do, from the same
	// observation (sandboxusers.Plan): empty when the accounts are right.
	SetupWould []string          `json:"setup_would"`
	ReadACL    *aclhelper.State  `json:"read_acl,omitempty"`
	Fence      *netfence.Status  `json:"fence,omitempty"`
	Fixes      []string          `json:"fixes"`
	Failed     []aclhelper.Item  `json:"read_acl_failed,omitempty"`
	byName     map[string]string // check name → fix, for tests
}

// elevatedFence is the fence the elevated mode wants for the offline
// user: no network at all (no proxy: the elevated mode has no allowlist
// yet) and no loopback. `cordon setup` must install exactly this for
// doctor to find it complete.
func elevatedFence(offline ntsec.SID) netfence.Config {
	return netfence.Config{OfflineUser: offline}
}

// userRole names a sandbox user in check names.
func userRole(name string) string {
	switch name {
	case sandboxusers.OfflineUser:
		return "offline"
	case sandboxusers.OnlineUser:
		return "online"
	}
	return strings.ToLower(name)
}

// diagnose runs every check. It observes the accounts as `cordon setup`
// does (sandboxusers.Observe), including one logon per account with a
// committed stored password, never on a locked-out account: a wrong
// password thus costs one failed attempt per doctor run, and the
// `cordon setup` it recommends resets the password and with it the count.
func diagnose(ctx context.Context, env doctorEnv) doctorReport {
	r := doctorReport{Supported: true, byName: map[string]string{}}
	d := sandboxusers.Default()
	o, err := sandboxusers.Observe(ctx, env.Users, d)
	var offline sandboxusers.UserState
	if err != nil {
		r.add(checkUsers, false, "could not read the sandbox accounts: "+err.Error(), fixForObserve(err))
	} else {
		r.accountChecks(d, o)
		for _, a := range sandboxusers.Plan(d, o) {
			r.SetupWould = append(r.SetupWould, a.String())
		}
		offline = o.Users[sandboxusers.OfflineUser]
	}
	r.fenceCheck(ctx, env, err == nil && offline.Exists)
	r.storeCheck(ctx, env)
	r.readACLCheck(env)
	r.OK = true
	seen := map[string]bool{}
	for _, c := range r.Checks {
		r.OK = r.OK && c.OK
		if !c.OK && !seen[c.Fix] {
			seen[c.Fix] = true
			r.Fixes = append(r.Fixes, c.Fix)
		}
	}
	if r.SetupWould == nil {
		r.SetupWould = []string{}
	}
	if r.Fixes == nil {
		r.Fixes = []string{}
	}
	return r
}

func (r *doctorReport) add(name string, ok bool, detail, fix string) {
	if ok {
		fix = ""
	}
	r.Checks = append(r.Checks, doctorCheck{Name: name, OK: ok, Detail: detail, Fix: fix})
	r.byName[name] = fix
}

// fixForObserve is the fix when the accounts could not even be read:
// Windows refusing to show them to doctor is doctor's problem, not the
// accounts' (an administrator sees them); anything else, setup repairs
// or explains.
func fixForObserve(err error) string {
	if errors.Is(err, fs.ErrPermission) || sandboxusers.ErrorCode(err) == sandboxusers.CodeNeedsAdmin {
		return fixDoctorAdmin
	}
	return fixSetup
}

func (r *doctorReport) accountChecks(d sandboxusers.Desired, o sandboxusers.Observed) {
	m := o.Marker
	switch {
	case m.Current(d):
		r.add(checkMarker, true, fmt.Sprintf("version %d, updated %s", m.Marker.Version, m.Marker.Updated.Format("2006-01-02 15:04:05Z07:00")), "")
	case !m.Present:
		r.add(checkMarker, false, "no setup marker: setup has not completed", fixSetup)
	case m.Err != nil:
		r.add(checkMarker, false, "unreadable: "+m.Err.Error(), fixSetup)
	case m.Marker.Version != sandboxusers.Version:
		r.add(checkMarker, false, fmt.Sprintf("version %d, this cordon sets up version %d", m.Marker.Version, sandboxusers.Version), fixSetup)
	default:
		r.add(checkMarker, false, fmt.Sprintf("records group %s and users %v, this cordon wants %s and %v", m.Marker.Group, m.Marker.Users, d.Group, d.Users), fixSetup)
	}
	if o.GroupExists {
		r.add(checkGroup, true, d.Group+" exists", "")
	} else {
		r.add(checkGroup, false, d.Group+" is missing", fixSetup)
	}
	for _, name := range d.Users {
		u := o.Users[name]
		role := userRole(name)
		probs := userProblems(d, u)
		if len(probs) == 0 {
			r.add(checkUser+"_"+role, true, name+": present, flags, memberships and logon-screen entry as setup left them", "")
		} else {
			r.add(checkUser+"_"+role, false, name+": "+strings.Join(probs, "; "), fixSetup)
		}
		if u.Secret == sandboxusers.SecretOK {
			r.add(checkSecret+"_"+role, true, "the stored password of "+name+" decrypts", "")
		} else {
			detail := "the stored password of " + name + " is " + u.Secret.String()
			if u.SecretErr != nil {
				detail += ": " + u.SecretErr.Error()
			}
			r.add(checkSecret+"_"+role, false, detail, fixSetup)
		}
		ok, detail := logonState(u)
		fix := fixSetup
		if u.Logon == sandboxusers.LogonNotGranted || u.Logon == sandboxusers.LogonRestricted {
			detail += "; " + (&sandboxusers.Error{Code: sandboxusers.CodeLogonFailed}).Hint()
		}
		r.add(checkLogon+"_"+role, ok, name+": "+detail, fix)
	}
}

// userProblems lists what is wrong with an account as setup would see
// it, for people: the same conditions sandboxusers.Plan acts on.
func userProblems(d sandboxusers.Desired, u sandboxusers.UserState) []string {
	if !u.Exists {
		return []string{"the account does not exist"}
	}
	var p []string
	if want := sandboxusers.WantFlags(u.Flags); want != u.Flags {
		p = append(p, fmt.Sprintf("flags %s, want %s", sandboxusers.FlagString(u.Flags), sandboxusers.FlagString(want)))
	}
	cordonGroup := sandboxusers.Group{Name: d.Group}
	for _, m := range []struct {
		g    sandboxusers.Group
		want bool
	}{{cordonGroup, true}, {sandboxusers.BuiltinUsers, true}, {sandboxusers.BuiltinAdministrators, false}} {
		switch have := u.Member[m.g]; {
		case m.want && !have:
			p = append(p, "not a member of "+m.g.String())
		case !m.want && have:
			p = append(p, "a member of "+m.g.String()+", which a sandbox user must never be")
		}
	}
	if !u.Hidden {
		p = append(p, "shown on the logon screen")
	}
	if u.PasswordExpired {
		p = append(p, "password expired")
	}
	return p
}

// logonState says whether the stored password logged on, and if not why
// (or why it was not tried).
func logonState(u sandboxusers.UserState) (bool, string) {
	switch {
	case !u.Exists:
		return false, "not tried: the account does not exist"
	case u.Secret != sandboxusers.SecretOK:
		return false, "not tried: no usable stored password (" + u.Secret.String() + ")"
	case u.Flags&sandboxusers.UF_LOCKOUT != 0:
		return false, "not tried: the account is locked out"
	case u.Logon == sandboxusers.LogonOK && u.PasswordExpired:
		return false, "logged on, but the password is marked expired"
	case u.Logon == sandboxusers.LogonOK:
		return true, "a logon with the stored password works"
	case u.Logon == sandboxusers.LogonNotTried:
		return false, "not tried"
	}
	return false, "a logon with the stored password fails: " + u.Logon.String()
}

func (r *doctorReport) fenceCheck(ctx context.Context, env doctorEnv, haveUser bool) {
	if !haveUser {
		r.add(checkFence, false, "not checked: the filters are keyed on "+sandboxusers.OfflineUser+", which does not exist", fixSetup)
		return
	}
	sid, err := env.UserSID(ctx, sandboxusers.OfflineUser)
	if err != nil {
		r.add(checkFence, false, "not checked: looking up the SID of "+sandboxusers.OfflineUser+": "+err.Error(), fixSetup)
		return
	}
	st, err := env.Fence(elevatedFence(sid))
	switch {
	case errors.Is(err, fs.ErrPermission):
		r.add(checkFence, false, "the filtering engine refused to list the filters: "+err.Error(), fixDoctorAdmin)
		return
	case err != nil:
		r.add(checkFence, false, "could not read the filters: "+err.Error(), fixSetup)
		return
	}
	r.Fence = &st
	if st.Complete() {
		r.add(checkFence, true, fmt.Sprintf("%d filters for %s, as specified", st.Filters, sandboxusers.OfflineUser), "")
		return
	}
	r.add(checkFence, false, fenceProblems(st), fixSetup)
}

// fenceProblems describes an incomplete fence.
func fenceProblems(st netfence.Status) string {
	if st.Absent() {
		return "not installed: the offline user's network is not fenced"
	}
	var p []string
	if !st.Provider {
		p = append(p, "no provider")
	}
	if !st.Sublayer {
		p = append(p, "no sublayer")
	} else if st.SublayerWeight != netfence.SublayerWeight {
		p = append(p, fmt.Sprintf("sublayer weight %#x, want %#x", st.SublayerWeight, netfence.SublayerWeight))
	}
	if len(st.Missing) > 0 {
		p = append(p, "missing filters: "+strings.Join(st.Missing, ", "))
	}
	if len(st.Differ) > 0 {
		p = append(p, "changed filters: "+strings.Join(st.Differ, ", "))
	}
	if len(st.Unexpected) > 0 {
		p = append(p, "unexpected filters: "+strings.Join(st.Unexpected, ", "))
	}
	return "incomplete: " + strings.Join(p, "; ")
}

func (r *doctorReport) storeCheck(ctx context.Context, env doctorEnv) {
	err := env.SIDStore(ctx)
	var corrupt *capsid.CorruptError
	switch {
	case err == nil:
		r.add(checkSIDs, true, "the capability SID store is readable", "")
	case errors.As(err, &corrupt):
		// The store is never regenerated behind the user's back (capsid's
		// package doc): the fix removes the ACEs naming its SIDs, then
		// moves it aside; the next run makes new SIDs.
		r.add(checkSIDs, false, err.Error(),
			fmt.Sprintf("cordon cleanup; Move-Item -LiteralPath '%s' -Destination '%s.broken'", corrupt.Path, corrupt.Path))
	default:
		r.add(checkSIDs, false, "could not read the capability SID store: "+err.Error(),
			fmt.Sprintf("cordon sids list (it names the file and the error; check that you can read %s)", env.StorePath))
	}
}

func (r *doctorReport) readACLCheck(env doctorEnv) {
	st, failed, err := env.ReadACL()
	if err != nil {
		r.add(checkReadACL, false, "could not read the read-grant journal: "+err.Error(), fixHelper)
		return
	}
	r.ReadACL, r.Failed = &st, failed
	progress := fmt.Sprintf("%d of %d read grants applied", st.Done-st.Failed, st.Done+st.Pending)
	switch {
	case st.Corrupt:
		r.add(checkReadACL, false, "the read-grant journal is corrupt (torn or edited); a helper rebuilds it", fixHelper)
	case st.Pending > 0 && !st.Running:
		detail := fmt.Sprintf("%s, %d pending and no helper running", progress, st.Pending)
		if st.Current != nil {
			detail += "; a helper stopped while applying " + st.Current.Path
		}
		r.add(checkReadACL, false, detail, fixHelper)
	case st.Failed > 0:
		detail := fmt.Sprintf("%s, %d failed", progress, st.Failed)
		if n := len(failed); n > 0 {
			detail += fmt.Sprintf("; last: %s: %s", failed[n-1].Path, failed[n-1].Failed)
		}
		r.add(checkReadACL, false, detail, fixRetryFailed)
	case st.Pending > 0:
		detail := fmt.Sprintf("%s, %d pending; a helper is applying them", progress, st.Pending)
		if st.Current != nil {
			detail += " (now " + st.Current.Path + ")"
		}
		r.add(checkReadACL, true, detail, "")
	case st.Running:
		r.add(checkReadACL, true, progress+"; a helper is finishing", "")
	default:
		r.add(checkReadACL, true, progress+"; nothing pending", "")
	}
}

// readACLState reads the journal and asks the named mutex whether a
// helper holds it.
func readACLState(dir string) (aclhelper.State, []aclhelper.Item, error) {
	m, err := aclhelper.NewMutex(aclhelper.MutexName, dir)
	if err != nil {
		return aclhelper.State{}, nil, err
	}
	defer m.Close()
	st, err := aclhelper.Status(dir, m)
	if err != nil {
		return st, nil, err
	}
	failed, err := aclhelper.Failures(dir)
	return st, failed, err
}
