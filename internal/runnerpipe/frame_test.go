package runnerpipe

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"errors"
	"io"
	"reflect"
	"strings"
	"sync"
	"testing"
)

// frame prefixes body with its length.
func frame(body string) []byte {
	b := binary.LittleEndian.AppendUint32(nil, uint32(len(body)))
	return append(b, body...)
}

func validSpawn() *Spawn {
	return &Spawn{
		Args:        []string{"cmd.exe", "/c", "echo hi"},
		Dir:         `C:\work`,
		Env:         []string{"PATH=C:\\Windows", "=C:=C:\\work"},
		Caps:        []string{"S-1-5-21-1-2-3-4"},
		Run:         "S-1-5-21-5-6-7-8",
		MemoryLimit: 1 << 30, ProcessLimit: 64, TimeoutMS: 5000,
		LowIntegrity: true, StdinOpen: true, PrivateDesktop: true,
	}
}

func mustJSON(t *testing.T, v any) string {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// everyMessage has one valid message of each type.
func everyMessage() []Message {
	return []Message{
		&Hello{Nonce: strings.Repeat("0a", NonceSize)},
		validSpawn(),
		&Ready{PID: 4242},
		&Output{Stream: Stderr, Data: []byte("out\x00\xff")},
		&Stdin{Data: []byte("in")},
		&StdinClose{},
		&Terminate{},
		&Exit{Code: 0xC0000005, TimedOut: true},
		&Error{Code: "launch", Message: "CreateProcess: access denied"},
	}
}

func TestRoundTrip(t *testing.T) {
	var buf bytes.Buffer
	w := NewWriter(&buf)
	want := everyMessage()
	if len(want) != len(allTypes) {
		t.Fatalf("everyMessage has %d messages, the protocol %d types", len(want), len(allTypes))
	}
	for _, m := range want {
		if err := w.Write(m); err != nil {
			t.Fatalf("Write(%s): %v", m.Type(), err)
		}
	}
	r := NewReader(&buf)
	for _, m := range want {
		got, err := r.Read()
		if err != nil {
			t.Fatalf("Read (want %s): %v", m.Type(), err)
		}
		if !reflect.DeepEqual(got, m) {
			t.Errorf("Read = %#v, want %#v", got, m)
		}
	}
	if _, err := r.Read(); err != io.EOF {
		t.Errorf("Read at the end = %v, want io.EOF", err)
	}
}

// allTypes lists every Type constant; TestRoundTrip checks everyMessage
// covers them.
var allTypes = []Type{TypeHello, TypeSpawn, TypeReady, TypeOutput, TypeStdin, TypeStdinClose, TypeTerminate, TypeExit, TypeError}

func TestDecodeRefuses(t *testing.T) {
	nonce := strings.Repeat("ab", NonceSize)
	for _, c := range []struct {
		name, body string
		want       error
	}{
		{"not JSON", `hello`, ErrMalformed},
		{"an array", `[1]`, ErrMalformed},
		{"no version", `{"type":"terminate"}`, ErrVersion},
		{"version 2", `{"v":2,"type":"terminate"}`, ErrVersion},
		{"version as a string", `{"v":"1","type":"terminate"}`, ErrMalformed},
		{"version 1.0", `{"v":1.0,"type":"terminate"}`, ErrMalformed},
		{"unknown type", `{"v":1,"type":"exec"}`, ErrUnknownType},
		{"type in capitals", `{"v":1,"type":"TERMINATE"}`, ErrUnknownType},
		{"no type", `{"v":1}`, ErrUnknownType},
		{"unknown envelope key", `{"v":1,"type":"terminate","x":0}`, ErrMalformed},
		{"envelope key in capitals", `{"V":1,"type":"terminate"}`, ErrMalformed},
		{"duplicate type", `{"v":1,"type":"terminate","type":"stdin_close"}`, ErrMalformed},
		{"trailing data", `{"v":1,"type":"terminate"} {}`, ErrMalformed},
		{"payload on terminate", `{"v":1,"type":"terminate","payload":{}}`, ErrMalformed},
		{"null payload on terminate", `{"v":1,"type":"terminate","payload":null}`, ErrMalformed},
		{"no payload on ready", `{"v":1,"type":"ready"}`, ErrMalformed},
		{"null payload on ready", `{"v":1,"type":"ready","payload":null}`, ErrMalformed},
		{"ready pid 0", `{"v":1,"type":"ready","payload":{"pid":0}}`, ErrMalformed},
		{"ready pid negative", `{"v":1,"type":"ready","payload":{"pid":-1}}`, ErrMalformed},
		{"ready pid too big", `{"v":1,"type":"ready","payload":{"pid":4294967296}}`, ErrMalformed},
		{"ready pid as string", `{"v":1,"type":"ready","payload":{"pid":"7"}}`, ErrMalformed},
		{"payload key in capitals", `{"v":1,"type":"ready","payload":{"PID":7}}`, ErrMalformed},
		{"duplicate payload key", `{"v":1,"type":"ready","payload":{"pid":7,"pid":8}}`, ErrMalformed},
		{"unknown payload key", `{"v":1,"type":"ready","payload":{"pid":7,"uid":0}}`, ErrMalformed},
		{"bad stream", `{"v":1,"type":"output","payload":{"stream":"stdin","data":"eA=="}}`, ErrMalformed},
		{"empty output", `{"v":1,"type":"output","payload":{"stream":"stdout","data":""}}`, ErrMalformed},
		{"data not base64", `{"v":1,"type":"output","payload":{"stream":"stdout","data":"!!"}}`, ErrMalformed},
		{"hello without nonce", `{"v":1,"type":"hello","payload":{}}`, ErrMalformed},
		{"hello short nonce", `{"v":1,"type":"hello","payload":{"nonce":"abcd"}}`, ErrMalformed},
		{"hello upper-case nonce", `{"v":1,"type":"hello","payload":{"nonce":"` + strings.ToUpper(nonce) + `"}}`, ErrMalformed},
		{"hello non-hex nonce", `{"v":1,"type":"hello","payload":{"nonce":"` + strings.Repeat("zz", NonceSize) + `"}}`, ErrMalformed},
		{"error without code", `{"v":1,"type":"error","payload":{"code":"","message":"x"}}`, ErrMalformed},
		{"error code with spaces", `{"v":1,"type":"error","payload":{"code":"a b","message":"x"}}`, ErrMalformed},
		{"exit code negative", `{"v":1,"type":"exit","payload":{"code":-1,"timed_out":false}}`, ErrMalformed},
	} {
		_, err := Decode([]byte(c.body))
		if !errors.Is(err, c.want) {
			t.Errorf("%s: Decode(%s) = %v, want %v", c.name, c.body, err, c.want)
		}
	}
}

func TestSpawnValidation(t *testing.T) {
	valid := []byte(`{"v":1,"type":"spawn","payload":` + mustJSON(t, validSpawn()) + `}`)
	if _, err := Decode(valid); err != nil {
		t.Fatalf("Decode of a valid spawn: %v", err)
	}
	for _, c := range []struct {
		name string
		edit func(*Spawn)
	}{
		{"no args", func(s *Spawn) { s.Args = nil }},
		{"empty program", func(s *Spawn) { s.Args = []string{""} }},
		{"NUL in an argument", func(s *Spawn) { s.Args = append(s.Args, "a\x00b") }},
		{"no dir", func(s *Spawn) { s.Dir = "" }},
		{"env without =", func(s *Spawn) { s.Env = []string{"PATH"} }},
		{"env with an empty name", func(s *Spawn) { s.Env = []string{"=x"} }},
		{"no caps", func(s *Spawn) { s.Caps = nil }},
		{"cap Everyone", func(s *Spawn) { s.Caps = []string{"S-1-1-0"} }},
		{"cap not a SID", func(s *Spawn) { s.Caps = []string{"cap"} }},
		{"cap in lower case", func(s *Spawn) { s.Caps = []string{"s-1-5-21-1-2-3-4"} }},
		{"cap twice", func(s *Spawn) { s.Caps = []string{"S-1-5-21-1-2-3-4", "S-1-5-21-1-2-3-4"} }},
		{"no run SID", func(s *Spawn) { s.Run = "" }},
		{"run SID is a cap", func(s *Spawn) { s.Run = s.Caps[0] }},
	} {
		s := validSpawn()
		c.edit(s)
		if _, err := Encode(s); err == nil {
			t.Errorf("%s: Encode accepted %+v", c.name, s)
		}
		// The reader refuses it too, whatever a sender does.
		forged := []byte(`{"v":1,"type":"spawn","payload":` + mustJSON(t, s) + `}`)
		if _, err := Decode(forged); !errors.Is(err, ErrMalformed) {
			t.Errorf("%s: Decode(%s) = %v, want ErrMalformed", c.name, forged, err)
		}
	}
}

func TestReadFrameErrors(t *testing.T) {
	ok := frame(`{"v":1,"type":"terminate"}`)
	for _, c := range []struct {
		name  string
		input []byte
		want  error
	}{
		{"nothing", nil, io.EOF},
		{"half a length", ok[:2], ErrTruncated},
		{"a length only", ok[:4], ErrTruncated},
		{"half a body", ok[:len(ok)-3], ErrTruncated},
		{"empty frame", frame(""), ErrMalformed},
		{"one over the limit", binary.LittleEndian.AppendUint32(nil, MaxFrameSize+1), ErrFrameTooLarge},
		{"4 GiB", []byte{0xff, 0xff, 0xff, 0xff}, ErrFrameTooLarge},
	} {
		_, err := NewReader(bytes.NewReader(c.input)).Read()
		if !errors.Is(err, c.want) {
			t.Errorf("%s: Read = %v, want %v", c.name, err, c.want)
		}
	}
}

// countingReader fails the test if more than limit bytes are read: a
// reader that allocated and filled a too-large body would read it.
type countingReader struct {
	r io.Reader
	n int
}

func (c *countingReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.n += n
	return n, err
}

func TestTooLargeFrameReadsNoBody(t *testing.T) {
	in := append(binary.LittleEndian.AppendUint32(nil, MaxFrameSize+1), make([]byte, MaxFrameSize+1)...)
	cr := &countingReader{r: bytes.NewReader(in)}
	if _, err := NewReader(cr).Read(); !errors.Is(err, ErrFrameTooLarge) {
		t.Fatalf("Read = %v, want ErrFrameTooLarge", err)
	}
	if cr.n != headerSize {
		t.Errorf("read %d bytes, want the %d of the length alone", cr.n, headerSize)
	}
}

func TestFrameAtTheLimit(t *testing.T) {
	// A frame of exactly MaxFrameSize bytes passes the cap: a small
	// message padded with JSON whitespace to the limit.
	body := `{"v":1,"type":"terminate"}`
	body += strings.Repeat(" ", MaxFrameSize-len(body))
	m, err := NewReader(bytes.NewReader(frame(body))).Read()
	if err != nil || m.Type() != TypeTerminate {
		t.Errorf("Read of a %d-byte frame = %v, %v; want terminate", len(body), m, err)
	}
}

func TestWriterRefusesWhatReaderWould(t *testing.T) {
	var buf bytes.Buffer
	w := NewWriter(&buf)
	big := &Spawn{Args: []string{"x", strings.Repeat("a", MaxFrameSize)}, Dir: `C:\`, Caps: []string{"S-1-5-21-1-2-3-4"}, Run: "S-1-5-21-1-2-3-5"}
	if err := w.Write(big); !errors.Is(err, ErrFrameTooLarge) {
		t.Errorf("Write of a too-large spawn = %v, want ErrFrameTooLarge", err)
	}
	if err := w.Write(&Output{Stream: Stdout, Data: make([]byte, MaxChunk+1)}); err == nil {
		t.Error("Write of an output over MaxChunk succeeded")
	}
	if err := w.Write(&Output{Stream: Stdout, Data: bytes.Repeat([]byte{0xff}, MaxChunk)}); err != nil {
		t.Errorf("Write of a MaxChunk output: %v", err)
	}
	if err := w.Write(nil); err == nil {
		t.Error("Write(nil) succeeded")
	}
	// Only the MaxChunk output was written, as one whole frame.
	r := NewReader(&buf)
	if m, err := r.Read(); err != nil || len(m.(*Output).Data) != MaxChunk {
		t.Errorf("Read = %v, %v; want the MaxChunk output", m, err)
	}
	if _, err := r.Read(); err != io.EOF {
		t.Errorf("Read after = %v, want io.EOF", err)
	}
}

// chunkedWriter records each Write call separately.
type chunkedWriter struct {
	mu     sync.Mutex
	writes [][]byte
}

func (c *chunkedWriter) Write(p []byte) (int, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.writes = append(c.writes, append([]byte(nil), p...))
	return len(p), nil
}

func TestWriterFramesDoNotInterleave(t *testing.T) {
	cw := &chunkedWriter{}
	w := NewWriter(cw)
	var wg sync.WaitGroup
	for _, s := range []Stream{Stdout, Stderr} {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for range 50 {
				if err := w.Write(&Output{Stream: s, Data: bytes.Repeat([]byte(s), 100)}); err != nil {
					t.Error(err)
				}
			}
		}()
	}
	wg.Wait()
	// Each Write call is exactly one frame that decodes on its own.
	for i, p := range cw.writes {
		r := NewReader(bytes.NewReader(p))
		if _, err := r.Read(); err != nil {
			t.Fatalf("write %d: %v", i, err)
		}
		if _, err := r.Read(); err != io.EOF {
			t.Fatalf("write %d holds more than one frame", i)
		}
	}
	if len(cw.writes) != 100 {
		t.Errorf("%d writes, want 100", len(cw.writes))
	}
}

func TestHelloCarriesTheRunnersToken(t *testing.T) {
	nonce := strings.Repeat("0a", NonceSize)
	good := &Hello{Nonce: nonce, User: "S-1-5-21-1-2-3-1001",
		Groups:    []string{"S-1-1-0:7", "S-1-5-5-0-49617:c0000007"},
		Integrity: "S-1-16-8192"}
	body, err := Encode(good)
	if err != nil {
		t.Fatal(err)
	}
	m, err := Decode(body)
	if err != nil {
		t.Fatal(err)
	}
	if h := m.(*Hello); h.User != good.User || strings.Join(h.Groups, ",") != strings.Join(good.Groups, ",") || h.Integrity != good.Integrity {
		t.Errorf("round trip: %+v", h)
	}
	sid, attrs, err := ParseGroup("S-1-5-5-0-49617:c0000007")
	if err != nil || sid.String() != "S-1-5-5-0-49617" || attrs != 0xc0000007 {
		t.Errorf("ParseGroup = %s, %#x, %v", sid, attrs, err)
	}
	for name, bad := range map[string]*Hello{
		"groups without a user": {Nonce: nonce, Groups: []string{"S-1-1-0:7"}},
		"user not canonical":    {Nonce: nonce, User: "s-1-5-21-1-2-3-1001"},
		"group without attrs":   {Nonce: nonce, User: good.User, Groups: []string{"S-1-1-0"}},
		"upper-case attrs":      {Nonce: nonce, User: good.User, Groups: []string{"S-1-1-0:C"}},
		"padded attrs":          {Nonce: nonce, User: good.User, Groups: []string{"S-1-1-0:07"}},
		"integrity not a label": {Nonce: nonce, User: good.User, Integrity: "S-1-1-0"},
	} {
		if _, err := Encode(bad); err == nil {
			t.Errorf("%s: encoded", name)
		}
	}
}
