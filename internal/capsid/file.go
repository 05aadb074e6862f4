package capsid

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"reflect"
	"sort"
	"time"

	"github.com/cordon-sandbox/cordon/internal/statedir"
	"github.com/cordon-sandbox/cordon/ntsec"
)

const (
	// FileName is the store's file name in the state directory.
	FileName = "capsids.json"
	// LockName is the lock file next to it. It is never deleted: removing
	// a lock file lets two processes lock two different files of the
	// same name.
	LockName = "capsids.lock"
)

// CorruptError reports a store file that exists but cannot be used: bad
// JSON, an unknown version or field, a malformed or duplicated SID. cordon
// stops rather than start over with new SIDs, which would orphan every ACE
// granted to the old ones.
type CorruptError struct {
	Path string // the store file
	Err  error  // what is wrong with it
}

func (e *CorruptError) Error() string {
	return fmt.Sprintf("capsid: capability SID store %s: %v (not regenerated: ACEs already granted name its SIDs; repair the file, or move it aside to start over with new SIDs)", e.Path, e.Err)
}

func (e *CorruptError) Unwrap() error { return e.Err }

// Load returns a snapshot of the store in dir, read under a shared lock so
// that it never sees a writer's work half done (and, on Windows, never holds
// the file open while a writer replaces it). A missing directory or file is
// an empty store; nothing is created but the lock file.
func Load(ctx context.Context, dir string) (*Store, error) {
	if dir == "" {
		return nil, errors.New("capsid: empty state directory")
	}
	if _, err := os.Stat(dir); errors.Is(err, fs.ErrNotExist) {
		return New(), nil
	}
	release, err := statedir.Lock(ctx, filepath.Join(dir, LockName), false)
	if err != nil {
		return nil, err
	}
	defer release()
	return readStore(filepath.Join(dir, FileName))
}

// Update changes the store in dir: under an exclusive lock held throughout,
// it reads the store (empty if missing), calls f, validates the result and,
// if f changed anything, atomically replaces the file. It returns the store
// as saved. If f or validation fails, nothing is written and the error is
// returned (f's unwrapped). The directory is created if needed. f runs with
// the lock held, so it must be quick and must not call Load or Update on the
// same directory, which would wait for the lock f's caller holds.
func Update(ctx context.Context, dir string, f func(*Store) error) (*Store, error) {
	if dir == "" {
		return nil, errors.New("capsid: empty state directory")
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("capsid: creating the state directory: %w", err)
	}
	release, err := statedir.Lock(ctx, filepath.Join(dir, LockName), true)
	if err != nil {
		return nil, err
	}
	defer release()
	path := filepath.Join(dir, FileName)
	s, err := readStore(path)
	if err != nil {
		return nil, err
	}
	before, err := encode(s)
	if err != nil {
		return nil, err
	}
	if err := f(s); err != nil {
		return nil, err
	}
	if err := s.Validate(); err != nil {
		return nil, fmt.Errorf("capsid: not saving %s: the update would make it invalid: %w", path, err)
	}
	after, err := encode(s)
	if err != nil {
		return nil, err
	}
	if bytes.Equal(before, after) {
		return s, nil
	}
	statedir.RemoveStaleTemps(path)
	if err := statedir.WriteFile(path, after); err != nil {
		return nil, err
	}
	return s, nil
}

// readStore reads and decodes the file at path. Only a missing file is an
// empty store; everything else that goes wrong is an error.
func readStore(path string) (*Store, error) {
	data, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return New(), nil
	}
	if err != nil {
		return nil, fmt.Errorf("capsid: reading the capability SID store: %w", err)
	}
	s, err := decode(data)
	if err != nil {
		return nil, &CorruptError{Path: path, Err: err}
	}
	return s, nil
}

// fileV1 is the JSON form of version 1. Pointers tell a missing field from
// an empty one.
type fileV1 struct {
	Version    int                      `json:"version"`
	Generic    *string                  `json:"generic,omitempty"`
	ReadOnly   *string                  `json:"read_only,omitempty"`
	Workspaces map[string]fileWorkspace `json:"workspaces"`
}

type fileWorkspace struct {
	SID     *string `json:"sid"`
	Path    *string `json:"path"`
	Created *string `json:"created"`
}

// knownFields lists, per kind of object, the exact field names of version
// 1. encoding/json matches names case-insensitively and keeps the last of
// duplicate keys; scan refuses both, since a second "workspaces" entry with
// the same key would silently drop a SID.
var knownFields = map[scanKind][]string{
	kindTop:   {"version", "generic", "read_only", "workspaces"},
	kindEntry: {"sid", "path", "created"},
}

func decode(data []byte) (*Store, error) {
	if len(bytes.TrimSpace(data)) == 0 {
		return nil, errors.New("file is empty")
	}
	fieldErr, err := scan(data)
	if err != nil {
		return nil, err
	}
	// The version first: a newer file is reported as such, not as a pile
	// of unknown fields.
	var head struct {
		Version *json.RawMessage `json:"version"`
	}
	if err := json.Unmarshal(data, &head); err != nil {
		return nil, jsonError(err)
	}
	if head.Version == nil {
		return nil, errors.New(`missing or null field "version"`)
	}
	var v int
	if err := json.Unmarshal(*head.Version, &v); err != nil {
		return nil, fmt.Errorf(`field "version": want an integer, found %s`, *head.Version)
	}
	if v != Version {
		return nil, fmt.Errorf("unknown version %d (this cordon understands version %d; was the file written by a newer cordon?)", v, Version)
	}
	if fieldErr != nil {
		return nil, fieldErr
	}
	var f fileV1
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&f); err != nil {
		return nil, jsonError(err)
	}
	return f.store()
}

func (f *fileV1) store() (*Store, error) {
	s := New()
	parse := func(where, str string) (ntsec.SID, error) {
		sid, err := ntsec.ParseSID(str)
		if err != nil {
			return sid, fmt.Errorf("%s is not a SID: %v", where, err)
		}
		return sid, nil
	}
	var err error
	if f.Generic != nil {
		if s.Generic, err = parse(`field "generic"`, *f.Generic); err != nil {
			return nil, err
		}
	}
	if f.ReadOnly != nil {
		if s.ReadOnly, err = parse(`field "read_only"`, *f.ReadOnly); err != nil {
			return nil, err
		}
	}
	keys := make([]string, 0, len(f.Workspaces))
	for k := range f.Workspaces {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		e := f.Workspaces[k]
		where := fmt.Sprintf("workspace %q", k)
		for _, m := range []struct {
			name string
			p    *string
		}{{"sid", e.SID}, {"path", e.Path}, {"created", e.Created}} {
			if m.p == nil {
				return nil, fmt.Errorf("%s: missing field %q", where, m.name)
			}
		}
		sid, err := parse(where+`: field "sid"`, *e.SID)
		if err != nil {
			return nil, err
		}
		created, err := time.Parse(time.RFC3339, *e.Created)
		if err != nil {
			return nil, fmt.Errorf(`%s: field "created": %q is not an RFC 3339 time`, where, *e.Created)
		}
		s.Workspaces[k] = Workspace{Key: k, Path: *e.Path, SID: sid, Created: created.UTC()}
	}
	if err := s.Validate(); err != nil {
		return nil, err
	}
	return s, nil
}

// encode gives the file form of s: indented, keys sorted, a final newline.
// It is deterministic, so Update can compare encodings to see whether f
// changed anything.
func encode(s *Store) ([]byte, error) {
	f := fileV1{Version: s.Version, Workspaces: map[string]fileWorkspace{}}
	str := func(v string) *string { return &v }
	if !s.Generic.IsZero() {
		f.Generic = str(s.Generic.String())
	}
	if !s.ReadOnly.IsZero() {
		f.ReadOnly = str(s.ReadOnly.String())
	}
	for k, w := range s.Workspaces {
		f.Workspaces[k] = fileWorkspace{
			SID:     str(w.SID.String()),
			Path:    str(w.Path),
			Created: str(w.Created.UTC().Format(time.RFC3339)),
		}
	}
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false) // paths with & or < stay readable
	enc.SetIndent("", "  ")
	if err := enc.Encode(f); err != nil {
		return nil, fmt.Errorf("capsid: encoding the store: %w", err)
	}
	return b.Bytes(), nil
}

// jsonError rewords encoding/json's errors to say where the problem is.
func jsonError(err error) error {
	var se *json.SyntaxError
	var te *json.UnmarshalTypeError
	switch {
	case errors.As(err, &se):
		return fmt.Errorf("bad JSON at offset %d: %v", se.Offset, se)
	case errors.As(err, &te):
		field := te.Field
		if field == "" {
			field = "(the top level)"
		}
		return fmt.Errorf("field %q at offset %d: found a JSON %s, want %s", field, te.Offset, te.Value, jsonKind(te.Type))
	case errors.Is(err, io.ErrUnexpectedEOF):
		return fmt.Errorf("bad JSON: truncated: %v", err)
	}
	return fmt.Errorf("bad JSON: %v", err)
}

func jsonKind(t reflect.Type) string {
	if t == nil {
		return "something else"
	}
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	switch t.Kind() {
	case reflect.Map, reflect.Struct:
		return "an object"
	case reflect.String:
		return "a string"
	case reflect.Int:
		return "an integer"
	}
	return t.String()
}
