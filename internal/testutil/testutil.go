// Package testutil holds helpers shared by cordon's tests, chiefly the ones
// that keep the Windows tests runnable under Wine.
//
// cordon's Windows code is tested at three levels (see scripts/test):
//
//   - portable logic runs natively on Linux;
//   - Windows plumbing (API calls succeed, handles, jobs, pipes, exit codes)
//     runs under Wine via scripts/wine/go-wine-exec;
//   - enforcement (ACLs, restricted tokens, integrity levels, AppContainers,
//     firewall, job limits) runs on real Windows only, because Wine accepts
//     those calls but does not enforce them. Gate such tests with
//     [RealWindows].
//
// Use [TempDir] instead of t.TempDir in any test that can run on Windows:
// under Wine 8, t.TempDir's cleanup (os.RemoveAll) fails.
package testutil

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/cordon-sandbox/cordon/internal/wine"
)

// RealWindowsEnv is the environment variable that must be "1" for
// [RealWindows] to let a test run. It is opt-in because enforcement tests
// typically need an elevated, disposable Windows machine.
const RealWindowsEnv = "CORDON_REAL_WINDOWS"

// UnderWine reports whether the process runs under Wine rather than real
// Windows. It is always false on other operating systems.
func UnderWine() bool { return wine.Detected() }

// RealWindows skips the test unless it runs on real Windows (not Wine) with
// CORDON_REAL_WINDOWS=1 set. Call it first in tests that check that the
// sandbox actually blocks something: Wine accepts security descriptors,
// restricted tokens and job limits but does not enforce them, so such a test
// passing under Wine would prove nothing.
func RealWindows(t testing.TB) {
	t.Helper()
	switch {
	case runtime.GOOS != "windows":
		t.Skipf("skipping Windows enforcement test: needs real Windows, this is %s", runtime.GOOS)
	case UnderWine():
		t.Skip("skipping Windows enforcement test: running under Wine, which does not enforce ACLs, tokens, integrity levels or job limits")
	case os.Getenv(RealWindowsEnv) != "1":
		t.Skipf("skipping Windows enforcement test: set %s=1 to run it (on a disposable machine)", RealWindowsEnv)
	}
}

// TempDir returns a new temporary directory that is removed when the test
// and its subtests complete, like t.TempDir.
//
// Under Wine it avoids t.TempDir: Go 1.26 deletes files through
// NtSetInformationFile(FileDispositionInformationEx), which Wine 8 does not
// implement, so t.TempDir's cleanup fails the test with "Invalid function".
// There the directory comes from os.MkdirTemp and is deleted entry by entry,
// deepest first, with os.Remove, which does work.
func TempDir(t testing.TB) string {
	t.Helper()
	if !UnderWine() {
		return t.TempDir()
	}
	dir, err := os.MkdirTemp("", tempPattern(t.Name()))
	if err != nil {
		t.Fatalf("TempDir: %v", err)
	}
	t.Cleanup(func() {
		if err := removeTree(dir); err != nil {
			t.Errorf("TempDir cleanup: %v", err)
		}
	})
	return dir
}

// tempPattern turns a test name (which may contain "/" and other characters
// that are not valid in file names) into an os.MkdirTemp pattern, much as
// t.TempDir does.
func tempPattern(name string) string {
	const maxLen = 64
	name = strings.Map(func(r rune) rune {
		switch {
		case r >= 'a' && r <= 'z', r >= 'A' && r <= 'Z', r >= '0' && r <= '9', r == '-', r == '_', r == '.':
			return r
		default:
			return '_'
		}
	}, name)
	if len(name) > maxLen {
		name = name[:maxLen]
	}
	return name + "-*"
}

// removeTree deletes dir and everything under it using only os.Remove on
// single files and empty directories. It retries for a short while because
// on Windows a file is not deletable while some process (for example a
// just-killed child of the test) still has it open.
func removeTree(dir string) error {
	var err error
	for deadline := time.Now().Add(2 * time.Second); ; {
		if err = removeTreeOnce(dir); err == nil || time.Now().After(deadline) {
			return err
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func removeTreeOnce(dir string) error {
	var paths []string
	walkErr := filepath.WalkDir(dir, func(path string, _ fs.DirEntry, err error) error {
		if err != nil && !errors.Is(err, fs.ErrNotExist) {
			return err
		}
		paths = append(paths, path)
		return nil
	})
	if walkErr != nil {
		return walkErr
	}
	// WalkDir visits a directory before its contents, so the reverse order
	// removes every entry before the directory containing it. Symlinks are
	// not followed, so os.Remove deletes the link, not its target.
	var errs []error
	for _, path := range slices.Backward(paths) {
		if err := os.Remove(path); err != nil && !errors.Is(err, fs.ErrNotExist) {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

// Elevated reports whether this process runs on Windows with
// Administrators enabled in its token. It is false on other systems.
func Elevated() bool { return elevated() }

// SkipIfElevated skips a real-Windows test of the restricted-token backend
// when this process runs with Administrators enabled (an elevated shell, or
// an administrator with UAC off, as on CI's hosted runners): the backend
// refuses such a token by design. The Windows workflow runs those tests
// again as a standard user.
func SkipIfElevated(t testing.TB) {
	t.Helper()
	if runtime.GOOS == "windows" && !UnderWine() && elevated() {
		t.Skip("the restricted-token backend refuses an elevated token (Administrators enabled); run this test as a standard user")
	}
}
