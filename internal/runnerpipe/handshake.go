package runnerpipe

import (
	"crypto/rand"
	"crypto/subtle"
	"encoding/hex"
	"errors"
	"fmt"
	"strings"
)

// NamePrefix begins the name of every runner pipe.
const NamePrefix = `\\.\pipe\cordon-runner-`

// NewName returns a fresh pipe name, NamePrefix and 128 random bits in
// hex. The name is not a secret (any process may list \\.\pipe\); it is
// random so that no one can create it before cordon does and so that
// concurrent runs never collide. Listen refuses a name that already
// exists.
func NewName() (string, error) {
	var b [16]byte
	if _, err := rand.Read(b[:]); err != nil {
		return "", fmt.Errorf("runnerpipe: a pipe name: %w", err)
	}
	return NamePrefix + hex.EncodeToString(b[:]), nil
}

// NewNonce returns a fresh nonce for Hello: NonceSize random bytes in
// lower-case hex, as Hello carries it.
func NewNonce() (string, error) {
	var b [NonceSize]byte
	if _, err := rand.Read(b[:]); err != nil {
		return "", fmt.Errorf("runnerpipe: a nonce: %w", err)
	}
	return hex.EncodeToString(b[:]), nil
}

// ErrHandshake is wrapped by AwaitHello for a client whose first message
// is not the Hello with the nonce cordon gave the runner.
var ErrHandshake = errors.New("runnerpipe: the client failed the handshake")

// AwaitHello reads the runner's first message and checks that it is a
// Hello carrying nonce, recording it in s. cordon must send nothing (the
// Spawn carries the command and its environment) before it returns nil.
// The nonce is compared in constant time.
func AwaitHello(r *Reader, s *Session, nonce string) error {
	_, err := ReadHello(r, s, nonce)
	return err
}

// ReadHello is AwaitHello returning the Hello, whose token description
// cordon proves its plan against.
func ReadHello(r *Reader, s *Session, nonce string) (*Hello, error) {
	m, err := r.Read()
	if err != nil {
		return nil, fmt.Errorf("%w: reading its hello: %w", ErrHandshake, err)
	}
	h, ok := m.(*Hello)
	if !ok {
		return nil, fmt.Errorf("%w: it sent a %s first", ErrHandshake, m.Type())
	}
	if len(nonce) != 2*NonceSize || subtle.ConstantTimeCompare([]byte(h.Nonce), []byte(strings.ToLower(nonce))) != 1 {
		return nil, fmt.Errorf("%w: wrong nonce", ErrHandshake)
	}
	if err := s.Check(Runner, h); err != nil {
		return nil, fmt.Errorf("%w: %w", ErrHandshake, err)
	}
	return h, nil
}
