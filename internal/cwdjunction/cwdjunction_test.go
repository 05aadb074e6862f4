package cwdjunction

import (
	"errors"
	"strings"
	"testing"
)

func TestPath(t *testing.T) {
	profile := `C:\Users\CordonSandboxOffline`
	a, err := Path(profile, `C:\Users\me\ws`)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(a, profile+`\.cordon\cwd\`) || len(a) != len(profile+`\.cordon\cwd\`)+32 {
		t.Errorf("junction path %q: want %s\\.cordon\\cwd\\<32 hex>", a, profile)
	}
	// Spellings NTFS resolves to the same directory share one junction.
	for _, same := range []string{`c:\USERS\me\WS`, `C:\Users\me\ws\`, `C:\Users\me\ws.`, `C:\Users\.\me\x\..\ws`, `\\?\C:\Users\me\ws`} {
		if b, err := Path(profile, same); err != nil || b != a {
			t.Errorf("Path(%q) = %q, %v; want %q", same, b, err, a)
		}
	}
	// Other directories do not.
	for _, other := range []string{`C:\Users\me\ws2`, `D:\Users\me\ws`, `C:\Users\me`, `C:\Users\me\ws\sub`} {
		if b, err := Path(profile, other); err != nil || b == a {
			t.Errorf("Path(%q) = %q, %v; want another junction than %q", other, b, err, a)
		}
	}
	// A DOS device name is no directory.
	if b, err := Path(profile, `C:\ws\CON`); err == nil {
		t.Errorf("a device path is a target: %q", b)
	}
}

func TestTargetRefuses(t *testing.T) {
	for _, cwd := range []string{`\\server\share\ws`, `\\.\pipe\x`, `C:\ws:stream`, `relative\ws`, ``} {
		if _, err := Target(cwd); err == nil {
			t.Errorf("Target(%q) accepted", cwd)
		}
	}
	if _, err := Target(`\\server\share\ws`); !errors.Is(err, ErrUnsupported) {
		t.Errorf("a UNC cwd: %v, want ErrUnsupported", err)
	}
	if _, err := Path(`relative`, `C:\ws`); err == nil {
		t.Errorf("a relative profile was accepted")
	}
}

func TestSameTarget(t *testing.T) {
	want, err := Target(`C:\Users\me\ws`)
	if err != nil {
		t.Fatal(err)
	}
	for got, same := range map[string]bool{
		`C:\Users\me\ws`:      true,
		`\??\C:\Users\me\ws`:  true,
		`\\?\c:\users\ME\WS`:  true,
		`C:\Users\me\ws\`:     true,
		`C:\Users\me\ws2`:     false,
		`C:\Users\me\.ssh`:    false,
		`C:\Users\me`:         false,
		`\??\UNC\h\s\ws`:      false,
		`C:\Users\me\ws:ads`:  false,
		``:                    false,
		`\??\D:\Users\me\ws`:  false,
		`C:\Users\me\ws\..\x`: false,
	} {
		if SameTarget(got, want) != same {
			t.Errorf("SameTarget(%q) = %v, want %v", got, !same, same)
		}
	}
}
