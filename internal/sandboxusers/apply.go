package sandboxusers

import (
	"context"
	"fmt"
	"io"
)

// Apply performs acts in order, writing each to w (if not nil) as it
// starts. It stops at the first failure and returns it as an *Error naming
// the step; the next Observe and Plan repair what the steps before it left.
func Apply(ctx context.Context, sys System, d Desired, acts []Action, w io.Writer) error {
	for _, a := range acts {
		if err := ctx.Err(); err != nil {
			return fail(CodeFailed, a.String(), err)
		}
		if w != nil {
			fmt.Fprintf(w, "- %s\n", a)
		}
		if err := apply(ctx, sys, d, a); err != nil {
			return fail(CodeFailed, a.String(), err)
		}
	}
	return nil
}

func apply(ctx context.Context, sys System, d Desired, a Action) error {
	acc := sys.Accounts
	switch a.Kind {
	case CreateGroup:
		return acc.CreateGroup(ctx, a.Group.Name, "cordon's sandbox accounts; managed by `cordon setup`")
	case CreateUser, ResetPassword:
		return newPassword(ctx, sys, a.User, a.Kind == CreateUser)
	case SetFlags:
		return acc.SetFlags(ctx, a.User, a.Flags)
	case AddMember:
		return acc.AddMember(ctx, a.Group, a.User)
	case RemoveMember:
		return acc.RemoveMember(ctx, a.Group, a.User)
	case Hide, Unhide:
		return acc.SetHidden(ctx, a.User, a.Kind == Hide)
	case DeleteUser:
		return acc.DeleteUser(ctx, a.User)
	case DeleteSecret:
		return secretErr(a.User, sys.Secrets.Delete(a.User))
	case DeleteGroup:
		return acc.DeleteGroup(ctx, a.Group.Name)
	case Verify:
		return verify(ctx, sys, a.User)
	case WriteMarker:
		return writeMarker(sys, d)
	case DeleteMarker:
		return sys.Markers.Delete()
	}
	return fmt.Errorf("unknown action kind %d", a.Kind)
}

// newPassword gives user a new password. The order is what makes a kill
// at any point repairable without guessing:
//
//  1. store it pending: from here the next setup knows the account's
//     password is uncertain and resets it without trying it;
//  2. create the account with it, or set it;
//  3. store it committed.
//
// Whatever the step a setup dies at, the next one finds the secret missing
// (before 1) or pending (between 1 and 3), and sets a new password; the
// account never ends with a password only a dead process knew and nothing
// saying so.
func newPassword(ctx context.Context, sys System, user string, create bool) error {
	pw, err := NewPassword(sys.Rand)
	if err != nil {
		return err
	}
	if err := sys.Secrets.Store(user, Secret{Password: pw, Pending: true}); err != nil {
		return secretErr(user, err)
	}
	if create {
		err = sys.Accounts.CreateUser(ctx, user, pw, RequiredFlags)
	} else {
		err = sys.Accounts.SetPassword(ctx, user, pw)
	}
	if err != nil {
		return err
	}
	return secretErr(user, sys.Secrets.Store(user, Secret{Password: pw}))
}

func secretErr(user string, err error) error {
	if err == nil {
		return nil
	}
	return &Error{Code: CodeSecret, Op: "the stored password of " + user, Err: err}
}

func verify(ctx context.Context, sys System, user string) error {
	s, err := sys.Secrets.Load(user)
	if err != nil {
		return err
	}
	if s.Pending {
		return fmt.Errorf("the stored password of %s is still pending", user)
	}
	r, err := sys.Accounts.Logon(ctx, user, s.Password)
	if err != nil {
		return err
	}
	if r != LogonOK {
		return &Error{Code: CodeLogonFailed, Op: "log on as " + user, Err: fmt.Errorf("%s", r)}
	}
	return nil
}

func writeMarker(sys System, d Desired) error {
	now := sys.Now().UTC()
	m := Marker{Version: Version, Group: d.Group, Users: d.Users, Created: now, Updated: now}
	if old, err := sys.Markers.Read(); err == nil && !old.Created.IsZero() {
		m.Created = old.Created
	}
	return sys.Markers.Write(m)
}
