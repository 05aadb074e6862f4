package mcpserver

import (
	"fmt"
	"strings"
	"sync"
	"time"
	"unicode/utf8"
)

// headTail keeps the first and the last bytes of a stream, limit in all,
// and counts what it left out.
type headTail struct {
	mu         sync.Mutex
	head, tail []byte
	headMax    int
	tailMax    int
	total      int64
}

func newHeadTail(limit int) *headTail {
	return &headTail{headMax: limit / 2, tailMax: limit - limit/2}
}

func (h *headTail) Write(p []byte) (int, error) {
	h.mu.Lock()
	defer h.mu.Unlock()
	n := len(p)
	h.total += int64(n)
	if room := h.headMax - len(h.head); room > 0 {
		k := min(room, len(p))
		h.head = append(h.head, p[:k]...)
		p = p[k:]
	}
	if len(p) == 0 {
		return n, nil
	}
	if len(p) >= h.tailMax {
		h.tail = append(h.tail[:0], p[len(p)-h.tailMax:]...)
		return n, nil
	}
	if over := len(h.tail) + len(p) - h.tailMax; over > 0 {
		h.tail = append(h.tail[:0], h.tail[over:]...)
	}
	h.tail = append(h.tail, p...)
	return n, nil
}

// result is what was kept, and whether anything was left out; a left-out
// middle is marked, cut at whole characters.
func (h *headTail) result() (string, bool) {
	h.mu.Lock()
	defer h.mu.Unlock()
	kept := int64(len(h.head) + len(h.tail))
	if h.total == kept {
		return string(h.head) + string(h.tail), false
	}
	head, tail := h.head, h.tail
	for i := 0; i < utf8.UTFMax && len(head) > 0 && !utf8.Valid(head); i++ {
		head = head[:len(head)-1]
	}
	for i := 0; i < utf8.UTFMax && len(tail) > 0 && !utf8.RuneStart(tail[0]); i++ {
		tail = tail[1:]
	}
	omitted := h.total - int64(len(head)+len(tail))
	return fmt.Sprintf("%s\n[... %d bytes omitted ...]\n%s", head, omitted, tail), true
}

// progressInterval is the least time between two progress notifications
// of one call: output is batched in between.
const progressInterval = 250 * time.Millisecond

// maxProgressBatch bounds the output one notification carries; what a
// command prints beyond it between two notifications is counted, not sent
// (the result still has the head and tail of it).
const maxProgressBatch = 32 << 10

// progress streams a command's output to the client as progress
// notifications: the first as soon as output comes, then at most one per
// progressInterval, and the rest when the command ends. Progress is the
// count of bytes printed so far, so it only grows.
type progress struct {
	send func(msg string, total int64)

	mu      sync.Mutex
	pending []byte
	dropped int64
	total   int64

	wake     chan struct{}
	done     chan struct{}
	finished chan struct{}
}

func newProgress(send func(msg string, total int64)) *progress {
	p := &progress{send: send, wake: make(chan struct{}, 1), done: make(chan struct{}), finished: make(chan struct{})}
	go p.loop()
	return p
}

func (p *progress) Write(b []byte) (int, error) {
	p.mu.Lock()
	p.total += int64(len(b))
	keep := min(len(b), maxProgressBatch-len(p.pending))
	p.pending = append(p.pending, b[:keep]...)
	p.dropped += int64(len(b) - keep)
	p.mu.Unlock()
	select {
	case p.wake <- struct{}{}:
	default:
	}
	return len(b), nil
}

func (p *progress) loop() {
	defer close(p.finished)
	for {
		select {
		case <-p.wake:
		case <-p.done:
			p.flush(true)
			return
		}
		p.flush(false)
		select {
		case <-time.After(progressInterval):
		case <-p.done:
			p.flush(true)
			return
		}
	}
}

// flush sends the pending output; before the last, a character cut in
// two by the command's writes waits for its other bytes.
func (p *progress) flush(last bool) {
	p.mu.Lock()
	pending, dropped, total := p.pending, p.dropped, p.total
	p.pending, p.dropped = nil, 0
	if cut := completeRunes(pending); !last && cut < len(pending) {
		p.pending = append([]byte(nil), pending[cut:]...)
		total -= int64(len(pending) - cut)
		pending = pending[:cut]
	}
	p.mu.Unlock()
	if len(pending) == 0 && dropped == 0 {
		return
	}
	msg := string(pending)
	if dropped > 0 {
		msg += fmt.Sprintf("\n[... %d bytes not streamed ...]\n", dropped)
	}
	p.send(strings.ToValidUTF8(msg, "\uFFFD"), total)
}

// completeRunes is the length of b without a character cut short at its
// end.
func completeRunes(b []byte) int {
	for i := len(b) - 1; i >= 0 && i >= len(b)-utf8.UTFMax; i-- {
		if utf8.RuneStart(b[i]) {
			if !utf8.FullRune(b[i:]) {
				return i
			}
			break
		}
	}
	return len(b)
}

// close sends what is left and stops; every notification is sent when it
// returns.
func (p *progress) close() {
	close(p.done)
	<-p.finished
}
