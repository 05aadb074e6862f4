package restrictedtoken

import (
	"strings"
	"testing"

	"github.com/cordon-sandbox/cordon/ntsec"
)

// twoRuns are the sandbox tokens of two concurrent runs of the same user in
// different workspaces, each with its own run SID.
func twoRuns(t *testing.T) (a, b *ntsec.Token, runA, runB ntsec.SID) {
	t.Helper()
	runA, runB = mustSID("S-1-5-21-901-902-903-904"), mustSID("S-1-5-21-905-906-907-908")
	var err error
	if a, err = Model(realisticBase(), Spec{Caps: []ntsec.SID{wsSID, genSID}, Run: runA}); err != nil {
		t.Fatal(err)
	}
	if b, err = Model(realisticBase(), Spec{Caps: []ntsec.SID{nbrSID, genSID}, Run: runB}); err != nil {
		t.Fatal(err)
	}
	return a, b, runA, runB
}

// eachRight calls f with every single right of m.
func eachRight(m ntsec.AccessMask, f func(ntsec.AccessMask)) {
	for m != 0 {
		bit := m & -m
		f(bit)
		m &^= bit
	}
}

// The rights another sandbox keeps on a run's process under the model:
// those outside ProcessMapping.WriteRights, which only the user's normal
// SIDs decide (issue 10, finding 5, open).
const crossProcessRights = ntsec.ProcessVMRead | ntsec.ProcessQueryInformation |
	ntsec.ProcessQueryLimitedInformation | ntsec.ProcessTerminate | ntsec.ReadControl | ntsec.Synchronize

// Issue 10, finding 2: sandbox B must not open sandbox A's process for any
// write right (inject code, write memory, duplicate its handles, change its
// DACL), while A, the unsandboxed user (cordon itself) and B on its own
// process keep full access.
func TestProcessSDTwoSandboxes(t *testing.T) {
	a, b, runA, runB := twoRuns(t)
	user := realisticBase()
	procA := ProcessSD(me, runA)
	if got, want := procA.SDDL(), "O:S-1-5-21-1-2-3-1001D:(A;;0x1fffff;;;S-1-5-21-1-2-3-1001)(A;;0x1fffff;;;SY)(A;;0x1fffff;;;S-1-5-21-901-902-903-904)"; got != want {
		t.Errorf("ProcessSD = %s, want %s", got, want)
	}
	for _, c := range []struct {
		name string
		tok  *ntsec.Token
		sd   *ntsec.SecurityDescriptor
	}{{"A on A", a, procA}, {"user on A", user, procA}, {"B on B", b, ProcessSD(me, runB)}} {
		if res := ntsec.AccessCheck(c.sd, c.tok, ntsec.ProcessAllAccess, ntsec.Process); !res.Allowed {
			t.Errorf("%s: PROCESS_ALL_ACCESS refused:\n%s", c.name, res.Explain())
		}
	}
	write := ntsec.ProcessMapping.WriteRights()
	for _, r := range []ntsec.AccessMask{ntsec.ProcessVMWrite, ntsec.ProcessCreateThread, ntsec.ProcessVMOperation, ntsec.ProcessDupHandle, ntsec.WriteDAC, ntsec.WriteOwner} {
		if r&write == 0 {
			t.Errorf("%s is not a write right of ProcessMapping", ntsec.RightName(r, false))
		}
	}
	eachRight(write, func(r ntsec.AccessMask) {
		if res := ntsec.AccessCheck(procA, b, r, ntsec.Process); res.Allowed {
			t.Errorf("B gets right 0x%x on A's process:\n%s", uint32(r), res.Explain())
		}
	})
	for _, r := range []ntsec.AccessMask{ntsec.ProcessAllAccess, ntsec.GenericAll, ntsec.GenericWrite} {
		if res := ntsec.AccessCheck(procA, b, r, ntsec.Process); res.Allowed {
			t.Errorf("B gets %s on A's process", r)
		}
	}
	res := ntsec.AccessCheck(procA, b, ntsec.MaximumAllowed, ntsec.Process)
	if res.Granted != crossProcessRights {
		t.Errorf("B's MAXIMUM_ALLOWED on A's process = %s, want %s (the read rights of finding 5)", res.Granted, crossProcessRights)
	}
	// The restricted pass is what refuses B: the decisive step names it.
	w := ntsec.AccessCheck(procA, b, ntsec.ProcessVMWrite, ntsec.Process)
	if !strings.Contains(w.Explain(), "PROCESS_VM_WRITE") {
		t.Errorf("trace does not name PROCESS_VM_WRITE:\n%s", w.Explain())
	}

	// The descriptor this replaces: Windows built the process DACL from
	// the old default DACL (logon SID and Everyone GENERIC_ALL), which B
	// holds as restricting SIDs.
	old := ntsec.NewObject(nil, ntsec.File, me, ntsec.SID{}, &ntsec.ACL{Revision: ntsec.ACLRevision, Entries: []ntsec.ACE{
		{Type: ntsec.AccessAllowed, Mask: ntsec.GenericAll, SID: logon},
		{Type: ntsec.AccessAllowed, Mask: ntsec.GenericAll, SID: ntsec.Everyone},
		{Type: ntsec.AccessAllowed, Mask: ntsec.GenericAll, SID: wsSID},
	}})
	if res := ntsec.AccessCheck(old, b, ntsec.ProcessVMWrite|ntsec.ProcessCreateThread, ntsec.Process); !res.Allowed {
		t.Errorf("the old default DACL should have let B inject into A (the escape this closes):\n%s", res.Explain())
	}
}

func TestThreadSDTwoSandboxes(t *testing.T) {
	a, b, runA, _ := twoRuns(t)
	th := ThreadSD(me, runA)
	if res := ntsec.AccessCheck(th, a, ntsec.ThreadAllAccess, ntsec.Thread); !res.Allowed {
		t.Errorf("A on its thread:\n%s", res.Explain())
	}
	eachRight(ntsec.ThreadMapping.WriteRights(), func(r ntsec.AccessMask) {
		if res := ntsec.AccessCheck(th, b, r, ntsec.Thread); res.Allowed {
			t.Errorf("B gets right 0x%x on A's thread:\n%s", uint32(r), res.Explain())
		}
	})
	for _, r := range []ntsec.AccessMask{ntsec.ThreadSetContext, ntsec.ThreadSuspendResume, ntsec.ThreadTerminate, ntsec.ThreadImpersonate} {
		if res := ntsec.AccessCheck(th, b, r, ntsec.Thread); res.Allowed {
			t.Errorf("B gets right 0x%x on A's thread", uint32(r))
		}
	}
}

// Objects A creates without a descriptor (pipes, events, the processes
// its command starts) take the default DACL: A may write them, B may not.
func TestDefaultDACLTwoSandboxes(t *testing.T) {
	a, b, runA, _ := twoRuns(t)
	pipe := ntsec.NewObject(nil, ntsec.File, me, ntsec.SID{}, DefaultDACL(me, runA))
	if res := ntsec.AccessCheck(pipe, a, ntsec.FileGenericRead|ntsec.FileGenericWrite, ntsec.File); !res.Allowed {
		t.Errorf("A on its own pipe:\n%s", res.Explain())
	}
	if res := ntsec.AccessCheck(pipe, b, ntsec.FileWriteData, ntsec.File); res.Allowed {
		t.Errorf("B may write A's pipe:\n%s", res.Explain())
	}
	child := ntsec.NewObject(nil, ntsec.File, me, ntsec.SID{}, DefaultDACL(me, runA))
	if res := ntsec.AccessCheck(child, b, ntsec.ProcessVMWrite, ntsec.Process); res.Allowed {
		t.Errorf("B may write the memory of a process A's command started:\n%s", res.Explain())
	}
	if res := ntsec.AccessCheck(child, a, ntsec.ProcessAllAccess, ntsec.Process); !res.Allowed {
		t.Errorf("A may not control a process its own command started:\n%s", res.Explain())
	}
}

// Neither run may write the other's workspace, and each its own.
func TestWorkspacesTwoSandboxes(t *testing.T) {
	a, b, _, _ := twoRuns(t)
	d := descriptors(me, logon, wsSID, genSID, nbrSID)
	for _, c := range []struct {
		sddl string
		tok  *ntsec.Token
		may  bool
		what string
	}{
		{d["workspace"], a, true, "A in its workspace"},
		{d["workspace"], b, false, "B in A's workspace"},
		{d["other workspace"], b, true, "B in its workspace"},
		{d["other workspace"], a, false, "A in B's workspace"},
	} {
		sd, err := ntsec.ParseSDDL(c.sddl)
		if err != nil {
			t.Fatal(err)
		}
		for _, r := range []ntsec.AccessMask{ntsec.FileWriteData, ntsec.FileAppendData} {
			if res := ntsec.AccessCheck(sd, c.tok, r, ntsec.Directory); res.Allowed != c.may {
				t.Errorf("%s, %s: allowed %v, want %v:\n%s", c.what, ntsec.RightName(r, true), res.Allowed, c.may, res.Explain())
			}
		}
	}
}

// The NUL device keeps working: its default DACL grants Everyone read,
// write and execute (winsandbox/nul_windows.go; TestNULUsableWithoutChange
// reads the real one on Windows), and Everyone is still a restricting SID.
func TestNULWithRunSID(t *testing.T) {
	a, _, _, _ := twoRuns(t)
	nul, err := ntsec.ParseSDDL("O:SYG:SYD:(A;;FA;;;SY)(A;;FA;;;BA)(A;;GRGWGX;;;WD)(A;;GRGWGX;;;RC)")
	if err != nil {
		t.Fatal(err)
	}
	if res := ntsec.AccessCheck(nul, a, ntsec.FileReadData|ntsec.FileWriteData, ntsec.File); !res.Allowed {
		t.Errorf("sandbox token on NUL:\n%s", res.Explain())
	}
}

func TestNewRunSID(t *testing.T) {
	x, err := NewRunSID()
	if err != nil {
		t.Fatal(err)
	}
	y, err := NewRunSID()
	if err != nil {
		t.Fatal(err)
	}
	if x == y {
		t.Errorf("two run SIDs are equal: %s", x)
	}
	if _, err := Model(realisticBase(), Spec{Caps: []ntsec.SID{wsSID}, Run: x}); err != nil {
		t.Errorf("Model refuses a NewRunSID SID %s: %v", x, err)
	}
}
