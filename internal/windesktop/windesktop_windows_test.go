//go:build windows

package windesktop_test

import (
	"strings"
	"testing"

	"github.com/cordon-sandbox/cordon/internal/windesktop"
)

func TestCreateAndClose(t *testing.T) {
	own, err := windesktop.ThreadDesktopName()
	if err != nil {
		t.Fatal(err)
	}
	a, err := windesktop.Create(nil)
	if err != nil {
		t.Fatal(err)
	}
	b, err := windesktop.Create(nil)
	if err != nil {
		t.Fatal(err)
	}
	ws, short, ok := strings.Cut(a.Name(), `\`)
	if !ok || ws == "" || !strings.HasPrefix(short, "cordon-") || len(short) != len("cordon-")+16 {
		t.Errorf("desktop name %q, want WinSta\\cordon-<16 hex>", a.Name())
	}
	if a.Name() == b.Name() || short == own {
		t.Errorf("names not fresh: %q, %q (own %q)", a.Name(), b.Name(), own)
	}
	for _, d := range []*windesktop.Desktop{a, b} {
		if err := d.Close(); err != nil {
			t.Error(err)
		}
		if err := d.Close(); err != nil {
			t.Errorf("second Close: %v", err)
		}
	}
}
