package main

import (
	"context"
	"errors"
	"reflect"
	"runtime"
	"strings"
	"testing"

	"github.com/cordon-sandbox/cordon/internal/netfence"
	"github.com/cordon-sandbox/cordon/internal/sandboxusers"
	"github.com/cordon-sandbox/cordon/ntsec"
)

// fakeFence is a machine's fence: its state, and the calls setup made.
type fakeFence struct {
	sid        ntsec.SID
	noUser     bool
	st         netfence.Status
	readErr    error
	installErr error
	installed  []netfence.Config
	removed    int
}

func (f *fakeFence) ops() fenceOps {
	return fenceOps{
		lookup: func(name string) (ntsec.SID, error) {
			if f.noUser || name != sandboxusers.OfflineUser {
				return ntsec.SID{}, errors.New("no such account: " + name)
			}
			return f.sid, nil
		},
		present: func(c netfence.Config) (netfence.Status, error) {
			if !reflect.DeepEqual(c, elevatedFence(f.sid)) {
				return netfence.Status{}, errors.New("asked about another fence")
			}
			return f.st, f.readErr
		},
		install: func(c netfence.Config) error {
			if f.installErr != nil {
				return f.installErr
			}
			f.installed = append(f.installed, c)
			return nil
		},
		remove: func() error { f.removed++; return nil },
	}
}

func complete() netfence.Status {
	return netfence.Status{Provider: true, Sublayer: true, SublayerWeight: netfence.SublayerWeight, Filters: 9}
}

func TestSetupFence(t *testing.T) {
	sid, err := ntsec.ParseSID("S-1-5-21-1-2-3-1010")
	if err != nil {
		t.Fatal(err)
	}
	broken := complete()
	broken.Missing = []string{"block-dns"}
	for _, tc := range []struct {
		name        string
		fence       fakeFence
		opts        sandboxusers.Options
		wantInstall bool
		wantPlan    string // "" = nothing planned
		wantCode    sandboxusers.Code
	}{
		{name: "complete fence: nothing to do", fence: fakeFence{st: complete()}},
		{name: "absent fence installed", fence: fakeFence{}, wantInstall: true, wantPlan: "(absent)"},
		{name: "damaged fence reinstalled", fence: fakeFence{st: broken}, wantInstall: true, wantPlan: "1 missing"},
		{name: "unreadable fence installed by the administrator", fence: fakeFence{readErr: errors.New("access denied")}, wantInstall: true, wantPlan: "could not read it"},
		{name: "dry run plans, installs nothing", fence: fakeFence{}, opts: sandboxusers.Options{DryRun: true}, wantPlan: "(absent)"},
		{name: "dry run before the account exists", fence: fakeFence{noUser: true}, opts: sandboxusers.Options{DryRun: true}, wantPlan: "install the network fence for"},
		{name: "dry run, unreadable", fence: fakeFence{readErr: errors.New("access denied")}, opts: sandboxusers.Options{DryRun: true}, wantPlan: "install or verify"},
		{name: "no offline account after the accounts' step", fence: fakeFence{noUser: true}, wantCode: sandboxusers.CodeFailed},
		{name: "install refused", fence: fakeFence{installErr: errors.New("FWP_E_ACCESS")}, wantPlan: "(absent)", wantCode: sandboxusers.CodeFailed},
		{name: "off Windows", fence: fakeFence{installErr: netfence.ErrUnsupported}, wantPlan: "(absent)", wantCode: sandboxusers.CodeUnsupported},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := tc.fence
			f.sid = sid
			res, err := setupFence(f.ops(), tc.opts)
			if got := sandboxusers.ErrorCode(err); got != tc.wantCode {
				t.Fatalf("code %q (%v), want %q", got, err, tc.wantCode)
			}
			if tc.wantInstall != (len(f.installed) == 1) {
				t.Fatalf("installed %v, want install: %v", f.installed, tc.wantInstall)
			}
			if tc.wantInstall && !reflect.DeepEqual(f.installed[0], elevatedFence(sid)) {
				t.Fatalf("installed %+v, want doctor's fence %+v", f.installed[0], elevatedFence(sid))
			}
			if (tc.wantPlan == "") != (len(res.Planned) == 0) || (tc.wantPlan != "" && !strings.Contains(res.Planned[0], tc.wantPlan)) {
				t.Fatalf("planned %q, want a line with %q", res.Planned, tc.wantPlan)
			}
			if f.removed != 0 {
				t.Fatal("setup removed the fence")
			}
		})
	}
}

func TestSetupFenceRemove(t *testing.T) {
	f := fakeFence{st: complete()}
	if res, err := setupFence(f.ops(), sandboxusers.Options{Remove: true, DryRun: true}); err != nil || f.removed != 0 || len(res.Planned) != 1 {
		t.Fatalf("dry-run removal: %+v, %v, removed %d", res, err, f.removed)
	}
	if res, err := setupFence(f.ops(), sandboxusers.Options{Remove: true}); err != nil || f.removed != 1 || res.Done != 1 {
		t.Fatalf("removal: %+v, %v, removed %d", res, err, f.removed)
	}
}

// The fence follows the accounts when setting up (it needs the offline
// SID) and precedes them when removing (filters naming a deleted SID would
// stay for ever). Off Windows the accounts' step refuses, which shows the
// order: the fence is touched only on removal.
func TestSetupFenceOrder(t *testing.T) {
	if runtime.GOOS == "windows" {
		t.Skip("relies on the accounts' step refusing off Windows")
	}
	opts := sandboxusers.Options{StateDir: t.TempDir()}
	f := fakeFence{st: netfence.Status{}}
	if _, err := setupAccountsAndFence(context.Background(), opts, f.ops()); sandboxusers.ErrorCode(err) != sandboxusers.CodeUnsupported || len(f.installed) != 0 {
		t.Fatalf("setup: %v, installed %v; want unsupported before any fence", err, f.installed)
	}
	opts.Remove = true
	res, err := setupAccountsAndFence(context.Background(), opts, f.ops())
	if sandboxusers.ErrorCode(err) != sandboxusers.CodeUnsupported || f.removed != 1 || !strings.Contains(res.Output, "remove the network fence") {
		t.Fatalf("remove: %+v, %v, removed %d; want the fence removed, then the accounts refused", res, err, f.removed)
	}
}
