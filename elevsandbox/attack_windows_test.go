package elevsandbox

// Attacks by the sandboxed command on real Windows, after `cordon setup`
// (CORDON_REAL_WINDOWS=1, CORDON_ELEVATED_TESTS=1). Each fails while the
// attack works.

import (
	"bytes"
	"context"
	"fmt"
	"net"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"golang.org/x/sys/windows"
	"golang.org/x/sys/windows/registry"

	"github.com/cordon-sandbox/cordon/internal/netfence"
	"github.com/cordon-sandbox/cordon/policy"
)

// profileOf is the profile directory Windows keeps for sid (ProfileList),
// or "" before the account's first logon with its profile.
func profileOf(t *testing.T, sid string) string {
	t.Helper()
	k, err := registry.OpenKey(registry.LOCAL_MACHINE, `SOFTWARE\Microsoft\Windows NT\CurrentVersion\ProfileList\`+sid, registry.QUERY_VALUE)
	if err != nil {
		return ""
	}
	defer k.Close()
	p, _, err := k.GetStringValue("ProfileImagePath")
	if err != nil {
		return ""
	}
	return p
}

// The command must leave nothing in its account's profile for a later
// run to find: its write-restricted token's restricting SIDs (capability,
// run, logon SID, Everyone) are granted nothing there, not in the profile
// root, not where the runner keeps the cwd junctions, not in LocalLow.
// (The profile is the same account's for every later offline run, and the
// runner trusts nothing it finds in .cordon\cwd; but a PowerShell profile
// or a planted tool there would run in every later command.)
func TestRealWindowsAttackCommandCannotWriteItsProfile(t *testing.T) {
	b, ws, acct := realBackend(t)
	runIn(t, b, ws, policy.Policy{Mode: policy.WorkspaceWrite}, "cmd", "/c", "ver") // the profile exists after one run
	prof := profileOf(t, acct.SID.String())
	if prof == "" {
		t.Fatalf("no profile for %s after a run", acct.Name)
	}
	for _, dir := range []string{prof, filepath.Join(prof, `.cordon\cwd`), filepath.Join(prof, `AppData\LocalLow`), filepath.Join(prof, `Documents`)} {
		target := filepath.Join(dir, "cordon-planted.txt")
		runIn(t, b, ws, policy.Policy{Mode: policy.WorkspaceWrite}, "cmd", "/c", "echo x> "+target)
		if _, err := os.Stat(target); err == nil {
			t.Errorf("the command wrote %s, in its own profile", target)
		}
	}
}

// The runner is started with CreateProcessWithLogonW, and the secondary
// logon service may give the new token the caller's logon SID (so that it
// can use the caller's window station and desktop). If it does, the
// command holds your logon SID as a group and as a restricting SID:
// whatever your session grants it (WinSta0\Default, and your processes,
// whose default DACL grants it GENERIC_READ) the command may use. At
// Medium integrity nothing else stops a read of your processes' memory:
// the read isolation the elevated mode claims would be gone.
func TestRealWindowsAttackCommandCannotReadYourProcesses(t *testing.T) {
	b, ws, _ := realBackend(t)
	ps := fmt.Sprintf("$p = [Diagnostics.Process]::GetProcessById(%d); try { $null = $p.Modules; 'opened' } catch { 'denied' }", os.Getpid())
	for _, medium := range []bool{false, true} {
		out, errOut := runAt(t, b, ws, medium, "powershell", "-NoProfile", "-Command", ps)
		if strings.Contains(out, "opened") || !strings.Contains(out, "denied") {
			t.Errorf("medium=%v: the command opened this test's process (yours) for reading its memory: %q (stderr %q)", medium, out, errOut)
		}
	}
}

// runAt is runIn with the integrity level chosen: Medium when medium
// (--medium-integrity --best-effort), else Low.
func runAt(t *testing.T, b *Backend, ws string, medium bool, args ...string) (string, string) {
	t.Helper()
	pol := policy.Policy{Mode: policy.WorkspaceWrite}
	penv, env, err := b.PolicyEnv(pol, ws, os.Environ(), "")
	if err != nil {
		t.Fatal(err)
	}
	r, err := pol.Resolve(penv)
	if err != nil {
		t.Fatal(err)
	}
	var stdout, stderr bytes.Buffer
	spec := sandboxSpec(args, r, env, &stdout, &stderr)
	spec.MediumIntegrity = medium
	// At Medium, deny-read is not enforced (a write-restricted token
	// restricts no read): the run is refused unless best effort says so.
	spec.BestEffort = medium
	p, err := b.Start(context.Background(), spec)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := p.Wait(); err != nil {
		t.Fatal(err)
	}
	return stdout.String(), stderr.String()
}

// The same, at its root: the command's logon SID is not yours.
func TestRealWindowsAttackCommandDoesNotHoldYourLogonSID(t *testing.T) {
	b, ws, _ := realBackend(t)
	groups, err := windows.GetCurrentProcessToken().GetTokenGroups()
	if err != nil {
		t.Fatal(err)
	}
	var mine string
	for _, g := range groups.AllGroups() {
		if g.Attributes&windows.SE_GROUP_LOGON_ID == windows.SE_GROUP_LOGON_ID {
			mine = g.Sid.String()
		}
	}
	if mine == "" {
		t.Fatal("this process has no logon SID")
	}
	_, out, errOut := runIn(t, b, ws, policy.Policy{Mode: policy.WorkspaceWrite}, "whoami", "/groups", "/fo", "csv", "/nh")
	if !strings.Contains(out, "S-1-5-5-") {
		t.Fatalf("whoami /groups shows no logon SID: %q (stderr %q)", out, errOut)
	}
	if strings.Contains(out, mine) {
		t.Errorf("the command holds your logon SID %s: %s", mine, out)
	}
}

// fenced skips unless the offline user's network fence is installed.
func fenced(t *testing.T, acct account) {
	t.Helper()
	st, err := netfence.Present(netfence.Config{OfflineUser: acct.SID, Proxy: []netip.AddrPort{}})
	if err != nil || !st.Provider || !st.Sublayer {
		t.Skipf("the network fence is not installed here: %+v, %v", st, err)
	}
}

// The host's loopback serves your own local services (development
// servers, databases, debuggers, an agent's MCP listener), which trust
// loopback callers: the offline command must reach none of them, on
// 127.0.0.1 or [::1].
func TestRealWindowsAttackOfflineCannotReachYourLoopbackServices(t *testing.T) {
	b, ws, acct := realBackend(t)
	fenced(t, acct)
	for _, network := range []string{"tcp4", "tcp6"} {
		addr := "127.0.0.1:0"
		if network == "tcp6" {
			addr = "[::1]:0"
		}
		l, err := net.Listen(network, addr)
		if err != nil {
			t.Logf("%s: %v", network, err)
			continue
		}
		accepted := make(chan struct{}, 1)
		go func() {
			if c, err := l.Accept(); err == nil {
				accepted <- struct{}{}
				c.Close()
			}
		}()
		ap := l.Addr().(*net.TCPAddr)
		ps := fmt.Sprintf("$c = New-Object Net.Sockets.TcpClient('%s'); try { $c.Connect([Net.IPAddress]::Parse('%s'), %d); 'connected' } catch { 'refused' }",
			map[string]string{"tcp4": "InterNetwork", "tcp6": "InterNetworkV6"}[network], ap.IP, ap.Port)
		_, out, errOut := runIn(t, b, ws, policy.Policy{Mode: policy.WorkspaceWrite}, "powershell", "-NoProfile", "-Command", ps)
		l.Close()
		select {
		case <-accepted:
			t.Errorf("%s: the offline command connected to your listener on %s (%q)", network, ap, out)
		default:
			if strings.Contains(out, "connected") || !strings.Contains(out, "refused") {
				t.Errorf("%s: the offline command's connection to %s: %q (stderr %q)", network, ap, out, errOut)
			}
		}
	}
}

// BITS transfers for the caller in its own service process: the fence,
// which matches the offline user's sockets, would not see them. The
// offline command must not get a transfer done through it.
func TestRealWindowsAttackOfflineCannotDownloadThroughBITS(t *testing.T) {
	b, ws, acct := realBackend(t)
	fenced(t, acct)
	if c, err := net.DialTimeout("tcp", "1.1.1.1:80", 10*time.Second); err != nil {
		t.Skipf("this machine has no network to prove anything with: %v", err)
	} else {
		c.Close()
	}
	dest := filepath.Join(ws, "bits.txt")
	ps := fmt.Sprintf("try { Start-BitsTransfer -Source 'http://1.1.1.1/' -Destination '%s' -ErrorAction Stop; 'transferred' } catch { 'failed: ' + $_ }", dest)
	_, out, errOut := runIn(t, b, ws, policy.Policy{Mode: policy.WorkspaceWrite}, "powershell", "-NoProfile", "-Command", ps)
	if _, err := os.Stat(dest); err == nil || strings.Contains(out, "transferred") {
		t.Errorf("the offline command downloaded through BITS: %q (stderr %q)", out, errOut)
	}
	t.Logf("BITS from the offline command: %q", out)
}

// stealRunnerToken is PowerShell that opens the command's parent (the
// runner, which holds the sandbox account's unrestricted token) and its
// token for duplication: "noprocess", "denied", "opened" (the token, not
// a duplicate) or "duplicated".
const stealRunnerToken = `$src = @"
using System;
using System.Runtime.InteropServices;
public static class CordonAttack {
  [StructLayout(LayoutKind.Sequential)] public struct PBI { public IntPtr Exit; public IntPtr Peb; public IntPtr Affinity; public IntPtr Priority; public IntPtr Pid; public IntPtr Parent; }
  [DllImport("ntdll.dll")] public static extern int NtQueryInformationProcess(IntPtr h, int c, ref PBI p, int l, out int r);
  [DllImport("kernel32.dll", SetLastError=true)] public static extern IntPtr OpenProcess(uint a, bool i, uint pid);
  [DllImport("advapi32.dll", SetLastError=true)] public static extern bool OpenProcessToken(IntPtr h, uint a, out IntPtr t);
  [DllImport("advapi32.dll", SetLastError=true)] public static extern bool DuplicateTokenEx(IntPtr t, uint a, IntPtr sa, int il, int type, out IntPtr n);
  [DllImport("kernel32.dll")] public static extern IntPtr GetCurrentProcess();
  public static string Run() {
    PBI p = new PBI(); int r;
    NtQueryInformationProcess(GetCurrentProcess(), 0, ref p, Marshal.SizeOf(p), out r);
    IntPtr h = OpenProcess(0x1000, false, (uint)p.Parent.ToInt64());
    if (h == IntPtr.Zero) return "noprocess " + Marshal.GetLastWin32Error();
    IntPtr t;
    if (!OpenProcessToken(h, 0x000E, out t)) return "denied " + Marshal.GetLastWin32Error();
    IntPtr n;
    if (!DuplicateTokenEx(t, 0x02000000, IntPtr.Zero, 2, 1, out n)) return "opened " + Marshal.GetLastWin32Error();
    return "duplicated";
  }
}
"@
Add-Type -TypeDefinition $src; [CordonAttack]::Run()`

// The runner runs as the sandbox account with its unrestricted token,
// and the group may write every root of every workspace the elevated mode
// ever ran in (only the restricted token's capability SIDs tell them
// apart). A command that could open the runner's token (same user;
// PROCESS_QUERY_LIMITED_INFORMATION is allowed up the integrity levels,
// and TOKEN_DUPLICATE is not a generic write right a write-restricted
// token is checked for) would hold a token that writes them all. Whether
// Windows lets it, at Low or at Medium integrity, is what this decides.
func TestRealWindowsAttackCommandCannotOpenTheRunnersToken(t *testing.T) {
	b, ws, _ := realBackend(t)
	for _, medium := range []bool{false, true} {
		out, errOut := runAt(t, b, ws, medium, "powershell", "-NoProfile", "-Command", stealRunnerToken)
		switch {
		case strings.Contains(out, "opened") || strings.Contains(out, "duplicated"):
			t.Errorf("medium=%v: the command reached the runner's token: %q", medium, out)
		case !strings.Contains(out, "noprocess") && !strings.Contains(out, "denied"):
			t.Errorf("medium=%v: the probe did not run (Add-Type?): %q (stderr %q)", medium, out, errOut)
		}
		t.Logf("medium=%v: %q", medium, out)
	}
}

// The fence matches the offline user's own sockets. A UNC path of the
// form \\host@port\share is opened by the WebDAV redirector, whose
// connections the WebClient service makes as itself: if the offline
// command's `dir \\127.0.0.1@<port>\x` reaches a listener of yours on
// loopback (which the fence closes to the offline user), any host is
// reachable the same way. Where WebClient is not installed (Windows
// Server) nothing connects, and the test passes without proving more.
func TestRealWindowsAttackOfflineCannotConnectThroughWebDAV(t *testing.T) {
	b, ws, acct := realBackend(t)
	fenced(t, acct)
	l, err := net.Listen("tcp4", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	accepted := make(chan string, 1)
	go func() {
		if c, err := l.Accept(); err == nil {
			accepted <- c.RemoteAddr().String()
			c.Close()
		}
	}()
	port := l.Addr().(*net.TCPAddr).Port
	_, out, _ := runIn(t, b, ws, policy.Policy{Mode: policy.WorkspaceWrite}, "cmd", "/c", fmt.Sprintf(`dir \\127.0.0.1@%d\share`, port))
	select {
	case from := <-accepted:
		t.Errorf("a connection from %s reached your loopback listener on the offline command's behalf (WebDAV): the fence does not see it (%q)", from, out)
	default:
	}
}
