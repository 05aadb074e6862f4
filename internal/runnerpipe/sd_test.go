package runnerpipe

import (
	"strings"
	"testing"

	"github.com/cordon-sandbox/cordon/internal/restrictedtoken"
	"github.com/cordon-sandbox/cordon/ntsec"
)

func sid(t *testing.T, s string) ntsec.SID {
	t.Helper()
	v, err := ntsec.ParseSID(s)
	if err != nil {
		t.Fatal(err)
	}
	return v
}

// The accounts of the tests: the two sandbox users, the real user who
// runs cordon, and someone else on the machine.
const (
	offlineUser = "S-1-5-21-1111-2222-3333-1001"
	onlineUser  = "S-1-5-21-1111-2222-3333-1002"
	realUser    = "S-1-5-21-1111-2222-3333-1000"
	otherUser   = "S-1-5-21-1111-2222-3333-1003"
)

// logonToken is the token of an interactive logon of user at Medium
// integrity, as CreateProcessWithLogonW gives the runner: the user, the
// usual groups, and a logon SID of its own.
func logonToken(t *testing.T, user string, logonLo uint32) *ntsec.Token {
	t.Helper()
	on := ntsec.GroupEnabled | ntsec.GroupEnabledByDefault | ntsec.GroupMandatory
	return &ntsec.Token{
		User: sid(t, user),
		Groups: []ntsec.Group{
			{SID: ntsec.Everyone, Attributes: on},
			{SID: ntsec.BuiltinUsers, Attributes: on},
			{SID: ntsec.Interactive, Attributes: on},
			{SID: ntsec.AuthenticatedUsers, Attributes: on},
			{SID: ntsec.LogonSID(0, logonLo), Attributes: on | ntsec.GroupLogonID},
		},
		Integrity: ntsec.MediumLabel,
	}
}

// commandToken is the token the runner gives a command: base made
// write-restricted with two capability SIDs and a run SID, by the model of
// the token restrictedtoken.Create makes.
func commandToken(t *testing.T, base *ntsec.Token, low bool) *ntsec.Token {
	t.Helper()
	tok, err := restrictedtoken.Model(base, restrictedtoken.Spec{
		Caps:         []ntsec.SID{sid(t, "S-1-5-21-9-9-9-1"), sid(t, "S-1-5-21-9-9-9-2")},
		Run:          sid(t, "S-1-5-21-9-9-9-3"),
		LowIntegrity: low,
	})
	if err != nil {
		t.Fatal(err)
	}
	return tok
}

// pipeSD parses the SDDL the pipe is created with, and gives it the owner
// Windows gives it: its creator, the real user.
func pipeSD(t *testing.T, user string) *ntsec.SecurityDescriptor {
	t.Helper()
	s, err := SDDL(sid(t, user))
	if err != nil {
		t.Fatal(err)
	}
	sd, err := ntsec.ParseSDDL(s)
	if err != nil {
		t.Fatalf("ParseSDDL(%s): %v", s, err)
	}
	sd.Owner = sid(t, realUser)
	return sd
}

// dangerous are the rights no one but the runner may get on the pipe, and
// the runner only the first two: the data, the pipe's descriptor and
// owner, and creating instances of its name.
const dangerous = ntsec.FileReadData | ntsec.FileWriteData | ntsec.FileAppendData |
	ntsec.WriteDAC | ntsec.WriteOwner | ntsec.Delete | ntsec.FileWriteAttributes

func TestSDDLShape(t *testing.T) {
	s, err := SDDL(sid(t, offlineUser))
	if err != nil {
		t.Fatal(err)
	}
	sd, err := ntsec.ParseSDDL(s)
	if err != nil {
		t.Fatalf("ParseSDDL(%s): %v", s, err)
	}
	if sd.SDDL() != s {
		t.Errorf("round trip: %s, want %s", sd.SDDL(), s)
	}
	if !strings.HasPrefix(s, "D:P(") || sd.Control&ntsec.DACLProtected == 0 {
		t.Errorf("%s: the DACL is not protected", s)
	}
	if sd.HasNullDACL() {
		t.Fatalf("%s: null DACL", s)
	}
	for _, e := range sd.DACL.Entries {
		if e.Type != ntsec.AccessAllowed || e.Flags != 0 {
			t.Errorf("%s: ACE %s: want plain allow ACEs only", s, e.SDDL())
		}
		if e.Mask&ntsec.FileAppendData != 0 {
			t.Errorf("%s: ACE %s grants FILE_CREATE_PIPE_INSTANCE", s, e.SDDL())
		}
	}
	if l, ok := sd.Label(); !ok || l.SID != ntsec.MediumLabel || l.Mask != ntsec.LabelNoReadUp|ntsec.LabelNoWriteUp {
		t.Errorf("%s: label %v (present %v), want Medium no-read-up no-write-up", s, l, ok)
	}
}

func TestSecurityDescriptorRefusesNonLocalSIDs(t *testing.T) {
	for _, s := range []ntsec.SID{{}, ntsec.Everyone, ntsec.BuiltinUsers, ntsec.AuthenticatedUsers, ntsec.LogonSID(0, 7), ntsec.LocalSystem, sid(t, "S-1-5-21")} {
		if got, err := SDDL(s); err == nil {
			t.Errorf("SDDL(%s) = %s, want an error", sidText(s), got)
		}
	}
}

// TestPipeDACLUnderEveryReading runs the model's access check for every
// token that could try the pipe, under every reading of the
// write-restricted check still open: only the runner's own token opens it.
func TestPipeDACLUnderEveryReading(t *testing.T) {
	runner := logonToken(t, offlineUser, 0x51)
	anonymous := &ntsec.Token{
		User:   ntsec.AnonymousLogon,
		Groups: []ntsec.Group{{SID: ntsec.Everyone, Attributes: ntsec.GroupEnabled}, {SID: ntsec.Network, Attributes: ntsec.GroupEnabled}},
	}
	denied := []struct {
		name string
		tok  *ntsec.Token
	}{
		{"a Low command of the runner", commandToken(t, runner, true)},
		{"the other sandbox user's runner", logonToken(t, onlineUser, 0x52)},
		{"a command of the other sandbox user", commandToken(t, logonToken(t, onlineUser, 0x52), true)},
		{"the real user, the pipe's owner", logonToken(t, realUser, 0x53)},
		{"a non-elevated sandbox of the real user", commandToken(t, logonToken(t, realUser, 0x53), false)},
		{"another user", logonToken(t, otherUser, 0x54)},
		{"anonymous, with Everyone", anonymous},
	}
	sd := pipeSD(t, offlineUser)
	for _, rd := range ntsec.OpenReadings() {
		if r := ntsec.AccessCheckUnder(rd, sd, runner, ClientAccess, ntsec.File); !r.Allowed {
			t.Errorf("%s: the runner cannot open the pipe:\n%s", rd, r.Explain())
		}
		if r := ntsec.AccessCheckUnder(rd, sd, runner, ntsec.MaximumAllowed, ntsec.File); r.Granted != ClientAccess {
			t.Errorf("%s: the runner may get %s, want exactly %s", rd, r.Granted, ClientAccess)
		}
		for _, d := range denied {
			if r := ntsec.AccessCheckUnder(rd, sd, d.tok, ClientAccess, ntsec.File); r.Allowed {
				t.Errorf("%s: %s can open the pipe:\n%s", rd, d.name, r.Explain())
			}
			// Asked right by right (Alone) and all at once, the token
			// gets nothing that reads, writes or changes the pipe.
			for _, q := range []ntsec.Reading{rd, rd.Alone()} {
				if r := ntsec.AccessCheckUnder(q, sd, d.tok, ntsec.MaximumAllowed, ntsec.File); r.Granted&dangerous != 0 {
					t.Errorf("%s: %s may get %s on the pipe:\n%s", q, d.name, r.Granted&dangerous, r.Explain())
				}
			}
		}
		// The owner's implicit WRITE_DAC is gone: OWNER RIGHTS leaves it
		// READ_CONTROL.
		owner := logonToken(t, realUser, 0x53)
		if r := ntsec.AccessCheckUnder(rd, sd, owner, ntsec.MaximumAllowed, ntsec.File); r.Granted != ntsec.ReadControl {
			t.Errorf("%s: the owner may get %s, want READ_CONTROL alone", rd, r.Granted)
		}
	}
}

// TestMediumCommandResidual states in the model what the descriptor leaves
// to the pipe's single instance and the process ID check: a command run at
// Medium integrity, as the runner's user, can open the pipe for reading but
// never for writing.
func TestMediumCommandResidual(t *testing.T) {
	cmd := commandToken(t, logonToken(t, offlineUser, 0x51), false)
	sd := pipeSD(t, offlineUser)
	readOnly := ntsec.FileReadData | ntsec.FileReadAttributes | ntsec.Synchronize
	for _, rd := range ntsec.OpenReadings() {
		if r := ntsec.AccessCheckUnder(rd, sd, cmd, ClientAccess, ntsec.File); r.Allowed {
			t.Errorf("%s: a Medium command can open the pipe read-write:\n%s", rd, r.Explain())
		}
		if r := ntsec.AccessCheckUnder(rd, sd, cmd, ntsec.FileWriteData, ntsec.File); r.Allowed {
			t.Errorf("%s: a Medium command can open the pipe for writing:\n%s", rd, r.Explain())
		}
		if r := ntsec.AccessCheckUnder(rd, sd, cmd, readOnly, ntsec.File); !r.Allowed {
			t.Errorf("%s: a Medium command can no longer open the pipe read-only; update SecurityDescriptor's documentation:\n%s", rd, r.Explain())
		}
	}
}

// TestLabelIsWhatStopsLowCommands shows the label is load-bearing: without
// it, a Low command of the runner's user could open the pipe for reading,
// which the DACL alone grants to the user.
func TestLabelIsWhatStopsLowCommands(t *testing.T) {
	cmd := commandToken(t, logonToken(t, offlineUser, 0x51), true)
	sd := pipeSD(t, offlineUser)
	unlabelled := sd.Clone()
	unlabelled.SACL = nil
	unlabelled.Control &^= ntsec.SACLPresent
	readOnly := ntsec.FileReadData | ntsec.Synchronize
	for _, rd := range ntsec.OpenReadings() {
		if r := ntsec.AccessCheckUnder(rd, unlabelled, cmd, readOnly, ntsec.File); !r.Allowed {
			t.Errorf("%s: without the label the Low command is refused anyway, so the label test proves nothing:\n%s", rd, r.Explain())
		}
		if r := ntsec.AccessCheckUnder(rd, sd, cmd, readOnly, ntsec.File); r.Allowed {
			t.Errorf("%s: the label does not stop the Low command:\n%s", rd, r.Explain())
		}
	}
}
