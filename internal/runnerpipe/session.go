package runnerpipe

import (
	"errors"
	"fmt"
	"sync"
)

// Side is who sends a message.
type Side uint8

// The two sides of the pipe.
const (
	Cordon Side = iota // the server: cordon itself
	Runner             // the client: the runner cordon started
)

func (s Side) String() string {
	if s == Runner {
		return "runner"
	}
	return "cordon"
}

// ErrOrder is wrapped by Session.Check for a message its sender may not
// send at that point of the conversation, or at all.
var ErrOrder = errors.New("runnerpipe: message out of order")

// Session is the state of one conversation, the same on both sides: each
// side checks every message it sends and every one it receives, so a side
// refuses what the other should never have sent (a second Spawn, Output
// before Ready, anything after Exit) instead of guessing what it means.
// The zero value is a conversation that has not begun. It is safe for
// concurrent use.
//
// The order, with R the runner and C cordon:
//
//	R: Hello                      first of all, once
//	C: Spawn                      after Hello, once
//	R: Ready | Error              after Spawn, once
//	R: Output*                    after Ready
//	R: Exit | Error               after Ready; nothing from R follows
//	C: Stdin*, StdinClose         after a Spawn with StdinOpen; nothing after the close
//	C: Terminate*                 after Spawn
//
// cordon's messages stay valid after the runner's last one: they cross it
// on the wire, and the runner ignores them.
type Session struct {
	mu          sync.Mutex
	hello       bool // Hello received
	spawn       *Spawn
	ready       bool
	ended       bool // Exit or Error received
	stdinClosed bool
}

// Check records m, sent by from, or returns an error wrapping ErrOrder
// (and records nothing) when from may not send it now.
func (s *Session) Check(from Side, m Message) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if err := s.allowed(from, m); err != nil {
		return fmt.Errorf("%w: %s from the %s: %s", ErrOrder, m.Type(), from, err)
	}
	switch m := m.(type) {
	case *Hello:
		s.hello = true
	case *Spawn:
		s.spawn = m
	case *Ready:
		s.ready = true
	case *Exit, *Error:
		s.ended = true
	case *StdinClose:
		s.stdinClosed = true
	}
	return nil
}

// allowed says why m from from is out of order, or nil.
func (s *Session) allowed(from Side, m Message) error {
	if from == Runner {
		return s.fromRunner(m)
	}
	return s.fromCordon(m)
}

func (s *Session) fromRunner(m Message) error {
	switch {
	case s.ended:
		return errors.New("the runner already ended the conversation")
	case m.Type() == TypeHello:
		if s.hello {
			return errors.New("a second hello")
		}
		return nil
	case !s.hello:
		return errors.New("before hello")
	}
	switch m.(type) {
	case *Error:
		return nil // at any point after Hello: the runner gives up
	case *Ready:
		switch {
		case s.spawn == nil:
			return errors.New("before spawn")
		case s.ready:
			return errors.New("a second ready")
		}
		return nil
	case *Output, *Exit:
		if !s.ready {
			return errors.New("before ready")
		}
		return nil
	}
	return errors.New("the runner never sends it")
}

func (s *Session) fromCordon(m Message) error {
	switch m.(type) {
	case *Spawn:
		switch {
		case !s.hello:
			return errors.New("before the runner's hello")
		case s.spawn != nil:
			return errors.New("a second spawn")
		}
		return nil
	case *Stdin, *StdinClose:
		switch {
		case s.spawn == nil:
			return errors.New("before spawn")
		case !s.spawn.StdinOpen:
			return errors.New("the spawn did not open stdin")
		case s.stdinClosed:
			return errors.New("after stdin_close")
		}
		return nil
	case *Terminate:
		if s.spawn == nil {
			return errors.New("before spawn")
		}
		return nil
	}
	return errors.New("cordon never sends it")
}
