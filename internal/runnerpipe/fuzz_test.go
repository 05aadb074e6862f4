package runnerpipe

import (
	"bytes"
	"encoding/binary"
	"errors"
	"io"
	"reflect"
	"testing"
)

// FuzzReadFrame feeds arbitrary bytes to a Reader. Whatever they are, the
// reader must not panic, must end in io.EOF or one of its typed errors,
// and every message it does return must be valid and survive a write and a
// read back unchanged.
func FuzzReadFrame(f *testing.F) {
	for _, m := range everyMessage() {
		var buf bytes.Buffer
		if err := NewWriter(&buf).Write(m); err != nil {
			f.Fatal(err)
		}
		f.Add(buf.Bytes())
		f.Add(buf.Bytes()[:buf.Len()-1])
	}
	f.Add([]byte{})
	f.Add([]byte{0xff, 0xff, 0xff, 0xff})
	f.Add(frame(`{"v":1,"type":"ready","payload":{"pid":1,"PID":2}}`))
	f.Add(frame(`{"v":1,"type":"output","payload":{"stream":"stdout","data":"eA=="}}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		r := &Reader{r: bytes.NewReader(data), limit: 1 << 16} // a smaller cap, to reach it
		for {
			m, err := r.Read()
			if err == io.EOF {
				return
			}
			if err != nil {
				for _, want := range []error{ErrTruncated, ErrFrameTooLarge, ErrMalformed, ErrVersion, ErrUnknownType} {
					if errors.Is(err, want) {
						return
					}
				}
				t.Fatalf("untyped error: %v", err)
			}
			if err := m.validate(); err != nil {
				t.Fatalf("Read returned an invalid %s: %v", m.Type(), err)
			}
			var buf bytes.Buffer
			if err := NewWriter(&buf).Write(m); err != nil {
				t.Fatalf("rewriting %#v: %v", m, err)
			}
			if size := binary.LittleEndian.Uint32(buf.Bytes()); size > MaxFrameSize {
				t.Fatalf("rewrote a frame of %d bytes", size)
			}
			back, err := NewReader(&buf).Read()
			if err != nil || !reflect.DeepEqual(back, m) {
				t.Fatalf("round trip of %#v: %#v, %v", m, back, err)
			}
		}
	})
}
