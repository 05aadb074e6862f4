package runnerpipe

import (
	"encoding/hex"
	"errors"
	"fmt"
	"reflect"
	"strconv"
	"strings"

	"github.com/cordon-sandbox/cordon/ntsec"
)

// Type names a message in the envelope's "type".
type Type string

// The message types. The arrow says who sends it: cordon (the server) →
// the runner, or the runner → cordon.
const (
	TypeHello      Type = "hello"       // runner → cordon, first
	TypeSpawn      Type = "spawn"       // cordon → runner, once, after Hello
	TypeReady      Type = "ready"       // runner → cordon: the command runs
	TypeOutput     Type = "output"      // runner → cordon
	TypeStdin      Type = "stdin"       // cordon → runner
	TypeStdinClose Type = "stdin_close" // cordon → runner
	TypeTerminate  Type = "terminate"   // cordon → runner: kill the command's job
	TypeExit       Type = "exit"        // runner → cordon, last
	TypeError      Type = "error"       // runner → cordon, last
)

// Message is one of the message types of this package.
type Message interface {
	Type() Type
	// validate checks what JSON's types cannot say; Encode and Decode
	// both call it.
	validate() error
}

// newMessage returns a zero message of type t, or nil for an unknown type.
func newMessage(t Type) Message {
	switch t {
	case TypeHello:
		return &Hello{}
	case TypeSpawn:
		return &Spawn{}
	case TypeReady:
		return &Ready{}
	case TypeOutput:
		return &Output{}
	case TypeStdin:
		return &Stdin{}
	case TypeStdinClose:
		return &StdinClose{}
	case TypeTerminate:
		return &Terminate{}
	case TypeExit:
		return &Exit{}
	case TypeError:
		return &Error{}
	}
	return nil
}

// NonceSize is the size of Hello's nonce, in bytes (hex-encoded on the
// wire).
const NonceSize = 16

// Hello is the runner's first message: the nonce cordon passed it at
// launch. It proves the client read the runner's launch parameters; the
// pipe's client process ID check (Listener.Accept) proves it is the
// process cordon started. Neither alone is enough: the nonce is on the
// runner's command line, which another process of the sandbox user may be
// able to read, and a process ID says nothing about what that process was
// told.
//
// The runner also describes its own token, which the sandboxed command's
// restricted token is made from, so that cordon proves its plan against
// that token rather than an assumed one: User, Groups ("SID:attributes",
// the attributes in hex, as Windows reports them), Integrity (the
// mandatory label SID, empty for Medium) and IgnoreNoWriteUp. A runner
// that cannot read its token leaves them out, and cordon then cannot
// prove anything for it.
type Hello struct {
	Nonce           string   `json:"nonce"` // 2*NonceSize lower-case hex digits
	User            string   `json:"user,omitempty"`
	Groups          []string `json:"groups,omitempty"`
	Integrity       string   `json:"integrity,omitempty"`
	IgnoreNoWriteUp bool     `json:"ignore_no_write_up,omitempty"`
}

// maxGroups bounds Hello's groups: a token has a few dozen at most.
const maxGroups = 1024

// Spawn asks the runner to start the command. It carries everything the
// runner needs to build the same restricted token and job that the
// non-elevated backend builds for itself (restrictedtoken.Spec,
// jobobject.Options, winlaunch.Options).
type Spawn struct {
	// Args is the command; Args[0] is looked up as winlaunch does.
	Args []string `json:"args"`
	// Dir is the working directory, a full path.
	Dir string `json:"dir"`
	// Env is the complete environment, "NAME=value" entries (a name may
	// start with '=', as the per-drive "=C:" entries do).
	Env []string `json:"env"`
	// Caps are the run's capability SIDs, as strings (S-1-5-21-…); at
	// least one. Run is the run SID (restrictedtoken.NewRunSID).
	Caps []string `json:"caps"`
	Run  string   `json:"run"`
	// LowIntegrity lowers the command's token to Low integrity.
	LowIntegrity bool `json:"low_integrity"`
	// TimeoutMS ends the command after that many milliseconds; 0 means no
	// timeout.
	TimeoutMS uint64 `json:"timeout_ms"`
	// MemoryLimit (bytes) and ProcessLimit cap the command's job; 0 means
	// no cap.
	MemoryLimit  uint64 `json:"memory_limit"`
	ProcessLimit uint32 `json:"process_limit"`
	// StdinOpen says cordon will send Stdin frames; without it the command
	// reads the NUL device.
	StdinOpen bool `json:"stdin_open"`
	// PrivateDesktop runs the command on a desktop of its own.
	PrivateDesktop bool `json:"private_desktop"`
	// CwdJunction lets the runner start the command in a junction to Dir
	// under its own profile (internal/cwdjunction), made as the sandbox
	// user (cordon cannot write that profile), when the runner cannot
	// list every directory from Dir's volume root down to Dir, as
	// PowerShell needs of its cwd: the read grants on Dir's ancestors are
	// then still pending. When it can, Dir is used as it is.
	CwdJunction bool `json:"cwd_junction"`
}

// Ready says the command runs, as process PID (in its job).
type Ready struct {
	PID uint32 `json:"pid"`
}

// Stream names the command's output stream an Output frame carries.
type Stream string

// The output streams.
const (
	Stdout Stream = "stdout"
	Stderr Stream = "stderr"
)

// Output is a chunk of the command's output, at most MaxChunk bytes.
type Output struct {
	Stream Stream `json:"stream"`
	Data   []byte `json:"data"` // base64 on the wire
}

// Stdin is a chunk of the command's input, at most MaxChunk bytes.
type Stdin struct {
	Data []byte `json:"data"`
}

// StdinClose closes the command's input. It has no payload.
type StdinClose struct{}

// Terminate asks the runner to end the command and its job. It has no
// payload.
type Terminate struct{}

// Exit is the command's end: its exit code, and whether the runner ended
// it because TimeoutMS passed.
type Exit struct {
	Code     uint32 `json:"code"` // Windows exit codes are DWORDs
	TimedOut bool   `json:"timed_out"`
}

// Error is the runner's failure, in place of Ready or Exit. Code is a
// stable lower-case identifier (such as "token" or "launch") that callers
// may branch on; Message is for people.
type Error struct {
	Code    string `json:"code"`
	Message string `json:"message"`
}

func (*Hello) Type() Type      { return TypeHello }
func (*Spawn) Type() Type      { return TypeSpawn }
func (*Ready) Type() Type      { return TypeReady }
func (*Output) Type() Type     { return TypeOutput }
func (*Stdin) Type() Type      { return TypeStdin }
func (*StdinClose) Type() Type { return TypeStdinClose }
func (*Terminate) Type() Type  { return TypeTerminate }
func (*Exit) Type() Type       { return TypeExit }
func (*Error) Type() Type      { return TypeError }

func (h *Hello) validate() error {
	if len(h.Nonce) != 2*NonceSize || strings.ToLower(h.Nonce) != h.Nonce {
		return fmt.Errorf("nonce: want %d lower-case hex digits", 2*NonceSize)
	}
	if _, err := hex.DecodeString(h.Nonce); err != nil {
		return fmt.Errorf("nonce: %w", err)
	}
	if h.User == "" {
		if len(h.Groups) > 0 || h.Integrity != "" {
			return errors.New("user: a token's groups without its user")
		}
		return nil
	}
	if err := checkSID(h.User); err != nil {
		return fmt.Errorf("user: %w", err)
	}
	if len(h.Groups) > maxGroups {
		return fmt.Errorf("groups: %d, at most %d", len(h.Groups), maxGroups)
	}
	for i, g := range h.Groups {
		if _, _, err := ParseGroup(g); err != nil {
			return fmt.Errorf("groups[%d]: %w", i, err)
		}
	}
	if h.Integrity != "" {
		sid, err := ntsec.ParseSID(h.Integrity)
		if err != nil || sid.String() != h.Integrity {
			return fmt.Errorf("integrity: %q is not a SID in canonical form", clip(h.Integrity))
		}
		if _, ok := sid.IntegrityLevel(); !ok {
			return fmt.Errorf("integrity: %s is not a mandatory label", h.Integrity)
		}
	}
	return nil
}

// checkSID checks that s is a SID in its canonical string form.
func checkSID(s string) error {
	sid, err := ntsec.ParseSID(s)
	if err != nil {
		return err
	}
	if sid.String() != s {
		return fmt.Errorf("%q is not in canonical form (%s)", clip(s), sid)
	}
	return nil
}

// FormatGroup is a token group as Hello carries it: "SID:attributes".
func FormatGroup(g ntsec.Group) string {
	return fmt.Sprintf("%s:%x", g.SID, uint32(g.Attributes))
}

// ParseGroup reads FormatGroup's form back, refusing any other spelling
// (a SID not in canonical form, upper-case or padded hex).
func ParseGroup(s string) (ntsec.SID, uint32, error) {
	sidText, attrText, ok := strings.Cut(s, ":")
	if !ok {
		return ntsec.SID{}, 0, fmt.Errorf("%q: want SID:attributes", clip(s))
	}
	if err := checkSID(sidText); err != nil {
		return ntsec.SID{}, 0, err
	}
	a, err := strconv.ParseUint(attrText, 16, 32)
	if err != nil || strconv.FormatUint(a, 16) != attrText {
		return ntsec.SID{}, 0, fmt.Errorf("%q: attributes not in lower-case hex", clip(s))
	}
	sid, _ := ntsec.ParseSID(sidText)
	return sid, uint32(a), nil
}

func (s *Spawn) validate() error {
	if len(s.Args) == 0 || s.Args[0] == "" {
		return errors.New("args: no command")
	}
	for i, a := range s.Args {
		if strings.IndexByte(a, 0) >= 0 {
			return fmt.Errorf("args[%d]: a NUL character", i)
		}
	}
	if s.Dir == "" || strings.IndexByte(s.Dir, 0) >= 0 {
		return errors.New("dir: empty or with a NUL character")
	}
	for i, e := range s.Env {
		// The name ends at the first '=' after its first character:
		// "=C:=C:\x" names "=C:".
		if len(e) < 2 || strings.IndexByte(e[1:], '=') < 0 || strings.IndexByte(e, 0) >= 0 {
			return fmt.Errorf("env[%d]: not NAME=value", i)
		}
	}
	if len(s.Caps) == 0 {
		return errors.New("caps: none: the command's token needs at least one capability SID")
	}
	seen := map[string]bool{}
	for i, c := range s.Caps {
		if err := checkLocalSID(c); err != nil {
			return fmt.Errorf("caps[%d]: %w", i, err)
		}
		if seen[c] {
			return fmt.Errorf("caps[%d]: %s given twice", i, c)
		}
		seen[c] = true
	}
	if err := checkLocalSID(s.Run); err != nil {
		return fmt.Errorf("run: %w", err)
	}
	if seen[s.Run] {
		return fmt.Errorf("run: %s is also a capability SID", s.Run)
	}
	return nil
}

// checkLocalSID checks that s is an S-1-5-21-… SID in its canonical
// string form, the only kind cordon mints for capabilities and runs; the
// canonical form keeps one SID from having two spellings that compare
// unequal.
func checkLocalSID(s string) error {
	sid, err := ntsec.ParseSID(s)
	if err != nil {
		return err
	}
	subs := sid.SubAuthorities()
	if sid.Authority() != 5 || len(subs) < 2 || subs[0] != 21 {
		return fmt.Errorf("%s is not an S-1-5-21-… SID", s)
	}
	if sid.String() != s {
		return fmt.Errorf("%q is not in canonical form (%s)", s, sid)
	}
	return nil
}

func (r *Ready) validate() error {
	if r.PID == 0 {
		return errors.New("pid: 0")
	}
	return nil
}

func (o *Output) validate() error {
	if o.Stream != Stdout && o.Stream != Stderr {
		return fmt.Errorf("stream: %q, want %q or %q", clip(string(o.Stream)), Stdout, Stderr)
	}
	return checkChunk(o.Data)
}

func (s *Stdin) validate() error { return checkChunk(s.Data) }

// checkChunk refuses chunks over MaxChunk and empty ones: an empty chunk
// would be indistinguishable from a close, which has a message of its own.
func checkChunk(b []byte) error {
	if len(b) == 0 || len(b) > MaxChunk {
		return fmt.Errorf("data: %d bytes, want 1 to %d", len(b), MaxChunk)
	}
	return nil
}

func (*StdinClose) validate() error { return nil }
func (*Terminate) validate() error  { return nil }
func (*Exit) validate() error       { return nil }

func (e *Error) validate() error {
	if e.Code == "" || len(e.Code) > 32 || strings.Trim(e.Code, "abcdefghijklmnopqrstuvwxyz_") != "" {
		return fmt.Errorf("code: %q, want 1 to 32 of a-z and _", clip(e.Code))
	}
	return nil
}

// payloadKeys returns the JSON keys of m's payload, or nil for a message
// without one (a struct without fields). It reads the json tags, so the
// keys checked are those encoding/json writes.
func payloadKeys(m Message) map[string]bool {
	t := reflect.TypeOf(m).Elem()
	if t.NumField() == 0 {
		return nil
	}
	keys := make(map[string]bool, t.NumField())
	for i := range t.NumField() {
		name, _, _ := strings.Cut(t.Field(i).Tag.Get("json"), ",")
		keys[name] = true
	}
	return keys
}
