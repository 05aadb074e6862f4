package aclhelper

import (
	"context"
	"errors"
	"fmt"
	"os"
	"strings"
	"sync"
	"time"

	"github.com/cordon-sandbox/cordon/internal/aclplan"
	"github.com/cordon-sandbox/cordon/internal/fsview"
	"github.com/cordon-sandbox/cordon/ntsec"
)

var errCrash = errors.New("injected crash")

// call is one Applier.Apply call a fake saw.
type call struct {
	path            string
	resumed, change bool
}

// memApplier applies items to an in-memory tree, checking before it
// writes as ntfs.Apply does, and can crash (panic with errCrash, the
// helper dying there) at its crashAt-th call, before or after the write,
// or fail that call (an error returned) when fail is set.
type memApplier struct {
	m          *fsview.Memory
	crashAt    int // -1: never
	crashAfter bool
	fail       bool
	n          int
	calls      []call
	sync.Mutex
}

func (a *memApplier) Apply(ctx context.Context, it Item, resumed bool) (bool, error) {
	a.Lock()
	defer a.Unlock()
	i := a.n
	a.n++
	if i == a.crashAt && a.fail {
		return false, errors.New("access denied")
	}
	if i == a.crashAt && !a.crashAfter {
		panic(errCrash)
	}
	e, err := it.Edit()
	if err != nil {
		return false, err
	}
	n, err := a.m.Stat(e.Path)
	if err != nil {
		return false, err
	}
	changed := !hasExplicit(n.SD, e.ACE)
	if changed {
		if _, err := aclplan.Apply(a.m, []aclplan.Edit{e}); err != nil {
			return false, err
		}
	}
	a.calls = append(a.calls, call{e.Path, resumed, changed})
	if i == a.crashAt && a.crashAfter {
		panic(errCrash)
	}
	return changed, nil
}

func hasExplicit(sd *ntsec.SecurityDescriptor, ace ntsec.ACE) bool {
	for _, x := range sd.DACL.Entries {
		if x == ace {
			return true
		}
	}
	return false
}

// fileApplier applies items by recording them in a file, one line each,
// checking first: a fake whose state survives its process.
type fileApplier struct {
	path   string
	hangAt int // -1: never; else block forever after applying that call
	said   func(string)
	n      int
	calls  []call
}

func (a *fileApplier) Apply(ctx context.Context, it Item, resumed bool) (bool, error) {
	i := a.n
	a.n++
	b, err := os.ReadFile(a.path)
	if err != nil && !os.IsNotExist(err) {
		return false, err
	}
	line := fmt.Sprintf("%s %s %x", it.Path, it.SID, it.Mask)
	changed := !strings.Contains(string(b), line+"\n")
	if changed {
		f, err := os.OpenFile(a.path, os.O_APPEND|os.O_CREATE|os.O_WRONLY, 0o600)
		if err != nil {
			return false, err
		}
		if _, err := fmt.Fprintln(f, line); err != nil {
			f.Close()
			return false, err
		}
		if err := f.Close(); err != nil {
			return false, err
		}
	}
	a.calls = append(a.calls, call{it.Path, resumed, changed})
	if i == a.hangAt {
		a.said("hanging")
		blockForever()
	}
	return changed, nil
}

func contains(s, sub string) bool { return strings.Contains(s, sub) }

func writeGarbage(dir string) error {
	return os.WriteFile(journalPath(dir), []byte(`{"version":1,"items":[{"path":"C:\\d0"`), 0o600)
}

// testMutexName is a mutex name of this test process alone, so that
// parallel test runs do not meet.
func testMutexName() string { return fmt.Sprintf(`Local\CordonReadAclTest-%d`, os.Getpid()) }

// blockForever blocks until the process is killed. A bare select{} would
// be reported as a deadlock once no other goroutine runs.
func blockForever() {
	for {
		time.Sleep(time.Hour)
	}
}
