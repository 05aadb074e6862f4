package fsview

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"sort"
	"strings"

	"github.com/cordon-sandbox/cordon/internal/winpath"
	"github.com/cordon-sandbox/cordon/ntsec"
)

// Entry is one object in a JSON snapshot:
//
//	{"path":"C:\\Users\\me\\ws","type":"directory","owner":"S-1-5-21-…","sddl":"D:PAI(A;OICI;FA;;;SY)…"}
//
// owner, when given, sets the descriptor's owner (overriding an O: in
// sddl); target names a reparse point's target.
type Entry struct {
	Path   string `json:"path"`
	Type   Type   `json:"type"`
	Owner  string `json:"owner,omitempty"`
	SDDL   string `json:"sddl"`
	Target string `json:"target,omitempty"`
	// Links is a file's number of hard links, when more than one.
	Links uint32 `json:"links,omitempty"`
}

// LoadSnapshot reads a JSON array of entries into a new Memory. Entries may
// come in any order; every parent must be present (volume roots aside).
// Errors name the entry (by index and path) and the field at fault.
func LoadSnapshot(r io.Reader) (*Memory, error) {
	data, err := io.ReadAll(r)
	if err != nil {
		return nil, fmt.Errorf("snapshot: %w", err)
	}
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	var entries []Entry
	if err := dec.Decode(&entries); err != nil {
		return nil, fmt.Errorf("snapshot: %w", err)
	}
	if dec.More() {
		return nil, fmt.Errorf("snapshot: trailing data after the JSON array")
	}
	type item struct {
		i     int
		depth int
		node  Node
	}
	items := make([]item, 0, len(entries))
	for i, e := range entries {
		where := fmt.Sprintf("snapshot entry %d (%q)", i, e.Path)
		if e.Path == "" {
			return nil, fmt.Errorf("snapshot entry %d: field \"path\" is required", i)
		}
		p, err := winpath.Parse(e.Path)
		if err != nil {
			return nil, fmt.Errorf("%s: field \"path\": %w", where, err)
		}
		if e.Type == "" {
			return nil, fmt.Errorf("%s: field \"type\" is required", where)
		}
		if e.SDDL == "" {
			return nil, fmt.Errorf("%s: field \"sddl\" is required", where)
		}
		sd, err := ntsec.ParseSDDL(e.SDDL)
		if err != nil {
			return nil, fmt.Errorf("%s: field \"sddl\": %w", where, err)
		}
		if e.Owner != "" {
			if sd.Owner, err = ntsec.ParseSID(e.Owner); err != nil {
				return nil, fmt.Errorf("%s: field \"owner\": %w", where, err)
			}
		}
		if sd.Owner.IsZero() {
			return nil, fmt.Errorf("%s: no owner (give \"owner\" or O: in \"sddl\")", where)
		}
		if (e.Target != "") != (e.Type == Symlink || e.Type == Junction) {
			return nil, fmt.Errorf("%s: field \"target\" is for symlinks and junctions only, and they need one", where)
		}
		if e.Links != 0 && e.Type != File {
			return nil, fmt.Errorf("%s: field \"links\" is for files only", where)
		}
		items = append(items, item{i, len(p.Elems), Node{Path: e.Path, Type: e.Type, SD: sd, Target: e.Target, Links: e.Links}})
	}
	sort.SliceStable(items, func(a, b int) bool { return items[a].depth < items[b].depth })
	m := NewMemory()
	for _, it := range items {
		if err := m.Add(it.node); err != nil {
			return nil, fmt.Errorf("snapshot entry %d: %w", it.i, err)
		}
	}
	return m, nil
}

// WriteSnapshot writes m as a JSON snapshot LoadSnapshot reads back, parents
// first.
func (m *Memory) WriteSnapshot(w io.Writer) error {
	var entries []Entry
	for _, root := range m.Roots() {
		m.Walk(root, func(n, _ *Node) bool {
			e := Entry{Path: n.Path, Type: n.Type, SDDL: n.SD.SDDL(), Target: n.Target}
			if n.Links > 1 {
				e.Links = n.Links
			}
			entries = append(entries, e)
			return true
		})
	}
	var sb strings.Builder
	sb.WriteString("[\n")
	for i, e := range entries {
		b, err := json.Marshal(e)
		if err != nil {
			return err
		}
		sb.Write(b)
		if i < len(entries)-1 {
			sb.WriteString(",")
		}
		sb.WriteString("\n")
	}
	sb.WriteString("]\n")
	_, err := io.WriteString(w, sb.String())
	return err
}
