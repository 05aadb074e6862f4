package runnerpipe

import (
	"bytes"
	"errors"
	"strings"
	"testing"
)

// step is one message of a conversation, and whether Session allows it.
type step struct {
	from Side
	m    Message
	ok   bool
}

func hello() *Hello { return &Hello{Nonce: strings.Repeat("01", NonceSize)} }

func TestSessionOrder(t *testing.T) {
	noStdin := validSpawn()
	noStdin.StdinOpen = false
	for _, c := range []struct {
		name  string
		steps []step
	}{
		{"a whole run", []step{
			{Runner, hello(), true}, {Cordon, validSpawn(), true}, {Runner, &Ready{PID: 9}, true},
			{Cordon, &Stdin{Data: []byte("x")}, true}, {Runner, &Output{Stream: Stdout, Data: []byte("x")}, true},
			{Cordon, &StdinClose{}, true}, {Cordon, &Terminate{}, true}, {Cordon, &Terminate{}, true},
			{Runner, &Exit{Code: 1}, true},
			// cordon's messages may cross the runner's last one.
			{Cordon, &Terminate{}, true},
		}},
		{"the runner speaks first", []step{{Cordon, validSpawn(), false}, {Runner, &Ready{PID: 9}, false}, {Runner, &Error{Code: "x"}, false}}},
		{"two hellos", []step{{Runner, hello(), true}, {Runner, hello(), false}}},
		{"two spawns", []step{{Runner, hello(), true}, {Cordon, validSpawn(), true}, {Cordon, validSpawn(), false}}},
		{"ready before spawn", []step{{Runner, hello(), true}, {Runner, &Ready{PID: 9}, false}}},
		{"two readies", []step{{Runner, hello(), true}, {Cordon, validSpawn(), true}, {Runner, &Ready{PID: 9}, true}, {Runner, &Ready{PID: 9}, false}}},
		{"output before ready", []step{{Runner, hello(), true}, {Cordon, validSpawn(), true}, {Runner, &Output{Stream: Stdout, Data: []byte("x")}, false}}},
		{"exit before ready", []step{{Runner, hello(), true}, {Cordon, validSpawn(), true}, {Runner, &Exit{}, false}}},
		{"error ends it", []step{{Runner, hello(), true}, {Cordon, validSpawn(), true}, {Runner, &Error{Code: "token"}, true}, {Runner, &Ready{PID: 9}, false}, {Runner, &Error{Code: "token"}, false}}},
		{"nothing after exit", []step{{Runner, hello(), true}, {Cordon, validSpawn(), true}, {Runner, &Ready{PID: 9}, true}, {Runner, &Exit{}, true}, {Runner, &Output{Stream: Stdout, Data: []byte("x")}, false}}},
		{"stdin not opened", []step{{Runner, hello(), true}, {Cordon, noStdin, true}, {Cordon, &Stdin{Data: []byte("x")}, false}, {Cordon, &StdinClose{}, false}}},
		{"stdin after close", []step{{Runner, hello(), true}, {Cordon, validSpawn(), true}, {Cordon, &StdinClose{}, true}, {Cordon, &Stdin{Data: []byte("x")}, false}, {Cordon, &StdinClose{}, false}}},
		{"stdin before spawn", []step{{Runner, hello(), true}, {Cordon, &Stdin{Data: []byte("x")}, false}, {Cordon, &Terminate{}, false}}},
		{"wrong direction", []step{{Runner, hello(), true}, {Cordon, hello(), false}, {Runner, validSpawn(), false}, {Cordon, &Exit{}, false}, {Runner, &Terminate{}, false}}},
	} {
		var s Session
		for i, st := range c.steps {
			err := s.Check(st.from, st.m)
			if st.ok && err != nil {
				t.Errorf("%s: step %d (%s from %s): %v", c.name, i, st.m.Type(), st.from, err)
			}
			if !st.ok && !errors.Is(err, ErrOrder) {
				t.Errorf("%s: step %d (%s from %s) = %v, want ErrOrder", c.name, i, st.m.Type(), st.from, err)
			}
		}
	}
}

func TestAwaitHello(t *testing.T) {
	nonce, err := NewNonce()
	if err != nil {
		t.Fatal(err)
	}
	other, err := NewNonce()
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		name string
		send []Message
		ok   bool
	}{
		{"the right nonce", []Message{&Hello{Nonce: nonce}}, true},
		{"another nonce", []Message{&Hello{Nonce: other}}, false},
		{"no hello first", []Message{&Ready{PID: 1}, &Hello{Nonce: nonce}}, false},
		{"nothing", nil, false},
	} {
		var buf bytes.Buffer
		w := NewWriter(&buf)
		for _, m := range c.send {
			if err := w.Write(m); err != nil {
				t.Fatal(err)
			}
		}
		var s Session
		err := AwaitHello(NewReader(&buf), &s, nonce)
		if c.ok && err != nil {
			t.Errorf("%s: %v", c.name, err)
		}
		if !c.ok && !errors.Is(err, ErrHandshake) {
			t.Errorf("%s: AwaitHello = %v, want ErrHandshake", c.name, err)
		}
		// Only a passed handshake lets cordon send the spawn.
		if got := s.Check(Cordon, validSpawn()) == nil; got != c.ok {
			t.Errorf("%s: spawn allowed after the handshake = %v, want %v", c.name, got, c.ok)
		}
	}
}

func TestNewName(t *testing.T) {
	a, err := NewName()
	if err != nil {
		t.Fatal(err)
	}
	b, err := NewName()
	if err != nil {
		t.Fatal(err)
	}
	if a == b || !strings.HasPrefix(a, NamePrefix) || len(a) != len(NamePrefix)+32 {
		t.Errorf("NewName = %q, %q: want two distinct %s<32 hex digits>", a, b, NamePrefix)
	}
}
