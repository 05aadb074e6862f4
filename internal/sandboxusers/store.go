package sandboxusers

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"time"

	"github.com/cordon-sandbox/cordon/internal/statedir"
)

// SubDir is the directory under cordon's state directory that holds the
// marker and the protected passwords.
const SubDir = "sandbox-users"

// Marker records a completed setup. It is written last, after every
// account step and a logon with each stored password succeeded.
type Marker struct {
	Version int       `json:"version"`
	Group   string    `json:"group"`
	Users   []string  `json:"users"`
	Created time.Time `json:"created"`
	Updated time.Time `json:"updated"`
}

// FileMarkers keeps the marker in Dir/setup.json.
type FileMarkers struct{ Dir string }

func (f FileMarkers) path() string { return filepath.Join(f.Dir, "setup.json") }

func (f FileMarkers) Read() (Marker, error) {
	var m Marker
	b, err := os.ReadFile(f.path())
	if errors.Is(err, fs.ErrNotExist) {
		return m, fmt.Errorf("%s: %w", f.path(), ErrMarkerMissing)
	}
	if err != nil {
		return m, err
	}
	if err := json.Unmarshal(b, &m); err != nil {
		return Marker{}, fmt.Errorf("%s: %w", f.path(), err)
	}
	return m, nil
}

func (f FileMarkers) Write(m Marker) error {
	b, err := json.MarshalIndent(m, "", "  ")
	if err != nil {
		return err
	}
	if err := makePrivateDir(f.Dir); err != nil {
		return err
	}
	return statedir.WriteFile(f.path(), append(b, '\n'))
}

func (f FileMarkers) Delete() error { return removeIfExists(f.path()) }

// Protector encrypts a secret so that only the real user can decrypt it,
// bound to purpose: a blob made for one purpose must not decrypt for
// another. On Windows it is DPAPI, user scope, with purpose as the
// optional entropy.
type Protector interface {
	Protect(plain, purpose []byte) ([]byte, error)
	Unprotect(blob, purpose []byte) ([]byte, error)
}

// secretVersion is the format of a secret file.
const secretVersion = 1

type secretFile struct {
	Version int    `json:"version"`
	User    string `json:"user"`
	Pending bool   `json:"pending"`
	Blob    []byte `json:"blob"`
}

// FileSecrets keeps each password in Dir/<user>.secret, a JSON file whose
// blob is the password protected by P for the purpose
// "cordon sandbox user password v1\x00<user>", so that a file copied onto
// another user's name does not decrypt. The pending flag is not
// protected: forging it only makes setup reset the password.
type FileSecrets struct {
	Dir string
	P   Protector
}

func (f FileSecrets) path(user string) string { return filepath.Join(f.Dir, user+".secret") }

// Purpose is the DPAPI entropy that binds a blob to user's password.
func Purpose(user string) []byte {
	return []byte(fmt.Sprintf("cordon sandbox user password v%d\x00%s", secretVersion, user))
}

func (f FileSecrets) Load(user string) (Secret, error) {
	b, err := os.ReadFile(f.path(user))
	if errors.Is(err, fs.ErrNotExist) {
		return Secret{}, fmt.Errorf("%s: %w", f.path(user), ErrSecretMissing)
	}
	if err != nil {
		return Secret{}, &SecretError{User: user, Reason: "unreadable", Err: err}
	}
	var sf secretFile
	if err := json.Unmarshal(b, &sf); err != nil {
		return Secret{}, &SecretError{User: user, Reason: "not a secret file", Err: err}
	}
	if sf.Version != secretVersion {
		return Secret{}, &SecretError{User: user, Reason: fmt.Sprintf("format version %d, want %d", sf.Version, secretVersion)}
	}
	if sf.User != user {
		return Secret{}, &SecretError{User: user, Reason: fmt.Sprintf("file is for %q", sf.User)}
	}
	plain, err := f.P.Unprotect(sf.Blob, Purpose(user))
	if err != nil {
		return Secret{}, &SecretError{User: user, Reason: "does not decrypt (tampered with, or protected by another user)", Err: err}
	}
	return Secret{Password: string(plain), Pending: sf.Pending}, nil
}

func (f FileSecrets) Store(user string, s Secret) error {
	blob, err := f.P.Protect([]byte(s.Password), Purpose(user))
	if err != nil {
		return fmt.Errorf("protecting the password of %s: %w", user, err)
	}
	b, err := json.MarshalIndent(secretFile{Version: secretVersion, User: user, Pending: s.Pending, Blob: blob}, "", "  ")
	if err != nil {
		return err
	}
	if err := makePrivateDir(f.Dir); err != nil {
		return err
	}
	return statedir.WriteFile(f.path(user), append(b, '\n'))
}

func (f FileSecrets) Delete(user string) error { return removeIfExists(f.path(user)) }

func removeIfExists(p string) error {
	if err := os.Remove(p); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return err
	}
	return nil
}
