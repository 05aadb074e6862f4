package policy

import (
	"slices"
	"testing"
)

func TestLookupAndSet(t *testing.T) {
	env := []string{"Temp=a", "PATH=/bin", "TEMP=b", "=C:=C:\\src", "bad"}
	for _, c := range []struct {
		rules EnvRules
		name  string
		want  string
	}{
		{WindowsEnv, "temp", "b"},
		{WindowsEnv, "=c:", `C:\src`},
		{POSIXEnv, "Temp", "a"},
		{POSIXEnv, "temp", ""},
		{POSIXEnv, "bad", ""},
	} {
		if got := c.rules.Lookup(env, c.name); got != c.want {
			t.Errorf("%+v Lookup(%q) = %q, want %q", c.rules, c.name, got, c.want)
		}
	}
	if got, want := WindowsEnv.Set(env, "tmp", "x"), append(slices.Clone(env), "tmp=x"); !slices.Equal(got, want) {
		t.Errorf("Set of a new name = %q", got)
	}
	if got, want := WindowsEnv.Set(env, "TEMP", "c"), []string{"PATH=/bin", "=C:=C:\\src", "bad", "TEMP=c"}; !slices.Equal(got, want) {
		t.Errorf("Windows Set = %q, want %q", got, want)
	}
	if got, want := POSIXEnv.Set(env, "TEMP", "c"), []string{"Temp=a", "PATH=/bin", "=C:=C:\\src", "bad", "TEMP=c"}; !slices.Equal(got, want) {
		t.Errorf("POSIX Set = %q, want %q", got, want)
	}
	if env[0] != "Temp=a" || len(env) != 5 {
		t.Errorf("Set modified its input: %q", env)
	}
}
