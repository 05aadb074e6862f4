package winexec

import (
	"fmt"
	"math/rand"
	"slices"
	"strings"
	"testing"
	"unicode/utf16"

	"github.com/cordon-sandbox/cordon/internal/envlist"
)

// blockOf builds the expected block from entries already in order.
func blockOf(entries ...string) []uint16 {
	if len(entries) == 0 {
		return []uint16{0, 0}
	}
	var b []uint16
	for _, e := range entries {
		b = append(b, utf16.Encode([]rune(e))...)
		b = append(b, 0)
	}
	return append(b, 0)
}

func TestEnvBlock(t *testing.T) {
	tests := []struct {
		name string
		env  []string
		want []string // entries in block order
	}{
		{"empty", nil, nil},
		{"one", []string{"A=1"}, []string{"A=1"}},
		{"empty value", []string{"LESS="}, []string{"LESS="}},
		{"value with =", []string{"X=a=b"}, []string{"X=a=b"}},
		{"case-insensitive sort", []string{"b=1", "A=2", "c=3"}, []string{"A=2", "b=1", "c=3"}},
		{"last one wins, keeping its spelling", []string{"Path=C:\\a", "X=1", "PATH=C:\\b"}, []string{"PATH=C:\\b", "X=1"}},
		{"last one wins, three times", []string{"a=1", "A=2", "a=3"}, []string{"a=3"}},
		// Upper-case comparison: '_' (0x5F) is above 'A'-'Z' (0x41-0x5A),
		// so it sorts after letters; lower-case would put it before.
		{"underscore after letters", []string{"_X=1", "a=2", "Z=3"}, []string{"a=2", "Z=3", "_X=1"}},
		{"punctuation between cases", []string{"[=1", "b=2", "`=3", "{=4"}, []string{"b=2", "[=1", "`=3", "{=4"}},
		{"prefix sorts first", []string{"PATHEXT=.EXE", "PATH=C:\\"}, []string{"PATH=C:\\", "PATHEXT=.EXE"}},
		{"digits before letters", []string{"A=1", "1=2"}, []string{"1=2", "A=1"}},
		{"= names first", []string{"A=1", "=C:=C:\\dir", "!=x", "=ExitCode=0", "=c:=C:\\other"},
			[]string{"=c:=C:\\other", "=ExitCode=0", "!=x", "A=1"}},
		{"non-ASCII folds", []string{"é=1", "É=2", "E=3"}, []string{"E=3", "É=2"}},
		{"one-way upper case does not fold", []string{"ı=1", "I=2", "i=3", "ſ=4"}, []string{"i=3", "ı=1", "ſ=4"}},
		// UTF-16 order: a surrogate (0xD83D) sorts before U+FF21.
		{"code units, not code points", []string{"Ａ=1", "😀=2"}, []string{"😀=2", "Ａ=1"}},
		{"unicode value", []string{"GREETING=héllo 世界 😀"}, []string{"GREETING=héllo 世界 😀"}},
	}
	for _, tt := range tests {
		got, err := EnvBlock(tt.env)
		if err != nil {
			t.Errorf("%s: EnvBlock(%q): %v", tt.name, tt.env, err)
			continue
		}
		if want := blockOf(tt.want...); !slices.Equal(got, want) {
			parsed, _ := ParseEnvBlock(got)
			t.Errorf("%s: EnvBlock(%q) holds %q, want %q", tt.name, tt.env, parsed, tt.want)
		}
	}
}

func TestEnvBlockErrors(t *testing.T) {
	tests := []struct {
		env     []string
		wantErr string
	}{
		{[]string{"A=1", "NOVALUE"}, `entry 1 ("NOVALUE"): no '='`},
		{[]string{""}, `entry 0 (""): no '='`},
		{[]string{"=secret"}, "entry 0: empty name"},
		{[]string{"="}, "entry 0: empty name"},
		{[]string{"==secret"}, "entry 0: empty name"},
		{[]string{"A=1", "B=2", "TOKEN=sec\x00ret"}, `entry 2 ("TOKEN"): contains NUL`},
		{[]string{"A\x00B=1"}, `contains NUL`},
		{[]string{"TOKEN=\xffsecret"}, `entry 0 ("TOKEN"): not valid UTF-8`},
	}
	for _, tt := range tests {
		_, err := EnvBlock(tt.env)
		if err == nil {
			t.Errorf("EnvBlock(%q) succeeded, want error", tt.env)
			continue
		}
		if !strings.Contains(err.Error(), tt.wantErr) {
			t.Errorf("EnvBlock(%q) error = %q, want it to contain %q", tt.env, err, tt.wantErr)
		}
		if strings.Contains(err.Error(), "secret") || strings.Contains(err.Error(), "sec\\x00ret") {
			t.Errorf("EnvBlock(%q) error %q reveals the value", tt.env, err)
		}
	}
}

func TestParseEnvBlock(t *testing.T) {
	tests := []struct {
		block []uint16
		want  []string
	}{
		{[]uint16{0}, []string{}},
		{[]uint16{0, 0}, []string{}},
		{blockOf("A=1"), []string{"A=1"}},
		{blockOf("=C:=C:\\", "A=1", "b="), []string{"=C:=C:\\", "A=1", "b="}},
		{blockOf("X=😀"), []string{"X=😀"}},
	}
	for _, tt := range tests {
		got, err := ParseEnvBlock(tt.block)
		if err != nil || !slices.Equal(got, tt.want) {
			t.Errorf("ParseEnvBlock(%v) = %q, %v; want %q", tt.block, got, err, tt.want)
		}
	}
	bad := []struct {
		block   []uint16
		wantErr string
	}{
		{nil, "empty block"},
		{[]uint16{'A', '=', '1'}, "not NUL-terminated"},
		{[]uint16{'A', '=', '1', 0}, "no terminating empty entry"},
		{[]uint16{'A', '=', 0, 0, 0}, "1 code units after"},
		{[]uint16{0, 'A', 0, 0}, "3 code units after"},
		{[]uint16{'A', '=', 0xD800, 0, 0}, "unpaired surrogate 0xD800"},
		{[]uint16{'A', '=', 0xDC00, 'x', 0, 0}, "unpaired surrogate 0xDC00"},
		{[]uint16{'A', '=', 0xD800, 'x', 0, 0}, "unpaired surrogate 0xD800"},
	}
	for _, tt := range bad {
		got, err := ParseEnvBlock(tt.block)
		if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
			t.Errorf("ParseEnvBlock(%v) = %q, %v; want error containing %q", tt.block, got, err, tt.wantErr)
		}
	}
}

// TestEnvBlockRandom checks EnvBlock against a direct statement of its
// contract: the block holds exactly the last entry for each name (compared
// case-insensitively), sorted with '=' names first and otherwise by
// upper-cased UTF-16 code units, with no two names equal.
func TestEnvBlockRandom(t *testing.T) {
	nameRunes := []rune("aAbB_zZ[`{09éÉßẞ😀ＡａıIiſsSµΜμςσΣ")
	for seed := int64(1); seed <= 10; seed++ {
		r := rand.New(rand.NewSource(seed))
		for i := 0; i < 300; i++ {
			var env []string
			for n := r.Intn(12); n > 0; n-- {
				name := make([]rune, 1+r.Intn(3))
				for j := range name {
					name[j] = nameRunes[r.Intn(len(nameRunes))]
				}
				prefix := ""
				if r.Intn(6) == 0 {
					prefix = "="
				}
				env = append(env, fmt.Sprintf("%s%s=%s", prefix, string(name), randomString(r, 6)))
			}
			block, err := EnvBlock(env)
			if err != nil {
				t.Fatalf("EnvBlock(%q): %v", env, err)
			}
			if n := len(block); n < 2 || block[n-1] != 0 || block[n-2] != 0 {
				t.Fatalf("EnvBlock(%q) = %v does not end in two NULs", env, block)
			}
			got, err := ParseEnvBlock(block)
			if err != nil {
				t.Fatalf("ParseEnvBlock(EnvBlock(%q)): %v", env, err)
			}
			checkEnvContract(t, env, got)
		}
	}
}

func checkEnvContract(t *testing.T, env, got []string) {
	t.Helper()
	var want []string
	for i, e := range env {
		name, _, _ := envlist.Windows.Split(e)
		if envlist.Windows.Index(env, name) == i {
			want = append(want, e)
		}
	}
	if len(got) != len(want) {
		t.Fatalf("from %q: block holds %q, want the entries %q in some order", env, got, want)
	}
	for _, e := range want {
		if !slices.Contains(got, e) {
			t.Fatalf("from %q: block %q lacks %q", env, got, e)
		}
	}
	for i := 1; i < len(got); i++ {
		a, _, _ := envlist.Windows.Split(got[i-1])
		b, _, _ := envlist.Windows.Split(got[i])
		ka, kb := envlist.UpperUTF16(a), envlist.UpperUTF16(b)
		aEq, bEq := a[0] == '=', b[0] == '='
		if (!aEq && bEq) || (aEq == bEq && slices.Compare(ka, kb) >= 0) {
			t.Fatalf("from %q: block %q has %q before %q", env, got, got[i-1], got[i])
		}
	}
}
