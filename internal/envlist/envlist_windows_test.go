//go:build windows

package envlist

// Tests that compare the Windows rule with Windows itself:
// ntdll!RtlUpcaseUnicodeChar and kernel32!CompareStringOrdinal. They run
// under Wine (scripts/wine/go-wine-exec) as well as on real Windows.

import (
	"fmt"
	"slices"
	"strings"
	"testing"
	"unicode/utf16"
	"unsafe"

	"golang.org/x/sys/windows"
)

var procCompareStringOrdinal = windows.NewLazySystemDLL("kernel32.dll").NewProc("CompareStringOrdinal")

// compareStringOrdinal calls CompareStringOrdinal(a, b, bIgnoreCase=TRUE)
// and returns -1, 0 or +1.
func compareStringOrdinal(t *testing.T, a, b []uint16) int {
	t.Helper()
	ptr := func(u []uint16) uintptr {
		u = append(u[:len(u):len(u)], 0) // never empty
		return uintptr(unsafe.Pointer(&u[0]))
	}
	r, _, err := procCompareStringOrdinal.Call(ptr(a), uintptr(len(a)), ptr(b), uintptr(len(b)), 1)
	if r == 0 {
		t.Fatalf("CompareStringOrdinal: %v", err)
	}
	return int(r) - 2 // CSTR_LESS_THAN, CSTR_EQUAL, CSTR_GREATER_THAN are 1, 2, 3
}

// TestCompareStringOrdinal checks the order of UpperUTF16 keys (how
// winexec.EnvBlock sorts the block) against Windows'. ASCII names must
// agree exactly; for the others the differences are logged.
func TestCompareStringOrdinal(t *testing.T) {
	names := []string{"a", "A", "Z", "_", "[", "`", "{", "~", "0", "PATH", "Path", "PATHEXT", "path_x", "PATHX", "é", "É", "ß", "Ａ", "ａ", "😀", "Ω", "ω", "ǅ"}
	for _, a := range names {
		for _, b := range names {
			ua, ub := utf16.Encode([]rune(a)), utf16.Encode([]rune(b))
			want := compareStringOrdinal(t, ua, ub)
			got := slices.Compare(UpperUTF16(a), UpperUTF16(b))
			if got == want {
				continue
			}
			if isASCII(a) && isASCII(b) {
				t.Errorf("order of %q and %q: UpperUTF16 %d, CompareStringOrdinal %d", a, b, got, want)
			} else {
				t.Logf("order of %q and %q differs: UpperUTF16 %d, CompareStringOrdinal %d", a, b, got, want)
			}
		}
	}
}

var procRtlUpcaseUnicodeChar = windows.NewLazySystemDLL("ntdll.dll").NewProc("RtlUpcaseUnicodeChar")

// TestUpcaseTable compares upperUnit with ntdll!RtlUpcaseUnicodeChar, the
// table behind CompareStringOrdinal's case-insensitive mode, for every
// code unit, and checks with CompareStringOrdinal itself that each unit
// and its upper case compare equal.
func TestUpcaseTable(t *testing.T) {
	var differ []string
	for c := 0; c < 0x10000; c++ {
		u := uint16(c)
		r, _, _ := procRtlUpcaseUnicodeChar.Call(uintptr(u))
		if win := uint16(r); win != upperUnit(u) {
			differ = append(differ, fmt.Sprintf("U+%04X: Windows U+%04X, upperUnit U+%04X", c, win, upperUnit(u)))
		}
		if c < 0xD800 || c > 0xDFFF {
			if compareStringOrdinal(t, []uint16{u}, []uint16{upperUnit(u)}) != 0 {
				t.Errorf("CompareStringOrdinal(U+%04X, U+%04X, ignoreCase) != equal", c, upperUnit(u))
			}
		}
	}
	if len(differ) > 0 {
		t.Errorf("upperUnit differs from RtlUpcaseUnicodeChar for %d code units:\n%s", len(differ), strings.Join(differ, "\n"))
	}
}

func isASCII(s string) bool {
	return !strings.ContainsFunc(s, func(r rune) bool { return r >= 0x80 })
}
