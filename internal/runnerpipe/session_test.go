package runnerpipe

import (
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
