// Package netfence is the network fence of cordon's elevated Windows mode:
// persistent Windows Filtering Platform (WFP) filters that take the
// network away from one local account, the offline sandbox user, and leave
// every other account alone.
//
// The filters are data first. Spec turns a Config into a list of Rules
// (layer, user condition, address, port and protocol conditions, action,
// weight), the same on every OS, so that the list is tested on Linux
// against a model of WFP's filter arbitration (Evaluate). On Windows,
// Install, Remove and Present write, delete and read back exactly those
// rules with github.com/tailscale/wf (wfp_windows.go).
//
// # Why WFP filters and not firewall rules
//
// Codex writes both Windows Firewall rules (INetFwRule3 with
// LocalUserAuthorizedList) and WFP filters. A firewall rule is itself
// compiled into WFP filters by the firewall service, whose rule language
// has no way to express the user condition used here (a security
// descriptor tested with "not equal", see UserCondition), ties the
// result to the firewall service being on and Group Policy letting local
// rules apply (Codex must check LocalPolicyModifyState), and needs COM. A
// WFP filter in cordon's own sublayer applies whatever the firewall's
// profile or policy says, and tailscale/wf is pure Go with no COM.
//
// # What the filters say
//
// For the offline user (Config.OfflineUser), in cordon's sublayer:
//
//   - DNS (53, 853) and SMB (139, 445), TCP and UDP, to any address
//     including loopback: blocked, first (a resolver or file server on the
//     host's loopback is still a way out);
//   - TCP to exactly one of Config.Proxy (cordon's allowlist proxy on a
//     loopback address): permitted;
//   - with Config.AllowLocalBinding only: anything to or from a loopback
//     address, and listening: permitted;
//   - everything else at ALE_AUTH_CONNECT (outbound connections and the
//     first datagram of UDP, ICMP and raw sockets), ALE_AUTH_RECV_ACCEPT
//     (inbound connections and datagrams) and ALE_AUTH_LISTEN, for IPv4
//     and IPv6: blocked; and ICMP and ICMPv6 sockets are refused at
//     ALE_RESOURCE_ASSIGNMENT (bind), as Codex does.
//
// Loopback is blocked by default because the host's loopback is shared by
// every account: other users' and the agent's own local services
// (development servers, databases, debug ports, browser remote-debugging,
// language servers, a future cordon MCP listener) would all be one connect
// away, and most of them trust loopback callers. Only the proxy's own
// address and port is opened, and that exact address: a service of another
// user on another 127.x address or on [::1] at the same port stays out of
// reach (Codex opens the proxy ports on every loopback address).
//
// Binding is not blocked in general: ALE_RESOURCE_ASSIGNMENT also sees the
// implicit bind before every outbound connection, the proxy's included,
// and has no remote address to tell them apart. A bound socket reaches
// nothing without the connect, accept or listen layers, which decide.
//
// Filter arbitration, as relied on by Evaluate and Spec, is that of
// "Filter Arbitration" (https://learn.microsoft.com/en-us/windows/win32/fwp/filter-arbitration):
// within a sublayer, the matching filter of highest weight that returns
// permit or block decides, and the rest are skipped; every sublayer is
// evaluated, in order of sublayer weight; across sublayers Block overrides
// Permit, and a Block is final unless a sublayer of higher priority
// returned a hard Permit (FWPS_RIGHT_ACTION_WRITE cleared), which only a
// callout Veto overrides. cordon's sublayer has the highest weight (0xFFFF)
// so that no other sublayer comes before it, its blocks are hard, and its
// permits are soft, so another firewall can still block the proxy.
//
// Installing persistent filters needs an administrator (the Base
// Filtering Engine checks FWPM_ACTRL_ADD on the provider, sublayer and
// filter objects, which by default only Administrators and the system
// hold); reading them back needs FWPM_ACTRL_ENUM/READ, which Windows grants
// more widely but not to the sandbox user's restricted token. The filters
// survive reboots and BFE restarts (FWPM_FILTER_FLAG_PERSISTENT).
//
// # What the fence does not stop
//
// The filters see sockets the offline user's processes open. Work a
// system service does on the user's behalf runs under the service's
// identity: above all the DNS Client service, which resolves names for
// every process and sends the queries as NETWORK SERVICE, so names (and
// data encoded in them) still leave the machine; likewise, if the
// hypothesis holds, the kernel's SMB redirector, WebDAV, BITS and the
// print spooler. Verify's "system-resolver" probe reports the DNS case.
// A v4-mapped IPv6 address (::ffff:127.0.0.1) reaches the proxy only if
// Windows classifies it at the IPv4 layers (Hypotheses.MappedAtV4);
// otherwise it is blocked, which fails closed.
package netfence

import (
	"crypto/sha256"
	"encoding/binary"
	"errors"
	"fmt"
	"net/netip"
	"slices"
	"strings"

	"github.com/cordon-sandbox/cordon/ntsec"
)

// Config is what the fence is made from.
type Config struct {
	// OfflineUser is the SID of the sandbox account whose network is
	// fenced (CordonSandboxOffline): a local or domain account SID,
	// S-1-5-21-….
	OfflineUser ntsec.SID
	// Proxy are the TCP endpoints of cordon's allowlist proxy the offline
	// user may connect to: each an IPv4 or IPv6 loopback address with a
	// port. Empty means no network at all.
	Proxy []netip.AddrPort
	// AllowLocalBinding lets the offline user listen and reach any
	// loopback address (its own test servers, and every other local
	// service on the host too: see the package comment). DNS and SMB stay
	// blocked even then.
	AllowLocalBinding bool
}

// Sensitive ports stay blocked for the offline user on every address,
// loopback included, whatever the Config: DNS (53), DNS over TLS (853),
// NetBIOS session (139), SMB (445).
var SensitivePorts = []uint16{53, 139, 445, 853}

// ErrConfig is returned, wrapped, for a Config Spec refuses.
var ErrConfig = errors.New("netfence: invalid config")

// Validate checks c, naming the first problem.
func (c Config) Validate() error {
	if c.OfflineUser.IsZero() {
		return fmt.Errorf("%w: no offline user SID", ErrConfig)
	}
	subs := c.OfflineUser.SubAuthorities()
	if c.OfflineUser.Authority() != 5 || len(subs) < 2 || subs[0] != 21 {
		// A well-known SID (Everyone, Users, SYSTEM…) would fence far
		// more than one sandbox account.
		return fmt.Errorf("%w: offline user %s is not an account SID (S-1-5-21-…)", ErrConfig, c.OfflineUser)
	}
	seen := map[netip.AddrPort]bool{}
	for _, p := range c.Proxy {
		a := p.Addr()
		switch {
		case !p.IsValid() || p.Port() == 0:
			return fmt.Errorf("%w: proxy endpoint %v: want a loopback address and a non-zero port", ErrConfig, p)
		case a.Is4In6() || a.Zone() != "":
			return fmt.Errorf("%w: proxy endpoint %v: give the plain IPv4 or IPv6 address", ErrConfig, p)
		case !a.IsLoopback():
			return fmt.Errorf("%w: proxy endpoint %v is not a loopback address", ErrConfig, p)
		case slices.Contains(SensitivePorts, p.Port()):
			return fmt.Errorf("%w: proxy endpoint %v uses a port the fence always blocks", ErrConfig, p)
		case seen[p]:
			return fmt.Errorf("%w: proxy endpoint %v given twice", ErrConfig, p)
		}
		seen[p] = true
	}
	return nil
}

// Layer is a WFP filtering layer the fence uses. Its String is the name
// WFP gives it (FWPM_LAYER_… without the prefix).
type Layer uint8

const (
	ConnectV4 Layer = iota
	ConnectV6
	RecvAcceptV4
	RecvAcceptV6
	ListenV4
	ListenV6
	ResourceAssignmentV4
	ResourceAssignmentV6
)

var layerNames = [...]string{
	"ALE_AUTH_CONNECT_V4", "ALE_AUTH_CONNECT_V6",
	"ALE_AUTH_RECV_ACCEPT_V4", "ALE_AUTH_RECV_ACCEPT_V6",
	"ALE_AUTH_LISTEN_V4", "ALE_AUTH_LISTEN_V6",
	"ALE_RESOURCE_ASSIGNMENT_V4", "ALE_RESOURCE_ASSIGNMENT_V6",
}

func (l Layer) String() string {
	if int(l) < len(layerNames) {
		return layerNames[l]
	}
	return fmt.Sprintf("Layer(%d)", uint8(l))
}

// IPv6 reports whether the layer sees IPv6 traffic.
func (l Layer) IPv6() bool { return l%2 == 1 }

// HasRemote reports whether the layer's filters can test the remote
// address and port. ALE_AUTH_LISTEN and ALE_RESOURCE_ASSIGNMENT have no
// remote end ("Filtering Conditions Available at Each Filtering Layer").
func (l Layer) HasRemote() bool { return l <= RecvAcceptV6 }

// HasProtocol reports whether the layer's filters can test the IP
// protocol. ALE_AUTH_LISTEN is TCP only and has no protocol field.
func (l Layer) HasProtocol() bool { return l != ListenV4 && l != ListenV6 }

// Action is what a matching filter does.
type Action uint8

const (
	Block Action = iota + 1
	Permit
)

func (a Action) String() string {
	switch a {
	case Block:
		return "block"
	case Permit:
		return "permit"
	}
	return fmt.Sprintf("Action(%d)", uint8(a))
}

// IP protocol numbers the fence names.
const (
	ProtoICMP   uint8 = 1
	ProtoTCP    uint8 = 6
	ProtoUDP    uint8 = 17
	ProtoICMPv6 uint8 = 58
)

// Rule is one WFP filter. Conditions of one kind are ORed (any protocol of
// Protocols), kinds are ANDed, as WFP does with conditions that share or
// differ in their field key (FWPM_FILTER0, filterCondition). A nil list
// places no condition.
type Rule struct {
	// Name is stable across configs; Key derives from it and the content.
	Name   string
	Layer  Layer
	Action Action
	// Weight orders the rule inside cordon's sublayer: higher first.
	Weight uint64
	// User is the FWPM_CONDITION_ALE_USER_ID condition every rule has.
	User        UserCondition
	Protocols   []uint8
	Remote      []netip.Prefix
	RemotePorts []uint16
}

// Rule weights inside cordon's sublayer.
const (
	weightSensitive uint64 = 3 // DNS and SMB, before any permit
	weightPermit    uint64 = 2 // the proxy, and loopback when allowed
	weightBlock     uint64 = 1 // everything else
)

// Loopback ranges.
var (
	loopbackV4 = netip.MustParsePrefix("127.0.0.0/8")
	loopbackV6 = netip.MustParsePrefix("::1/128")
)

// Spec returns the rules for c, in a fixed order.
func Spec(c Config) ([]Rule, error) {
	if err := c.Validate(); err != nil {
		return nil, err
	}
	user := OfflineUserCondition(c.OfflineUser)
	var rules []Rule
	add := func(r Rule) {
		r.User = user
		rules = append(rules, r)
	}
	type fam struct {
		tag                               string
		connect, accept, listen, resource Layer
		icmp                              uint8
		loopback                          netip.Prefix
	}
	for _, f := range []fam{
		{"v4", ConnectV4, RecvAcceptV4, ListenV4, ResourceAssignmentV4, ProtoICMP, loopbackV4},
		{"v6", ConnectV6, RecvAcceptV6, ListenV6, ResourceAssignmentV6, ProtoICMPv6, loopbackV6},
	} {
		for _, l := range []Layer{f.connect, f.accept} {
			dir := "out"
			if l == f.accept {
				dir = "in"
			}
			add(Rule{Name: "block-sensitive-" + dir + "-" + f.tag, Layer: l, Action: Block, Weight: weightSensitive,
				Protocols: []uint8{ProtoTCP, ProtoUDP}, RemotePorts: slices.Clone(SensitivePorts)})
			if c.AllowLocalBinding {
				add(Rule{Name: "permit-loopback-" + dir + "-" + f.tag, Layer: l, Action: Permit, Weight: weightPermit,
					Remote: []netip.Prefix{f.loopback}})
			}
			if l == f.connect {
				for _, p := range c.Proxy {
					if p.Addr().Is6() != (f.tag == "v6") {
						continue
					}
					add(Rule{Name: "permit-proxy-" + p.String(), Layer: l, Action: Permit, Weight: weightPermit,
						Protocols: []uint8{ProtoTCP}, Remote: []netip.Prefix{netip.PrefixFrom(p.Addr(), p.Addr().BitLen())},
						RemotePorts: []uint16{p.Port()}})
				}
			}
			add(Rule{Name: "block-all-" + dir + "-" + f.tag, Layer: l, Action: Block, Weight: weightBlock})
		}
		if !c.AllowLocalBinding {
			add(Rule{Name: "block-listen-" + f.tag, Layer: f.listen, Action: Block, Weight: weightBlock})
		}
		add(Rule{Name: "block-icmp-socket-" + f.tag, Layer: f.resource, Action: Block, Weight: weightBlock,
			Protocols: []uint8{f.icmp}})
	}
	return rules, nil
}

// GUID is a WFP object key, in Windows' byte order (Data1-3 little-endian
// on the wire, as windows.GUID holds them in memory).
type GUID struct {
	Data1 uint32
	Data2 uint16
	Data3 uint16
	Data4 [8]byte
}

func (g GUID) String() string {
	return fmt.Sprintf("{%08X-%04X-%04X-%02X%02X-%02X%02X%02X%02X%02X%02X}", g.Data1, g.Data2, g.Data3,
		g.Data4[0], g.Data4[1], g.Data4[2], g.Data4[3], g.Data4[4], g.Data4[5], g.Data4[6], g.Data4[7])
}

// Fence names the WFP objects a fence lives in: its provider and
// sublayer. Filter keys derive from the provider, so two fences never
// share a filter.
type Fence struct {
	Name     string
	Provider GUID
	Sublayer GUID
}

// Default is cordon's fence. Its GUIDs are fixed forever: Remove and
// Present find the filters an earlier cordon installed by them.
var Default = Fence{
	Name:     "cordon",
	Provider: GUID{0x6e5565d8, 0xf3ca, 0x49cf, [8]byte{0xb0, 0x53, 0xeb, 0x3c, 0xa6, 0x88, 0x45, 0x50}},
	Sublayer: GUID{0xb9a599e3, 0xdec2, 0x4e59, [8]byte{0xb1, 0x8d, 0x06, 0x01, 0xb6, 0x1c, 0x50, 0x4d}},
}

// SublayerWeight is the weight of the fence's sublayer: the highest, so
// that no other sublayer's hard permit comes before its blocks.
const SublayerWeight uint16 = 0xFFFF

// Key is the filter key of r in fence f: a name-based (version 5 style)
// GUID over the provider, the name and the rule's whole content. Installing
// the same rule again finds the same key (idempotent); a rule whose content
// changed gets a new key, so Install can add it before deleting the old
// one and the fence never has a gap.
func (f Fence) Key(r Rule) GUID {
	h := sha256.New()
	var p [16]byte
	binary.LittleEndian.PutUint32(p[0:], f.Provider.Data1)
	binary.LittleEndian.PutUint16(p[4:], f.Provider.Data2)
	binary.LittleEndian.PutUint16(p[6:], f.Provider.Data3)
	copy(p[8:], f.Provider.Data4[:])
	h.Write(p[:])
	h.Write([]byte(r.canonical()))
	s := h.Sum(nil)
	s[6] = s[6]&0x0f | 0x50 // version 5
	s[8] = s[8]&0x3f | 0x80 // RFC 4122 variant
	var g GUID
	g.Data1 = binary.BigEndian.Uint32(s[0:])
	g.Data2 = binary.BigEndian.Uint16(s[4:])
	g.Data3 = binary.BigEndian.Uint16(s[6:])
	copy(g.Data4[:], s[8:16])
	return g
}

// canonical is the rule's content as one string, the input to Key.
func (r Rule) canonical() string {
	var b strings.Builder
	fmt.Fprintf(&b, "name=%s;layer=%s;action=%s;weight=%d;user=%s %s;proto=%v;remote=%v;ports=%v",
		r.Name, r.Layer, r.Action, r.Weight, r.User.Match, r.User.SDDL, r.Protocols, r.Remote, r.RemotePorts)
	return b.String()
}

func (r Rule) String() string { return r.canonical() }
