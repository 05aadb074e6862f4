package netfence

import (
	"fmt"
	"net/netip"
	"slices"

	"github.com/cordon-sandbox/cordon/ntsec"
)

// Kind is what a socket asks of the ALE layers.
type Kind uint8

const (
	// Connect is an outbound connection, or the first datagram a UDP,
	// ICMP or raw socket sends to a remote address (ALE_AUTH_CONNECT).
	Connect Kind = iota
	// Accept is an inbound connection, or the first datagram from a
	// remote address (ALE_AUTH_RECV_ACCEPT).
	Accept
	// Listen is a TCP listen (ALE_AUTH_LISTEN).
	Listen
	// Bind is a port or socket assignment, explicit or implicit
	// (ALE_RESOURCE_ASSIGNMENT).
	Bind
)

// Attempt is one socket operation the evaluator decides.
type Attempt struct {
	// Token is the token WFP checks the user condition against.
	Token    *ntsec.Token
	Kind     Kind
	Protocol uint8
	// Remote is the remote end for Connect and Accept.
	Remote netip.AddrPort
	// IPv6 is the socket's family for Listen and Bind, which have no
	// remote end.
	IPv6 bool
}

// Verdict is what cordon's sublayer decides about an Attempt.
type Verdict struct {
	// Decided is false when no filter of the fence matched: the fence has
	// no say, and other sublayers decide.
	Decided bool
	Action  Action
	// Rule is the name of the deciding filter.
	Rule string
}

// Blocked reports whether the fence blocks the attempt. Under the
// arbitration rules in the package comment, a Block in the sublayer of
// highest weight is final.
func (v Verdict) Blocked() bool { return v.Decided && v.Action == Block }

// layerFor is the layer WFP classifies a at, and the remote address the
// filters see there.
func layerFor(a Attempt, h Hypotheses) (Layer, netip.AddrPort) {
	remote := a.Remote
	v6 := a.IPv6
	if a.Kind == Connect || a.Kind == Accept {
		addr := remote.Addr()
		if addr.Is4In6() && h.MappedAtV4 {
			addr = addr.Unmap()
			remote = netip.AddrPortFrom(addr, remote.Port())
		}
		v6 = addr.Is6()
	}
	var l Layer
	switch a.Kind {
	case Connect:
		l = ConnectV4
	case Accept:
		l = RecvAcceptV4
	case Listen:
		l = ListenV4
	default:
		l = ResourceAssignmentV4
	}
	if v6 {
		l++
	}
	return l, remote
}

// Evaluate decides a under the fence rules, as WFP arbitrates inside one
// sublayer: of the rules at a's layer whose every condition matches, the
// one of highest weight decides. Rules of equal weight that both match and
// disagree are an error: WFP orders them arbitrarily, so a spec must not
// have them.
func Evaluate(rules []Rule, a Attempt, h Hypotheses) (Verdict, error) {
	return (&Evaluator{}).Evaluate(rules, a, h)
}

// Evaluator is Evaluate with a cache of user-condition results (the access
// check does not depend on the address or port), for callers that decide
// many attempts. The zero value is ready; it is not safe for concurrent
// use.
type Evaluator struct {
	users map[userKey]bool
}

type userKey struct {
	cond UserCondition
	tok  *ntsec.Token
	h    Hypotheses
}

// Evaluate is the package function Evaluate, caching per token pointer:
// the caller must not change a token between calls.
func (e *Evaluator) Evaluate(rules []Rule, a Attempt, h Hypotheses) (Verdict, error) {
	layer, remote := layerFor(a, h)
	var cands []Rule
	for _, r := range rules {
		if r.Layer != layer {
			continue
		}
		ok, err := e.matches(r, a, remote, h)
		if err != nil {
			return Verdict{}, fmt.Errorf("rule %s: %w", r.Name, err)
		}
		if ok {
			cands = append(cands, r)
		}
	}
	if len(cands) == 0 {
		return Verdict{}, nil
	}
	slices.SortStableFunc(cands, func(x, y Rule) int {
		switch {
		case x.Weight > y.Weight:
			return -1
		case x.Weight < y.Weight:
			return 1
		}
		return 0
	})
	top := cands[0]
	for _, r := range cands[1:] {
		if r.Weight == top.Weight && r.Action != top.Action {
			return Verdict{}, fmt.Errorf("rules %s and %s match at equal weight %d with different actions", top.Name, r.Name, top.Weight)
		}
	}
	return Verdict{Decided: true, Action: top.Action, Rule: top.Name}, nil
}

// matches tests every condition of r. A condition on a field the layer
// does not have is an error rather than "no match": WFP refuses such a
// filter at FwpmFilterAdd0, so the spec must not contain one.
func (e *Evaluator) matches(r Rule, a Attempt, remote netip.AddrPort, h Hypotheses) (bool, error) {
	if (len(r.Remote) > 0 || len(r.RemotePorts) > 0) && !r.Layer.HasRemote() {
		return false, fmt.Errorf("remote condition at %s, which has no remote end", r.Layer)
	}
	if len(r.Protocols) > 0 && !r.Layer.HasProtocol() {
		return false, fmt.Errorf("protocol condition at %s, which has no protocol field", r.Layer)
	}
	if len(r.Protocols) > 0 && !slices.Contains(r.Protocols, a.Protocol) {
		return false, nil
	}
	if len(r.Remote) > 0 && !slices.ContainsFunc(r.Remote, func(p netip.Prefix) bool { return p.Contains(remote.Addr()) }) {
		return false, nil
	}
	if len(r.RemotePorts) > 0 && !slices.Contains(r.RemotePorts, remote.Port()) {
		return false, nil
	}
	if a.Token == nil {
		return false, fmt.Errorf("attempt without a token")
	}
	k := userKey{r.User, a.Token, h}
	if m, ok := e.users[k]; ok {
		return m, nil
	}
	m, err := r.User.Matches(a.Token, h)
	if err != nil {
		return false, err
	}
	if e.users == nil {
		e.users = map[userKey]bool{}
	}
	e.users[k] = m
	return m, nil
}
