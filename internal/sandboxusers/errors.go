package sandboxusers

import (
	"errors"
	"fmt"
)

// Code is a stable error code, for scripts and for the CLI's JSON output.
type Code string

const (
	// CodeCancelled: the user declined the UAC prompt (ERROR_CANCELLED).
	CodeCancelled Code = "setup_cancelled"
	// CodeNeedsAdmin: setup ran without administrator rights and could
	// not elevate, or Windows refused an account change (access denied).
	CodeNeedsAdmin Code = "setup_needs_admin"
	// CodeOtherAdmin: the elevated process runs as another account than
	// the user setup is for, whose DPAPI keys it cannot use.
	CodeOtherAdmin Code = "setup_other_admin"
	// CodePasswordPolicy: the password policy refused a 32-character
	// random password (a policy cordon cannot meet).
	CodePasswordPolicy Code = "setup_password_policy"
	// CodeLogonFailed: after repair, the sandbox user still cannot log on
	// with its new password: something outside the account (Group Policy
	// logon rights, a domain policy) forbids it.
	CodeLogonFailed Code = "setup_logon_failed"
	// CodeSecret: the protected password file could not be written.
	CodeSecret Code = "setup_secret_failed"
	// CodeBusy: another setup holds the setup lock.
	CodeBusy Code = "setup_busy"
	// CodeUnsupported: not on Windows.
	CodeUnsupported Code = "setup_unsupported"
	// CodeNotSetUp: the sandbox accounts are not set up, or were set up
	// by another version of cordon.
	CodeNotSetUp Code = "setup_required"
	// CodeFailed: any other failure; the message names the step.
	CodeFailed Code = "setup_failed"
)

// hints say what to do, per code.
var hints = map[Code]string{
	CodeCancelled:      "run `cordon setup` again and accept the administrator prompt",
	CodeNeedsAdmin:     "run `cordon setup` from an account that can approve the administrator prompt",
	CodeOtherAdmin:     "the administrator prompt was approved by another account; log on as an administrator yourself, or have an administrator add you to Administrators, then run `cordon setup` again",
	CodePasswordPolicy: "the local password policy refuses cordon's generated passwords; relax it (secpol.msc, Account Policies) or ask your administrator",
	CodeLogonFailed:    "check that Group Policy grants \"Allow log on locally\" to Users and does not deny it to CordonSandboxUsers, then run `cordon setup` again",
	CodeSecret:         "check that cordon's state directory is writable by you, then run `cordon setup` again",
	CodeBusy:           "another `cordon setup` is running; wait for it to finish",
	CodeUnsupported:    "sandbox users exist on Windows only",
	CodeNotSetUp:       "run `cordon setup` (it asks for administrator rights once)",
	CodeFailed:         "run `cordon setup` again; it repairs what a failed run left; if it fails again, report the message",
}

// Error is every error setup returns.
type Error struct {
	Code Code
	// Op is the step that failed, e.g. "create user CordonSandboxOffline".
	Op  string
	Err error
}

func (e *Error) Error() string {
	s := string(e.Code) + ": " + e.Op
	if e.Err != nil {
		s += ": " + e.Err.Error()
	}
	return s
}

func (e *Error) Unwrap() error { return e.Err }

// Hint says what the user should do about the error.
func (e *Error) Hint() string { return hints[e.Code] }

// ErrorCode returns the code of err, or "" if it is not an *Error.
func ErrorCode(err error) Code {
	var e *Error
	if errors.As(err, &e) {
		return e.Code
	}
	return ""
}

// CodedError lets an Accounts or Secrets implementation say which code its
// failure deserves (access denied, password policy): fail keeps it rather
// than the code of the step.
type CodedError interface {
	error
	SetupCode() Code
}

// fail wraps err for step op with code, unless err already carries one.
func fail(code Code, op string, err error) error {
	var se *Error
	if errors.As(err, &se) {
		return err
	}
	var ce CodedError
	if errors.As(err, &ce) {
		code = ce.SetupCode()
	}
	return &Error{Code: code, Op: op, Err: err}
}

// SecretError is a stored password that cannot be trusted.
type SecretError struct {
	User   string
	Reason string
	Err    error
}

func (e *SecretError) Error() string {
	s := fmt.Sprintf("stored password of %s: %s", e.User, e.Reason)
	if e.Err != nil {
		s += ": " + e.Err.Error()
	}
	return s
}

func (e *SecretError) Unwrap() error { return e.Err }
