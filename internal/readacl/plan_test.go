package readacl

import (
	"sort"
	"strings"
	"testing"

	"github.com/cordon-sandbox/cordon/internal/aclplan"
	"github.com/cordon-sandbox/cordon/internal/fsview"
	"github.com/cordon-sandbox/cordon/ntsec"
)

func paths(es []aclplan.Edit) []string {
	var out []string
	for _, e := range es {
		out = append(out, e.Path+" "+e.ACE.SDDL())
	}
	sort.Strings(out)
	return out
}

func mustMake(t *testing.T, in Input) *Plan {
	t.Helper()
	pl, err := Make(in)
	if err != nil {
		t.Fatal(err)
	}
	return pl
}

func mustProve(t *testing.T, m *fsview.Memory, in Input, edits []aclplan.Edit) Proof {
	t.Helper()
	pr, err := Prove(m, in, edits)
	if err != nil {
		t.Fatal(err)
	}
	return pr
}

// A cold plan grants the group read on exactly the profile children that
// hold no secret (splitting .config and AppData down to the secret's
// siblings), the toolchain Users cannot read, and nothing on C:\Windows,
// which Users reads already; the cwd inherits its profile child's grant.
// Applied, it passes the proof, and planned again it has no edits.
func TestColdThenWarm(t *testing.T) {
	m := machine(t)
	in := input(t, m, resolve(t, `C:\Users\me\proj`, []string{`D:\data`}))
	pl := mustMake(t, in)
	g := "(A;OICI;0x1200a9;;;" + group.String() + ")"
	want := []string{
		`C:\Tools ` + g,
		`C:\Users\me\.config\git ` + g,
		`C:\Users\me\.gitconfig (A;;0x1200a9;;;` + group.String() + `)`,
		`C:\Users\me\AppData\Local\Temp ` + g, // Local holds the missing secrets Microsoft\Credentials, Vault, ...
		// not AppData\Roaming\Microsoft\Windows: it holds the (missing)
		// secret PowerShell\PSReadLine, and has no other child here
		`C:\Users\me\AppData\Roaming\npm ` + g,
		`C:\Users\me\Documents ` + g,
		`C:\Users\me\proj ` + g,
		`D:\data ` + g,
	}
	sort.Strings(want)
	if got := paths(pl.Edits); strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("edits:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	for _, e := range pl.Edits {
		for _, s := range []string{`.ssh`, `.aws`, `\gh`, `Credentials`, `.npmrc`, `NTUSER`, `ntuser`} {
			if strings.Contains(e.Path, s) {
				t.Errorf("secret granted: %s", e)
			}
		}
	}
	if !pl.Proof.OK {
		t.Fatalf("proof: %s", pl.Proof.Summary())
	}
	work := m.Clone()
	if _, err := aclplan.Apply(work, pl.Edits); err != nil {
		t.Fatal(err)
	}
	in.View = work
	if warm := mustMake(t, in); len(warm.Edits) != 0 {
		t.Errorf("warm plan writes: %v", paths(warm.Edits))
	}
}

// The planner reads the targets and the directories it splits, never a
// granted subtree: a thousand more files below Documents cost no read.
func TestReadsDoNotGrowWithTrees(t *testing.T) {
	count := func(extra int) int64 {
		m := machine(t)
		b := &builder{t, m}
		for i := 0; i < extra; i++ {
			b.add(`C:\Users\me\Documents\f`+strings.Repeat("x", i%7)+string(rune('a'+i%26))+string(rune('a'+i/26%26))+string(rune('a'+i/676)), fsview.File, "")
		}
		m.ResetReads()
		mustMake(t, input(t, m, resolve(t, `C:\Users\me\proj`, nil)))
		return m.Reads()
	}
	if a, b := count(0), count(1000); a != b {
		t.Errorf("reads: %d on the bare profile, %d with 1000 more files", a, b)
	}
}

// Secret folders reached by another spelling are never granted: a case
// variant in the policy, a trailing dot or space on the child's name
// (possible through \\?\), a junction as a profile child pointing into
// .ssh, a secret that is itself a junction (its target is secret too).
func TestSecretVariants(t *testing.T) {
	m := machine(t)
	b := &builder{t, m}
	b.add(`\\?\C:\Users\me\.kube.`, fsview.Directory, "")
	b.add(`\\?\C:\Users\me\.azure `, fsview.Directory, "")
	b.link(`C:\Users\me\keys`, fsview.Junction, `C:\Users\me\.ssh`)
	b.add(`D:\vault`, fsview.Directory, "")
	b.add(`D:\vault\gpg`, fsview.Directory, "")
	b.add(`D:\vault\gpg\secring`, fsview.File, "")
	b.add(`D:\vault\other`, fsview.Directory, "")
	b.link(`C:\Users\me\.gnupg`, fsview.Junction, `D:\vault\gpg`)
	res := resolve(t, `C:\Users\me\proj`, []string{`D:\vault`}, `C:\USERS\ME\.SECRETS`)
	b.add(`C:\Users\me\.Secrets`, fsview.Directory, "")
	in := input(t, m, res)
	pl := mustMake(t, in)
	got := strings.Join(paths(pl.Edits), "\n")
	for _, bad := range []string{`.kube`, `.azure`, `keys`, `.gnupg`, `D:\vault `, `D:\vault\gpg`, `.Secrets`} {
		if strings.Contains(got, bad) {
			t.Errorf("granted %s:\n%s", bad, got)
		}
	}
	if !strings.Contains(got, `D:\vault\other `) {
		t.Errorf("the writable root holding a secret was not split:\n%s", got)
	}
	if !pl.Proof.OK {
		t.Errorf("proof: %s", pl.Proof.Summary())
	}
}

// A secret path written as a possible 8.3 short name matches no listed
// child: the planner cannot tell which child it is and refuses to plan.
func TestShortNameSecretRefused(t *testing.T) {
	m := machine(t)
	in := input(t, m, resolve(t, `C:\Users\me\proj`, nil, `C:\Users\me\DOCUME~1`))
	if _, err := Make(in); err == nil || !strings.Contains(err.Error(), "8.3") {
		t.Fatalf("Make: %v", err)
	}
}

// A secret folder the group can read already (an explicit Everyone read
// on .kube) gets an inheritable deny for the group, a file in .ssh with its
// own Everyone read (which an inherited deny would not override) a deny of
// its own; without them the proof fails, and a folder nobody opened gets
// no deny.
func TestReadableSecretDenied(t *testing.T) {
	m := machine(t)
	b := &builder{t, m}
	b.add(`C:\Users\me\.kube`, fsview.Directory, "D:(A;OICI;0x1200a9;;;WD)")
	b.add(`C:\Users\me\.kube\config`, fsview.File, "")
	b.add(`C:\Users\me\.ssh\known_hosts`, fsview.File, "D:(A;;0x1200a9;;;WD)")
	in := input(t, m, resolve(t, `C:\Users\me\proj`, nil))
	pl := mustMake(t, in)
	var denies, rest []aclplan.Edit
	for _, e := range pl.Edits {
		if e.ACE.Type == ntsec.AccessDenied {
			denies = append(denies, e)
		} else {
			rest = append(rest, e)
		}
	}
	if len(denies) != 2 || denies[0].Path != `C:\Users\me\.ssh\known_hosts` || denies[0].ACE.Flags != 0 ||
		denies[1].Path != `C:\Users\me\.kube` || denies[1].ACE.Flags != inherit {
		t.Fatalf("denies: %v", paths(denies))
	}
	if !pl.Proof.OK {
		t.Fatalf("proof: %s", pl.Proof.Summary())
	}
	for i, d := range denies {
		without := append(append([]aclplan.Edit{}, rest...), denies[1-i])
		if pr := mustProve(t, m, in, without); pr.OK || !strings.Contains(pr.Summary(), d.Path+" ") {
			t.Errorf("proof without the deny on %s: %s", d.Path, pr.Summary())
		}
	}
}

// A cwd below a granted profile child inherits its grant, unless a
// directory on the way protects its DACL: then the cwd is granted itself.
func TestCwdBelowProtectedDirectory(t *testing.T) {
	m := machine(t)
	b := &builder{t, m}
	b.add(`C:\Users\me\Documents\locked`, fsview.Directory, "D:P(A;OICI;FA;;;S-1-5-21-1-2-3-1001)")
	b.add(`C:\Users\me\Documents\locked\ws`, fsview.Directory, "")
	b.add(`C:\Users\me\Documents\open`, fsview.Directory, "")
	b.add(`C:\Users\me\Documents\open\ws`, fsview.Directory, "")
	for _, c := range []struct {
		cwd     string
		granted bool
	}{{`C:\Users\me\Documents\locked\ws`, true}, {`C:\Users\me\Documents\open\ws`, false}} {
		pl := mustMake(t, input(t, m, resolve(t, c.cwd, nil)))
		got := strings.Contains(strings.Join(paths(pl.Edits), "\n"), c.cwd+" ")
		if got != c.granted {
			t.Errorf("cwd %s granted: %v, want %v (%v)", c.cwd, got, c.granted, paths(pl.Edits))
		}
	}
}

// A secret named twice (the default list's .aws and the policy's own
// spelling of it) is checked once: one deny, not two.
func TestSecretNamedTwiceDeniedOnce(t *testing.T) {
	m := machine(t)
	b := &builder{t, m}
	b.add(`C:\Users\me\.aws\config`, fsview.File, "D:(A;;0x1200a9;;;WD)")
	pl := mustMake(t, input(t, m, resolve(t, `C:\Users\me\proj`, nil, `C:\USERS\ME\.AWS`, `C:\Users\me\.aws\config`)))
	n := 0
	for _, e := range pl.Edits {
		if e.Path == `C:\Users\me\.aws\config` {
			n++
		}
	}
	if n != 1 {
		t.Errorf("%d edits on .aws\\config: %v", n, paths(pl.Edits))
	}
}
