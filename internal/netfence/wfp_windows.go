package netfence

import (
	"errors"
	"fmt"
	"syscall"

	"github.com/tailscale/wf"
	"golang.org/x/sys/windows"
)

// WFP errors the fence tolerates when removing what is already gone
// (fwpmu.h / winerror.h FWP_E_*).
const (
	fwpEFilterNotFound   = syscall.Errno(0x80320003)
	fwpEProviderNotFound = syscall.Errno(0x80320005)
	fwpESublayerNotFound = syscall.Errno(0x80320007)
)

var wfLayers = [...]wf.LayerID{
	ConnectV4:            wf.LayerALEAuthConnectV4,
	ConnectV6:            wf.LayerALEAuthConnectV6,
	RecvAcceptV4:         wf.LayerALEAuthRecvAcceptV4,
	RecvAcceptV6:         wf.LayerALEAuthRecvAcceptV6,
	ListenV4:             wf.LayerALEAuthListenV4,
	ListenV6:             wf.LayerALEAuthListenV6,
	ResourceAssignmentV4: wf.LayerALEResourceAssignmentV4,
	ResourceAssignmentV6: wf.LayerALEResourceAssignmentV6,
}

// Install makes the fence for c with Default: Default.Install(c).
func Install(c Config) error { return Default.Install(c) }

// Remove deletes Default's filters, sublayer and provider.
func Remove() error { return Default.Remove() }

// Present compares Default as installed with the fence c specifies.
func Present(c Config) (Status, error) { return Default.Present(c) }

// open opens a non-dynamic session to the Base Filtering Engine: objects
// added through it marked persistent outlive the session and reboots.
func (f Fence) open() (*wf.Session, error) {
	s, err := wf.New(&wf.Options{Name: f.Name, Description: f.Name + " network fence"})
	if err != nil {
		return nil, fmt.Errorf("netfence: open the Base Filtering Engine: %w", err)
	}
	return s, nil
}

// Install makes the installed fence equal to Spec(c): it creates the
// persistent provider and sublayer if absent, adds every rule whose key is
// not installed, and then deletes the fence's filters that Spec(c) does
// not have, so that re-installing the same config changes nothing and a
// changed config never leaves a moment without its blocks. A sublayer of
// another weight (from an older cordon) is removed with the whole fence
// and made again.
//
// The caller must be an administrator (elevated): persistent WFP objects
// are added under the Base Filtering Engine's default security, which
// grants FWPM_ACTRL_ADD to Administrators and SYSTEM only
// (https://learn.microsoft.com/en-us/windows/win32/fwp/access-control).
// The BFE service must be running.
func (f Fence) Install(c Config) error {
	rules, err := Spec(c)
	if err != nil {
		return err
	}
	s, err := f.open()
	if err != nil {
		return err
	}
	defer s.Close()
	st, err := f.objects(s)
	if err != nil {
		return err
	}
	if st.Sublayer && st.SublayerWeight != SublayerWeight {
		if err := f.remove(s); err != nil {
			return err
		}
		st = Status{}
	}
	if !st.Provider {
		if err := s.AddProvider(&wf.Provider{
			ID:          wf.ProviderID(f.Provider),
			Name:        f.Name,
			Description: f.Name + ": network fence of the offline sandbox user",
			Persistent:  true,
		}); err != nil {
			return fmt.Errorf("netfence: add provider %s: %w", f.Provider, err)
		}
	}
	if !st.Sublayer {
		if err := s.AddSublayer(&wf.Sublayer{
			ID:          wf.SublayerID(f.Sublayer),
			Name:        f.Name,
			Description: f.Name + ": blocks and permits for the offline sandbox user",
			Persistent:  true,
			Provider:    wf.ProviderID(f.Provider),
			Weight:      SublayerWeight,
		}); err != nil {
			return fmt.Errorf("netfence: add sublayer %s: %w", f.Sublayer, err)
		}
	}
	have, err := f.filters(s)
	if err != nil {
		return err
	}
	add, del := f.plan(rules, have)
	for _, r := range add {
		wr, err := f.toWF(r)
		if err != nil {
			return err
		}
		if err := s.AddRule(wr); err != nil {
			return fmt.Errorf("netfence: add filter %s (%s): %w", r.Name, r.Layer, err)
		}
	}
	for _, k := range del {
		if err := s.DeleteRule(wf.RuleID(k)); err != nil && !errors.Is(err, fwpEFilterNotFound) {
			return fmt.Errorf("netfence: delete stale filter %s: %w", k, err)
		}
	}
	return nil
}

// Remove deletes every filter of the fence (by provider or sublayer), then
// its sublayer and provider. Removing an absent fence succeeds. The
// caller must be an administrator.
func (f Fence) Remove() error {
	s, err := f.open()
	if err != nil {
		return err
	}
	defer s.Close()
	return f.remove(s)
}

func (f Fence) remove(s *wf.Session) error {
	have, err := f.filters(s)
	if err != nil {
		return err
	}
	for _, h := range have {
		if err := s.DeleteRule(wf.RuleID(h.Key)); err != nil && !errors.Is(err, fwpEFilterNotFound) {
			return fmt.Errorf("netfence: delete filter %s (%s): %w", h.Name, h.Key, err)
		}
	}
	if err := s.DeleteSublayer(wf.SublayerID(f.Sublayer)); err != nil && !errors.Is(err, fwpESublayerNotFound) {
		return fmt.Errorf("netfence: delete sublayer %s: %w", f.Sublayer, err)
	}
	if err := s.DeleteProvider(wf.ProviderID(f.Provider)); err != nil && !errors.Is(err, fwpEProviderNotFound) {
		return fmt.Errorf("netfence: delete provider %s: %w", f.Provider, err)
	}
	return nil
}

// Present reads the installed fence and compares it with Spec(c), for
// `cordon doctor`. It changes nothing. Enumerating needs FWPM_ACTRL_ENUM
// and FWPM_ACTRL_READ on the engine and objects; run it elevated, since
// what a standard user may read depends on the BFE's security descriptor.
// A denial is returned as an error, never as an absent fence.
//
// tailscale/wf lists every filter on the machine and fails if one has a
// condition value type it cannot decode; Present, Install and Remove then
// fail with "list WFP filters" rather than guess.
func (f Fence) Present(c Config) (Status, error) {
	rules, err := Spec(c)
	if err != nil {
		return Status{}, err
	}
	s, err := f.open()
	if err != nil {
		return Status{}, err
	}
	defer s.Close()
	obj, err := f.objects(s)
	if err != nil {
		return Status{}, err
	}
	have, err := f.filters(s)
	if err != nil {
		return Status{}, err
	}
	st := f.compare(rules, have)
	st.Provider, st.Sublayer, st.SublayerWeight = obj.Provider, obj.Sublayer, obj.SublayerWeight
	return st, nil
}

// objects reports whether the provider and sublayer exist.
func (f Fence) objects(s *wf.Session) (Status, error) {
	var st Status
	providers, err := s.Providers()
	if err != nil {
		return st, fmt.Errorf("netfence: list WFP providers: %w", err)
	}
	for _, p := range providers {
		if p.ID == wf.ProviderID(f.Provider) {
			st.Provider = true
		}
	}
	sublayers, err := s.Sublayers()
	if err != nil {
		return st, fmt.Errorf("netfence: list WFP sublayers: %w", err)
	}
	for _, sl := range sublayers {
		if sl.ID == wf.SublayerID(f.Sublayer) {
			st.Sublayer, st.SublayerWeight = true, sl.Weight
		}
	}
	return st, nil
}

// filters lists the filters of the fence: those of its provider or in its
// sublayer.
func (f Fence) filters(s *wf.Session) ([]Installed, error) {
	rules, err := s.Rules()
	if err != nil {
		return nil, fmt.Errorf("netfence: list WFP filters: %w", err)
	}
	var out []Installed
	for _, r := range rules {
		if r.Provider == wf.ProviderID(f.Provider) || r.Sublayer == wf.SublayerID(f.Sublayer) {
			out = append(out, Installed{Key: GUID(r.ID), Name: r.Name})
		}
	}
	return out, nil
}

// toWF translates r into a persistent tailscale/wf rule of the fence.
// Blocks are hard (FWPM_FILTER_FLAG_CLEAR_ACTION_RIGHT): no sublayer of
// lower priority can turn them into a permit; permits stay soft.
func (f Fence) toWF(r Rule) (*wf.Rule, error) {
	if int(r.Layer) >= len(wfLayers) {
		return nil, fmt.Errorf("netfence: rule %s: unknown layer %s", r.Name, r.Layer)
	}
	sd, err := windows.SecurityDescriptorFromString(r.User.SDDL)
	if err != nil {
		return nil, fmt.Errorf("netfence: rule %s: user condition %q: %w", r.Name, r.User.SDDL, err)
	}
	op := wf.MatchTypeEqual
	if r.User.Match == MatchNotEqual {
		op = wf.MatchTypeNotEqual
	}
	conds := []*wf.Match{{Field: wf.FieldALEUserID, Op: op, Value: sd}}
	for _, p := range r.Protocols {
		conds = append(conds, &wf.Match{Field: wf.FieldIPProtocol, Op: wf.MatchTypeEqual, Value: wf.IPProto(p)})
	}
	for _, p := range r.Remote {
		conds = append(conds, &wf.Match{Field: wf.FieldIPRemoteAddress, Op: wf.MatchTypeEqual, Value: p})
	}
	for _, p := range r.RemotePorts {
		conds = append(conds, &wf.Match{Field: wf.FieldIPRemotePort, Op: wf.MatchTypeEqual, Value: p})
	}
	action := wf.ActionBlock
	if r.Action == Permit {
		action = wf.ActionPermit
	}
	return &wf.Rule{
		ID:          wf.RuleID(f.Key(r)),
		Name:        r.Name,
		Description: r.canonical(),
		Layer:       wfLayers[r.Layer],
		Sublayer:    wf.SublayerID(f.Sublayer),
		Weight:      r.Weight,
		Conditions:  conds,
		Action:      action,
		HardAction:  r.Action == Block,
		Persistent:  true,
		Provider:    wf.ProviderID(f.Provider),
	}, nil
}
