package aclplan

// CheckOwnership: the real-Windows check of the elevated mode's ownership
// claim, for the elevated backend's real-Windows tests.

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"

	"golang.org/x/sys/windows"

	"github.com/cordon-sandbox/cordon/ntsec"
)

// SandboxRunner runs name with args in dir as one of the elevated mode's
// sandbox users, in the sandbox cordon builds (the plan applied to dir's
// roots), and returns the command's combined output.
type SandboxRunner func(ctx context.Context, dir, name string, args ...string) ([]byte, error)

// ErrNoGit is returned, wrapped, when CheckOwnership finds no git to ask
// about dubious ownership: a caller may skip rather than fail.
var ErrNoGit = errors.New("git not found on PATH")

// CheckOwnership checks, on real Windows, that what a sandbox user creates
// in root stays the calling user's, and returns the first failure.
//
// Preconditions: the caller is the real user, not elevated; root is a
// writable root of the sandbox run wraps, with the elevated plan applied
// (run applies it); root is a git worktree whose top directory and .git
// the caller owns (for the git check; ErrNoGit without git).
//
// Through run it creates a file, a directory and a file in that directory.
// Each must be owned by someone other than the caller — else run did not
// run as a sandbox user and nothing would be shown — and the caller must
// then open each for DELETE, READ_CONTROL, WRITE_DAC, WRITE_OWNER and
// read/write (CreateFile), append to the file, take ownership of each
// (SetNamedSecurityInfo with OWNER_SECURITY_INFORMATION, which WRITE_OWNER
// allows for the caller's own SID) and delete them all. Last, `git status`
// run by the caller in root must not report dubious ownership (git for
// Windows compares the owner of the worktree and of .git with the
// caller's SID: compat/mingw.c, is_path_owned_by_current_sid).
func CheckOwnership(ctx context.Context, root string, run SandboxRunner) error {
	var b [6]byte
	if _, err := rand.Read(b[:]); err != nil {
		return fmt.Errorf("ownership: random name: %w", err)
	}
	name := "cordon-own-" + hex.EncodeToString(b[:])
	dir := filepath.Join(root, name)
	paths := []string{dir + ".txt", filepath.Join(dir, "f.txt"), dir}
	// cmd joins its arguments into one command line and parses that.
	if out, err := run(ctx, root, "cmd.exe", "/d", "/c",
		"echo", "top>"+name+".txt", "&&", "mkdir", name, "&&", "echo", "inner>"+name+`\f.txt`); err != nil {
		return fmt.Errorf("ownership: creating %s as the sandbox: %w (output %q)", dir, err, out)
	}
	defer os.RemoveAll(dir)
	defer os.Remove(dir + ".txt")
	me, err := windows.GetCurrentProcessToken().GetTokenUser()
	if err != nil {
		return fmt.Errorf("ownership: GetTokenInformation(TokenUser): %w", err)
	}
	for _, p := range paths {
		if err := userControls(p, me.User.Sid); err != nil {
			return err
		}
	}
	f, err := os.OpenFile(paths[1], os.O_APPEND|os.O_WRONLY, 0)
	if err != nil {
		return fmt.Errorf("ownership: the user cannot open %s for writing: %w", paths[1], err)
	}
	_, werr := f.WriteString("appended by the user\r\n")
	if cerr := f.Close(); werr == nil {
		werr = cerr
	}
	if werr != nil {
		return fmt.Errorf("ownership: the user cannot write %s: %w", paths[1], werr)
	}
	for _, p := range paths {
		if err := os.Remove(p); err != nil {
			return fmt.Errorf("ownership: the user cannot delete %s: %w", p, err)
		}
	}
	return gitTrustsRoot(ctx, root)
}

// userControls checks that path is owned by someone other than user, that
// user can open it with full control but FILE_DELETE_CHILD, and that user
// can take ownership of it.
func userControls(path string, user *windows.SID) error {
	sd, err := windows.GetNamedSecurityInfo(path, windows.SE_FILE_OBJECT, windows.OWNER_SECURITY_INFORMATION)
	if err != nil {
		return fmt.Errorf("ownership: GetNamedSecurityInfo(%s): %w", path, err)
	}
	owner, _, err := sd.Owner()
	if err != nil {
		return fmt.Errorf("ownership: owner of %s: %w", path, err)
	}
	if owner.Equals(user) {
		return fmt.Errorf("ownership: %s is owned by the caller %s: the runner did not create it as a sandbox user, so this shows nothing", path, user)
	}
	p, err := windows.UTF16PtrFromString(path)
	if err != nil {
		return fmt.Errorf("ownership: %s: %w", path, err)
	}
	// FILE_DELETE_CHILD is left out: the restricted-token backend's plan
	// may have denied it to the user on the root's directories, and the
	// user deletes through DELETE on each object.
	const want = uint32(ntsec.FileAllAccess &^ ntsec.FileDeleteChild)
	h, err := windows.CreateFile(p, want, windows.FILE_SHARE_READ|windows.FILE_SHARE_WRITE|windows.FILE_SHARE_DELETE, nil, windows.OPEN_EXISTING, windows.FILE_FLAG_BACKUP_SEMANTICS, 0)
	if err != nil {
		return fmt.Errorf("ownership: the user cannot open %s (owned by %s) with full control: %w", path, owner, err)
	}
	windows.CloseHandle(h)
	if err := windows.SetNamedSecurityInfo(path, windows.SE_FILE_OBJECT, windows.OWNER_SECURITY_INFORMATION, user, nil, nil, nil); err != nil {
		return fmt.Errorf("ownership: the user cannot take ownership of %s from %s: %w", path, owner, err)
	}
	return nil
}

// gitTrustsRoot runs `git status` in root as the caller and fails when git
// reports dubious ownership.
func gitTrustsRoot(ctx context.Context, root string) error {
	git, err := exec.LookPath("git")
	if err != nil {
		return fmt.Errorf("ownership: %w", ErrNoGit)
	}
	out, err := exec.CommandContext(ctx, git, "-C", root, "status", "--porcelain").CombinedOutput()
	if bytes.Contains(out, []byte("dubious ownership")) {
		return fmt.Errorf("ownership: git reports dubious ownership in %s after the sandbox wrote there: %s", root, out)
	}
	if err != nil {
		return fmt.Errorf("ownership: git status in %s: %w: %s", root, err, out)
	}
	return nil
}
