//go:build windows

package sandboxusers

import (
	"bytes"
	"errors"
	"os"
	"strings"
	"testing"

	"github.com/cordon-sandbox/cordon/internal/testutil"
	"golang.org/x/sys/windows"
)

// DPAPI runs under Wine (wine.md §7): these tests check the plumbing and
// the binding to a purpose, on Wine and Windows alike.

func TestDPAPIRoundTrip(t *testing.T) {
	plain := []byte("Aa0!correct horse battery staple")
	purpose := Purpose(OfflineUser)
	blob, err := DPAPI{}.Protect(plain, purpose)
	if err != nil {
		t.Fatal(err)
	}
	if bytes.Contains(blob, plain) || bytes.Contains(blob, []byte("correct horse")) {
		t.Fatal("the blob holds the plaintext")
	}
	got, err := DPAPI{}.Unprotect(blob, purpose)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, plain) {
		t.Fatalf("round trip gave %q", got)
	}
	again, err := DPAPI{}.Protect(plain, purpose)
	if err != nil {
		t.Fatal(err)
	}
	if bytes.Equal(again, blob) {
		t.Error("two protections of the same password gave the same blob (no salt)")
	}
}

func TestDPAPIRejectsTamperingAndOtherPurposes(t *testing.T) {
	plain := []byte("Aa0!password")
	blob, err := DPAPI{}.Protect(plain, Purpose(OfflineUser))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := (DPAPI{}).Unprotect(blob, Purpose(OnlineUser)); err == nil {
		t.Error("a blob for the offline user decrypted as the online user's")
	}
	if _, err := (DPAPI{}).Unprotect(blob, nil); err == nil {
		t.Error("a blob made with entropy decrypted without it")
	}
	// Flip one byte at a time across the blob's tail, where the
	// ciphertext and its MAC live.
	for i := len(blob) - 1; i >= len(blob)-40 && i >= 0; i-- {
		bad := bytes.Clone(blob)
		bad[i] ^= 0x01
		got, err := DPAPI{}.Unprotect(bad, Purpose(OfflineUser))
		if err == nil {
			t.Fatalf("byte %d flipped: decrypted to %q", i, got)
		}
		var errno windows.Errno
		if !errors.As(err, &errno) {
			t.Fatalf("byte %d flipped: %v is not a Windows error", i, err)
		}
	}
	if _, err := (DPAPI{}).Unprotect(nil, Purpose(OfflineUser)); !errors.Is(err, windows.ERROR_INVALID_DATA) {
		t.Errorf("empty blob: %v", err)
	}
}

// FileSecrets over DPAPI: a tampered file or one copied from the other
// user fails with a *SecretError, which Observe turns into a reset.
func TestFileSecretsWithDPAPI(t *testing.T) {
	dir := testutil.TempDir(t) + `\sandbox-users`
	s := FileSecrets{Dir: dir, P: DPAPI{}}
	if _, err := s.Load(OfflineUser); !errors.Is(err, ErrSecretMissing) {
		t.Fatalf("before any store: %v", err)
	}
	if err := s.Store(OfflineUser, Secret{Password: "Aa0!one"}); err != nil {
		t.Fatal(err)
	}
	if err := s.Store(OnlineUser, Secret{Password: "Aa0!two", Pending: true}); err != nil {
		t.Fatal(err)
	}
	got, err := s.Load(OfflineUser)
	if err != nil || got != (Secret{Password: "Aa0!one"}) {
		t.Fatalf("load: %+v, %v", got, err)
	}
	if got, err := s.Load(OnlineUser); err != nil || !got.Pending {
		t.Fatalf("pending flag lost: %+v, %v", got, err)
	}
	raw, err := os.ReadFile(s.path(OfflineUser))
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(string(raw), "Aa0!one") {
		t.Fatal("the secret file holds the password in clear")
	}
	// The other user's file, renamed: the purpose binds it to its user.
	forged := strings.Replace(string(raw), OfflineUser, OnlineUser, 1)
	if err := os.WriteFile(s.path(OnlineUser), []byte(forged), 0o600); err != nil {
		t.Fatal(err)
	}
	var se *SecretError
	if _, err := s.Load(OnlineUser); !errors.As(err, &se) {
		t.Errorf("swapped file: %v, want a *SecretError", err)
	}
	// One character of the base64 blob changed.
	i := strings.Index(string(raw), `"blob": "`) + len(`"blob": "`) + 20
	tampered := []byte(string(raw))
	if tampered[i] == 'A' {
		tampered[i] = 'B'
	} else {
		tampered[i] = 'A'
	}
	if err := os.WriteFile(s.path(OfflineUser), tampered, 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Load(OfflineUser); !errors.As(err, &se) {
		t.Errorf("tampered file: %v, want a *SecretError", err)
	}
	if err := s.Delete(OfflineUser); err != nil {
		t.Fatal(err)
	}
	if err := s.Delete(OfflineUser); err != nil {
		t.Errorf("second delete: %v", err)
	}
}
