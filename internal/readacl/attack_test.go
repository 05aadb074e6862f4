package readacl

import (
	"testing"

	"github.com/cordon-sandbox/cordon/internal/aclplan"
	"github.com/cordon-sandbox/cordon/internal/fsview"
	"github.com/cordon-sandbox/cordon/internal/winpath"
	"github.com/cordon-sandbox/cordon/ntsec"
)

// Attacks on the read plan by a hostile command (or a hostile process of
// the sandbox user's). Each test fails while the attack works; the open
// ones are skipped with what is missing.

// cordon's state directory is %LOCALAPPDATA%\cordon, a child of
// AppData\Local, which the plan splits (secrets lie below it) and whose
// other children it grants: unless the state directory is Private, the
// sandbox group reads cordon.log (the command lines of your other runs),
// the ACE record, the SID store, the read-grant journal, the tool-cache
// layers, and the temp directories of every other workspace (tmp\<hash>,
// which your other runs' commands wrote). The run's own temp directory, a
// writable root below it, is left to the write plan's grant.
func TestAttackStateDirIsReadByTheGroup(t *testing.T) {
	m := machine(t)
	b := &builder{t, m}
	state := `C:\Users\me\AppData\Local\cordon`
	b.add(state, fsview.Directory, "")
	b.add(state+`\cordon.log`, fsview.File, "")
	b.add(state+`\tmp`, fsview.Directory, "")
	b.add(state+`\tmp\0123456789abcdef`, fsview.Directory, "")
	b.add(state+`\tmp\0123456789abcdef\build.log`, fsview.File, "")
	b.add(state+`\tmp\fedcba9876543210`, fsview.Directory, "")
	for _, private := range []bool{false, true} {
		in := input(t, m, resolve(t, `C:\Users\me\proj`, []string{state + `\tmp\fedcba9876543210`}))
		if private {
			in.Private = []string{state}
		}
		pl := mustMake(t, in)
		work := m.Clone()
		if _, err := aclplan.Apply(work, pl.Edits); err != nil {
			t.Fatal(err)
		}
		read := false
		for _, p := range []string{state + `\cordon.log`, state + `\tmp\0123456789abcdef\build.log`} {
			n, err := work.Stat(p)
			if err != nil {
				t.Fatal(err)
			}
			for _, u := range []ntsec.SID{offline, online} {
				if ntsec.AccessCheck(n.SD, SandboxToken(u, group), ntsec.FileReadData, ntsec.File).Allowed {
					read = true
					if private {
						t.Errorf("%s reads %s after the plan", u, p)
					}
				}
			}
		}
		if !private && !read {
			t.Error("without Private the group does not read the state directory: the test shows nothing")
		}
		if private && !pl.Proof.OK {
			t.Errorf("proof: %s", pl.Proof.Summary())
		}
	}
}

// The helper applies its items long after the plan (asynchronously, and
// a killed helper's journal is resumed by a later run), by path, with only
// the last component opened without following a reparse point. A secret
// inside a writable root makes the plan split down to the secret's
// parent, so items lie two levels below the root: the running command may
// rename the directory between them and put a junction in its place (to
// C:\Users\me, say), and the item's allow ACE then lands on the same-named
// child there — a directory the command named .ssh beforehand becomes a
// grant on your .ssh. So no allow item may have a component the sandbox
// can replace: strictly below a writable root and strictly above the item.
func TestAttackSplitItemsBelowAWritableRootCanBeRedirected(t *testing.T) {
	t.Skip(`the plan still queues grants below a sandbox-writable directory (a deny-read path two levels inside a writable root splits it); the applier closes the redirection: it reaches each item without following a junction (ntfs.ApplyNoFollow, aclhelper.TestRealWindowsAttackItemThroughSwappedParent). Kept to say where the planner could close it too: grant the root, deny the secret`)
	m := machine(t)
	b := &builder{t, m}
	b.add(`C:\Users\me\proj\src\.ssh`, fsview.Directory, "") // planted by an earlier run
	b.add(`C:\Users\me\proj\src\secret.env`, fsview.File, "")
	in := input(t, m, resolve(t, `C:\Users\me\proj`, nil, `C:\Users\me\proj\src\secret.env`))
	pl := mustMake(t, in)
	var roots []winpath.Path
	for _, r := range in.Policy.Roots {
		p, err := winpath.Parse(r.Path)
		if err != nil {
			t.Fatal(err)
		}
		roots = append(roots, p)
	}
	for _, e := range pl.Edits {
		if e.ACE.Type != ntsec.AccessAllowed {
			continue // a misdirected deny takes away, never gives
		}
		p, err := winpath.Parse(e.Path)
		if err != nil {
			t.Fatal(err)
		}
		for _, r := range roots {
			if within(p, r) && len(p.Elems) > len(r.Elems)+1 {
				t.Errorf("allow item %s: %s lies between it and the writable root %s, and the sandbox may replace it", e.Path, p.Elems[len(r.Elems)], r)
			}
		}
	}
}

// Your profile's children are granted but for the default deny-read list,
// and that list misses secrets Windows keeps in AppData: PowerShell's
// history (PSReadLine, which holds every command line you typed, tokens
// included), the DPAPI master keys (Microsoft\Protect: with them your
// Windows password can be brute-forced offline) and the certificate
// private keys (Microsoft\Crypto), NuGet's config (cleartext package feed
// passwords), pip's config (index URLs with credentials), Maven's
// settings.xml and Gradle's gradle.properties (repository passwords).
func TestAttackProfileSecretsOutsideTheDenyList(t *testing.T) {
	// Closed by the additions to policy.DefaultDenyReadWindows.
	m := machine(t)
	b := &builder{t, m}
	roaming := `C:\Users\me\AppData\Roaming\`
	for _, d := range []string{`Microsoft\Windows\PowerShell`, `Microsoft\Windows\PowerShell\PSReadLine`, `Microsoft\Protect`, `Microsoft\Crypto`, `NuGet`, `pip`} {
		b.add(roaming+d, fsview.Directory, "")
	}
	b.add(`C:\Users\me\.m2`, fsview.Directory, "")
	b.add(`C:\Users\me\.gradle`, fsview.Directory, "")
	secrets := []string{
		roaming + `Microsoft\Windows\PowerShell\PSReadLine\ConsoleHost_history.txt`,
		roaming + `Microsoft\Protect\masterkey`,
		roaming + `Microsoft\Crypto\key`,
		roaming + `NuGet\NuGet.Config`,
		roaming + `pip\pip.ini`,
		`C:\Users\me\.m2\settings.xml`,
		`C:\Users\me\.gradle\gradle.properties`,
	}
	for _, f := range secrets {
		b.add(f, fsview.File, "")
	}
	in := input(t, m, resolve(t, `C:\Users\me\proj`, nil))
	pl := mustMake(t, in)
	work := m.Clone()
	if _, err := aclplan.Apply(work, pl.Edits); err != nil {
		t.Fatal(err)
	}
	for _, p := range secrets {
		n, err := work.Stat(p)
		if err != nil {
			t.Fatal(err)
		}
		if ntsec.AccessCheck(n.SD, SandboxToken(offline, group), ntsec.FileReadData, ntsec.File).Allowed {
			t.Errorf("the offline user reads %s", p)
		}
	}
}
