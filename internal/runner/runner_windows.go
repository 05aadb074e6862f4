//go:build windows

package runner

import (
	"context"
	"errors"
	"fmt"
	"io"
	"path/filepath"

	"golang.org/x/sys/windows"

	"github.com/cordon-sandbox/cordon/internal/cwdjunction"
	"github.com/cordon-sandbox/cordon/internal/jobobject"
	"github.com/cordon-sandbox/cordon/internal/restrictedtoken"
	"github.com/cordon-sandbox/cordon/internal/runnerpipe"
	"github.com/cordon-sandbox/cordon/internal/tokenlaunch"
	"github.com/cordon-sandbox/cordon/internal/wine"
	"github.com/cordon-sandbox/cordon/ntsec"
)

// ErrPlumbingOutsideWine is returned by Run for Config.WinePlumbing on a
// system that is not Wine.
var ErrPlumbingOutsideWine = errors.New("runner: --wine-plumbing is refused outside Wine")

// Run is `cordon runner`: it dials cordon's pipe, checking its server is
// process c.Server, and serves one command (Serve) with the Launcher
// below. It returns once the command ended and its exit was sent, or on
// the first failure, with the command killed.
func Run(ctx context.Context, c Config) error {
	if c.WinePlumbing && !wine.Detected() {
		return ErrPlumbingOutsideWine
	}
	conn, err := runnerpipe.Dial(c.Pipe, c.Server)
	if err != nil {
		return err
	}
	defer conn.Close()
	// The token as it is now, for cordon's proof; Launch reads it again
	// and makes the command's token from that read, which
	// restrictedtoken checks against its own model.
	var base *ntsec.Token
	if caller, err := restrictedtoken.OpenCaller(); caller != nil {
		if err == nil || c.WinePlumbing {
			base = caller.Model()
		}
		caller.Close()
	}
	return Serve(ctx, conn, c.Nonce, base, TokenLauncher{WinePlumbing: c.WinePlumbing})
}

// TokenLauncher is the runner's Launcher on Windows. It reads the runner's own
// token (restrictedtoken.OpenCaller: the sandbox user's, as
// CreateProcessWithLogonW made it) and makes from it the token the
// restricted-token backend makes from the user's (Caller.Create with
// TokenSpec's spec, which reads the token back and refuses it unless it is
// the model's), then starts the command with tokenlaunch: in its job
// (every UI restriction, the Spawn's limits), on a private desktop if
// asked, with descriptors granting the sandbox user, SYSTEM and the run
// SID.
type TokenLauncher struct {
	// WinePlumbing (Run checked it is Wine) runs the command with the
	// runner's own token: Wine reads tokens only in part
	// (restrictedtoken.ErrIncomplete) and restricts none.
	WinePlumbing bool
}

// Launch implements the package's Launcher.
func (l TokenLauncher) Launch(sp *runnerpipe.Spawn, stdin io.Reader, stdout, stderr io.Writer) (Command, error) {
	spec, err := TokenSpec(sp)
	if err != nil {
		return nil, &LaunchError{Code: CodeSpec, Err: err}
	}
	caller, err := restrictedtoken.OpenCaller()
	if caller == nil || (err != nil && !(l.WinePlumbing && errors.Is(err, restrictedtoken.ErrIncomplete))) {
		if caller != nil {
			caller.Close()
		}
		return nil, &LaunchError{Code: CodeToken, Err: fmt.Errorf("reading the runner's token: %w", err)}
	}
	defer caller.Close()
	var tok windows.Token // 0: the runner's own, for plumbing
	if !l.WinePlumbing {
		if tok, err = caller.Create(spec); err != nil {
			return nil, &LaunchError{Code: CodeToken, Err: err}
		}
		defer tok.Close() // Start is done with it once it returns
	}
	dir, err := workDir(sp)
	if err != nil {
		return nil, &LaunchError{Code: CodeLaunch, Err: err}
	}
	p, err := tokenlaunch.Start(tokenlaunch.Options{
		Token: tok, User: caller.Model().User, Run: spec.Run,
		Job:            jobobject.Options{MemoryLimit: sp.MemoryLimit, ProcessLimit: sp.ProcessLimit, RestrictUI: true},
		PrivateDesktop: sp.PrivateDesktop,
		Args:           sp.Args, Dir: dir, Env: sp.Env,
		Stdin: stdin, Stdout: stdout, Stderr: stderr,
	})
	if err != nil {
		return nil, &LaunchError{Code: CodeLaunch, Err: err}
	}
	return winCmd{p}, nil
}

// workDir is the command's working directory: sp.Dir, or, with
// sp.CwdJunction and a Dir the runner cannot list all the way down
// (listable), the junction to it under the runner's profile
// (cwdjunction.Ensure, which trusts nothing it finds there). A directory
// a junction cannot reach (UNC) is used as it is.
func workDir(sp *runnerpipe.Spawn) (string, error) {
	if !sp.CwdJunction || listable(sp.Dir) {
		return sp.Dir, nil
	}
	profile, err := windows.GetCurrentProcessToken().GetUserProfileDirectory()
	if err != nil {
		return "", fmt.Errorf("the runner's profile directory: %w", err)
	}
	j, err := cwdjunction.Ensure(profile, sp.Dir)
	if errors.Is(err, cwdjunction.ErrUnsupported) {
		return sp.Dir, nil
	}
	if err != nil {
		return "", fmt.Errorf("the working directory's junction: %w", err)
	}
	return j, nil
}

type winCmd struct{ p *tokenlaunch.Process }

func (c winCmd) PID() uint32 { return uint32(c.p.Pid()) }
func (c winCmd) Kill() error { return c.p.Kill() }
func (c winCmd) Wait() (uint32, error) {
	code, err := c.p.Wait()
	return uint32(code), err
}

// listable reports whether the runner can open every directory from dir's
// volume root down to dir for listing. The command's token reads what the
// runner's does (write restriction restricts no read, and no directory on
// a cwd's way carries a no-read-up label), so this is whether the command
// may start there: PowerShell opens every component of its cwd.
func listable(dir string) bool {
	p := filepath.Clean(dir)
	for {
		name, err := windows.UTF16PtrFromString(p)
		if err != nil {
			return false
		}
		h, err := windows.CreateFile(name, windows.FILE_LIST_DIRECTORY,
			windows.FILE_SHARE_READ|windows.FILE_SHARE_WRITE|windows.FILE_SHARE_DELETE, nil,
			windows.OPEN_EXISTING, windows.FILE_FLAG_BACKUP_SEMANTICS, 0)
		if err != nil {
			return false
		}
		windows.CloseHandle(h)
		parent := filepath.Dir(p)
		if parent == p {
			return true
		}
		p = parent
	}
}
