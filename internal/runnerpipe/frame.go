// Package runnerpipe is the channel between cordon and its runner in the
// Windows elevated mode: the frames they exchange, the security descriptor
// of the named pipe that carries them, and (on Windows) the pipe itself.
//
// In the elevated mode each command runs through a runner, a process that
// cordon starts as one of the local sandbox users (CordonSandboxOffline or
// CordonSandboxOnline) and that builds the restricted token and starts the
// command. cordon is the pipe's server, the runner its only client.
//
// # Frames
//
// A frame is a 4-byte little-endian length followed by that many bytes of
// JSON, an envelope {"v":1,"type":…,"payload":{…}}. The reader checks the
// length against its cap before it allocates anything, so a peer cannot
// make it reserve more than MaxFrameSize; a stream that ends between frames
// is io.EOF, one that ends inside a frame is ErrTruncated. Decoding is
// strict: the version must be Version, the type one of the Type constants,
// every key of the envelope and of the payload one the message defines,
// spelled exactly (encoding/json alone would match keys case-insensitively
// and keep the last of duplicates), each given once, of its JSON type, and
// each message must pass its own validation (see the message types).
// Errors wrap ErrFrameTooLarge, ErrTruncated, ErrVersion, ErrUnknownType or
// ErrMalformed, so that callers can tell a hostile or broken peer from a
// closed one.
//
// # The conversation
//
// The runner speaks first: Hello, carrying the nonce cordon gave it, then
// cordon sends Spawn; the runner answers Ready once the command runs (or
// Error), then Output frames, and ends with Exit or Error. cordon may send
// Stdin, StdinClose and Terminate meanwhile. Session enforces that order
// for each side.
package runnerpipe

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"sync"
)

// Version is the protocol version every frame carries. A peer speaking
// another version is refused (ErrVersion) rather than half understood.
const Version = 1

// MaxFrameSize is the largest frame body, in bytes, that Reader accepts and
// Writer sends. A Spawn's command line is at most 32767 UTF-16 units
// (CreateProcess) and its environment block at most a few hundred KiB in
// practice; an Output chunk is at most MaxChunk bytes, about 88 KiB in
// base64. 1 MiB bounds what a peer can make the other allocate, per frame.
const MaxFrameSize = 1 << 20

// MaxChunk is the largest Output or Stdin data a frame may carry.
const MaxChunk = 64 << 10

// headerSize is the size of the length prefix.
const headerSize = 4

// Errors that the reader's errors wrap.
var (
	// ErrFrameTooLarge: the length prefix exceeds the reader's cap (or a
	// message to write would). Nothing of the body was read or allocated.
	ErrFrameTooLarge = errors.New("runnerpipe: frame too large")
	// ErrTruncated: the stream ended inside a frame, after part of the
	// length prefix or of the body.
	ErrTruncated = errors.New("runnerpipe: stream ended inside a frame")
	// ErrVersion: the envelope's "v" is not Version.
	ErrVersion = errors.New("runnerpipe: unsupported protocol version")
	// ErrUnknownType: the envelope's "type" names no message.
	ErrUnknownType = errors.New("runnerpipe: unknown message type")
	// ErrMalformed: anything else wrong with a frame's body: not JSON, an
	// unknown, duplicate or misspelt key, a value of the wrong JSON type,
	// trailing data, an empty frame, or a message failing its validation.
	ErrMalformed = errors.New("runnerpipe: malformed frame")
)

// ReadFrame reads one frame from r and returns its body. It returns io.EOF
// when r ends before the first byte of a frame, and an error wrapping
// ErrTruncated when it ends later, or ErrFrameTooLarge when the length
// exceeds limit (checked before allocating). A zero length is malformed:
// no message encodes to an empty body.
func ReadFrame(r io.Reader, limit int) ([]byte, error) {
	var hdr [headerSize]byte
	if n, err := io.ReadFull(r, hdr[:]); err != nil {
		if err == io.EOF && n == 0 {
			return nil, io.EOF
		}
		if err == io.ErrUnexpectedEOF {
			return nil, fmt.Errorf("%w: %d of %d bytes of the length", ErrTruncated, n, headerSize)
		}
		return nil, fmt.Errorf("runnerpipe: reading a frame's length: %w", err)
	}
	size := binary.LittleEndian.Uint32(hdr[:])
	if size == 0 {
		return nil, fmt.Errorf("%w: empty frame", ErrMalformed)
	}
	if uint64(size) > uint64(limit) {
		return nil, fmt.Errorf("%w: %d bytes, the limit is %d", ErrFrameTooLarge, size, limit)
	}
	body := make([]byte, size)
	if n, err := io.ReadFull(r, body); err != nil {
		if err == io.EOF || err == io.ErrUnexpectedEOF {
			return nil, fmt.Errorf("%w: %d of %d bytes of the body", ErrTruncated, n, size)
		}
		return nil, fmt.Errorf("runnerpipe: reading a frame's body: %w", err)
	}
	return body, nil
}

// envelope is a frame's body before its payload is decoded.
type envelope struct {
	V       int             `json:"v"`
	Type    Type            `json:"type"`
	Payload json.RawMessage `json:"payload,omitempty"`
}

var envelopeKeys = map[string]bool{"v": true, "type": true, "payload": true}

// Decode parses a frame body into its message, strictly (see the package
// documentation).
func Decode(body []byte) (Message, error) {
	if err := checkKeys(body, envelopeKeys); err != nil {
		return nil, fmt.Errorf("%w: envelope: %w", ErrMalformed, err)
	}
	var env envelope
	if err := strictUnmarshal(body, &env); err != nil {
		return nil, fmt.Errorf("%w: envelope: %w", ErrMalformed, err)
	}
	if env.V != Version {
		return nil, fmt.Errorf("%w: %d, this side speaks %d", ErrVersion, env.V, Version)
	}
	m := newMessage(env.Type)
	if m == nil {
		return nil, fmt.Errorf("%w: %q", ErrUnknownType, clip(string(env.Type)))
	}
	keys := payloadKeys(m)
	switch {
	case keys == nil && env.Payload != nil:
		return nil, fmt.Errorf("%w: %s takes no payload", ErrMalformed, env.Type)
	case keys != nil && env.Payload == nil:
		return nil, fmt.Errorf("%w: %s needs a payload", ErrMalformed, env.Type)
	case keys != nil:
		if err := checkKeys(env.Payload, keys); err != nil {
			return nil, fmt.Errorf("%w: %s: %w", ErrMalformed, env.Type, err)
		}
		if err := strictUnmarshal(env.Payload, m); err != nil {
			return nil, fmt.Errorf("%w: %s: %w", ErrMalformed, env.Type, err)
		}
	}
	if err := m.validate(); err != nil {
		return nil, fmt.Errorf("%w: %s: %w", ErrMalformed, env.Type, err)
	}
	return m, nil
}

// Encode returns the frame body of m, after checking that m is valid and
// that the body fits MaxFrameSize, so that a side never sends what the
// other must refuse.
func Encode(m Message) ([]byte, error) {
	if m == nil {
		return nil, errors.New("runnerpipe: no message")
	}
	if err := m.validate(); err != nil {
		return nil, fmt.Errorf("runnerpipe: %s: %w", m.Type(), err)
	}
	env := envelope{V: Version, Type: m.Type()}
	if payloadKeys(m) != nil {
		p, err := json.Marshal(m)
		if err != nil {
			return nil, fmt.Errorf("runnerpipe: %s: %w", m.Type(), err)
		}
		env.Payload = p
	}
	body, err := json.Marshal(env)
	if err != nil {
		return nil, fmt.Errorf("runnerpipe: %s: %w", m.Type(), err)
	}
	if len(body) > MaxFrameSize {
		return nil, fmt.Errorf("%w: a %s of %d bytes, the limit is %d", ErrFrameTooLarge, m.Type(), len(body), MaxFrameSize)
	}
	return body, nil
}

// strictUnmarshal decodes one JSON value into v, refusing unknown fields
// and anything after the value.
func strictUnmarshal(data []byte, v any) error {
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return err
	}
	if _, err := dec.Token(); err != io.EOF {
		return errors.New("data after the JSON value")
	}
	return nil
}

// checkKeys checks that data is one JSON object whose keys are all in
// allowed, spelled exactly, and none given twice. encoding/json alone
// matches keys case-insensitively and lets the last duplicate win, which
// would let two readers of one frame disagree on what it says.
func checkKeys(data []byte, allowed map[string]bool) error {
	dec := json.NewDecoder(bytes.NewReader(data))
	if tok, err := dec.Token(); err != nil || tok != json.Delim('{') {
		return errors.New("not a JSON object")
	}
	seen := map[string]bool{}
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			return err
		}
		key, _ := tok.(string) // object keys are always strings
		switch {
		case !allowed[key]:
			return fmt.Errorf("unknown key %q", clip(key))
		case seen[key]:
			return fmt.Errorf("key %q given twice", key)
		}
		seen[key] = true
		var skip json.RawMessage
		if err := dec.Decode(&skip); err != nil {
			return err
		}
	}
	return nil
}

// clip shortens peer-supplied text quoted in an error.
func clip(s string) string {
	if len(s) > 64 {
		return s[:64] + "…"
	}
	return s
}

// Reader reads messages from a stream of frames.
type Reader struct {
	r     io.Reader
	limit int
}

// NewReader returns a Reader of r that accepts frames of up to MaxFrameSize
// bytes.
func NewReader(r io.Reader) *Reader { return &Reader{r: r, limit: MaxFrameSize} }

// Read returns the next message. io.EOF means the peer closed the stream
// cleanly, between frames; any other error means the stream cannot be
// trusted further and should be closed.
func (r *Reader) Read() (Message, error) {
	body, err := ReadFrame(r.r, r.limit)
	if err != nil {
		return nil, err
	}
	return Decode(body)
}

// Writer writes messages as frames. It is safe for concurrent use: each
// frame goes out in one Write call under a lock, so the frames of two
// goroutines (a command's stdout and stderr) never interleave.
type Writer struct {
	mu sync.Mutex
	w  io.Writer
}

// NewWriter returns a Writer to w.
func NewWriter(w io.Writer) *Writer { return &Writer{w: w} }

// Write encodes m (see Encode) and writes it as one frame.
func (w *Writer) Write(m Message) error {
	body, err := Encode(m)
	if err != nil {
		return err
	}
	frame := make([]byte, headerSize+len(body))
	binary.LittleEndian.PutUint32(frame, uint32(len(body)))
	copy(frame[headerSize:], body)
	w.mu.Lock()
	defer w.mu.Unlock()
	if _, err := w.w.Write(frame); err != nil {
		return fmt.Errorf("runnerpipe: writing a %s: %w", m.Type(), err)
	}
	return nil
}
