package sandboxusers

import (
	"context"
	"math/rand/v2"
	"os"
	"testing"
)

// breakages damage one user's setup each, the way the outside world can.
var breakages = []func(w *world, user string){
	func(w *world, u string) { w.acc.DeleteUser(context.Background(), u) },
	func(w *world, u string) {
		if x := w.acc.users[u]; x != nil {
			x.expired = true
		}
	},
	func(w *world, u string) {
		if x := w.acc.users[u]; x != nil {
			x.password = "changed elsewhere"
		}
	},
	func(w *world, u string) {
		if x := w.acc.users[u]; x != nil {
			x.flags |= UF_LOCKOUT | UF_ACCOUNTDISABLE | UF_PASSWD_NOTREQD
		}
	},
	func(w *world, u string) {
		if x := w.acc.users[u]; x != nil {
			x.flags &^= UF_DONT_EXPIRE_PASSWD | UF_PASSWD_CANT_CHANGE
		}
	},
	func(w *world, u string) { os.Remove(w.secrets.path(u)) },
	func(w *world, u string) { os.WriteFile(w.secrets.path(u), []byte(`{"version":1}`), 0o600) },
	func(w *world, u string) {
		s, _ := w.secrets.Load(u)
		w.secrets.Store(u, Secret{Password: s.Password + "x", Pending: true})
	},
	func(w *world, u string) { delete(w.acc.members[Group{Name: GroupName}], u) },
	func(w *world, u string) { delete(w.acc.members[BuiltinUsers], u) },
	func(w *world, u string) {
		if w.acc.users[u] != nil {
			w.acc.members[BuiltinAdministrators][u] = true
		}
	},
	func(w *world, u string) { delete(w.acc.hidden, u) },
	func(w *world, _ string) { w.acc.DeleteGroup(context.Background(), GroupName) },
	func(w *world, _ string) { os.WriteFile(w.markers.path(), []byte(`{"version":0}`), 0o600) },
	func(w *world, _ string) { os.Remove(w.markers.path()) },
}

// After any combination of damage, one setup restores the desired state
// with working passwords, and the next one plans nothing.
func TestAnyDamageIsRepairedInOneRun(t *testing.T) {
	skipUnderWine(t)
	for seed := range uint64(120) {
		r := rand.New(rand.NewPCG(seed, 7))
		w := newWorld(t)
		w.mustRun(t, Options{})
		var applied []int
		for range 1 + r.IntN(5) {
			i := r.IntN(len(breakages))
			breakages[i](w, Default().Users[r.IntN(2)])
			applied = append(applied, i)
		}
		if _, out, err := w.run(t, Options{}); err != nil {
			t.Fatalf("seed %d, damage %v: %v\n%s", seed, applied, err, out)
		}
		w.checkSetUp(t)
		if p := w.plan(t); len(p) != 0 {
			t.Fatalf("seed %d, damage %v: plan after repair %v", seed, applied, p)
		}
		if t.Failed() {
			t.Fatalf("seed %d, damage %v", seed, applied)
		}
	}
}
