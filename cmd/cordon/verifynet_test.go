package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/cordon-sandbox/cordon"
	"github.com/cordon-sandbox/cordon/internal/netfence"
	"github.com/cordon-sandbox/cordon/internal/testutil"
)

func probeRes(probe string, kind netfence.ProbeKind, o netfence.Outcome) netfence.Result {
	return netfence.Result{Probe: probe, Kind: kind, Target: probe + "-target", Outcome: o}
}

// rep builds a report with the default probes' shape: tcp v4 and v6, a
// direct DNS query, the system resolver.
func probeRep(v4, v6, dns, resolver netfence.Outcome) netfence.Report {
	return netfence.Report{Results: []netfence.Result{
		probeRes("tcp-ipv4", netfence.ProbeTCP, v4), probeRes("tcp-ipv6", netfence.ProbeTCP, v6),
		probeRes("dns-udp", netfence.ProbeDNSUDP, dns), probeRes("system-resolver", netfence.ProbeResolve, resolver),
	}}
}

const (
	oBlocked     = netfence.OutcomeBlocked
	oConnected   = netfence.OutcomeConnected
	oAnswered    = netfence.OutcomeAnswered
	oRefused     = netfence.OutcomeRefused
	oTimeout     = netfence.OutcomeTimeout
	oUnreachable = netfence.OutcomeUnreachable
	oResolved    = netfence.OutcomeResolved
)

// fencedSide is what a working fence shows the offline user; openSide what the
// online user sees on a machine with a network.
var (
	fencedSide = side{Report: probeRep(oBlocked, oUnreachable, oTimeout, oResolved)}
	openSide   = side{Report: probeRep(oConnected, oConnected, oAnswered, oResolved)}
)

func verdicts(r verifyReport) (off, on string) { return r.Checks[0].Verdict, r.Checks[1].Verdict }

func TestVerifyJudge(t *testing.T) {
	missing := side{Err: classifyRunErr(&cordon.Error{Code: cordon.CodeBadRequest, Err: errors.New(`unknown sandbox backend "elevated" (want auto, linux, restricted-token or none)`)})}
	notSetUp := side{Err: &cordon.Error{Code: "setup_required", Err: errors.New("no setup marker")}}
	cases := []struct {
		name            string
		off, on         side
		wantOff, wantOn string
		code            string // "" when OK
		exit            int
		detail          string // in some check's detail
	}{
		{"a working fence", fencedSide, openSide, verdictPass, verdictPass, "", exitOK, "outside the fence"},
		{"offline gets out over TCP", side{Report: probeRep(oConnected, oUnreachable, oTimeout, oResolved)}, openSide,
			verdictFail, verdictPass, codeVerifyFailed, exitNo, "tcp-ipv4 tcp-ipv4-target: connected"},
		{"offline gets a DNS answer", side{Report: probeRep(oBlocked, oBlocked, oAnswered, oResolved)}, openSide,
			verdictFail, verdictPass, codeVerifyFailed, exitNo, "dns-udp"},
		{"offline refused by the remote end: the packet left", side{Report: probeRep(oRefused, oBlocked, oTimeout, oTimeout)}, openSide,
			verdictFail, verdictPass, codeVerifyFailed, exitNo, "refused"},
		{"offline leaks even when online is broken", side{Report: probeRep(oConnected, oConnected, oAnswered, oResolved)},
			side{Report: probeRep(oTimeout, oTimeout, oTimeout, oTimeout)}, verdictFail, verdictFail, codeVerifyFailed, exitNo, "got out"},
		{"online blocked here", fencedSide, side{Report: probeRep(oBlocked, oBlocked, oTimeout, oResolved)},
			verdictPass, verdictFail, codeVerifyFailed, exitNo, "catches it too"},
		{"online cannot connect", fencedSide, side{Report: probeRep(oTimeout, oUnreachable, oTimeout, oTimeout)},
			verdictPass, verdictFail, codeVerifyFailed, exitNo, "could not connect"},
		{"no network at all: nothing proven offline", side{Report: probeRep(oTimeout, oUnreachable, oTimeout, oTimeout)}, openSide,
			verdictUnknown, verdictPass, codeVerifyInconclusive, exitUnsupported, "no evidence"},
		{"no elevated backend", missing, missing, verdictUnknown, verdictUnknown, codeElevatedUnavailable, exitUnsupported, "no \"elevated\" backend"},
		{"not set up", notSetUp, notSetUp, verdictUnknown, verdictUnknown, "setup_required", exitUnsupported, "no setup marker"},
		{"offline half broken, online leak-free", side{Err: coded(codeProbeFailed, errors.New("the probe exited 1"))}, openSide,
			verdictUnknown, verdictPass, codeProbeFailed, exitUnsupported, "exited 1"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			r := judge(c.off, c.on)
			off, on := verdicts(r)
			if off != c.wantOff || on != c.wantOn {
				t.Errorf("verdicts %s/%s, want %s/%s: %+v", off, on, c.wantOff, c.wantOn, r.Checks)
			}
			if r.OK != (c.code == "") || r.code != c.code {
				t.Errorf("ok %v code %q, want %q (%v)", r.OK, r.code, c.code, r.err)
			}
			found := false
			for _, ch := range r.Checks {
				found = found || strings.Contains(ch.Detail, c.detail)
				if (ch.Verdict == verdictPass) != (ch.Fix == "") {
					t.Errorf("%+v: a fix exactly when not passing", ch)
				}
			}
			if !found {
				t.Errorf("no detail contains %q: %+v", c.detail, r.Checks)
			}
			var out, errb bytes.Buffer
			code := verifyWith(context.Background(), func(_ context.Context, online bool) side {
				if online {
					return c.on
				}
				return c.off
			}, false, &out, &errb)
			if code != c.exit {
				t.Errorf("exit %d, want %d", code, c.exit)
			}
			if c.code != "" && !strings.HasPrefix(errb.String(), "cordon: "+c.code+": ") {
				t.Errorf("stderr %q, want code %s", errb.String(), c.code)
			}
		})
	}
}

// The JSON keeps its field names, with both halves' results.
func TestVerifyJSON(t *testing.T) {
	var out, errb bytes.Buffer
	code := verifyWith(context.Background(), func(_ context.Context, online bool) side {
		if online {
			return openSide
		}
		return fencedSide
	}, true, &out, &errb)
	var js struct {
		OK     bool `json:"ok"`
		Checks []struct {
			Name    string `json:"name"`
			Verdict string `json:"verdict"`
			Detail  string `json:"detail"`
		} `json:"checks"`
		Offline struct {
			Results []struct {
				Probe   string `json:"probe"`
				Outcome string `json:"outcome"`
			} `json:"results"`
		} `json:"offline"`
		Online *struct{} `json:"online"`
	}
	if err := json.Unmarshal(out.Bytes(), &js); err != nil || code != exitOK || !js.OK || len(js.Checks) != 2 ||
		js.Checks[0].Name != "offline_blocked" || js.Checks[1].Name != "online_connects" ||
		len(js.Offline.Results) != 4 || js.Offline.Results[0].Outcome != "blocked" || js.Online == nil {
		t.Errorf("exit %d, %v: %s", code, err, out.String())
	}
}

// The real runner, through the library: a cordon that does not know the
// backend it is asked for gives a coded elevated_unavailable, not a
// bad_request that blames the caller. The backend name is one no cordon
// has, so the test keeps its meaning once the elevated backend exists.
func TestVerifyMissingBackend(t *testing.T) {
	_, err := cordon.Run(context.Background(), cordon.Request{Command: []string{"true"}, Backend: "no-such-backend"})
	if cordon.ErrorCode(err) != cordon.CodeBadRequest {
		t.Fatalf("unknown backend: %v", err)
	}
	if got := cordon.ErrorCode(classifyRunErr(err)); got != codeElevatedUnavailable {
		t.Errorf("classified %q, want %s", got, codeElevatedUnavailable)
	}
	other := &cordon.Error{Code: cordon.CodeBadRequest, Err: errors.New("--oTimeout is negative")}
	if got := cordon.ErrorCode(classifyRunErr(other)); got != cordon.CodeBadRequest {
		t.Errorf("another bad request classified %q", got)
	}
	if runtime.GOOS == "windows" {
		return
	}
	// On Linux the runner fails either way (no such backend, or one that
	// needs Windows), coded, and never reports a result.
	s := runProbeAs("cordon", ".")(context.Background(), false)
	if s.Err == nil || cordon.ErrorCode(s.Err) == "" || len(s.Report.Results) != 0 {
		t.Errorf("runner on Linux: %+v", s)
	}
}

// The inside half prints a report the outer half reads back; probes at
// a local listener (oConnected) and a closed local port (oRefused).
func TestVerifyProbeHalf(t *testing.T) {
	openAddr, closedAddr := testutil.LoopbackPorts(t)
	saved := verifyProbes
	t.Cleanup(func() { verifyProbes = saved })
	verifyProbes = []netfence.Probe{
		{Name: "local-open", Kind: netfence.ProbeTCP, Target: openAddr, Timeout: 10 * time.Second},
		{Name: "local-closed", Kind: netfence.ProbeTCP, Target: closedAddr, Timeout: 10 * time.Second},
	}
	var out, errb bytes.Buffer
	if code := run([]string{"verify-network", "--probe", "--json"}, nil, &out, &errb); code != exitOK {
		t.Fatalf("exit %d: %s", code, errb.String())
	}
	r, err := parseProbeOutput(out.Bytes())
	if err != nil {
		t.Fatal(err)
	}
	if len(r.Results) != 2 || r.Results[0].Outcome != oConnected || r.Results[1].Outcome != oRefused || !r.Direct() {
		t.Errorf("report %+v", r)
	}
	if _, err := parseProbeOutput([]byte("hello")); err == nil {
		t.Error("garbage parsed")
	}
	if _, err := parseProbeOutput([]byte(`{"results":[]}`)); err == nil {
		t.Error("an empty report parsed")
	}
}

func TestVerifyBadInputAndUnsupported(t *testing.T) {
	for _, args := range [][]string{{"verify-network", "extra"}, {"verify-network", "--nope"}} {
		var out, errb bytes.Buffer
		if code := run(args, nil, &out, &errb); code != exitBadInput || !strings.HasPrefix(errb.String(), "cordon: usage: ") {
			t.Errorf("%q: exit %d, stderr %q", args, code, errb.String())
		}
	}
	if runtime.GOOS == "windows" {
		return
	}
	var out, errb bytes.Buffer
	if code := run([]string{"verify-network"}, nil, &out, &errb); code != exitUnsupported || !strings.HasPrefix(errb.String(), "cordon: elevated_unsupported: ") {
		t.Errorf("exit %d, stderr %q", code, errb.String())
	}
}
