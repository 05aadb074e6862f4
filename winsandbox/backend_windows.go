package winsandbox

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"golang.org/x/sys/windows"

	"github.com/cordon-sandbox/cordon/internal/jobobject"
	"github.com/cordon-sandbox/cordon/internal/ntfs"
	"github.com/cordon-sandbox/cordon/internal/restrictedtoken"
	"github.com/cordon-sandbox/cordon/internal/statedir"
	"github.com/cordon-sandbox/cordon/internal/windesktop"
	"github.com/cordon-sandbox/cordon/internal/wine"
	"github.com/cordon-sandbox/cordon/internal/winexec"
	"github.com/cordon-sandbox/cordon/internal/winlaunch"
	"github.com/cordon-sandbox/cordon/ntsec"
	"github.com/cordon-sandbox/cordon/sandbox"
)

// setup is what Start prepared before launching: everything the process
// wrapper must release when the command ends.
type setup struct {
	dir      string // state directory
	unlock   func() // releases the run lock (acelog.HoldRun)
	token    windows.Token
	job      *jobobject.Job
	degraded []string
	notes    []string
	// procSD and threadSD are the descriptors of the command's process and
	// first thread (restrictedtoken.ProcessSD, ThreadSD), in Go memory.
	procSD, threadSD *windows.SECURITY_DESCRIPTOR
	// desktop is the run's private desktop, closed after the job.
	desktop *windesktop.Desktop
	// caches are the run's tool-cache layers, nil without.
	caches *cacheRun
	// tokenSpec is the spec of the token proven (step 5) and made.
	tokenSpec restrictedtoken.Spec
}

// release closes the job (killing whatever is left in it) and the token,
// and then lets go of the run lock, so that cleanup may remove this run's
// ACEs only once its command is gone. It is safe to call on a partial
// setup, and more than once.
func (s *setup) release() error {
	var errs []error
	if s.job != nil {
		errs = append(errs, s.job.Close()) // Close may be called again
	}
	if s.desktop != nil {
		// After the job: no process of the run is left on it.
		errs = append(errs, s.desktop.Close()) // Close may be called again
	}
	if s.token != 0 {
		errs = append(errs, s.token.Close())
		s.token = 0
	}
	// After the job: nothing of the command writes its layers any more.
	s.caches.finish()
	if s.unlock != nil {
		s.unlock()
		s.unlock = nil
	}
	return errors.Join(errs...)
}

// Start implements sandbox.Backend. Everything it changes on disk is
// recorded before it is written, applied all or nothing, and undone if the
// proof then fails; on any error nothing of the command has run.
func (b *Backend) Start(ctx context.Context, spec sandbox.Spec) (sandbox.Process, error) {
	plumbingOnly := wine.Detected()
	if plumbingOnly && os.Getenv(WinePlumbingEnv) != "1" {
		return nil, sandbox.Unavailable("this is Wine, which restricts no token and stores no DACL, so the restricted-token backend cannot enforce anything here; set %s=1 to run its plumbing unenforced", WinePlumbingEnv)
	}
	s, err := b.prepare(ctx, spec, plumbingOnly)
	if err != nil {
		return nil, err
	}
	env, err := s.launchEnv(spec)
	if err != nil {
		return nil, errors.Join(err, s.release())
	}
	p, err := winlaunch.Start(winlaunch.Options{
		Token: s.token, Args: spec.Args, Dir: spec.Dir, Env: env,
		Stdin: spec.Stdin, Stdout: spec.Stdout, Stderr: spec.Stderr, Job: s.job,
		ProcessSecurity: s.procSD, ThreadSecurity: s.threadSD, Desktop: s.desktopName(),
	})
	if err != nil {
		return nil, errors.Join(err, s.release())
	}
	proc := &process{p: p, s: s}
	job := s.job // release may run before this goroutine wakes
	go func() {
		// Once the command itself has exited, whatever it left running in
		// the job goes too: nothing outlives the command, and no
		// grandchild holding the output pipes keeps Wait blocked.
		// Terminating a job already closed does nothing.
		<-p.Exited()
		job.Terminate(winlaunch.KilledExitCode)
	}()
	return proc, nil
}

// launchEnv is the command's environment (LaunchEnv, with the tool
// caches' variables), with the network stubs written when it needs them.
func (s *setup) launchEnv(spec sandbox.Spec) ([]string, error) {
	env := LaunchEnv(s.caches.commandEnv(spec.Env), spec.Policy, filepath.Join(s.dir, "stubs"))
	if !spec.Policy.Network {
		if err := writeStubs(filepath.Join(s.dir, "stubs")); err != nil {
			return nil, err
		}
	}
	return env, nil
}

// desktopName is the run's desktop for STARTUPINFO, or "" without one.
func (s *setup) desktopName() string {
	if s.desktop == nil {
		return ""
	}
	return s.desktop.Name()
}

// lockWait bounds the wait for cordon's locks. They are files a sandboxed
// command can open for reading, which is all LockFileEx needs, so a
// command could hold one for ever: other runs then fail after lockWait
// with an error saying so, instead of hanging.
const lockWait = 60 * time.Second

// hold takes one of the state directory's locks with take, waiting at
// most lockWait.
func hold(ctx context.Context, take func(context.Context, string) (func(), error), dir string) (func(), error) {
	wctx, cancel := context.WithTimeout(ctx, lockWait)
	defer cancel()
	release, err := take(wctx, dir)
	if err != nil {
		if ctx.Err() == nil && errors.Is(err, context.DeadlineExceeded) {
			return nil, fmt.Errorf("restricted-token: busy: a lock in %s has been held for %s by another cordon, or by a sandboxed command holding it open: %w", dir, lockWait, err)
		}
		return nil, fmt.Errorf("restricted-token: %w", err)
	}
	return release, nil
}

// finalPath is the final path of dir, or of its deepest existing ancestor
// with the rest appended: the state directory may not exist yet.
func finalPath(dir string) string {
	rest := ""
	for p := dir; ; {
		if _, err := os.Stat(p); err == nil {
			return filepath.Join(ntfs.FinalPath(p), rest)
		}
		parent := filepath.Dir(p)
		if parent == p {
			return dir
		}
		rest = filepath.Join(filepath.Base(p), rest)
		p = parent
	}
}

// liveToken reads the caller's process token into the model, for the
// probe; a run reads it through the Caller it creates its token from.
func liveToken() (*ntsec.Token, error) {
	c, err := restrictedtoken.OpenCaller()
	if c == nil {
		return nil, err
	}
	defer c.Close()
	return c.Model(), err
}

// writeStubs writes winexec.DenyStubs into dir, rewriting only what
// differs, so that concurrent runs find them in place.
func writeStubs(dir string) error {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return fmt.Errorf("restricted-token: stubs: %w", err)
	}
	for name, data := range winexec.DenyStubs() {
		p := filepath.Join(dir, name)
		if have, err := os.ReadFile(p); err == nil && string(have) == string(data) {
			continue
		}
		if err := statedir.WriteFile(p, data); err != nil {
			return fmt.Errorf("restricted-token: stub %s: %w", p, err)
		}
	}
	return nil
}

// process is a running command.
type process struct {
	p *winlaunch.Process
	s *setup
}

// Wait waits for the command and for its output to end, then releases the
// job, the token and the run lock. A failure there wraps
// sandbox.ErrTeardown: the command ran and its exit code is valid.
func (pr *process) Wait() (int, error) {
	code, err := pr.p.Wait()
	if rerr := pr.s.release(); rerr != nil {
		if err == nil {
			// Only then is the exit code the command's own.
			err = fmt.Errorf("%w: %w", sandbox.ErrTeardown, rerr)
		} else {
			err = errors.Join(err, rerr)
		}
	}
	return code, err
}

// Kill ends the command and everything it started, through the job.
func (pr *process) Kill() error { return pr.p.Kill() }

// Degraded lists what this run did not enforce.
func (pr *process) Degraded() []string { return pr.s.degraded }

// Notes are the git-directory resolver's findings and what became of the
// tool caches, for the log.
func (pr *process) Notes() []string { return pr.s.notes }
