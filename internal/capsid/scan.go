package capsid

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"slices"
)

// scanKind says which object of the store format a JSON object is.
type scanKind int

const (
	kindOther      scanKind = iota // anything else: only duplicates are checked
	kindTop                        // the top-level object
	kindWorkspaces                 // the "workspaces" map
	kindEntry                      // one workspace entry
)

type scanFrame struct {
	object  bool
	kind    scanKind
	where   string // for messages: "", "workspaces" or `workspace "k"`
	seen    map[string]bool
	wantKey bool   // the next string token in this object is a key
	key     string // the last key read
}

// scan walks the JSON in data token by token. It returns err for a syntax
// error (with its offset), a top level that is not one object, or data after
// it; and fieldErr, separately, for a duplicate key anywhere or an unknown or
// wrongly capitalised field in the top-level object or a workspace entry,
// which matters only once the version is known to be 1.
func scan(data []byte) (fieldErr, err error) {
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber()
	var stack []*scanFrame
	for {
		tok, err := dec.Token()
		if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
			return nil, fmt.Errorf("bad JSON at offset %d: the file ends inside the top-level object", len(data))
		}
		if err != nil {
			return nil, jsonError(err)
		}
		var top *scanFrame
		if len(stack) > 0 {
			top = stack[len(stack)-1]
		}
		if top == nil && tok != json.Delim('{') {
			return nil, fmt.Errorf("want a JSON object at the top level, found %v", describeToken(tok))
		}
		switch tok {
		case json.Delim('{'), json.Delim('['):
			f := &scanFrame{object: tok == json.Delim('{'), seen: map[string]bool{}, wantKey: true}
			switch {
			case top == nil:
				f.kind = kindTop
			case f.object && top.kind == kindTop && top.key == "workspaces":
				f.kind, f.where = kindWorkspaces, "workspaces"
			case f.object && top.kind == kindWorkspaces:
				f.kind, f.where = kindEntry, fmt.Sprintf("workspace %q", top.key)
			}
			stack = append(stack, f)
			continue
		case json.Delim('}'), json.Delim(']'):
			stack = stack[:len(stack)-1]
			if len(stack) == 0 {
				return fieldErr, checkTrailing(data, dec)
			}
			stack[len(stack)-1].wantKey = true
			continue
		}
		if !top.object || !top.wantKey {
			top.wantKey = true // a value ends; a key comes next
			continue
		}
		key := tok.(string) // the decoder guarantees keys are strings
		top.key, top.wantKey = key, false
		if fieldErr != nil {
			continue
		}
		in := ""
		if top.where != "" {
			in = " in " + top.where
		}
		if top.seen[key] {
			fieldErr = fmt.Errorf("duplicate key %q%s", key, in)
		}
		top.seen[key] = true
		if known, ok := knownFields[top.kind]; ok && fieldErr == nil && !slices.Contains(known, key) {
			fieldErr = fmt.Errorf("unknown field %q%s", key, in)
		}
	}
}

// checkTrailing reports anything but white space after the top-level value.
func checkTrailing(data []byte, dec *json.Decoder) error {
	end := int(dec.InputOffset())
	rest := bytes.TrimLeft(data[end:], " \t\r\n")
	if len(rest) == 0 {
		return nil
	}
	off := len(data) - len(rest)
	if _, err := dec.Token(); err != nil && !errors.Is(err, io.EOF) {
		return fmt.Errorf("bad JSON at offset %d: data after the top-level object", off)
	}
	return fmt.Errorf("bad JSON at offset %d: a second value after the top-level object", off)
}

func describeToken(tok json.Token) string {
	switch t := tok.(type) {
	case json.Delim:
		return "an array"
	case string:
		return "a string"
	case json.Number:
		return "a number"
	case bool:
		return "a boolean"
	case nil:
		return "null"
	default:
		return fmt.Sprintf("%v", t)
	}
}
