//go:build !linux

package smoke

import (
	"syscall"
	"testing"
)

// The escape rows and their harness (escape_harness_linux_test.go) are
// Linux's; these keep the shared harness building elsewhere.

const userPath = ""

func (w *ws) procAttr() *syscall.SysProcAttr { return nil }

func (w *ws) program(name string) string { return name }

func (w *ws) giveToUser(t *testing.T) { t.Fatal("asUser rows run on Linux only") }

func (w *ws) countProcs() (stop func()) { return func() {} }
