// Package winlaunch starts a process on Windows the way cordon's
// restricted-token backend needs: optionally under another token, with
// exactly three inherited handles (its standard streams), inside a job
// object from its first instruction, with a command line, environment and
// program path that winexec composed.
//
// # Why not os/exec
//
// os/exec (through syscall.StartProcess) does use an attribute list, but
// keeps it to itself: syscall.SysProcAttr has Token, ParentProcess and
// AdditionalInheritedHandles, but no way to add an attribute of one's own.
// The backend needs two:
//
//   - PROC_THREAD_ATTRIBUTE_HANDLE_LIST with exactly the child's three
//     standard handles, and bInheritHandles TRUE. Without a list, every
//     inheritable handle of the launching process reaches the child; with
//     it, only the listed ones do, whatever other inheritable handles
//     cordon (or a library in it) holds at that moment. See Raymond Chen,
//     "Programmatically controlling which handles are inherited by new
//     processes in Win32", The Old New Thing, 2011-12-16,
//     https://devblogs.microsoft.com/oldnewthing/20111216-00/?p=8873
//   - PROC_THREAD_ATTRIBUTE_JOB_LIST (Windows 10 and later): the process is
//     created inside the job, so neither it nor any child it starts ever
//     runs outside. os/exec can only assign a running process, which races
//     with the children it starts meanwhile.
//
// Both are set with UpdateProcThreadAttribute on the list passed in
// STARTUPINFOEX, with EXTENDED_STARTUPINFO_PRESENT:
// https://learn.microsoft.com/windows/win32/api/processthreadsapi/nf-processthreadsapi-updateprocthreadattribute
// The process itself is created with CreateProcessAsUserW when a token is
// given and CreateProcessW otherwise:
// https://learn.microsoft.com/windows/win32/api/processthreadsapi/nf-processthreadsapi-createprocessasuserw
// (hcsshim's internal/exec launches processes the same way).
//
// # Options (Windows)
//
// Start takes an Options value:
//
//   - Token: the primary token the process runs under (for cordon, the
//     one restrictedtoken.Create returns; it needs TOKEN_ASSIGN_PRIMARY,
//     TOKEN_DUPLICATE and TOKEN_QUERY access). 0 means the caller's own.
//     The caller keeps ownership and may close it once Start returned.
//   - Args: the command; Args[0] is looked up with winexec.LookPath in the
//     PATH and PATHEXT of Env, never in the current directory. A name with
//     a '\', '/' or ':' is a path, relative to Dir. The child sees Args
//     exactly, as its C runtime (or Go's os package) splits the command
//     line winexec.CommandLine composed. The exception is a .bat or .cmd
//     program, which CreateProcess runs through cmd.exe: cmd.exe reads the
//     line by rules of its own (see winexec.CmdQuote), so arguments with
//     its metacharacters may arrive changed. That is no escape from the
//     sandbox (cmd.exe runs inside it), only a possible surprise.
//   - Dir: the working directory, a full path. Empty means cordon's own.
//   - Env: the complete environment, nothing inherited: a nil or empty Env
//     gives the child an empty environment. Most Windows programs need at
//     least SystemRoot (Winsock fails without it), PATH and PATHEXT;
//     choosing them is the caller's job.
//   - Stdin, Stdout, Stderr: the standard streams, connected through
//     anonymous pipes that goroutines copy; nil means the NUL device. When
//     Stdout and Stderr are the same writer, the child gets one pipe for
//     both, so their order is kept and the writer is never written to by
//     two goroutines at once.
//   - Job: the job (internal/jobobject) the process is born into; nil
//     means none, and then Kill reaches only the process itself.
//   - ProcessSecurity, ThreadSecurity: the security descriptors of the
//     process and its first thread. nil means Windows' default, built from
//     the token's default DACL. The backend passes descriptors of its own
//     (restrictedtoken.ProcessSD, ThreadSD) so that no other sandbox can
//     open the command's process for writing.
//   - Desktop: the "WindowStation\Desktop" the process starts on
//     (STARTUPINFO.lpDesktop); "" means the caller's. The backend gives
//     each command a private one (internal/windesktop).
//
// # Console
//
// The process is created with CREATE_NO_WINDOW: a console program gets a
// console without a window, so nothing flashes on the user's desktop, and
// its console descendants share that console instead of each opening a
// window of its own (which DETACHED_PROCESS would cause: a detached
// process has no console to share). The price is one conhost.exe per
// command, which Windows 8 and later start for the console and which joins
// the job (see internal/jobobject): it appears in Job.Pids, counts against
// the job's process limit, and dies with the job. (Wine 8 puts no conhost
// into the job for a CREATE_NO_WINDOW child.) GUI programs ignore the
// flag. See "Process Creation Flags":
// https://learn.microsoft.com/windows/win32/procthread/process-creation-flags
//
// The child inherits cordon's error mode (the Go runtime sets
// SEM_FAILCRITICALERRORS and SEM_NOGPFAULTERRORBOX), so no "insert a disk"
// or crash dialog waits for an answer nobody gives; CREATE_DEFAULT_ERROR_MODE
// is deliberately not used.
//
// # Waiting and killing
//
// Process.Wait waits for the process to exit and then for the copies of
// its standard output and error to end, which happens only when every
// holder of the pipes has closed them: a background grandchild that
// inherited stdout keeps Wait blocked. Wait never kills anything. The
// caller (the backend) owns the job and decides: on timeout or
// cancellation it calls Kill (which terminates the whole job); and once the
// main process has exited (Process.Exited), it terminates the job itself
// so that grandchildren holding the pipes die and Wait returns instead of
// waiting for a pipe no one will close.
//
// # Testing
//
// The tests start the test binary itself as the child. Under Wine 8 they
// check the plumbing, and all of it works there: arguments and environment
// arrive exactly (except that Wine appends variables of its own to every
// environment; the test names that deviation), the pipes, exit codes,
// Dir, the handle list (an inheritable handle not in it does not reach the
// child), the job list (Wine honours it: JobAtBirth is true), the fallback
// path, and killing a tree through its job. Whether the child really runs
// under a restricted token is checked only on real Windows
// (testutil.RealWindows): Wine starts it with an unrestricted one.
//
// # Other operating systems
//
// Only this documentation and the portable helpers exist there; Start,
// Options and Process are Windows-only, because their types come from
// golang.org/x/sys/windows. `go vet ./...` stays clean on Linux, and
// callers are Windows-only files of the restricted-token backend.
package winlaunch

import (
	"fmt"
	"strings"
)

// KilledExitCode is the exit code Kill gives the processes it ends:
// 128+9, the code a shell reports for a command killed by SIGKILL, so
// that a killed command looks the same under every cordon backend.
const KilledExitCode = 128 + 9

// appPath resolves the program path p, as LookPath returned it, to a full
// path: CreateProcess would resolve a relative lpApplicationName against
// the launching process's current directory, not the child's, but
// winexec.LookPath defines a relative program path as relative to the
// command's working directory base (a full path). It follows Windows path
// rules on every platform, so it is tested on Linux.
//
// A drive-relative path such as C:x names a file relative to the current
// directory that process keeps for drive C:, which the command does not
// have yet: it is refused unless base is on that drive.
func appPath(p, base string) (string, error) {
	isSep := func(c byte) bool { return c == '\\' || c == '/' }
	hasDrive := func(s string) bool {
		return len(s) >= 2 && s[1] == ':' && (s[0]|0x20 >= 'a' && s[0]|0x20 <= 'z')
	}
	switch {
	case p == "":
		return "", fmt.Errorf("empty program path")
	case len(p) >= 2 && isSep(p[0]) && isSep(p[1]): // \\server\share, \\?\C:
		return p, nil
	case hasDrive(p) && len(p) >= 3 && isSep(p[2]): // C:\x
		return p, nil
	case !hasDrive(base):
		// A UNC working directory: joining still works for relative
		// paths; a rooted path has no drive to go with it.
		if isSep(p[0]) || hasDrive(p) {
			return "", fmt.Errorf("program path %q is relative to a drive, but the working directory %q has none", p, base)
		}
		return joinPath(base, p), nil
	case isSep(p[0]): // \x: the root of base's drive
		return base[:2] + p, nil
	case hasDrive(p): // C:x
		if !strings.EqualFold(p[:2], base[:2]) {
			return "", fmt.Errorf("program path %q is relative to the current directory of drive %s, which the command does not have; use a full path", p, p[:2])
		}
		return joinPath(base, p[2:]), nil
	default:
		return joinPath(base, p), nil
	}
}

// joinPath joins a directory and a relative path with '\'.
func joinPath(dir, rel string) string {
	if strings.HasSuffix(dir, `\`) || strings.HasSuffix(dir, "/") {
		return dir + rel
	}
	return dir + `\` + rel
}

// fullyQualified reports whether dir is a full path (C:\x or \\server\x),
// the only kind of working directory Start accepts.
func fullyQualified(dir string) bool {
	isSep := func(c byte) bool { return c == '\\' || c == '/' }
	if len(dir) >= 2 && isSep(dir[0]) && isSep(dir[1]) {
		return true
	}
	return len(dir) >= 3 && dir[1] == ':' && isSep(dir[2]) && (dir[0]|0x20 >= 'a' && dir[0]|0x20 <= 'z')
}
