package netfence

import (
	"context"
	"encoding/json"
	"fmt"
	"net"
	"net/netip"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/cordon-sandbox/cordon/internal/testutil"
	"github.com/cordon-sandbox/cordon/ntsec"
)

// testFence has GUIDs of its own, so the real-Windows tests never touch
// an installed cordon fence; they are fixed so that a run that crashed
// leaves nothing the next run does not clean first.
var testFence = Fence{
	Name:     "cordon-test",
	Provider: GUID{0x0f6d1b2e, 0x4a8c, 0x4c1d, [8]byte{0x9b, 0x1e, 0x51, 0x7a, 0x2c, 0x33, 0x90, 0x01}},
	Sublayer: GUID{0x0f6d1b2e, 0x4a8c, 0x4c1d, [8]byte{0x9b, 0x1e, 0x51, 0x7a, 0x2c, 0x33, 0x90, 0x02}},
}

// Under Wine 8 fwpuclnt.dll loads but FwpmEngineOpen0 fails ("Operation
// not supported"): nothing about the fence can run there. What can be
// checked is that the failure reaches the caller as an error, so that an
// install on a machine without a working Base Filtering Engine never
// passes for a fence.
func TestWineFenceFailsLoudly(t *testing.T) {
	if !testutil.UnderWine() {
		t.Skip("only under Wine; real Windows runs TestRealWindowsFenceLifecycle")
	}
	c := Config{OfflineUser: sid(t, offlineSID), Proxy: []netip.AddrPort{proxy4}}
	if err := testFence.Install(c); err == nil || !strings.Contains(err.Error(), "Base Filtering Engine") {
		t.Errorf("Install under Wine: %v, want an error opening the Base Filtering Engine", err)
	}
	if _, err := testFence.Present(c); err == nil {
		t.Error("Present under Wine succeeded")
	}
}

func skipUnlessAdmin(t *testing.T) {
	t.Helper()
	testutil.RealWindows(t)
	if !testutil.Elevated() {
		t.Skip("installing persistent WFP filters needs an elevated administrator")
	}
}

// throwawaySID is an account SID no account has.
func throwawaySID(t *testing.T) ntsec.SID {
	return sid(t, fmt.Sprintf("S-1-5-21-%d-%d-%d-1001", os.Getpid(), time.Now().Unix()&0x7fffffff, 4242))
}

// dialOK dials addr over TCP from this process and fails the test if the
// connection does not open.
func dialOK(t *testing.T, addr string) {
	t.Helper()
	c, err := net.DialTimeout("tcp", addr, 5*time.Second)
	if err != nil {
		t.Errorf("dial %s as the current user: %v (Classify: %s): the fence touched another account", addr, err, Classify(err))
		return
	}
	c.Close()
}

func listenLoopback(t *testing.T) net.Listener {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			c.Close()
		}
	}()
	return ln
}

func mustPresent(t *testing.T, c Config) Status {
	t.Helper()
	st, err := testFence.Present(c)
	if err != nil {
		t.Fatalf("Present: %v", err)
	}
	return st
}

// Install, re-install, change, and remove a fence keyed on a SID no
// account has: the fence must read back complete, re-applying must change
// nothing, the current user's connections must not be blocked (the
// condition must not match another account; this also exercises BFE's
// acceptance of FWP_MATCH_NOT_EQUAL on a security descriptor), and
// removal must leave nothing.
func TestRealWindowsFenceLifecycle(t *testing.T) {
	skipUnlessAdmin(t)
	if err := testFence.Remove(); err != nil {
		t.Fatalf("clean slate: %v", err)
	}
	t.Cleanup(func() {
		if err := testFence.Remove(); err != nil {
			t.Errorf("cleanup Remove: %v", err)
		}
	})
	target := listenLoopback(t)
	proxy := listenLoopback(t)
	proxyAP := netip.MustParseAddrPort(proxy.Addr().String())
	c := Config{OfflineUser: throwawaySID(t), Proxy: []netip.AddrPort{proxyAP}}
	rules, err := Spec(c)
	if err != nil {
		t.Fatal(err)
	}

	if err := testFence.Install(c); err != nil {
		t.Fatalf("Install: %v", err)
	}
	st := mustPresent(t, c)
	if !st.Complete() || st.Filters != len(rules) {
		t.Fatalf("after Install: %+v, want complete with %d filters", st, len(rules))
	}
	if err := testFence.Install(c); err != nil {
		t.Fatalf("second Install: %v", err)
	}
	if st := mustPresent(t, c); !st.Complete() || st.Filters != len(rules) {
		t.Errorf("after a second Install: %+v, want the same %d filters", st, len(rules))
	}
	dialOK(t, target.Addr().String())
	dialOK(t, proxy.Addr().String())

	// Another config: the old filters go, the new ones come.
	c2 := c
	c2.AllowLocalBinding = true
	rules2, _ := Spec(c2)
	if st := mustPresent(t, c2); st.Complete() {
		t.Errorf("the first config's fence reads as complete for the second: %+v", st)
	}
	if err := testFence.Install(c2); err != nil {
		t.Fatalf("Install of the second config: %v", err)
	}
	if st := mustPresent(t, c2); !st.Complete() || st.Filters != len(rules2) {
		t.Errorf("after changing config: %+v, want complete with %d filters", st, len(rules2))
	}
	dialOK(t, target.Addr().String())

	if err := testFence.Remove(); err != nil {
		t.Fatalf("Remove: %v", err)
	}
	if st := mustPresent(t, c); !st.Absent() {
		t.Errorf("after Remove: %+v, want nothing left", st)
	}
	if err := testFence.Remove(); err != nil {
		t.Errorf("Remove of an absent fence: %v", err)
	}
}

// RunAsOffline runs this test binary, with the given -test.run pattern and
// extra environment, as the offline sandbox user on cordon's sandbox token,
// and returns its standard output. The elevated mode's setup (users,
// logon, token) provides it; until then the enforcement test below skips.
var RunAsOffline func(ctx context.Context, offline ntsec.SID, run string, env []string) ([]byte, error)

// OfflineUserSID is the SID of the provisioned offline sandbox user, set
// together with RunAsOffline.
var OfflineUserSID ntsec.SID

const childEnv = "CORDON_NETFENCE_CHILD"

// TestRealWindowsFenceChild is the child of TestRealWindowsOfflineUserFenced:
// it runs only when that test starts it as the offline user, probes the
// addresses it is given, and prints the Report as JSON.
func TestRealWindowsFenceChild(t *testing.T) {
	spec := os.Getenv(childEnv)
	if spec == "" {
		t.Skip("runs only as the child of TestRealWindowsOfflineUserFenced")
	}
	var probes []Probe
	if err := json.Unmarshal([]byte(spec), &probes); err != nil {
		t.Fatal(err)
	}
	out, err := json.Marshal(VerifyWith(context.Background(), probes))
	if err != nil {
		t.Fatal(err)
	}
	fmt.Printf("REPORT %s\n", out)
}

// A process of the offline user on the sandbox token cannot connect to a
// loopback port that is not the proxy's, can connect to the proxy, and a
// DNS query to loopback port 53 is blocked; the current user can do all
// three (checked in the lifecycle test).
func TestRealWindowsOfflineUserFenced(t *testing.T) {
	skipUnlessAdmin(t)
	if RunAsOffline == nil || OfflineUserSID.IsZero() {
		t.Skip("needs the elevated mode's sandbox users and launcher (RunAsOffline); not provisioned in this build")
	}
	target := listenLoopback(t)
	proxy := listenLoopback(t)
	c := Config{OfflineUser: OfflineUserSID, Proxy: []netip.AddrPort{netip.MustParseAddrPort(proxy.Addr().String())}}
	if err := testFence.Remove(); err != nil {
		t.Fatal(err)
	}
	if err := testFence.Install(c); err != nil {
		t.Fatalf("Install: %v", err)
	}
	t.Cleanup(func() { testFence.Remove() })
	probes := []Probe{
		{Name: "not-the-proxy", Kind: ProbeTCP, Target: target.Addr().String(), Timeout: 3 * time.Second},
		{Name: "proxy", Kind: ProbeTCP, Target: proxy.Addr().String(), Timeout: 3 * time.Second},
		{Name: "dns-loopback", Kind: ProbeDNSUDP, Target: "127.0.0.1:53", Query: "example.com", Timeout: 2 * time.Second},
	}
	spec, _ := json.Marshal(probes)
	out, err := RunAsOffline(context.Background(), OfflineUserSID, "^TestRealWindowsFenceChild$", []string{childEnv + "=" + string(spec)})
	if err != nil {
		t.Fatalf("child: %v\n%s", err, out)
	}
	_, js, ok := strings.Cut(string(out), "REPORT ")
	if !ok {
		t.Fatalf("child printed no report:\n%s", out)
	}
	var r Report
	if err := json.Unmarshal([]byte(strings.SplitN(js, "\n", 2)[0]), &r); err != nil {
		t.Fatal(err)
	}
	want := []Outcome{OutcomeBlocked, OutcomeConnected, ""}
	for i, w := range want {
		got := r.Results[i]
		if w != "" && got.Outcome != w {
			t.Errorf("%s as the offline user: %s (%s), want %s", got.Probe, got.Outcome, got.Err, w)
		}
	}
	if dns := r.Results[2].Outcome; dns.Reached() {
		t.Errorf("DNS to 127.0.0.1:53 as the offline user: %s", dns)
	}
}
