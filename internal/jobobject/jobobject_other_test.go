//go:build !windows

package jobobject_test

import (
	"errors"
	"testing"

	"github.com/cordon-sandbox/cordon/internal/jobobject"
)

func TestCreateUnsupported(t *testing.T) {
	job, err := jobobject.Create(jobobject.Options{MemoryLimit: 1 << 30, ProcessLimit: 4})
	if job != nil || !errors.Is(err, errors.ErrUnsupported) {
		t.Fatalf("Create = %v, %v; want nil and an error matching errors.ErrUnsupported", job, err)
	}
	var stub *jobobject.Job
	if err := stub.Terminate(1); !errors.Is(err, errors.ErrUnsupported) {
		t.Errorf("Terminate: %v, want errors.ErrUnsupported", err)
	}
	if _, err := stub.Pids(); !errors.Is(err, errors.ErrUnsupported) {
		t.Errorf("Pids: %v, want errors.ErrUnsupported", err)
	}
	if err := stub.Close(); err != nil {
		t.Errorf("Close: %v, want nil", err)
	}
}
